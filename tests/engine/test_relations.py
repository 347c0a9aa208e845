"""Each relation, stopBy mode, field, composition key and metavariable rule, on real Go snippets."""

from __future__ import annotations

from pathlib import Path

import pytest

from gleak_sarif.errors import ConfigError
from tests.helpers import lines, run_rule

GO = """\
package p

import "sync"

func work() {}

func spawn(wg *sync.WaitGroup, ch chan int) {
	go func() {
		wg.Add(1)
		ch <- 1
		func() {
			ch <- 2
		}()
	}()
	ch <- 3
	close(ch)
}
"""


def test_inside_stops_at_the_nearest_function_by_default(tmp_path: Path) -> None:
    body = """
rule:
  pattern: $CH <- $V
  inside:
    kind: go_statement
"""
    # line 10 is directly in the goroutine's literal; its ancestors stop at that func_literal, so the
    # go_statement above is out of reach by default
    assert lines(run_rule(tmp_path, body, GO)) == []


def test_inside_with_stopby_end_reaches_the_go_statement(tmp_path: Path) -> None:
    body = """
rule:
  pattern: $CH <- $V
  inside:
    kind: go_statement
    stopBy: end
"""
    assert lines(run_rule(tmp_path, body, GO)) == [10, 12]


def test_has_does_not_enter_nested_literals_by_default(tmp_path: Path) -> None:
    body = """
rule:
  kind: func_literal
  has:
    pattern: ch <- 2
"""
    # only the inner literal contains the send directly
    assert lines(run_rule(tmp_path, body, GO)) == [11]


def test_has_with_stopby_end_searches_all_descendants(tmp_path: Path) -> None:
    body = """
rule:
  kind: go_statement
  has:
    pattern: ch <- 2
    stopBy: end
"""
    assert lines(run_rule(tmp_path, body, GO)) == [8]


def test_has_with_field(tmp_path: Path) -> None:
    body = """
rule:
  kind: call_expression
  has:
    kind: func_literal
    field: function
    stopBy: neighbor
"""
    assert lines(run_rule(tmp_path, body, GO)) == [8, 11]


def test_precedes_and_follows_share_metavariables(tmp_path: Path) -> None:
    body = """
rule:
  all:
    - pattern: $CH <- $V
    - precedes:
        pattern: close($CH)
    - follows:
        kind: go_statement
"""
    # only the send at the function's own level (line 15) is followed by close and preceded by `go`
    assert lines(run_rule(tmp_path, body, GO)) == [15]


def test_declaration_scope_includes_closures(tmp_path: Path) -> None:
    body = """
rule:
  pattern: wg.Add(1)
  precedes:
    pattern: close($X)
    stopBy: declaration
"""
    # wg.Add is inside the goroutine; close(ch) after it is in the enclosing declaration
    assert lines(run_rule(tmp_path, body, GO)) == [9]
    body_function = body.replace("stopBy: declaration", "stopBy: function")
    assert lines(run_rule(tmp_path, body_function, GO)) == []


def test_neighbor_siblings(tmp_path: Path) -> None:
    body = """
rule:
  kind: expression_statement
  follows:
    kind: go_statement
    stopBy: neighbor
"""
    # `ch <- 3` is a send_statement, not an expression statement; close(ch) follows it, not the go
    assert lines(run_rule(tmp_path, body, GO)) == []
    body_send = body.replace("kind: expression_statement", "kind: send_statement")
    assert lines(run_rule(tmp_path, body_send, GO)) == [15]


def test_not_any_all_matches_and_as(tmp_path: Path) -> None:
    body = """
utils:
  in-goroutine:
    inside:
      kind: go_statement
      stopBy: end
rule:
  all:
    - pattern: $CH <- $V
      as: SEND
    - any:
        - matches: in-goroutine
        - precedes: {pattern: close($CH)}
    - not:
        pattern: ch <- 2
primary: $SEND
"""
    assert lines(run_rule(tmp_path, body, GO)) == [10, 15]


def test_same_text_pattern(tmp_path: Path) -> None:
    body = """
rule:
  all:
    - pattern: close($CH)
    - follows:
        pattern: $CH
        stopBy: end
"""
    assert lines(run_rule(tmp_path, body, GO)) == [16]
    body_absent = body.replace("close($CH)", "work()").replace("$CH\n", "zzz\n")
    assert lines(run_rule(tmp_path, body_absent.replace("pattern: zzz", "pattern: nothere()"), GO)) == []


TWIN_BLOCKS = """\
package p

func twins(a chan int, ok bool) {
	if ok {
		close(a)
	}
	if !ok {
		close(a)
	}
}
"""


def test_is_matches_the_bound_node_not_its_text_twin(tmp_path: Path) -> None:
    # the two `if` blocks' statement lists hold the same text (`close(a)`); `pattern: $B` is satisfied by
    # either list, `is: $B` only by the list the first close sits in: no close is later in its own list
    same_text = """
rule:
  all:
    - pattern: close($CH)
      inside:
        kind: expression_statement
        stopBy: neighbor
        inside:
          kind: statement_list
          stopBy: neighbor
          as: B
    - precedes:
        pattern: close($CH)
        inside:
          pattern: $B
"""
    assert lines(run_rule(tmp_path, same_text, TWIN_BLOCKS)) == [5]
    assert lines(run_rule(tmp_path, same_text.replace("pattern: $B", "is: $B"), TWIN_BLOCKS)) == []
    # and as the candidate of `has`: the one node itself
    has_it = """
rule:
  all:
    - kind: if_statement
      has:
        kind: block
        field: consequence
        stopBy: neighbor
        as: B
    - has:
        is: $B
        stopBy: neighbor
"""
    assert lines(run_rule(tmp_path, has_it, TWIN_BLOCKS)) == [4, 7]


def test_is_needs_an_earlier_binding(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        run_rule(tmp_path, """
rule:
  all:
    - kind: block
      inside:
        is: $B
    - kind: block
      as: B
""", TWIN_BLOCKS)
    assert "nothing binds it earlier" in str(caught.value)


def test_constraints_filter_bound_text(tmp_path: Path) -> None:
    body = """
constraints:
  V: {regex: "^[23]$"}
rule:
  pattern: $CH <- $V
"""
    assert lines(run_rule(tmp_path, body, GO)) == [12, 15]


def test_regex_atom(tmp_path: Path) -> None:
    body = """
rule:
  kind: call_expression
  regex: ^close
"""
    assert lines(run_rule(tmp_path, body, GO)) == [16]


PACKAGE_LITERALS = """\
package p

func Describe(name string, body func()) bool { body(); return true }

var _ = Describe("pool", func() {
	ch := make(chan bool)
	go func() {
		ch <- true
	}()
	<-ch
})

var _ = Describe("other", func() {
	ch := make(chan bool)
	<-ch
})

func declared() {
	ch := make(chan bool)
	<-ch
}
"""


def test_stopby_declaration_stops_at_a_package_level_function_literal(tmp_path: Path) -> None:
    # a receive with no send on the same channel name before it in its top-level function: the send of the
    # first Describe literal (line 8, in its goroutine: declaration scope includes closures) does not count
    # for the second literal's receive (line 15), which used to see the whole file
    body = """
rule:
  pattern: <-$CH
  not:
    follows:
      pattern: $CH <- $_V
      stopBy: declaration
"""
    assert lines(run_rule(tmp_path, body, PACKAGE_LITERALS)) == [15, 20]


def test_scope_declaration_matches_declarations_and_package_level_literals(tmp_path: Path) -> None:
    # "nothing in the enclosing top-level function sends on $CH": the Describe literal of line 5 sends (in
    # its goroutine), the one of line 13 and the declared function do not
    body = """
rule:
  pattern: <-$CH
  not:
    inside:
      stopBy: end
      scope: declaration
      has: {pattern: $CH <- $_V, stopBy: end}
"""
    assert lines(run_rule(tmp_path, body, PACKAGE_LITERALS)) == [15, 20]


def test_scope_function_matches_every_function_and_declaration_only_top_level_ones(tmp_path: Path) -> None:
    function = """
rule:
  kind: func_literal
  scope: function
"""
    declaration = """
rule:
  kind: func_literal
  scope: declaration
"""
    assert lines(run_rule(tmp_path, function, PACKAGE_LITERALS)) == [5, 7, 13]
    assert lines(run_rule(tmp_path, declaration, PACKAGE_LITERALS)) == [5, 13]
