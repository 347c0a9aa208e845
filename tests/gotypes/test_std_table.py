"""gleak_sarif/gotypes/std.json is the output of its generator (scripts/stdtypes, go/types over the standard
library) for the Go version it names: regenerate it with `cd scripts/stdtypes && go run . >
../../gleak_sarif/gotypes/std.json` when Go or the package list changes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from gleak_sarif.gotypes import std
from tests.helpers import require_tool

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "gleak_sarif" / "gotypes" / "std.json"


def test_std_table_is_the_generators_output() -> None:
    go = require_tool("go")
    version = subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True, check=True).stdout.strip()
    committed = json.loads(DATA.read_text(encoding="utf-8"))
    assert committed["go"] == version, (
        f"std.json was generated with {committed['go']}, this Go is {version}: regenerate it (see this module)")
    done = subprocess.run([go, "run", "."], cwd=REPO / "scripts" / "stdtypes", capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == committed, "std.json is stale: regenerate it (see this module)"


def test_std_table_answers() -> None:
    assert std.func_results("net/http", "Get") == ("*net/http.Response", "error")
    assert std.named("net/http", "Response")["fields"]["Body"] == "io.ReadCloser"  # type: ignore[index]
    assert std.alias("os", "FileMode") == "io/fs.FileMode"
    assert std.check_name("sync.WaitGroup") is None
    assert std.check_name("*net/http.Response") is None
    assert std.check_name("example.com/x.Anything") is None  # outside the table: by name only
    assert "no exported type" in (std.check_name("sync.Waitgroup") or "")
