"""bench/leakbench.py: the case list read from the Go test, a real run on three small cases, the shape table.

The first two need Go 1.26 (its GOROOT ships the leak programs): skipped locally without go, a failure under CI."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.helpers import require_tool

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "bench" / "leakbench.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("leakbench", SCRIPT)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["leakbench"] = mod  # dataclasses look their module up by name
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def goroot() -> Path:
    go = require_tool("go")
    root = Path(subprocess.run([go, "env", "GOROOT"], capture_output=True, text=True, check=True).stdout.strip())
    if not (root / "src" / "runtime" / "goroutineleakprofile_test.go").is_file():
        pytest.fail(f"{root} has no goroutineleakprofile_test.go: Go 1.26 or later is required")
    return root


def test_case_list_follows_the_go_test(goroot: Path) -> None:
    lb = _load()
    src = (goroot / "src" / "runtime" / "goroutineleakprofile_test.go").read_text(encoding="utf-8")
    cases = {c.name: c for c in lb.parse_cases(src)}
    # One case per makeTest/makeFlakyTest call that is not commented out, in the folder runTests gives it.
    calls = re.findall(r'^\s*make(?:Flaky)?Test\(\s*"(\w+)"', src, re.M)
    assert sorted(cases) == sorted(set(calls))
    assert "Kubernetes1321" not in cases  # only present in a comment
    assert cases["NilRecv"].program == "." and cases["NilRecv"].simple and cases["NilRecv"].repetitions == 3
    assert cases["Cockroach584"].program == "goker" and not cases["Cockroach584"].simple
    assert cases["Cockroach584"].repetitions == 11 and cases["Cockroach584"].flaky
    assert {c.repetitions for c in lb.parse_cases(src, short=True) if c.flaky} == {3}
    mixed = cases["Mixed"].expected
    assert len(mixed) == 2 and any("WaitGroup" in p for p in mixed)


def test_three_cases_end_to_end(goroot: Path, tmp_path: Path) -> None:
    out = tmp_path / "res.json"
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--cases", "^(NilRecv|ChanSend|Timeout)$", "--json", str(out),
         "--keep", str(tmp_path / "work")],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    res = json.loads(out.read_text(encoding="utf-8"))
    cases = {c["name"]: c for c in res["cases"]}
    assert sorted(cases) == ["ChanSend", "NilRecv", "Timeout"]
    for c in cases.values():
        assert len(c["runs"]) == c["repetitions"] == 3
        assert all(r["rc"] == 0 and r["output_bytes"] > 0 for r in c["runs"])
        assert not c["expected_not_seen"], c  # the runtime saw what the Go test expects
        assert len(c["groups"]) == 1
    # Truth from the runtime: the go statement and the blocked line, with its source text.
    nil = cases["NilRecv"]["groups"][0]
    assert nil["state"] == "chan receive (nil chan)" and nil["go"]["text"].startswith("go func")
    assert nil["blocked"]["text"] == "<-c" and nil["runs_seen"] == 3
    send = cases["ChanSend"]["groups"][0]
    assert send["state"] == "chan send" and "<-" in send["blocked"]["text"]
    # A nil-channel operation is what GL208 reports at the blocked line: counted as found there.
    assert any(h["rule"] == "GL208" and h["at"] == "blocked" for h in nil["hits"]) and nil["found"]
    t = res["totals"]["overall"]
    assert t["groups"] == 3 and t["found"] == sum(g["found"] for c in cases.values() for g in c["groups"])
    # recall at every default level counts the note-level hits too, so it is never below the error/warning one
    assert t["found_any"] == sum(bool(g["hits"] or g["note_hits"]) for c in cases.values() for g in c["groups"])
    assert t["found_any"] >= t["found"] and all(g["found_any"] == bool(g["hits"] or g["note_hits"])
                                                for c in cases.values() for g in c["groups"])
    assert res["totals"]["goker"]["groups"] == 0
    last = proc.stdout.rstrip("\n").splitlines()[-1]
    assert re.fullmatch(
        r"static recall: goker 0/0 = n/a · simple\+commonpatterns \d/3 = [\d.]+% · overall \d/3 = [\d.]+%", last
    ), last
    # The dumps are kept with --keep, one per repetition.
    assert len(list((tmp_path / "work" / "dumps").glob("NilRecv.[0-9].txt"))) == 3


def _group(line: int, hits: list[str], notes: list[str], with_any: bool = True) -> dict[str, object]:
    g: dict[str, object] = {
        "go": {"path": "a.go", "line": line}, "blocked": {"path": "a.go", "line": line + 1}, "state": "chan send",
        "found": bool(hits), "hits": [{"rule": r} for r in hits], "note_hits": [{"rule": r} for r in notes]}
    if with_any:
        g["found_any"] = bool(hits or notes)
    return g


def test_compare_reports_both_levels_and_the_cost_per_rule() -> None:
    """--compare: recall at error/warning and by any default finding; per rule that hit a group before, the
    groups lost at error/warning and the ones no default finding hits any more. An old result without
    `found_any` (written before it existed) gets it from its hits."""
    lb = _load()
    old = {"gleak_commit": "old", "cases": [{"name": "C", "groups": [
        _group(10, ["GL1"], [], with_any=False),  # GL1 demoted to note below: lost at error/warning only
        _group(20, ["GL2", "GL3"], [], with_any=False),  # GL2 turned off, GL3 still hits: nothing lost
        _group(30, ["GL2"], [], with_any=False),  # GL2 turned off: lost everywhere
        _group(40, [], ["GL4"], with_any=False),  # a note hit before and after
    ]}]}
    new = {"gleak_commit": "new", "cases": [{"name": "C", "groups": [
        _group(10, [], ["GL1"]), _group(20, ["GL3"], []), _group(30, [], []), _group(40, [], ["GL4"]),
    ]}]}
    cmp = lb.compare(old, new)
    assert (cmp["old_found"], cmp["new_found"]) == (3, 1)
    assert (cmp["old_found_any"], cmp["new_found_any"]) == (4, 3)
    assert cmp["lost_by_rule"] == {"GL1": {"error_warning": 1, "everywhere": 0},
                                   "GL2": {"error_warning": 1, "everywhere": 1}}
    assert cmp["newly_missed_everywhere"] == ["C: go a.go:30 -> blocked a.go:31 [chan send]"]


def test_every_miss_shape_is_documented() -> None:
    """bench/recall-shapes.tsv uses only the codes docs/recall.md explains, and each row names a known case."""
    lb = _load()
    shapes = lb.load_shapes()
    assert len(shapes) >= 100
    doc = (REPO / "docs" / "recall.md").read_text(encoding="utf-8")
    headers = set(re.findall(r"^### ([SN]\d+) ", doc, re.M))
    assert {f"S{i}" for i in range(1, 11)} <= headers
    for (case, go_line, blocked_line), (code, why) in shapes.items():
        assert go_line > 0 and blocked_line > 0 and why, case
        root = code.removeprefix("V-")
        assert root in headers or code in ("D", "X"), (case, code)
