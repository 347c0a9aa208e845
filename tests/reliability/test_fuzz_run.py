"""`scripts/fuzz` as CI runs it: every target (the parser and rules, the pattern compiler, the rule and
config loaders, dump parsers, the SARIF writer, SARIF inputs of merge/--baseline, engine-server requests,
rule regexes, hostile file names) on 40 derandomised inputs each, 400 in all, in well under a minute."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.reliability.conftest import REPO
from tests.reliability.targets import TARGETS

EXAMPLES = 40


def test_fuzz_script_runs_every_target(tmp_path: Path) -> None:
    stats = tmp_path / "fuzz.json"
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "fuzz"), "--examples", str(EXAMPLES), "--derandomize",
         "--stats", str(stats)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    numbers = json.loads(stats.read_text())
    assert numbers["failures"] == []
    assert numbers["examples"] == {name: EXAMPLES for name in TARGETS}
    assert numbers["total_examples"] == EXAMPLES * len(TARGETS) >= 400
    print(f"fuzz: {numbers['total_examples']} inputs in {numbers['seconds']} s")
