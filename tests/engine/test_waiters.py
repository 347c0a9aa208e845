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
