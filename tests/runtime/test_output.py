"""What runtime reports look like (issue 19, items 5 and 6): the standard library's own goroutines as one
named cluster with the static rule that finds their cause, no SARIF location outside the source root, the
blocked line in the table, relative JSON paths, no empty table, and a warning for concatenated dumps.
testdata/httpleak (unclosed response bodies) and testdata/entryprog are built in the test."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from rtkit import TESTDATA, Validation, run
from typer.testing import CliRunner

from gleak_sarif.runtime.cli import app

HTTP = TESTDATA / "httpleak"
ENTRY = TESTDATA / "entryprog"


def line_of(path: Path, marker: str) -> int:
    for i, line in enumerate(path.read_text().splitlines(), 1):
        if line.rstrip().endswith(marker):
            return i
    raise AssertionError(marker)


@pytest.fixture(scope="module")
def http_dumps(go: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("httpleak")
    binary = d / "httpleak"
    run([go, "build", "-o", str(binary), "."], cwd=HTTP)
    out = {}
    for name, args, env in (("debug2", [], None), ("debug1", ["-debug", "1"], None),
                            ("ancestors", [], {"GODEBUG": "tracebackancestors=5"})):
        p = d / f"{name}.txt"
        p.write_text(run([str(binary), *args], env=env).stdout)
        out[name] = p
    return out


def analyze_json(dump: Path, root: Path, tmp_path: Path, *extra: str) -> dict:  # type: ignore[type-arg]
    out = tmp_path / f"{dump.stem}.json"
    res = CliRunner().invoke(app, ["analyze", str(dump), "--source-root", str(root), "--min-minutes", "0",
                                   "--format", "json", "-o", str(out), "--exit-zero", *extra])
    assert res.exit_code == 0, res.output
    data: dict = json.loads(out.read_text())  # type: ignore[type-arg]
    return data


def library_findings(data: dict) -> list[dict]:  # type: ignore[type-arg]
    return [f for f in data["findings"] if f["rule_id"] == "GLR001"
            and "readLoop" in f["properties"]["cluster-name"]]


@pytest.mark.parametrize("form", ["debug2", "debug1"])
def test_library_goroutines_are_one_named_cluster(http_dumps: dict[str, Path], form: str, tmp_path: Path) -> None:
    """readLoop and writeLoop of each connection are one cause: one cluster, named after them, with GL505."""
    if form == "debug2":
        data = analyze_json(http_dumps[form], HTTP, tmp_path)
    else:
        # A plain debug=1 profile has no wait times: what appeared since an empty start.
        from gleak_sarif.report import render
        from gleak_sarif.runtime.api import diff_parsed
        from gleak_sarif.runtime.mapping import SourceMap
        from gleak_sarif.runtime.models import Dump, DumpFormat
        from gleak_sarif.runtime.parse import parse_dump_file

        _, result = diff_parsed(Dump(format=DumpFormat.empty), parse_dump_file(http_dumps[form]), SourceMap(HTTP))
        data = json.loads(render(result, "json"))
    (f,) = library_findings(data)
    p = f["properties"]
    assert p["cluster-name"] == "net/http.(*persistConn).readLoop + writeLoop"
    assert p["start-functions"] == {"net/http.(*persistConn).readLoop": 3, "net/http.(*persistConn).writeLoop": 3}
    assert p["goroutines"] == 6 and p["cause-rule"] == "GL505"
    assert p["creation-site-kind"] == "library"
    assert "GL505 (response-body-not-closed) finds it" in f["message"]
    if form == "debug2":
        assert p["creator"] == "net/http.(*Transport).dialConn"
        res = CliRunner().invoke(app, ["analyze", str(http_dumps[form]), "--source-root", str(HTTP),
                                       "--min-minutes", "0", "--exit-zero"])
        assert "net/http.(*persistConn).readLoop + writeLoop" in res.output
        assert "#1: started by the standard library; GL505 finds the usual cause" in res.output


def test_library_leak_maps_to_the_user_call_with_ancestors(http_dumps: dict[str, Path], tmp_path: Path) -> None:
    data = analyze_json(http_dumps["ancestors"], HTTP, tmp_path, "--with-static")
    (f,) = library_findings(data)
    cause = line_of(HTTP / "main.go", "// CAUSE: body never closed")
    assert (f["primary"]["path"], f["primary"]["start_line"]) == ("main.go", cause)
    assert f["properties"]["creation-site-kind"] == "ancestor"
    # GL505 reports the same call: the dump confirms it.
    (gl505,) = [x for x in data["findings"] if x["rule_id"] == "GL505"]
    assert gl505["primary"]["start_line"] == cause and gl505["properties"]["runtime-confirmed"] is True


def _sarif_uris(log: dict) -> list[str]:  # type: ignore[type-arg]
    uris = [a["location"]["uri"] for a in log["runs"][0].get("artifacts", [])]
    text = json.dumps(log["runs"][0].get("results", []))
    uris += re.findall(r'"uri": "([^"]*)"', text)
    inv = json.dumps(log["runs"][0].get("invocations", []))
    uris += re.findall(r'"uri": "([^"]*)"', inv)
    return uris


def test_sarif_has_no_location_outside_the_source_root(http_dumps: dict[str, Path], tmp_path: Path,
                                                         validate_sarif: Callable[[Path], Validation]) -> None:
    out = tmp_path / "lib.sarif"
    res = CliRunner().invoke(app, ["analyze", str(http_dumps["debug2"]), "--source-root", str(HTTP),
                                   "--min-minutes", "0", "--format", "sarif", "-o", str(out)])
    assert res.exit_code == 1, res.output  # the leak is still reported (as a notification), and fails
    log = json.loads(out.read_text())
    uris = _sarif_uris(log)
    assert all(not u.startswith(("file:", "/")) and ".." not in u for u in uris), uris
    notes = [n["message"]["text"] for inv in log["runs"][0]["invocations"]
             for n in inv.get("toolExecutionNotifications", [])]
    assert any("readLoop" in n and "GL505" in n and "not in the source root" in n for n in notes), notes
    v = validate_sarif(out)
    assert v.errors == [], v.errors
    # With the ancestors the same leak is a result at the user's call.
    out2 = tmp_path / "anc.sarif"
    CliRunner().invoke(app, ["analyze", str(http_dumps["ancestors"]), "--source-root", str(HTTP),
                             "--min-minutes", "0", "--format", "sarif", "-o", str(out2)])
    results = json.loads(out2.read_text())["runs"][0]["results"]
    lib = [r for r in results if "readLoop" in r["message"]["text"]]
    assert lib and lib[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "main.go"


@pytest.fixture(scope="module")
def entry_leak(go: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("entryleak")
    binary = d / "entryprog"
    run([go, "build", "-o", str(binary), "."], cwd=ENTRY, env={"GOEXPERIMENT": "goroutineleakprofile"})
    p = d / "leak.txt"
    run([str(binary), "-profile", "goroutineleak", "-debug", "2", "-o", str(p)])
    return p


def test_table_shows_the_blocked_line(entry_leak: Path) -> None:
    res = CliRunner().invoke(app, ["analyze", str(entry_leak), "--source-root", str(ENTRY), "--limit", "0",
                                   "--exit-zero"])
    assert res.exit_code == 0, res.output
    main = ENTRY / "main.go"
    start = line_of(main, "// START: two-ways")
    rows = [r for r in res.output.splitlines() if f"main.go:{start}" in r]
    assert len(rows) == 2, res.output
    blocked = {line_of(main, "// BLOCK: first"), line_of(main, "// BLOCK: second")}
    assert {int(m) for r in rows for m in re.findall(r"main\.twoWays\.func1 \(main\.go:(\d+)\)", r)} == blocked


def test_no_table_when_nothing_leaked(tmp_path: Path) -> None:
    empty = tmp_path / "no-leaks.txt"
    empty.write_text("goroutineleak profile: total 0\n")
    res = CliRunner().invoke(app, ["analyze", str(empty), "--source-root", str(ENTRY)])
    assert res.exit_code == 0, res.output
    assert res.output.startswith("No leaking goroutine clusters.")
    assert not any(ch in res.output for ch in "┏━│")


def test_json_paths_are_relative_to_the_source_root(entry_leak: Path, tmp_path: Path) -> None:
    data = analyze_json(entry_leak, ENTRY, tmp_path, "--with-static")
    kinds = {f["rule_id"] == "GLR001" for f in data["findings"]}
    assert kinds == {True, False}  # runtime and static findings alike
    for f in data["findings"]:
        spans = [f["primary"], *(r["span"] for r in f["related"])]
        spans += [step[0] for step in f.get("code_flow") or [] if step[0]]
        for span in spans:
            if span["end_byte"] > 0:
                assert not Path(span["path"]).is_absolute(), span["path"]
                assert (ENTRY / span["path"]).is_file()


def test_concatenated_dumps_are_detected(entry_leak: Path, tmp_path: Path) -> None:
    twice = tmp_path / "twice.txt"
    twice.write_text(entry_leak.read_text() + "\n" + entry_leak.read_text())
    res = CliRunner().invoke(app, ["analyze", str(twice), "--source-root", str(ENTRY), "--exit-zero"])
    assert "goroutine ids appear more than once: the input holds several dumps" in res.output
    once = CliRunner().invoke(app, ["analyze", str(entry_leak), "--source-root", str(ENTRY), "--exit-zero"])
    assert "several dumps" not in once.output
