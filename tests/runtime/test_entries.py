"""Entry functions to go statements: Go's closure numbering checked against this toolchain's own output, and
every profile form (debug=0 protobuf, debug=1, debug=2; goroutine and goroutineleak) mapped to the start lines
of testdata/entryprog, a real program built in the test (issue 19, items 1 and 2)."""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from rtkit import REPO, TESTDATA, run

from gleak_sarif.runtime.api import analyze_parsed
from gleak_sarif.runtime.cluster import is_std_func, is_wrapper_creator, user_frames
from gleak_sarif.runtime.entries import find_literal, literal_start, parse_symbol, resolve_symbol
from gleak_sarif.runtime.mapping import SourceMap
from gleak_sarif.runtime.models import DumpFormat
from gleak_sarif.runtime.parse import parse_dump_file
from gleak_sarif.runtime.pprofproto import ProfileError, gunzip

PROG = TESTDATA / "entryprog"


def starts() -> dict[str, tuple[str, int]]:
    """``// START: name`` markers -> (file name, line)."""
    out: dict[str, tuple[str, int]] = {}
    for path in sorted(PROG.glob("*.go")):
        for i, line in enumerate(path.read_text().splitlines(), 1):
            m = re.search(r"// START: (\S+)$", line)
            if m:
                out[m.group(1)] = (path.name, i)
    return out


# How each start is found when the profile names only the function a goroutine runs.
KIND = {
    "afterfunc-stmt": "wrapper-call", "afterfunc-assigned": "wrapper-call", "afterfunc-returned": "wrapper-call",
    "afterfunc-field": "wrapper-call", "waitgroup-go": "wrapper-call", "afterfunc-method": "inferred",
    "tx-await": "inferred", "rows-await": "inferred", "literal-receiver": "inferred", "named-func": "inferred",
    "stored-var": "inferred",
}
# Pairs whose goroutines have the same stack: a profile without creators has one record for both, reported at
# the first statement with the second as "or started here".
SAME_RECORD = {"twin-1": "twin-2", "literal-receiver": "afterfunc-method"}


@dataclass
class Profiles:
    debug2: Path
    debug1: Path
    debug0: Path
    leak_debug0: Path
    leak_debug1: Path
    cpu: Path


@pytest.fixture(scope="module")
def profiles(go: str, tmp_path_factory: pytest.TempPathFactory) -> Profiles:
    d = tmp_path_factory.mktemp("entryprog")
    plain, leak = d / "entryprog", d / "entryprog-leak"
    run([go, "build", "-o", str(plain), "."], cwd=PROG)
    run([go, "build", "-o", str(leak), "."], cwd=PROG, env={"GOEXPERIMENT": "goroutineleakprofile"})

    def out(name: str, binary: Path, *args: str) -> Path:
        p = d / name
        run([str(binary), *args, "-o", str(p)])
        return p

    return Profiles(
        debug2=out("debug2.txt", plain, "-debug", "2"),
        debug1=out("debug1.txt", plain, "-debug", "1"),
        debug0=out("debug0.pb.gz", plain, "-debug", "0"),
        leak_debug0=out("leak-debug0.pb.gz", leak, "-profile", "goroutineleak", "-debug", "0"),
        leak_debug1=out("leak-debug1.txt", leak, "-profile", "goroutineleak", "-debug", "1"),
        cpu=run([str(plain), "-cpuprofile", str(d / "cpu.pb.gz")]) and d / "cpu.pb.gz",
    )


def test_closure_numbering_matches_the_runtime(profiles: Profiles) -> None:
    """For every goroutine whose creator is user code, the runtime prints the go statement's line: the literal
    our numbering finds from the entry function's name must be started by exactly that statement."""
    smap = SourceMap(PROG)
    d = parse_dump_file(profiles.debug2)
    checked: dict[str, str] = {}
    for g in d.goroutines:
        c = g.created_by
        frames = user_frames(g)
        if c is None or is_std_func(c.func) or is_wrapper_creator(c.func) or not frames:
            continue
        func, file, line = frames[-1]
        sym = parse_symbol(func)
        assert sym is not None, func
        pkg = smap.package(file)
        assert pkg is not None
        files, frame = pkg
        sym = resolve_symbol(sym, files)
        if sym.is_literal:
            hit = find_literal(files, frame, sym, line)
            assert hit is not None, func
            # Not inlined: found by number, and the number agrees with the line.
            assert hit.how == "numbered", func
            start = literal_start(hit.file.src, hit.node)
            assert start is not None and start.kind in ("go", "inferred"), func
            got = start.stmt.start_point[0] + 1
        else:
            got_all = [s.stmt.start_point[0] + 1 for s in smap._starts(files).go_starts(sym)]
            assert c.line in got_all, (func, got_all)
            got = c.line if len(got_all) == 1 or func.endswith("(*worker).loop") else -1
        assert got == c.line, (func, got, c.line)
        checked[func] = Path(c.file).name
    names = set(checked)
    # The forms this test is about were all there.
    for want in ("main.literals.func2", "main.literals.func4", "main.literals.func4.1", "main.init.0.func1",
                 "main.init.1.func1", "main.init.func1.1", "main.init.func2.1", "main.Val.wait.func1",
                 "main.(*Box[...]).start.func1", "main.startGeneric[...].func1", "main.overSeq.func1",
                 "main.labelled.func1.1", "main.stored.func1", "main.(*Tx).awaitDone", "main.(*Rows).awaitDone",
                 "main.(*Proxy).Run", "main.recvNamed", "main.(*worker).loop"):
        assert want in names, (want, sorted(names))


def test_inlined_literal_name_is_found_by_line(profiles: Profiles) -> None:
    """``armTimer`` inlines ``(*Timer).arm``: its literal is ``main.armTimer.(*Timer).arm.func2`` (numbered in
    armTimer's sequence); it is found in arm's body by line, and its statement is the AfterFunc call."""
    d = parse_dump_file(profiles.debug2)
    (g,) = [g for g in d.goroutines if g.frames and ".(*Timer).arm.func" in g.frames[0].func]
    assert g.frames[0].func.startswith("main.armTimer.(*Timer).arm.func")
    smap = SourceMap(PROG)
    site = smap.entry_site(g.frames[0].file, g.frames[0].func, g.frames[0].line, started_by="wrapper")
    assert site is not None and site.span is not None
    assert (Path(site.span.path).name, site.span.start_line) == starts()["afterfunc-field"]
    assert site.kind == "wrapper-call" and "time.AfterFunc" in site.text


def _mapped(path: Path) -> tuple[DumpFormat, dict[tuple[str, int], dict[str, object]]]:
    dump = parse_dump_file(path)
    _, result = analyze_parsed(dump, SourceMap(PROG), min_minutes=0)
    out: dict[tuple[str, int], dict[str, object]] = {}
    for f in result.findings:
        out[(Path(f.primary.path).name, f.primary.start_line)] = {
            **f.properties, "related": [(Path(r.span.path).name, r.span.start_line) for r in f.related]}
    return dump.format, out


@pytest.mark.parametrize("form", ["debug0", "debug1", "leak_debug0", "leak_debug1"])
def test_profiles_without_creators_map_to_start_lines(profiles: Profiles, form: str) -> None:
    """debug=0 (protobuf) and debug=1 profiles have no "created by": every start is still found."""
    path = getattr(profiles, form)
    fmt, got = _mapped(path)
    assert fmt is {"debug0": DumpFormat.debug0, "debug1": DumpFormat.debug1,
                   "leak_debug0": DumpFormat.leak_debug0, "leak_debug1": DumpFormat.leak_debug1}[form]
    if form in ("debug0", "debug1"):
        # Plain goroutine profiles: analyze reports nothing without wait times; diff against an empty start.
        assert got == {}
        from gleak_sarif.runtime.api import diff_parsed
        from gleak_sarif.runtime.models import Dump

        _, result = diff_parsed(Dump(format=DumpFormat.empty), parse_dump_file(path), SourceMap(PROG))
        got = {(Path(f.primary.path).name, f.primary.start_line): {
            **f.properties, "related": [(Path(r.span.path).name, r.span.start_line) for r in f.related]}
            for f in result.findings}
    marks = starts()
    for name, where in marks.items():
        if name in SAME_RECORD.values():
            continue
        assert where in got, (name, where, sorted(got))
        props = got[where]
        want = "candidates" if name in SAME_RECORD else KIND.get(name, "go")
        assert props["creation-site-kind"] == want, (name, props["creation-site-kind"])
    for first, second in SAME_RECORD.items():
        assert marks[second] in got[marks[first]]["related"], (first, second)  # type: ignore[operator]
    assert got[marks["labelled"]]["labels"] == {"route": ["GET /x"]}
    # States read from the frames (debug=0 keeps the runtime's own frames; debug=1 hides chanrecv).
    assert got[marks["lit-func2"]]["state"] == ("chan receive" if form.endswith("0") else "unknown")
    assert len(got) == len(marks) - len(SAME_RECORD)


def test_debug0_profile_decodes_counts_and_start_lines(profiles: Profiles) -> None:
    d0, d1 = parse_dump_file(profiles.leak_debug0), parse_dump_file(profiles.leak_debug1)
    assert d0.notifications == [] and d0.profile == "goroutineleak" and all(g.leaked for g in d0.goroutines)
    assert d0.goroutine_count == d1.goroutine_count == d1.total

    def user_stacks(dump_goroutines: list) -> set[tuple[str, ...]]:  # type: ignore[type-arg]
        return {tuple(f.func for f in g.frames if not is_std_func(f.func)) for g in dump_goroutines}

    assert user_stacks(d0.goroutines) == user_stacks(d1.goroutines)
    # Function start lines: the literal's "func" line (what tells literals on different lines apart).
    (g,) = [g for g in d0.goroutines if g.frames and any(f.func == "main.literals.func4" for f in g.frames)]
    (f,) = [f for f in g.frames if f.func == "main.literals.func4"]
    assert f.start_line == starts()["lit-func4"][1] and f.line > f.start_line


def test_debug2_wrapper_forms_item1(profiles: Profiles) -> None:
    """time.AfterFunc in statement, assigned, returned and field form, and with a method value (created by
    time.goFunc, no user creator) are all reported at their AfterFunc call (issue 19, item 1)."""
    _, got = _mapped(profiles.debug2)  # every blocked goroutine (min_minutes=0)
    lines = {where: props["creation-site-kind"] for where, props in got.items()}
    marks = starts()
    for name in ("afterfunc-stmt", "afterfunc-assigned", "afterfunc-returned", "afterfunc-field"):
        assert lines.get(marks[name]) == "wrapper-call", (name, lines)
    assert lines.get(marks["afterfunc-method"]) == "inferred"
    # With "created by" every other start is a go statement, twins included, each on its own line.
    assert lines.get(marks["twin-1"]) == lines.get(marks["twin-2"]) == "go"


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "gleak_sarif", "runtime", *args], capture_output=True,
                          text=True, env=env, timeout=120)


def test_not_a_dump_exits_2_with_a_hint(profiles: Profiles, tmp_path: Path) -> None:
    """Input that is no goroutine dump or profile is a usage error (exit 2) with a hint, never "0 findings"."""
    cases = {
        "cpu.pb.gz": profiles.cpu.read_bytes(),  # a real pprof profile, of another kind
        "page.html": b"<html><body>404 page not found</body></html>\n",
        "empty.txt": b"",
        "cut.pb.gz": profiles.leak_debug0.read_bytes()[:40],
        "noise.bin": bytes(range(256)) * 8,
    }
    for name, data in cases.items():
        p = tmp_path / name
        p.write_bytes(data)
        proc = _cli("analyze", str(p), "--source-root", str(PROG))
        assert proc.returncode == 2, (name, proc.returncode, proc.stdout, proc.stderr)
        assert "hint:" in proc.stderr and "debug=2" in proc.stderr, (name, proc.stderr)
    proc = _cli("analyze", str(tmp_path / "cpu.pb.gz"))
    assert "'samples' profile" in proc.stderr or "profile, not a goroutine" in proc.stderr, proc.stderr
    # A decompression bomb stops at the limit.
    with pytest.raises(ProfileError, match="more than 1048576 bytes"):
        gunzip(gzip.compress(b"\0" * (4 << 20)), limit=1 << 20)
    # A leak profile that lists nothing is a profile: no finding, exit 0.
    empty_leak = tmp_path / "no-leaks.txt"
    empty_leak.write_text("goroutineleak profile: total 0\n")
    proc = _cli("analyze", str(empty_leak), "--source-root", str(PROG), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["findings"] == []


def test_mutated_protobuf_never_crashes(profiles: Profiles) -> None:
    """The protobuf reader on hostile bytes: a real profile cut, spliced and bit-flipped, gzipped or not,
    either parses or is a DumpError (exit 2), never another exception."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from gleak_sarif.runtime.parse import DumpError, parse_dump_bytes

    raw = gzip.decompress(profiles.leak_debug0.read_bytes())

    @settings(max_examples=300, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.lists(st.tuples(st.integers(0, len(raw) - 1), st.integers(0, 255)), max_size=8),
           st.integers(0, len(raw)), st.booleans())
    def check(flips: list[tuple[int, int]], cut: int, zipped: bool) -> None:
        data = bytearray(raw[:cut] if cut else raw)
        for at, value in flips:
            if at < len(data):
                data[at] = value
        blob = gzip.compress(bytes(data)) if zipped else bytes(data)
        try:
            parse_dump_bytes(blob, "mutated.pb")
        except DumpError:
            pass

    check()
