"""`fix:` as a list of candidates with `at`/`where` (docs/rule-language.md, "Fixes"), and the `once`
option of `model: passes`."""

from __future__ import annotations

from pathlib import Path

import pytest

from gleak_sarif.errors import ConfigError
from tests.helpers import run_rule

GO = """\
package p

func one(ch chan int) { ch <- 1 }

func many(ch chan int, n int) {
	for i := 0; i < n; i++ {
		ch <- i
	}
}

func a() {
	c := make(chan int)
	go one(c)
}

func b(xs []int) {
	c := make(chan int)
	for range xs {
		go one(c)
	}
}

func d() {
	c := make(chan int)
	go many(c, 3)
}
"""

RULE = """\
rule:
  all:
    - kind: go_statement
      as: GO
    - has: {pattern: $F($$$ARGS), stopBy: neighbor}
    - follows:
        pattern: $C := make(chan $T)
        has: {pattern: make(chan $T), as: MAKE, stopBy: end}
fix:
  - description: "len($XS) slots"
    target: $MAKE
    replace: make(chan $T, len($XS))
    at: $GO
    where:
      inside:
        kind: for_statement
        has:
          kind: range_clause
          stopBy: neighbor
          has: {field: right, stopBy: neighbor, kind: identifier, as: XS}
  - description: "one slot"
    target: $MAKE
    replace: make(chan $T, 1)
    where:
      model: {passes: {arg: $C, op: send, once: true}}
"""


def _fixes(tmp_path: Path, rule: str = RULE) -> dict[int, str | None]:
    findings = run_rule(tmp_path, rule, GO)
    return {f.primary.start_line: (f.fix.edits[0].new_text if f.fix else None) for f in findings}


def test_first_candidate_whose_where_holds_is_offered(tmp_path: Path) -> None:
    fixes = _fixes(tmp_path)
    assert fixes[13] == "make(chan int, 1)"  # a(): one() sends once
    assert fixes[19] == "make(chan int, len(xs))"  # b(): started once per element of xs
    assert fixes[25] is None  # d(): many() sends in a loop: no candidate holds, no fix


def test_where_binds_for_description(tmp_path: Path) -> None:
    findings = run_rule(tmp_path, RULE, GO)
    assert {f.fix.description for f in findings if f.fix} == {"len(xs) slots", "one slot"}


def test_passes_once_rejects_sends_in_loops(tmp_path: Path) -> None:
    rule = RULE.split("fix:")[0] + "    - model: {passes: {arg: $C, op: send, once: true}}\n"
    assert sorted(f.primary.start_line for f in run_rule(tmp_path, rule, GO)) == [13, 19]
    rule = RULE.split("fix:")[0] + "    - model: {passes: {arg: $C, op: send}}\n"
    assert sorted(f.primary.start_line for f in run_rule(tmp_path, rule, GO)) == [13, 19, 25]


@pytest.mark.parametrize(("fix", "message"), [
    ("fix: {description: d, target: $NOPE, replace: x}", "$NOPE is not bound"),
    ("fix: {description: d, at: $NOPE, replace: x, where: {kind: block}}", "$NOPE is not bound"),
    ("fix: {description: d, replace: make($XS)}", "$XS is not bound by the rule or this fix's `where`"),
    ("fix: [{description: $Q, replace: x}]", "$Q is not bound"),
])
def test_fix_errors_name_the_key(tmp_path: Path, fix: str, message: str) -> None:
    rule = RULE.split("fix:")[0] + fix + "\n"
    with pytest.raises(ConfigError) as err:
        run_rule(tmp_path, rule, GO)
    assert message in str(err.value)
    assert err.value.line is not None
