"""In-source suppressions: `//nolint:gleak`, `//nolint:gleak // reason`, `//gleak:ignore GL201 reason`.

The engine calls `apply_suppressions` once per file that has findings, with the file's bytes and its parsed
tree. Suppressed findings keep being reported (SARIF `suppressions`, `--show-suppressed`); they only stop
counting for the exit code.

Syntax (golangci-lint's, so one comment serves both tools):

- ``//nolint`` and ``//nolint:all`` suppress every rule; ``//nolint:gleak`` (a comma list of linter names
  that contains ``gleak``, e.g. ``//nolint:errcheck,gleak``) suppresses every gleak rule. Other names
  (``//nolint:errcheck``) leave gleak alone. No spaces around ``:``; an explanation may follow after
  ``//``: ``//nolint:gleak // closed by Stop``. golangci-lint trims leading slashes and spaces before it
  matches, so ``// nolint:gleak`` works there (its docs still ask for ``//nolint``), and here too.
- ``//nolint:govet`` (any list of other linters' names) silences the rules that list one of those names as
  ``equivalent-linters`` in their YAML: GL301 is go vet's lostcancel check, so a line whose lost cancel is
  already excused for vet (``//nolint:govet // cancels itself at the deadline``) is excused for it too.
  golangci-lint does not apply such a directive to gleak's issues, so the golangci-lint bridge drops these
  findings itself (`golangci_applies`).
- ``//gleak:ignore GL201 reason`` or ``//gleak:ignore GL201,GL202 -- reason`` suppresses the listed rules.
  Each entry is an exact rule id (case-insensitive) or a rule name (``send-abandoned-by-select``).
  Prefixes (``GL2``) are deliberately *not* accepted: a prefix would also silence rules added later, which
  the author of the comment never saw. A ``//gleak:ignore`` without any rule suppresses nothing. The reason
  may be introduced by ``--``, ``//`` or ``:`` or just follow the list. Like ``//go:generate``, it takes
  no space after ``//``.

Scope (golangci-lint's ``nolint_filter``):

- a directive that shares its line with code covers that line;
- a directive alone on its line covers that line and, when the next line starts a node (statement,
  declaration, field, case, ...) at the same column, that whole node, e.g. a whole function;
- a directive on the line right above the ``package`` clause covers the whole file.

A finding is covered when the line of its primary location is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from tree_sitter import Node

from gleak_sarif.model import Finding, Suppression

# Where a directive may start. golangci-lint trims every leading `/` and space before matching `nolint`, so
# `// nolint` works there too (its docs ask for `//nolint`); `//gleak:ignore` is a directive like
# `//go:generate` and takes no space.
_CANDIDATE = re.compile(rb"//[/ ]*nolint|//gleak:ignore")
_NOLINT = re.compile(r"^nolint(?=$|[ :])")
_IGNORE = re.compile(r"^gleak:ignore(?=$|[ \t])")
_RULE_LIST = re.compile(r"^[ \t]*([A-Za-z][\w-]*(?:[ \t]*,[ \t]*[A-Za-z][\w-]*)*)")

# Nodes that start at their first child and group siblings: never a directive's scope.
_LIST_NODES = frozenset({"statement_list", "source_file"})


@dataclass(frozen=True)
class Directive:
    text: str  # the whole comment, as written
    all_rules: bool  # //nolint, //nolint:all, //nolint:gleak
    rules: frozenset[str]  # lower-cased ids/names for //gleak:ignore
    justification: str
    first_line: int  # 1-based, inclusive
    last_line: int
    linters: frozenset[str] = field(default_factory=frozenset)  # //nolint:<other linters>, lower-cased

    def covers(self, finding: Finding, equivalents: Mapping[str, frozenset[str]] | None = None) -> bool:
        """``equivalents``: rule id -> the other linters' names that report the same problem."""
        if not self.first_line <= finding.primary.start_line <= self.last_line:
            return False
        return (
            self.all_rules or finding.rule_id.lower() in self.rules or finding.rule_name.lower() in self.rules
            or bool(self.linters and equivalents and self.linters & equivalents.get(finding.rule_id, frozenset()))
        )


def parse_directive(comment: str) -> tuple[bool, frozenset[str], str] | None:
    """Parse one `//...` comment: (all gleak rules?, rule ids/names, justification), or None if no directive."""
    if not comment.startswith("//"):
        return None
    body = comment[2:]
    stripped = body.lstrip("/ ")
    if _NOLINT.match(stripped):
        rest = stripped[len("nolint") :]
        directive, _, reason = rest.partition("//")
        reason = reason.strip()
        if not directive.startswith(":") or directive.startswith(":all"):
            return True, frozenset(), reason
        names = {n.strip().lower() for n in directive[1:].split(",")}
        if "gleak" in names or "all" in names:
            return True, frozenset(), reason
        return None
    if _IGNORE.match(body):
        rest = body[len("gleak:ignore") :]
        m = _RULE_LIST.match(rest)
        if not m:
            return None
        rules = frozenset(r.strip().lower() for r in m.group(1).split(","))
        reason = rest[m.end() :].strip()
        for lead in ("--", "//", ":", "-"):
            if reason.startswith(lead):
                reason = reason[len(lead) :].strip()
                break
        return False, rules, reason
    return None


def nolint_linters(comment: str) -> frozenset[str]:
    """The linter names a `//nolint:a,b` comment lists (lower-cased); empty for any other comment."""
    if not comment.startswith("//"):
        return frozenset()
    stripped = comment[2:].lstrip("/ ")
    if not _NOLINT.match(stripped):
        return frozenset()
    directive = stripped[len("nolint") :].partition("//")[0]
    if not directive.startswith(":"):
        return frozenset()
    return frozenset(n for n in (n.strip().lower() for n in directive[1:].split(",")) if n)


def golangci_applies(directive: str) -> bool:
    """Whether golangci-lint itself applies this directive to gleak's issues (`//nolint`, `:all`, `:gleak`)."""
    parsed = parse_directive(directive)
    return parsed is not None and parsed[0]  # only a nolint directive sets "all gleak rules"


def _line_start(source: bytes, offset: int) -> int:
    return source.rfind(b"\n", 0, offset) + 1


def _scope_node(root: Node, source: bytes, comment: Node) -> Node | None:
    """The node a standalone directive covers: it starts on the next line, at the comment's column."""
    next_line_start = source.find(b"\n", comment.end_byte)
    if next_line_start == -1:
        return None
    next_line_start += 1
    pos = next_line_start
    while pos < len(source) and source[pos] in b" \t":
        pos += 1
    if pos >= len(source) or source[pos] in b"\r\n":
        return None
    if pos - next_line_start != comment.start_byte - _line_start(source, comment.start_byte):
        return None
    node = root.descendant_for_byte_range(pos, pos)
    if node is None or node.start_byte != pos:
        return None
    # Widest node that starts exactly there (a whole statement, not just its first token).
    while node.parent is not None and node.parent.start_byte == pos and node.parent.type not in _LIST_NODES:
        node = node.parent
    if node.type in _LIST_NODES or node.type == "comment":
        return None
    return node


def find_directives(source: bytes, root: Node) -> list[Directive]:
    """Every suppression directive in a file, with the lines it covers."""
    out: list[Directive] = []
    for m in _CANDIDATE.finditer(source):
        start = m.start()
        node = root.descendant_for_byte_range(start, start + 2)
        # Must be a real comment that begins here (not `//nolint` inside a string or a longer comment).
        if node is None or node.type != "comment" or node.start_byte != start:
            continue
        text = source[node.start_byte : node.end_byte].decode("utf-8", errors="replace").rstrip()
        parsed = parse_directive(text)
        linters = frozenset[str]()
        if parsed is None:
            # `//nolint:govet`: kept for the rules that name an equivalent linter
            linters = nolint_linters(text)
            if not linters:
                continue
            parsed = (False, frozenset(), text.partition("//")[2].partition("//")[2].strip())
        all_rules, rules, reason = parsed
        line = node.start_point[0] + 1
        first, last = line, line
        standalone = source[_line_start(source, start) : start].strip(b" \t") == b""
        if standalone:
            scope = _scope_node(root, source, node)
            if scope is not None:
                if scope.type == "package_clause":
                    last = root.end_point[0] + 1
                    first = 1
                else:
                    last = scope.end_point[0] + 1
        out.append(Directive(text, all_rules, rules, reason, first, last, linters))
    return out


def apply_suppressions(source: bytes, root: Node, findings: list[Finding],
                       equivalents: Mapping[str, frozenset[str]] | None = None) -> None:
    """Set ``finding.suppression`` on every finding that an in-source directive covers.

    ``equivalents``: rule id -> names of other linters whose `//nolint:<name>` silences that rule too.
    """
    if not findings or (b"nolint" not in source and b"gleak:ignore" not in source):
        return
    directives = find_directives(source, root)
    if not directives:
        return
    # Narrowest scope first: an inline reason for this line beats a function-wide one.
    directives.sort(key=lambda d: (d.last_line - d.first_line, d.first_line))
    for finding in findings:
        if finding.suppression is not None:
            continue
        for d in directives:
            if d.covers(finding, equivalents):
                finding.suppression = Suppression(directive=d.text, justification=d.justification)
                break
