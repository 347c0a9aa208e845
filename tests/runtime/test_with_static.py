"""``--with-static``: static findings of the leaked groups' files only, confirmed on the go statement, the
blocked line or a line of the blocked stack (issue 19, item 3). testdata/staticprog is built in the test."""

from __future__ import annotations

import json
from pathlib import Path

from rtkit import TESTDATA, run
from typer.testing import CliRunner

from gleak_sarif.runtime.cli import app

PROG = TESTDATA / "staticprog"
LEAK = PROG / "leak.go"


def marker(kind: str, name: str) -> int:
    for i, line in enumerate(LEAK.read_text().splitlines(), 1):
        if line.rstrip().endswith(f"// {kind}: {name}"):
            return i
    raise AssertionError((kind, name))


def test_with_static_confirms_blocked_lines_and_keeps_to_the_leaking_files(go: str, tmp_path: Path) -> None:
    binary = tmp_path / "staticprog"
    run([go, "build", "-o", str(binary), "."], cwd=PROG, env={"GOEXPERIMENT": "goroutineleakprofile"})
    dump = tmp_path / "leak.txt"
    dump.write_text(run([str(binary)]).stdout)
    out = tmp_path / "out.json"
    res = CliRunner().invoke(app, ["analyze", str(dump), "--source-root", str(PROG), "--with-static",
                                   "--format", "json", "-o", str(out)])
    assert res.exit_code == 1, res.output
    findings = json.loads(out.read_text())["findings"]
    runtime = {f["primary"]["start_line"] for f in findings if f["rule_id"] == "GLR001"}
    assert runtime == {marker("GO", "nil"), marker("GO", "relock"), marker("GO", "double")}
    static = {(f["rule_id"], Path(f["primary"]["path"]).name, f["primary"]["start_line"]):
              f["properties"].get("runtime-confirmed-at") for f in findings if f["rule_id"] != "GLR001"}
    assert static == {
        ("GL208", "leak.go", marker("BLOCKED", "nil")): "blocked-line",  # GL208 on the nil-channel receive
        ("GL408", "leak.go", marker("CALL", "relock")): "blocked-stack",  # GL408 on the call that relocks
        # GL204's primary is the first send; the second send, where the goroutine blocks, is related
        ("GL204", "leak.go", marker("GO", "double") + 6): "blocked-line",
    }, static  # other.go's GL219 (and GL301) are not about any leaked goroutine: left out
    for f in findings:
        if f["rule_id"] in ("GL208", "GL408"):
            assert "Runtime-confirmed: 1 goroutine(s) leaked blocked" in f["message"]
        if f["rule_id"] == "GL204":
            assert "Runtime-confirmed: 1 goroutine(s) leaked blocked on a related location" in f["message"]
            assert f["properties"]["runtime-confirmed-groups"] == [f"leak.go:{marker('GO', 'double')}"], f
    # every confirmed finding names the groups it touches
    assert all(f["properties"]["runtime-confirmed-groups"] for f in findings
               if f["properties"].get("runtime-confirmed"))
    # The GLR001 findings say which static rules confirm them.
    confirms = {f["primary"]["start_line"]: f["properties"].get("confirms") for f in findings
                if f["rule_id"] == "GLR001"}
    assert confirms == {marker("GO", "nil"): ["GL208"], marker("GO", "relock"): ["GL408"],
                        marker("GO", "double"): ["GL204"]}
