"""In-source suppressions on real Go parsed by tree-sitter-go: syntax and golangci-lint's scope rules."""

from __future__ import annotations

import textwrap

import pytest
import tree_sitter_go
from hypothesis import given, settings
from hypothesis import strategies as st
from tree_sitter import Language, Parser

from gleak_sarif.model import Finding, Severity, Span
from gleak_sarif.suppress import (
    apply_suppressions,
    find_directives,
    golangci_applies,
    nolint_linters,
    parse_directive,
)

PARSER = Parser(Language(tree_sitter_go.language()))


@pytest.mark.parametrize(
    ("comment", "expected"),
    [
        ("//nolint", (True, frozenset(), "")),
        ("//nolint:all", (True, frozenset(), "")),
        ("//nolint:gleak", (True, frozenset(), "")),
        ("//nolint:gleak // closed by Stop", (True, frozenset(), "closed by Stop")),
        ("//nolint:errcheck,gleak", (True, frozenset(), "")),
        ("//nolint:errcheck, gleak // two", (True, frozenset(), "two")),
        ("//nolint // whatever", (True, frozenset(), "whatever")),
        ("// nolint:gleak", (True, frozenset(), "")),  # golangci-lint trims the space too
        ("//nolint:errcheck", None),
        ("//nolintx", None),
        ("//nolint:gleakish", None),
        ("//gleak:ignore GL201 closed by Stop", (False, frozenset({"gl201"}), "closed by Stop")),
        ("//gleak:ignore GL201,GL202 -- both", (False, frozenset({"gl201", "gl202"}), "both")),
        ("//gleak:ignore GL201, GL202: reason", (False, frozenset({"gl201", "gl202"}), "reason")),
        (
            "//gleak:ignore send-abandoned-by-select // why",
            (False, frozenset({"send-abandoned-by-select"}), "why"),
        ),
        ("//gleak:ignore", None),
        ("//gleak:ignored GL201", None),
        ("// gleak:ignore GL201", None),
        ("/* nolint */", None),
    ],
)
def test_parse_directive(comment: str, expected: object) -> None:
    assert parse_directive(comment) == expected


SOURCE = textwrap.dedent(
    """\
    package p

    import (
    \t"context"
    \t"time"
    )

    func a(ctx context.Context) {
    \tch := make(chan int)
    \tgo func() { ch <- 1 }() //nolint:gleak // inline
    \tgo func() { ch <- 2 }()
    \t//gleak:ignore GL201 -- the whole statement below
    \tgo func() {
    \t\tch <- 3
    \t}()
    \tgo func() { ch <- 4 }()
    }

    //nolint:gleak // the whole function
    func b() {
    \tt := time.NewTicker(time.Second)
    \t_ = t
    }

    func c() {
    \t\t//gleak:ignore GL201 misaligned: covers its own line only
    \tgo func() {
    \t\tprintln("x")
    \t}()
    \ts := "//nolint:gleak is not a comment here"; go func() {}()
    \t//gleak:ignore GL2 prefixes do not count
    \tgo func() {}()
    }
    """
)


def finding(rule: str, line: int, name: str = "rule") -> Finding:
    span = Span(
        path="p.go", start_byte=0, end_byte=1, start_line=line, start_column=2, end_line=line, end_column=3
    )
    return Finding(rule_id=rule, rule_name=name, severity=Severity.error, message="m", primary=span)


def line_of(needle: str, source: str = SOURCE) -> int:
    return next(i for i, line in enumerate(source.splitlines(), start=1) if needle in line)


def suppressed(source: str, findings: list[Finding]) -> list[str | None]:
    data = source.encode()
    tree = PARSER.parse(data)
    apply_suppressions(data, tree.root_node, findings)
    return [f.suppression.justification if f.suppression else None for f in findings]


def test_inline_covers_only_its_line() -> None:
    fs = [finding("GL201", line_of("ch <- 1")), finding("GL201", line_of("ch <- 2"))]
    assert suppressed(SOURCE, fs) == ["inline", None]
    assert fs[0].suppression is not None
    assert fs[0].suppression.directive == "//nolint:gleak // inline"
    assert fs[0].suppression.kind == "inSource"


def test_comment_above_a_statement_covers_the_whole_statement_for_its_rules_only() -> None:
    first = line_of("the whole statement below") + 1
    fs = [
        finding("GL201", first),
        finding("GL201", line_of("ch <- 3")),
        finding("GL202", first),
        finding("GL201", line_of("ch <- 4")),
    ]
    assert suppressed(SOURCE, fs) == ["the whole statement below", "the whole statement below", None, None]


def test_comment_above_a_function_covers_the_function() -> None:
    fs = [
        finding("GL502", line_of("time.NewTicker")),
        finding("GL502", line_of("_ = t")),
        finding("GL201", 9),
    ]
    assert suppressed(SOURCE, fs) == ["the whole function", "the whole function", None]


def test_misaligned_comment_covers_its_own_line_only() -> None:
    go_line = line_of("misaligned") + 1
    fs = [finding("GL201", go_line), finding("GL201", line_of("misaligned"))]
    assert suppressed(SOURCE, fs) == [None, "misaligned: covers its own line only"]


def test_directive_text_inside_a_string_is_not_a_directive() -> None:
    assert suppressed(SOURCE, [finding("GL201", line_of("is not a comment here"))]) == [None]


def test_prefixes_are_not_rule_ids() -> None:
    assert suppressed(SOURCE, [finding("GL201", line_of("prefixes do not count") + 1)]) == [None]


def test_rule_name_is_accepted() -> None:
    src = "package p\n\nfunc f() {\n\t//gleak:ignore send-abandoned-by-select reason\n\tgo f()\n}\n"
    fs = [finding("GL201", 5, name="send-abandoned-by-select"), finding("GL202", 5, name="other")]
    assert suppressed(src, fs) == ["reason", None]


def test_comment_above_package_covers_the_file() -> None:
    src = "// Package p does things.\n//nolint:gleak // generated-like file\npackage p\n\nfunc f() {\n\tgo f()\n}\n"
    fs = [finding("GL201", 6), finding("GL999", 5)]
    assert suppressed(src, fs) == ["generated-like file", "generated-like file"]


def test_nolint_for_another_linter_does_nothing() -> None:
    src = "package p\n\nfunc f() {\n\tgo f() //nolint:errcheck\n}\n"
    assert suppressed(src, [finding("GL201", 4)]) == [None]


def test_narrowest_directive_wins() -> None:
    src = (
        "package p\n\n//nolint:gleak // function-wide\nfunc f() {\n"
        "\tgo f() //gleak:ignore GL201 -- this line\n\tgo f()\n}\n"
    )
    assert suppressed(src, [finding("GL201", 5), finding("GL201", 6)]) == ["this line", "function-wide"]


def test_fast_path_and_existing_suppressions_are_kept() -> None:
    src = "package p\n\nfunc f() {\n\tgo f()\n}\n"
    assert suppressed(src, [finding("GL201", 4)]) == [None]
    data = SOURCE.encode()
    # inline, statement, function, misaligned, prefix; not the one inside a string literal.
    assert len(find_directives(data, PARSER.parse(data).root_node)) == 5


def test_broken_go_still_honours_directives() -> None:
    src = "package p\n\nfunc f() {\n\tx := new(1) +\n\tgo f() //nolint:gleak // still\n}\n"
    assert suppressed(src, [finding("GL201", 5)]) == ["still"]


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400), st.integers(min_value=1, max_value=30))
def test_any_bytes_never_crash(noise: bytes, line: int) -> None:
    data = b"package p\n//nolint:gleak\n" + noise + b"\n//gleak:ignore GL201 x\nfunc f() {}\n"
    fs = [finding("GL201", line)]
    apply_suppressions(data, PARSER.parse(data).root_node, fs)


EQUIVALENT_SOURCE = textwrap.dedent(
    """\
    package p

    import "context"

    func f() {
    \ta, _ := context.WithCancel(context.Background()) //nolint:govet // cancels itself
    \tb, _ := context.WithCancel(context.Background()) //nolint:errcheck,LostCancel
    \tc, _ := context.WithCancel(context.Background()) //nolint:errcheck
    \t//nolint:govet // the statement below
    \td, _ := context.WithCancel(context.Background())
    \t_, _, _, _ = a, b, c, d
    }
    """
)


@pytest.mark.parametrize(
    ("comment", "expected"),
    [
        ("//nolint:govet", {"govet"}),
        ("//nolint:errcheck, LostCancel // why", {"errcheck", "lostcancel"}),
        ("// nolint:govet", {"govet"}),
        ("//nolint", set()),
        ("//nolint // reason: govet", set()),
        ("//gleak:ignore GL301", set()),
        ("/* nolint:govet */", set()),
        ("//nolintx:govet", set()),
    ],
)
def test_nolint_linters(comment: str, expected: set[str]) -> None:
    assert nolint_linters(comment) == frozenset(expected)


def test_equivalent_linter_silences_only_the_rules_that_name_it() -> None:
    lines = [line_of(f"{v}, _ :=", EQUIVALENT_SOURCE) for v in "abcd"]
    equivalents = {"GL301": frozenset({"govet", "vet", "lostcancel"})}
    fs = [finding("GL301", line) for line in lines] + [finding("GL201", lines[0])]
    data = EQUIVALENT_SOURCE.encode()
    apply_suppressions(data, PARSER.parse(data).root_node, fs, equivalents)
    assert [f.suppression.justification if f.suppression else None for f in fs] == [
        "cancels itself", "", None, "the statement below", None]
    # without the rule's equivalents nothing is silenced: //nolint:govet is not //nolint:gleak
    fs = [finding("GL301", line) for line in lines]
    apply_suppressions(data, PARSER.parse(data).root_node, fs)
    assert [f.suppression for f in fs] == [None] * 4


@pytest.mark.parametrize(
    ("directive", "applies"),
    [
        ("//nolint", True),
        ("//nolint:all", True),
        ("//nolint:errcheck,gleak // x", True),
        ("//nolint:govet // x", False),  # golangci-lint keeps gleak's issue: the bridge drops it
        ("//gleak:ignore GL301 x", False),
    ],
)
def test_golangci_applies(directive: str, applies: bool) -> None:
    assert golangci_applies(directive) is applies
