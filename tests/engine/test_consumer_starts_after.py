"""`model: {consumer-starts-after: ...}`: a send whose only receivers are goroutines the sending function
starts after it (real Go parsed by tree-sitter)."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import lines, run_rule

RULE = """
rule:
  pattern: $CH <- $V
  model:
    consumer-starts-after: {consumer: START}
related:
  - {capture: $START, message: "start"}
"""

SOURCE = """
    package q

    func spawn(f func()) { go func() { f() }() }

    type a struct{ c chan int }
    type b struct{ c chan int }
    type d struct{ c chan int }
    type e struct{ c chan int }

    func newAll() (*a, *b, *d, *e) {
        return &a{c: make(chan int)}, &b{c: make(chan int)}, &d{c: make(chan int, 1)}, &e{c: make(chan int, 1)}
    }

    func (x *a) run() {
        x.c <- 1 // line 15: unbuffered, the consumer starts below
        go func() { <-x.c }()
    }

    func (x *b) run() {
        go func() { <-x.c }()
        x.c <- 1 // consumer first
    }

    func (x *d) run() {
        x.c <- 1 // one slot, one send: it fits
        spawn(func() { <-x.c })
    }

    func (x *e) run() {
        x.c <- 1 // line 30: another send may fill the slot first; spawn runs the consumer
        spawn(func() { <-x.c })
    }

    func (x *e) prime() { x.c <- 0 }
"""


def test_send_before_the_only_consumer_starts(tmp_path: Path) -> None:
    findings = run_rule(tmp_path, RULE, SOURCE)
    assert lines(findings) == [15, 30]
    assert [[r.span.start_line for r in f.related] for f in findings] == [[16], [31]]
