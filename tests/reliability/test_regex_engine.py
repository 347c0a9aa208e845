"""Rule regexes run on RE2 (issue 22 item 4): a catastrophic-backtracking regex in a rule from the scanned
repository costs linear time; regexes RE2 cannot run (backreferences, lookaround) are refused at load
time with the rule file and line (exit 2); `#match?` in a `query:` atom runs on RE2 too."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from gleak_sarif.rules.regex import compile_regex, rewrite_match_predicates, rewritten_regexes
from tests.helpers import RULE_HEADER, run_rule, write
from tests.reliability.conftest import no_traceback, run_cli

# `(a+)+b` against a run of a's with no b: Python's backtracking `re` doubles its time per character
# (29 characters: 90 s); RE2 answers at once whatever the length.
EVIL = "(a+)+b"
VICTIM = "package p\n\nfunc " + "a" * 40 + "() {}\n\nfunc g() { " + "a" * 40 + "() }\n"


def test_python_re_would_backtrack_here() -> None:
    """The input is really catastrophic for a backtracking engine (so the tests below can fail): 22
    characters already take measurable time with `re`, and each one more doubles it."""
    import re

    started = time.monotonic()
    assert re.search(EVIL, "a" * 22) is None
    assert time.monotonic() - started > 0.05


@pytest.mark.parametrize("rule", [
    f"rule:\n  kind: identifier\n  regex: '{EVIL}'\n",
    f"rule:\n  pattern: $F()\nconstraints:\n  $F: {{regex: '{EVIL}'}}\n",
    f"rule:\n  pattern: $F()\nconstraints:\n  $F: {{not-regex: '{EVIL}'}}\n",
    f"rule:\n  query: '((identifier) @x (#match? @x \"{EVIL}\"))'\n",
    f"rule:\n  query: '((identifier) @x (#any-match? @x \"{EVIL}\"))'\n",
])
def test_backtracking_regex_in_a_rule_is_linear(tmp_path: Path, rule: str) -> None:
    started = time.monotonic()
    findings = run_rule(tmp_path, rule, VICTIM)
    assert time.monotonic() - started < 20
    # only the not-regex rule matches (the call's name does not match the regex)
    assert len(findings) == (1 if "not-regex" in rule else 0)


def test_match_predicates_still_filter(tmp_path: Path) -> None:
    """The rewritten `#match?` family keeps tree-sitter's meaning (all / any, negated or not)."""
    source = "package p\n\nfunc leakA() {}\nfunc other() {}\n\nfunc g() { leakA(); other() }\n"

    def count(query: str) -> int:
        return len(run_rule(tmp_path, f"rule:\n  query: '{query}'\n", source))

    call = "((call_expression function: (identifier) @f) @match"
    assert count(call + ' (#match? @f "^leak[A-Z]$"))') == 1
    assert count(call + ' (#not-match? @f "^leak"))') == 1
    assert count(call + ' (#any-not-match? @f "^o"))') == 1
    assert count(call + ' (#eq? @f "other"))') == 1  # other predicates untouched


def test_rewrite_leaves_strings_alone() -> None:
    query = '((identifier) @x (#match? @x "^a\\\\d+\\"$") (#eq? @x "#match?"))'
    rewritten = rewrite_match_predicates(query)
    assert rewritten == '((identifier) @x (#gleak-match? @x "^a\\\\d+\\"$") (#eq? @x "#match?"))'
    assert rewritten_regexes(rewritten) == ['^a\\d+"$']


@pytest.mark.parametrize(("body", "line"), [
    ("rule:\n  kind: identifier\n  regex: '(a)\\1'\n", 9),
    ("rule:\n  kind: identifier\n  regex: 'x(?=y)'\n", 9),
    ("rule:\n  pattern: $F()\nconstraints:\n  $F: {not-regex: '(?<!a)b'}\n", 10),
    ("rule:\n  pattern: $F()\npackage: {regex: '(a)\\1'}\n", 9),
    ("rule:\n  query: '((identifier) @x (#match? @x \"(a)\\\\1\"))'\n", 8),
])
def test_regex_re2_cannot_run_is_a_clear_error(tmp_path: Path, body: str, line: int) -> None:
    rule = write(tmp_path / "bad.yml", RULE_HEADER + body)
    src = write(tmp_path / "a.go", "package p\n\nfunc f() {}\n")
    done = run_cli("scan", "--no-builtin-rules", "--rules", str(rule), str(src), cwd=tmp_path, timeout=120)
    no_traceback(done)
    assert done.returncode == 2, done.stderr
    assert f"bad.yml:{line}:" in done.stderr, done.stderr
    assert "RE2" in done.stderr, done.stderr


def test_compile_regex_is_linear_on_long_input() -> None:
    regex = compile_regex(EVIL)
    started = time.monotonic()
    assert regex.search("a" * 200_000) is None
    assert time.monotonic() - started < 2
