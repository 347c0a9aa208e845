"""`waiters` (gopackage/waiters.py): who waits for the goroutine that runs an operation."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import run_rule

WAITERS = """
rule:
  all:
    - pattern: $CH <- $V
    - any:
        - model:
            waiters: {wait: WAIT, signal: SIGNAL}
        - regex: ""
related:
  - {capture: $WAIT, message: "wait"}
  - {capture: $SIGNAL, message: "signal"}
"""


def related(tmp_path: Path, source: str) -> list[tuple[int, list[tuple[str, int]]]]:
    return [(f.primary.start_line, [(r.message, r.span.start_line) for r in f.related])
            for f in run_rule(tmp_path, WAITERS, source)]


def test_deferred_done_in_the_goroutine_that_calls_the_operation(tmp_path: Path) -> None:
    """The send is in a method a goroutine literal calls; the literal's `defer wg.Done()` never runs, so the
    parent's `wg.Wait()` waits for ever. A WaitGroup handed to a started function (`go w.run(&group)`) and
    a channel closed after the operation are waited for the same way; a send with no goroutine around it
    (or nobody waiting) gets no related location."""
    found = related(tmp_path, """
        package q
        import "sync"
        type w struct{ out chan int }
        func (x *w) push() {
            x.out <- 1
        }
        func (x *w) fan() {
            var wg sync.WaitGroup
            wg.Add(1)
            go func() {
                defer wg.Done()
                x.push()
            }()
            wg.Wait()
        }
        func (x *w) run(g *sync.WaitGroup) {
            defer g.Done()
            x.out <- 2
        }
        func (x *w) start() {
            var group sync.WaitGroup
            group.Add(1)
            go x.run(&group)
            group.Wait()
        }
        func (x *w) once(done chan struct{}) {
            go func() {
                x.out <- 3
                close(done)
            }()
            <-done
        }
        func (x *w) alone() {
            x.out <- 4
        }
    """)
    assert found == [
        (5, [("wait", 14), ("signal", 11)]),
        (18, [("wait", 24), ("signal", 17)]),
        (28, [("wait", 31), ("signal", 29)]),
        (34, []),
    ]


def test_a_literal_run_by_a_spawning_helper_and_a_deferred_literal_close(tmp_path: Path) -> None:
    """A literal passed to a helper that runs it on a goroutine (`go func() { defer s.Finish(); f() }()`)
    is that goroutine: the helper's deferred signal is the end signal; `defer func() { close(x.done) }()`
    signals like `defer close(x.done)`. A literal the helper calls in place is on the caller's goroutine,
    and a literal passed for another parameter is not run by the `go`."""
    found = related(tmp_path, """
        package q
        import "sync"
        type pool struct {
            wg   sync.WaitGroup
            done chan struct{}
            out  chan int
        }
        func (p *pool) Go(f func()) {
            p.wg.Add(1)
            go func() {
                defer p.finish()
                f()
            }()
        }
        func (p *pool) finish() { p.wg.Done() }
        func (p *pool) Inline(f func()) { f() }
        func (p *pool) Wait() { p.wg.Wait() }
        func (p *pool) Pair(before func(), f func()) {
            before()
            go func() {
                defer p.wg.Done()
                f()
            }()
        }
        func (p *pool) use() {
            p.Go(func() {
                p.out <- 1
            })
            p.Inline(func() {
                p.out <- 2
            })
            p.Pair(func() {
                p.out <- 3
            }, nil)
        }
        func (p *pool) watch() {
            go func() {
                defer func() {
                    close(p.done)
                }()
                p.out <- 4
            }()
        }
        func (p *pool) stop() { <-p.done }
    """)
    assert found == [(27, [("wait", 17), ("signal", 11)]), (30, []), (33, []),
                     (41, [("wait", 44), ("signal", 39)])]


WAITERS_OF = """
rule:
  all:
    - pattern: $MU.Unlock()
      as: UNLOCK
    - model: {lock-sites: {lock: $MU, sites: NEXT}}
    - any:
        - model:
            waiters: {of: $NEXT, wait: WAIT}
        - regex: ""
primary: $UNLOCK
related:
  - {capture: $WAIT, message: "wait"}
"""


def test_the_waiter_of_a_goroutine_blocked_at_another_place(tmp_path: Path) -> None:
    """`of: $NEXT`: the goroutine blocked at a place another fact found (each of lock-sites' sites), not
    the node's: the worker that locks x.mu in bump() is waited for by drain's `<-done`. peek()'s unlock runs
    on no goroutine anyone waits for, but one of its next lock sites (bump's) does: that wait is listed."""
    found = [(f.primary.start_line, [(r.message, r.span.start_line) for r in f.related])
             for f in run_rule(tmp_path, WAITERS_OF, """
        package q
        import "sync"
        type c struct{ mu sync.Mutex; n int }
        func (x *c) bump() {
            x.mu.Lock()
            x.n++
            x.mu.Unlock()
        }
        func (x *c) drain(done chan struct{}) {
            go func() {
                x.bump()
                close(done)
            }()
            <-done
        }
        func (x *c) peek() int {
            x.mu.Lock()
            n := x.n
            x.mu.Unlock()
            return n
        }
    """)]
    assert found == [(7, [("wait", 14)]), (19, [("wait", 14)])]


def test_a_range_variable_over_a_local_slice_and_a_close_after_the_stuck_operation(tmp_path: Path) -> None:
    """The goroutine calls `push` on a range variable over a local `[]*w` (the model gives slice locals and
    parameters their element type, so the call resolves): its `close(done)` never comes, so `<-done` waits
    for ever. A method that blocks before its own `close(x.stopped)` never reaches that close either,
    whoever runs it: the receive through the accessor `x.Stopped()` of an element `ws[0]` waits for ever too.
    A slice of another package's type is not followed."""
    found = related(tmp_path, """
        package q
        import "io"
        type w struct {
            out     chan int
            stopped chan struct{}
        }
        func (x *w) Stopped() <-chan struct{} { return x.stopped }
        func (x *w) push() {
            x.out <- 1
        }
        func (x *w) stop() {
            x.out <- 5
            close(x.stopped)
        }
        func fan() {
            var ws []*w
            ws = append(ws, &w{out: make(chan int), stopped: make(chan struct{})})
            done := make(chan struct{})
            go func() {
                for _, x := range ws {
                    x.push()
                }
                close(done)
            }()
            <-done
        }
        func watch(ws []*w) {
            x := ws[0]
            <-x.Stopped()
        }
        func other(rs []io.Reader, ch chan int) {
            done := make(chan struct{})
            go func() {
                for _, r := range rs {
                    r.Read(nil)
                }
                close(done)
            }()
            ch <- 2
            <-done
        }
    """)
    assert found == [
        (9, [("wait", 25), ("signal", 23)]),
        (12, [("wait", 29), ("signal", 13)]),
        (39, []),
    ]



WITH_DONE_FIELDS = """
    package q
    type a struct {
        out  chan int
        done chan struct{}
    }
    type b struct{ done chan struct{} }
    func (x *a) Done() <-chan struct{} { return x.done }
    func (x *a) work() {
        go func() {
            defer close(x.done)
            x.out <- 1
        }()
    }
    func (y *b) wait() { <-y.done }
"""


def test_waiters_looked_up_by_identity_among_fields_of_the_same_name(tmp_path: Path) -> None:
    """Many types with a `done` field: the waiters of x.done are found by identity (looked up, not by a
    walk over every function waiting on a `done`); another type's `<-y.done` is not one, a receive through
    the accessor still is; a field of a type the package does not declare, or a local of the same name, is not."""
    waits = {
        "func (x *a) wait() { <-x.done }": [("wait", 15), ("signal", 10)],
        "func viaAccessor(x *a) { <-x.Done() }": [("wait", 15), ("signal", 10)],
        "func unknown(s *notHere) { <-s.done }": [],
        "func local(done chan struct{}) { <-done }": [],
        "": [],
    }
    for number, (wait, expected) in enumerate(waits.items()):
        found = related(tmp_path / str(number), WITH_DONE_FIELDS + "    " + wait + "\n")
        assert found == [(11, expected)], wait
