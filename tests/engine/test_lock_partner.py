"""`lock-partner` (gopackage/partners.py): every way to the other end of a channel takes the held lock."""

from __future__ import annotations

from pathlib import Path

from gleak_sarif.config import ScanOptions
from gleak_sarif.engine import Engine
from tests.helpers import RULE_HEADER, write

LOCK_PARTNER = """
rule:
  all:
    - any:
        - pattern: $CH <- $V
        - pattern: <-$CH
      as: OP
    - model:
        held: {lock: $MU, at: LOCK}
        lock-partner: {lock: $MU, partner: PARTNER, partner-lock: PLOCK}
related:
  - {capture: $PARTNER, message: "partner"}
  - {capture: $PLOCK, message: "partner lock"}
"""


def scan(tmp_path: Path, files: dict[str, str], target: str) -> list[tuple[int, list[tuple[str, int]]]]:
    rule = write(tmp_path / "rules" / "TST001.yml", RULE_HEADER + LOCK_PARTNER)
    for name, text in files.items():
        write(tmp_path / "src" / name, text)
    engine = Engine(ScanOptions(rules=[str(rule)], builtin_rules=False, jobs=1, use_cache=False))
    return [(f.primary.start_line, [(r.message, r.span.start_line) for r in f.related])
            for f in engine.scan([str(tmp_path / "src" / target)]).findings]


def test_partner_in_another_file_locks_in_a_callee_after_the_receive_in_a_loop(tmp_path: Path) -> None:
    """The receiver loop receives, then a callee takes the lock: the next receive comes after the lock.
    The partner and its lock are related locations (the lock is where the other goroutine blocks)."""
    files = {
        "board.go": """
            package q
            import "sync"
            type board struct{ mu sync.Mutex; ch chan int; n int }
            func (b *board) report() {
                b.mu.Lock()
                defer b.mu.Unlock()
                b.ch <- 1
            }
        """,
        "loop.go": """
            package q
            func (b *board) loop() {
                for {
                    <-b.ch
                    b.apply()
                }
            }
            func (b *board) apply() {
                b.mu.Lock()
                b.n++
                b.mu.Unlock()
            }
        """,
    }
    assert scan(tmp_path, files, "board.go") == [(7, [("partner", 4), ("partner lock", 9)])]


def test_a_deferred_close_in_a_goroutine_on_a_captured_local(tmp_path: Path) -> None:
    """`defer close(w.done)` in a goroutine literal runs after its loop, which locks through a method of a
    captured local (`w := &T{}` declared before the literal: its type is known inside it)."""
    files = {
        "a.go": """
            package q
            import "sync"
            type w struct{ mu sync.Mutex; in chan int; done chan struct{} }
            func start() *w {
                x := &w{in: make(chan int), done: make(chan struct{})}
                go func() {
                    defer close(x.done)
                    for range x.in {
                        x.touch()
                    }
                }()
                return x
            }
            func (x *w) touch() { x.mu.Lock(); x.mu.Unlock() }
            func (x *w) stop() {
                x.mu.Lock()
                defer x.mu.Unlock()
                close(x.in)
                <-x.done
            }
        """,
    }
    assert scan(tmp_path, files, "a.go") == [(19, [("partner", 7), ("partner lock", 14)])]


def test_one_lock_free_way_to_the_other_end_is_enough(tmp_path: Path) -> None:
    files = {
        "a.go": """
            package q
            import "sync"
            type r struct{ mu sync.Mutex; ev chan int }
            func (x *r) locked() { for { x.mu.Lock(); x.mu.Unlock(); <-x.ev } }
            func (x *r) free() { for range x.ev {} }
            func (x *r) pub() { x.mu.Lock(); defer x.mu.Unlock(); x.ev <- 1 }
        """,
    }
    assert scan(tmp_path, files, "a.go") == []


def test_a_parameter_channel_closed_after_waiting_for_a_goroutine_that_locks(tmp_path: Path) -> None:
    """The blocked receive is on a parameter: its other end is what the `go` statement passes (a local of
    the starter, closed by its `defer`). The starter first waits on another channel, whose only sender
    takes the lock: the partner lock is that sender's, and the wait is bound too."""
    rule = LOCK_PARTNER.replace("partner-lock: PLOCK}", "partner-lock: PLOCK, partner-wait: PWAIT}") + \
        '  - {capture: $PWAIT, message: "partner wait"}\n'
    files = {
        "a.go": """
            package q
            import "sync"
            type l struct{ mu sync.Mutex }
            func (x *l) pop(stop chan struct{}) {
                x.mu.Lock()
                defer x.mu.Unlock()
                <-stop
            }
            func run() {
                x := &l{}
                stop := make(chan struct{})
                defer close(stop)
                go x.pop(stop)
                ready := make(chan struct{})
                go func() {
                    x.mu.Lock()
                    close(ready)
                    x.mu.Unlock()
                }()
                <-ready
            }
        """,
    }
    write(tmp_path / "rules" / "TST001.yml", RULE_HEADER + rule)
    for name, text in files.items():
        write(tmp_path / "src" / name, text)
    engine = Engine(ScanOptions(rules=[str(tmp_path / "rules" / "TST001.yml")], builtin_rules=False, jobs=1,
                                use_cache=False))
    found = [(f.primary.start_line, [(r.message, r.span.start_line) for r in f.related])
             for f in engine.scan([str(tmp_path / "src" / "a.go")]).findings]
    assert found == [(7, [("partner", 12), ("partner lock", 16), ("partner wait", 20)])]


WAIT_PARTNER = """
rule:
  all:
    - pattern: $WG.Wait()
      as: OP
    - model:
        held: {lock: $MU, at: LOCK}
        lock-partner: {lock: $MU, partner: PARTNER, partner-lock: PLOCK}
related:
  - {capture: $PARTNER, message: "partner"}
  - {capture: $PLOCK, message: "partner lock"}
"""


def scan_wait(tmp_path: Path, files: dict[str, str], target: str) -> list[tuple[int, list[tuple[str, int]]]]:
    rule = write(tmp_path / "rules" / "TST001.yml", RULE_HEADER + WAIT_PARTNER)
    for name, text in files.items():
        write(tmp_path / "src" / name, text)
    engine = Engine(ScanOptions(rules=[str(rule)], builtin_rules=False, jobs=1, use_cache=False))
    return [(f.primary.start_line, [(r.message, r.span.start_line) for r in f.related])
            for f in engine.scan([str(tmp_path / "src" / target)]).findings]


STATES = """
    package q
    import "sync"
    type state struct{ wg sync.WaitGroup }
    type c struct{ mu sync.Mutex; states map[int]*state; n int }
    func (x *c) handle(k int) {
        x.mu.Lock()
        wg := &x.states[k].wg
        x.mu.Unlock()
        defer func() {
            wg.Done()
            x.mu.Lock()
            x.n--
            x.mu.Unlock()
        }()
    }
    func (x *c) close() {
        x.mu.Lock()
        for _, s := range x.states {
            s.wg.Wait()
        }
        x.mu.Unlock()
    }
"""


def test_wait_partner_is_the_done_through_a_field_pointer_in_a_deferred_literal(tmp_path: Path) -> None:
    """`wg := &x.states[k].wg` stands for the element's field; the deferred literal's Done is reached through
    handle, which takes the lock first."""
    assert scan_wait(tmp_path, {"c.go": STATES}, "c.go") == [
        (19, [("partner", 10), ("partner lock", 6)])]


def test_wait_partner_does_not_hold_when_an_unnamed_done_may_end_it(tmp_path: Path) -> None:
    """A Done on a WaitGroup a call returns, in a file that mentions the field: maybe the same one, and
    that way takes no lock."""
    other = """
        package q
        import "sync"
        func (x *c) pick() *sync.WaitGroup { return nil }
        func (x *c) other() { w := x.pick(); _ = x.states[0].wg; w.Done() }
    """
    assert scan_wait(tmp_path, {"c.go": STATES, "other.go": other}, "c.go") == []


def test_wait_partner_on_a_local_handed_to_a_call_does_not_hold(tmp_path: Path) -> None:
    """`go work(&wg)`: the Done is the callee's, through its parameter; not followed, so no partner."""
    src = """
        package q
        import "sync"
        func run(n int) {
            var mu sync.Mutex
            var wg sync.WaitGroup
            mu.Lock()
            for i := 0; i < n; i++ {
                wg.Add(1)
                go func() { mu.Lock(); mu.Unlock(); wg.Done() }()
            }
            go work(&wg)
            wg.Wait()
            mu.Unlock()
        }
        func work(wg *sync.WaitGroup) { wg.Done() }
    """
    assert scan_wait(tmp_path, {"r.go": src}, "r.go") == []
    assert [line for line, _ in scan_wait(tmp_path, {"r.go": src.replace("go work(&wg)", "")}, "r.go")] == [12]
