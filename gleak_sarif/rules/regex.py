"""Rule regexes run on RE2, whose matching time is linear in the text whatever the pattern.

Rules and `.gleak.yml` can come from the repository being scanned, so a rule regex is untrusted input:
with a backtracking engine `(a+)+b` on a 29-character name ran for 90 s (doubling per character) and no
deadline could interrupt it. RE2 has no backtracking, so it also has no backreferences and no lookaround;
such a regex is refused when the rule is loaded. `\\w`, `\\d` and `\\s` are ASCII in RE2.

This covers `regex:`, `constraints:` (`regex`, `not-regex`), `package:` and the `#match?` family in
`query:` atoms (rewritten to `#gleak-match?` family predicates that the evaluator answers with RE2 through
`query_predicate`; the snippet compiler's own `#match?` predicates are generated from escaped literals and
stay tree-sitter's).
"""

from __future__ import annotations

import functools
import re
from typing import Literal, Protocol, cast

import re2
from tree_sitter import Node


class Regex(Protocol):
    """What rules use of a compiled regex (an RE2 object)."""

    def search(self, text: str) -> object | None: ...

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # RE2 would print parse errors to stderr; the error text is raised instead


class RegexError(ValueError):
    """The pattern is not valid RE2 syntax (the message says why)."""


@functools.lru_cache(maxsize=4096)
def compile_regex(pattern: str) -> Regex:
    """The RE2 object for ``pattern`` (``.search(text)`` as in `re`); RegexError if RE2 refuses it."""
    try:
        return cast(Regex, re2.compile(pattern, _OPTIONS))
    except re2.error as err:
        reason = err.args[0] if err.args else err
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise RegexError(f"{reason} (rule regexes use RE2 syntax: no backreferences or lookaround)") from None


def check_regex(pattern: str) -> str:
    """``pattern`` itself if RE2 compiles it (for schema validators); RegexError otherwise."""
    compile_regex(pattern)
    return pattern


# the `#match?` family in a user's `query:` and the names it is rewritten to
_STRING_OR_MATCH = re.compile(r'"(?:[^"\\]|\\.)*"|#((?:any-)?(?:not-)?match\?)')
PREFIX = "gleak-"


def rewrite_match_predicates(query: str) -> str:
    """``query`` with `#match?`, `#not-match?`, `#any-match?`, `#any-not-match?` renamed to the
    `#gleak-...` predicates that `query_predicate` evaluates with RE2 (string literals left alone)."""
    return _STRING_OR_MATCH.sub(lambda m: "#" + PREFIX + m.group(1) if m.group(1) else m.group(0), query)


_REWRITTEN_ARGS = re.compile(r'#' + PREFIX + r'(?:any-)?(?:not-)?match\?\s+@[\w.-]+\s+"((?:[^"\\]|\\.)*)"')
_QUERY_ESCAPE = re.compile(r"\\(.)", re.S)
_QUERY_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "0": "\0"}


def rewritten_regexes(query: str) -> list[str]:
    """The regexes of the rewritten predicates in ``query`` (as tree-sitter unescapes them), to check them
    when the rule is loaded rather than on the first match."""
    return [_QUERY_ESCAPE.sub(lambda e: _QUERY_ESCAPES.get(e.group(1), e.group(1)), m.group(1))
            for m in _REWRITTEN_ARGS.finditer(query)]


def query_predicate(predicate: str, args: list[tuple[str, Literal["capture", "string"]]], pattern_index: int,
                    captures: dict[str, list[Node]]) -> bool:
    """tree-sitter's custom-predicate hook: the `#gleak-...match?` family with RE2. Any other custom
    predicate is refused when the rule is compiled, so it never gets here; answer False to be safe."""
    if not predicate.startswith(PREFIX) or len(args) != 2 or args[0][1] != "capture" or args[1][1] != "string":
        return False
    base = predicate[len(PREFIX):]
    regex = compile_regex(args[1][0])
    nodes = captures.get(args[0][0], [])
    negated = "not-" in base
    found = [(regex.search(_text(node)) is not None) != negated for node in nodes]
    return any(found) if base.startswith("any-") else all(found)


def _text(node: Node) -> str:
    text = node.text
    return text.decode("utf-8", "replace") if isinstance(text, bytes) else ""
