"""The pattern compiler: snippets with metavariables become exact tree-sitter queries."""

from __future__ import annotations

import pytest
from tree_sitter import Query, QueryCursor

from gleak_sarif.gosource import GO, parser
from gleak_sarif.rules.pattern import PatternError, compile_snippet

SOURCE = b"""package p

func a(x int) {
	go func() {}()
	go func() { f(1) }()
	select{}
	select { }
	for { }
	for i := 0; i < 3; i++ {}
	if x > 0 { }
	if x > 1 {} else {}
	f(1, 2, 3)
	f(1)
	f()
	ch := make(chan int)
	ch <- 1
	<-ch
	-x
}
"""

IMPORTS = {"time": "time"}


def texts(snippet: str) -> list[str]:
    compiled = compile_snippet(snippet, IMPORTS)
    root = parser().parse(SOURCE).root_node
    matches = QueryCursor(Query(GO, compiled.query)).matches(root)
    return [m[1]["__match"][0].text.decode() for m in matches]


@pytest.mark.parametrize(
    ("snippet", "expected"),
    [
        ("f($A)", ["f(1)", "f(1)"]),  # exact: one argument only (one is inside the goroutine)
        ("f($A, $$$)", ["f(1)", "f(1, 2, 3)", "f(1)"]),
        ("f($$$, $A)", ["f(1)", "f(1, 2, 3)", "f(1)"]),
        ("f($$$)", ["f(1)", "f(1, 2, 3)", "f(1)", "f()"]),
        ("f()", ["f()"]),
        ("select {}", ["select{}", "select { }"]),  # whitespace does not matter
        ("for { $$$ }", ["for { }"]),  # a three-clause loop is not an endless loop
        ("if $C { $$$ }", ["if x > 0 { }"]),  # exact: no else
        ("go func() { $$$ }()", ["go func() {}()", "go func() { f(1) }()"]),
        ("$CH <- $V", ["ch <- 1"]),
        ("<-$CH", ["<-ch"]),  # the operator is part of the pattern: -x does not match
        ("$X := make(chan $T)", ["ch := make(chan int)"]),
    ],
)
def test_snippet_matches_exactly(snippet: str, expected: list[str]) -> None:
    assert texts(snippet) == expected


def test_metavariables_and_tokens_are_reported() -> None:
    compiled = compile_snippet("time.NewTicker($D)", IMPORTS)
    assert compiled.metavars == {"D"}
    assert compiled.package_checks and compiled.package_checks[0][1] == "time"
    assert b'"time"' in compiled.tokens and b"NewTicker" in compiled.tokens
    assert b"time" not in compiled.tokens  # the alias can differ: only the import path is required


def test_underscore_metavariable_does_not_bind() -> None:
    assert compile_snippet("f($_)", IMPORTS).metavars == set()


@pytest.mark.parametrize("bad", ["f(", "func {", "$$$", "   "])
def test_invalid_snippets_raise_pattern_error(bad: str) -> None:
    with pytest.raises(PatternError):
        compile_snippet(bad, IMPORTS)


def test_lone_metavariable_is_rejected() -> None:
    with pytest.raises(PatternError, match="only a metavariable"):
        compile_snippet("$X", IMPORTS)


def test_several_statements_are_rejected_with_a_hint() -> None:
    with pytest.raises(PatternError, match="follows"):
        compile_snippet("a()\nb()", IMPORTS)


def test_context_and_selector() -> None:
    compiled = compile_snippet("select { case <-$CH: }", IMPORTS, selector="communication_case")
    assert compiled.root_kind == "communication_case"
    assert "CH" in compiled.metavars
