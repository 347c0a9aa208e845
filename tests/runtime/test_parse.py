"""Parser tests on real dumps of this machine's Go toolchain, in every supported format."""

from __future__ import annotations

from rtkit import LEAKPROG, Dumps, leak_line

from gleak_sarif.runtime.models import DumpFormat, Goroutine
from gleak_sarif.runtime.parse import parse_dump, parse_dump_file

MAIN = LEAKPROG / "main.go"


def by_creator(gs: list[Goroutine], func: str) -> list[Goroutine]:
    return [g for g in gs if g.created_by is not None and g.created_by.func == func]


def test_debug2_headers_labels_ancestors(dumps: Dumps) -> None:
    d = parse_dump_file(dumps.debug2)
    assert d.format is DumpFormat.debug2
    assert d.notifications == []
    gs = d.goroutines
    assert gs[0].id == 1 and gs[0].state == "running" and gs[0].created_by is None

    sends = by_creator(gs, "main.leakSend")
    assert len(sends) == 3
    g = sends[0]
    assert g.state == "chan send" and g.creator_id == 1
    assert g.created_by is not None and g.created_by.file == str(MAIN)
    assert g.created_by.line == leak_line(MAIN, "send")
    assert g.frames[0].func == "main.leakSend.func1" and g.frames[0].offset.startswith("+0x")

    (locked,) = by_creator(gs, "main.leakLocked")
    assert locked.locked and locked.state == "chan receive"

    # Go 1.26 GODEBUG=tracebacklabels=1: labels inside the brackets; a value containing "]".
    (labelled,) = by_creator(gs, "main.leakLabelled.func1")
    assert labelled.state == "select (no cases)"
    assert labelled.labels == {"http.route": "GET /leak", "tenant": "x=1, y]"}

    # Inlined frame: "(...)" arguments and no +0x offset.
    (recv,) = by_creator(gs, "main.leakRecv")
    assert recv.frames[0].func == "main.recvForever" and recv.frames[0].args == "..."
    assert recv.frames[0].offset == ""

    # Generic function names keep their "[...]".
    (gen,) = by_creator(gs, "main.leakGeneric")
    assert gen.frames[0].func == "main.first[...]"

    # Deep recursion: "...N frames elided..." between inner and outer frames.
    (deep,) = by_creator(gs, "main.leakDeep")
    assert deep.elided > 0 and len(deep.frames) == 100

    # Wrappers: sync.(*WaitGroup).Go and time.goFunc (which has no "in goroutine N").
    (wggo,) = by_creator(gs, "sync.(*WaitGroup).Go")
    assert wggo.state == "sleep"
    (after,) = by_creator(gs, "time.goFunc")
    assert after.creator_id is None and after.state == "chan send"

    # GODEBUG=tracebackancestors=2: the creator's stack at the go statement.
    assert sends[0].ancestors and sends[0].ancestors[0].goroutine_id == 1
    assert sends[0].ancestors[0].frames[0].func == "main.leakSend"


def test_debug2_wait_minutes_trimpath(dumps: Dumps) -> None:
    d = parse_dump_file(dumps.minutes_trimpath)
    assert d.notifications == []
    sends = by_creator(d.goroutines, "main.leakSend")
    assert len(sends) == 3
    assert {g.wait_minutes for g in sends} == {3}
    assert sends[0].created_by is not None and sends[0].created_by.file == "example.com/leakprog/main.go"
    (locked,) = by_creator(d.goroutines, "main.leakLocked")
    assert locked.locked and locked.wait_minutes == 3  # "[chan receive, 3 minutes, locked to thread]"


def test_panic_gotraceback_system(dumps: Dumps) -> None:
    d = parse_dump_file(dumps.panic_system)
    assert d.format is DumpFormat.debug2
    assert d.notifications == [], d.notifications  # "panic:", "[recovered]", "exit status" are known noise
    first = d.goroutines[0]
    assert first.sysinfo.startswith("gp=0x") and " m=" in first.sysinfo
    assert all(g.sysinfo for g in d.goroutines)
    assert any(f.func == "runtime.gopark" for g in d.goroutines for f in g.frames)
    assert len(by_creator(d.goroutines, "main.leakSend")) == 3


def test_debug1_records_and_labels(dumps: Dumps) -> None:
    d = parse_dump_file(dumps.debug1)
    assert d.format is DumpFormat.debug1 and d.profile == "goroutine"
    assert d.notifications == []
    assert d.total == d.goroutine_count
    sends = [g for g in d.goroutines if g.frames and g.frames[0].func == "main.leakSend.func1"]
    assert len(sends) == 1 and sends[0].count == 3 and sends[0].id is None
    assert sends[0].frames[0].line == leak_line(MAIN, "send") + 1
    labelled = [g for g in d.goroutines if g.labels]
    assert labelled and labelled[0].labels == {"http.route": "GET /leak", "tenant": "x=1, y]"}
    # Frames of multi-frame records are split on runs of tabs (tabwriter alignment).
    wg = [g for g in d.goroutines if any(f.func == "sync.(*WaitGroup).Wait" for f in g.frames)]
    assert wg and wg[0].frames[-1].func == "main.leakWaitGroup.func1"


def test_goroutineleak_profile_debug1(dumps: Dumps) -> None:
    d = parse_dump_file(dumps.leak_debug1)
    assert d.format is DumpFormat.leak_debug1 and d.profile == "goroutineleak"
    assert d.notifications == []
    assert all(g.leaked for g in d.goroutines)
    funcs = {g.frames[-1].func for g in d.goroutines if g.frames}
    assert "main.leakSend.func1" in funcs and "main.leakWaitGroup.func1" in funcs
    assert all(g.frames[0].file.startswith("example.com/leakprog/") for g in d.goroutines
               if g.frames[0].func.startswith("main."))


def test_goroutineleak_profile_debug2(dumps: Dumps) -> None:
    d = parse_dump_file(dumps.leak_debug2)
    assert d.format is DumpFormat.leak_debug2
    assert d.notifications == []
    sends = by_creator(d.goroutines, "main.leakSend")
    assert len(sends) == 3 and all(g.leaked and g.state == "chan send" for g in sends)
    # Non-leaked goroutines are in the dump too, without the flag.
    assert any(not g.leaked for g in d.goroutines)


def test_cgo_frames() -> None:
    # Hand-written from the runtime's printers (traceback.go: printCgoTraceback, printOneCgoTraceback).
    text = (
        "goroutine 1 [syscall]:\n"
        "non-Go function at pc=0x7f3c2a1b2c3d\n"
        "my_c_func\n\t/src/c/lib.c:42 pc=0x7f3c2a1b2c40\n"
        "non-Go function\n\tpc=0x7f3c2a1b2c50\n"
        "runtime.cgocall(0x4a1b20, 0xc000052f48)\n\t/usr/local/go/src/runtime/cgocall.go:167 +0x4b\n"
        "main.main()\n\t/src/m/main.go:12 +0x1e\n"
    )
    d = parse_dump(text)
    assert d.notifications == []
    frames = d.goroutines[0].frames
    assert [f.func for f in frames] == ["non-Go function", "my_c_func", "non-Go function", "runtime.cgocall",
                                        "main.main"]
    assert (frames[1].file, frames[1].line) == ("/src/c/lib.c", 42)


def test_goleak_outputs(goleak_outputs: dict[str, str]) -> None:
    for name, text in goleak_outputs.items():
        d = parse_dump(text, name)
        assert d.format is DumpFormat.goleak, name
        assert d.notifications == [], (name, d.notifications)
        states = sorted(g.state for g in d.goroutines)
        assert states == ["chan send", "sync.Mutex.Lock"], (name, states)
        for g in d.goroutines:
            assert g.created_by is not None and g.created_by.func.endswith(".Leak")
            assert g.created_by.file.endswith("/leak.go")
            assert g.frames and g.frames[-1].func.startswith("example.com/goleak")
            assert g.source is DumpFormat.goleak
        if name.endswith("verifynone"):
            # testing.T's 8-space indentation removed: file lines parse as tab-indented again.
            assert d.goroutines[0].created_by is not None and d.goroutines[0].created_by.line > 0


def test_goleak_old_format_repeats_header(goleak_outputs: dict[str, str]) -> None:
    text = goleak_outputs["goleakold/verifynone"]
    assert "goroutine " in text and "[chan send]:" in text  # v1.2.1 still printed the header line
    d = parse_dump(text)
    assert len(d.goroutines) == 2  # merged, not duplicated


def test_go127_style_labels_after_bracket() -> None:
    # Go 1.27 prints labels after the status, unquoted when simple (research notes, third-party captures).
    text = (
        'goroutine 7 [chan send, 2 minutes] {http.route: "GET /x]", tenant: a}:\n'
        "main.f.func1()\n\t/src/m/main.go:10 +0x1e\n"
        "created by main.f in goroutine 1\n\t/src/m/main.go:9 +0x5f\n"
    )
    d = parse_dump(text)
    (g,) = d.goroutines
    assert d.notifications == []
    assert g.state == "chan send" and g.wait_minutes == 2
    assert g.labels == {"http.route": "GET /x]", "tenant": "a"}


def test_status_flags_and_reasons_with_parentheses() -> None:
    text = (
        "goroutine 5 [chan receive (nil chan) (leaked), 4 minutes, synctest bubble 3]:\n"
        "main.g()\n\t/src/m/main.go:3 +0x1\n\n"
        "goroutine 6 [select (durable)]:\nmain.h()\n\t/src/m/main.go:4 +0x1\n\n"
        "goroutine 8 [running]:\n\tgoroutine running on other thread; stack unavailable\n"
        "created by main.k in goroutine 1\n\t/src/m/main.go:7 +0x2\n"
    )
    d = parse_dump(text)
    assert d.notifications == []
    g5, g6, g8 = d.goroutines
    assert g5.state == "chan receive (nil chan)" and g5.leaked and g5.wait_minutes == 4
    assert g5.extra_status == ["synctest bubble 3"]
    assert g6.state == "select (durable)" and not g6.leaked
    assert g8.stack_unavailable and g8.created_by is not None and g8.created_by.line == 7
    assert d.format is DumpFormat.leak_debug2


def test_hostile_frame_count_is_capped_like_go() -> None:
    """Go prints at most 100 frames per goroutine (50 innermost, 50 outermost); a dump with 200,000 keeps
    those 100 and says how many were dropped, in about the time of a normal dump (issue 22, item 15)."""
    import time

    n = 200_000
    body = "".join(f"main.f{i}(...)\n\t/src/m/main.go:{i + 1}\n" for i in range(n))
    text = ("goroutine 7 [chan send]:\n" + body + "created by main.main in goroutine 1\n\t/src/m/main.go:3 +0x2\n\n"
            "goroutine 8 [select]:\nmain.g()\n\t/src/m/main.go:9 +0x1\n")
    start = time.process_time()
    d = parse_dump(text, "deep.txt")
    assert time.process_time() - start < 10
    g7, g8 = d.goroutines
    assert len(g7.frames) == 100
    assert [f.func for f in g7.frames[:50]] == [f"main.f{i}" for i in range(50)]
    assert [f.func for f in g7.frames[50:]] == [f"main.f{i}" for i in range(n - 50, n)]
    assert g7.elided == n - 100
    assert g7.created_by is not None and g7.created_by.line == 3
    assert len(g8.frames) == 1
    (note,) = d.notifications
    assert note.line == 1 and f"{n - 100} frames beyond the 100" in note.message
