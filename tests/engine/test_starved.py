"""`starved` (gopackage/starved.py): the senders that only a stuck loop would have served."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import run_rule

STARVED = """
rule:
  all:
    - pattern: <-$T.C
      not:
        inside:
          kind: communication_case
          field: communication
          stopBy: neighbor
    - any:
        - model:
            starved: {send: SEND, receive: RECV}
        - regex: ""
related:
  - {capture: $SEND, message: "send"}
  - {capture: $RECV, message: "receive"}
"""


def related(tmp_path: Path, source: str) -> list[tuple[int, list[tuple[str, int]]]]:
    return [(f.primary.start_line, [(r.message, r.span.start_line) for r in f.related])
            for f in run_rule(tmp_path, STARVED, source)]


def test_a_send_only_the_stuck_loop_receives(tmp_path: Path) -> None:
    """The loop of `run` is the only receiver of `p.kick`: when its bare `<-p.t.C` blocks for good, the send
    in `poke` blocks too. `p.done` is also received in `wait`, and `p.Out` is exported (another package may
    receive from it): their senders are not starved."""
    found = related(tmp_path, """
        package q
        import "time"
        type pump struct {
            t    *time.Timer
            kick chan struct{}
            done chan struct{}
            Out  chan int
        }
        func (p *pump) run() {
            for {
                select {
                case <-p.kick:
                    <-p.t.C
                case <-p.done:
                    return
                case p.Out <- 1:
                }
            }
        }
        func (p *pump) poke() {
            p.kick <- struct{}{}
        }
        func (p *pump) stop() {
            p.done <- struct{}{}
        }
        func (p *pump) wait() {
            <-p.done
        }
        func (p *pump) other() {
            for {
                select {
                case <-p.Out:
                    <-p.t.C
                case <-p.done:
                }
            }
        }
        func (p *pump) feed() {
            p.Out <- 2
        }
    """)
    assert found == [
        (13, [("send", 21), ("receive", 12)]),
        (33, []),
    ]
