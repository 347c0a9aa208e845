"""`param-alias` (gopackage/aliases.py): a local set from a literal's parameter is the callee's argument."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import run_rule

ALIAS = """
rule:
  all:
    - pattern: <-$VIA
    - model:
        param-alias: {of: $VIA, arg: ARG, via: CALL}
related:
  - {capture: $ARG, message: "arg $ARG"}
  - {capture: $CALL, message: "call"}
"""


def test_the_argument_a_literal_parameter_stands_for(tmp_path: Path) -> None:
    """`run` calls its function-valued parameter with its own receive-only `stop`: the local `seen`, set from
    the literal's parameter, is the caller's `quit`; a callee that hands the literal its other parameter makes
    the local that argument (`spare`). A parameter of both directions, or a local the literal declares
    itself, gives no alias."""
    found = [(f.primary.start_line, [(r.message, r.span.start_line) for r in f.related])
             for f in run_rule(tmp_path, ALIAS, """
        package q
        func run(f func(<-chan int), stop <-chan int, other <-chan int) {
            f(stop)
        }
        func runOther(f func(<-chan int), stop <-chan int, other <-chan int) {
            f(other)
        }
        func both(f func(chan int), stop chan int) {
            f(stop)
        }
        func use(quit, spare <-chan int, two chan int) {
            var seen <-chan int
            run(func(c <-chan int) {
                seen = c
            }, quit, spare)
            <-seen
            var other <-chan int
            runOther(func(c <-chan int) {
                other = c
            }, quit, spare)
            <-other
            var mixed chan int
            both(func(c chan int) {
                mixed = c
            }, two)
            <-mixed
            run(func(c <-chan int) {
                var own <-chan int
                own = c
                <-own
            }, quit, spare)
        }
    """)]
    assert found == [(16, [("arg quit", 15), ("call", 13)]), (21, [("arg spare", 20), ("call", 18)])]
