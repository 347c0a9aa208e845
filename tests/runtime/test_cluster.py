"""Clustering and diff on real dumps; tolerant parsing of truncated and mixed input."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from rtkit import LEAKPROG, Dumps, leak_line

from gleak_sarif.model import NotificationKind
from gleak_sarif.runtime.api import analyze_parsed, diff_parsed
from gleak_sarif.runtime.cluster import cluster, diff, select_single
from gleak_sarif.runtime.mapping import SourceMap
from gleak_sarif.runtime.models import DumpFormat
from gleak_sarif.runtime.parse import parse_dump, parse_dump_file

MAIN = LEAKPROG / "main.go"


def test_cluster_ignores_ids_args_and_recursion_depth(dumps: Dumps) -> None:
    d = parse_dump_file(dumps.many_after)
    clusters = cluster(d.goroutines)
    many = [c for c in clusters.values() if c.creator and c.creator.line == leak_line(MAIN, "many")]
    assert len(many) == 1 and many[0].count == 45 and len(many[0].ids) == 45
    sends = [c for c in clusters.values() if c.creator and c.creator.func == "main.leakSend"]
    assert len(sends) == 1 and sends[0].count == 3
    deep = [c for c in clusters.values() if c.creator and c.creator.func == "main.leakDeep"]
    assert len(deep) == 1 and deep[0].user_frames[0][0] == "main.deep"
    assert len(deep[0].user_frames) <= 3  # 100 printed frames collapse to their distinct call sites


def test_diff_reports_only_growth(dumps: Dumps) -> None:
    before, after = parse_dump_file(dumps.many_before), parse_dump_file(dumps.many_after)
    (delta,) = diff(before, after)
    assert (delta.before, delta.after, delta.growth) == (5, 45, 40)
    assert delta.cluster.creator is not None and delta.cluster.creator.line == leak_line(MAIN, "many")
    # A dump diffed with itself persists everything but grows nothing.
    assert diff(after, after) == []
    persistent = diff(after, after, persistent=True)
    assert persistent and all(d.growth == 0 and d.persisted == d.after for d in persistent)
    # sleep is not a blocking state: the wg.Go goroutine (time.Sleep(time.Hour)) is never reported.
    assert all(d.cluster.main_state != "sleep" for d in persistent)


def test_diff_findings_text_and_properties(dumps: Dumps) -> None:
    smap = SourceMap(LEAKPROG)
    _, result = diff_parsed(parse_dump_file(dumps.many_before), parse_dump_file(dumps.many_after), smap)
    (f,) = result.findings
    assert f.rule_id == "GLR001" and f.rule_name == "leaked-goroutine"
    assert f.primary.start_line == leak_line(MAIN, "many")
    assert f.message.startswith("45 goroutines started here are blocked in 'chan receive' and grew by 40")
    assert f.properties["growth"] == 40 and f.properties["states"] == {"chan receive": 45}
    assert [r.id for r in result.rules] == ["GLR001"]
    assert result.rules[0].what and result.rules[0].why and result.rules[0].example


def test_diff_debug1_maps_closure_to_go_statement(dumps: Dumps) -> None:
    before = parse_dump_file(dumps.many_before_debug1)
    after = parse_dump_file(dumps.many_after_debug1)
    _, result = diff_parsed(before, after, SourceMap(LEAKPROG))
    (f,) = result.findings
    assert f.primary.start_line == leak_line(MAIN, "many")
    assert f.properties["creation-site-kind"] == "go" and f.properties["growth"] == 40
    assert "the profile records no state" in f.message
    # States the frames do tell: the wait-group waiter is not "unknown"; the sleeper is not blocking.
    states = {f.func: g.state for g in after.goroutines for f in g.frames}
    assert states["main.leakWaitGroup.func1"] == "sync.WaitGroup.Wait"
    assert states["main.leakWrappers.func1"] == "sleep"


def test_diff_min_minutes(dumps: Dumps) -> None:
    before = parse_dump_file(dumps.many_before)
    after = parse_dump_file(dumps.minutes_trimpath)  # 3 minutes everywhere, other paths (-trimpath)
    assert diff(before, after, min_minutes=4) == []


def test_analyze_min_minutes(dumps: Dumps) -> None:
    d = parse_dump_file(dumps.minutes_trimpath)
    assert len(select_single(d, min_minutes=3)) == 8
    assert select_single(d, min_minutes=4) == []


def test_analyze_debug1_plain_says_why_nothing(dumps: Dumps) -> None:
    _, result = analyze_parsed(parse_dump_file(dumps.debug1), SourceMap(LEAKPROG))
    assert result.findings == []
    assert any("no states or wait times" in n.message for n in result.notifications)


def test_analyze_goleak(goleak_outputs: dict[str, str], tmp_path: Path) -> None:
    root = LEAKPROG.parent / "goleaknew"
    text = goleak_outputs["goleaknew/verifynone"]
    _, result = analyze_parsed(parse_dump(text), SourceMap(root))
    lines = sorted(f.primary.start_line for f in result.findings)
    src = root / "leak.go"
    assert lines == sorted([leak_line(src, "send"), leak_line(src, "mutex")])
    assert all(f.severity.value == "error" and f.properties["evidence"] == "goleak" for f in result.findings)


# ------------------------------------------------------------------------------- tolerant parsing


def test_truncated_dump_keeps_what_parsed(dumps: Dumps) -> None:
    text = dumps.debug2.read_text()
    cut = text[: int(len(text) * 0.6)]
    cut = cut[: cut.rfind("\n") - 7]  # cut in the middle of a line
    d = parse_dump(cut, "cut.txt")
    full = parse_dump(text)
    assert 0 < len(d.goroutines) < len(full.goroutines)
    assert all(g.id is not None for g in d.goroutines)
    # The cut point is reported (a frame without its file line, or a cut-off line), never raised.
    assert all(n.kind is NotificationKind.runtime_input for n in d.notifications)


def test_cut_header_and_garbage_lines() -> None:
    text = (
        "goroutine 9 [chan send, 3 min\n"  # header cut by a log line limit
        "main.f.func1()\n\t/src/m/main.go:10 +0x1e\n"
        "this is not a dump line\n"
        "\n"
        "goroutine 10 [chan receive]:\n"
        "main.g()\n\t/src/m/main.go:20 +0x1\n"
        "created by main.g in goroutine 1\n\t/src/m/main.go:19 +0x2\n"
    )
    d = parse_dump(text, "x.txt")
    assert [g.id for g in d.goroutines] == [9, 10]
    assert d.goroutines[0].state == "chan send"
    lines = sorted(n.line for n in d.notifications if n.line)
    assert lines == [1, 4]
    assert d.goroutines[1].created_by is not None and d.goroutines[1].created_by.line == 19


def test_mixed_input(dumps: Dumps, goleak_outputs: dict[str, str]) -> None:
    text = ("some log line before\n" + dumps.debug1.read_text() + "\n" + dumps.debug2.read_text()
            + goleak_outputs["goleaknew/testmain"])
    d = parse_dump(text)
    formats = {g.source for g in d.goroutines}
    assert formats == {DumpFormat.debug1, DumpFormat.debug2, DumpFormat.goleak}
    assert d.format is DumpFormat.goleak  # the strongest claim wins
    assert any("mixed input" in n.message for n in d.notifications)
    assert [n.line for n in d.notifications if n.line] == [1]


_PIECES = st.sampled_from([
    "goroutine 1 [", "goroutine ", "]:", " labels:{", '"', "\\", "}", "{", ": ", ", ", "\n", "\t", "created by ",
    " in goroutine ", "#\t0x1\t", "+0x", ":12", "3 @ 0x1", "# labels: {", "goroutine profile: total 3",
    "Goroutine 5 in state chan send, with f on top of the stack:", "[", "]", "found unexpected goroutines:",
    "    x_test.go:3: found unexpected goroutines:", "        ", "...5 frames elided...",
    "[originating from goroutine 1]:", "non-Go function", "\tpc=0x1", "\u00b2", "\u0663", "main.f()", "(...)",
    " minutes", ", locked to thread", " (leaked)",
])


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(_PIECES, st.text(max_size=5)), max_size=60))
def test_parser_never_raises(parts: list[str]) -> None:
    d = parse_dump("".join(parts))
    assert d.format in set(DumpFormat)


# ------------------------------------------------------------------------------- diff by goroutine id


def test_diff_matches_goroutines_by_id(go: str, tmp_path: Path) -> None:
    """Two dumps of one process (testdata/diffprog): a worker that slept and now waits, and goroutines that
    ended and were replaced at the same go statement, are not growth; the go statement that leaked five more
    is (issue 19, item 4)."""
    from rtkit import TESTDATA, run

    prog = TESTDATA / "diffprog"
    binary = tmp_path / "diffprog"
    run([go, "build", "-o", str(binary), "."], cwd=prog)
    run([str(binary), "-o", str(tmp_path)])
    before, after = parse_dump_file(tmp_path / "before.txt"), parse_dump_file(tmp_path / "after.txt")
    main = prog / "main.go"
    deltas = diff(before, after)
    (d,) = deltas
    assert d.cluster.creator is not None and d.cluster.creator.line == leak_line(main, "grows")
    assert (d.before, d.after, d.growth) == (2, 7, 5)
    # The worker's goroutine is in both dumps (sleeping, then in 'chan receive'): counted by state alone it
    # would be a new blocked cluster of one.
    (worker,) = [g for g in after.goroutines if g.frames and g.frames[0].func == "main.worker"]
    assert worker.state == "chan receive"
    assert any(g.id == worker.id and g.state == "sleep" for g in before.goroutines)
    assert diff(before, after, persistent=True) == deltas  # nothing else persisted blocked either
    # Without ids (the same dumps as debug=1 would give them) the count difference is all there is.
    for dump in (before, after):
        for g in dump.goroutines:
            g.id = None
    assert {x.cluster.creator.line for x in diff(before, after) if x.cluster.creator} == {
        leak_line(main, "grows"), next(i for i, t in enumerate(main.read_text().splitlines(), 1)
                                        if "// WORKER: started" in t)}
