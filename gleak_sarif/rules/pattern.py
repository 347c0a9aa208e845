"""Compile a Go snippet with metavariables into one tree-sitter query pattern.

`$X` matches one node and binds it; `$_` (or any name starting with `_`) matches one node without binding;
`$$$` (or `$$$NAME`) matches any run of sibling nodes, including none. Positional children are anchored
(`.`) so `f($A)` matches one-argument calls only, while `f($A, $$$)` matches one or more arguments.

A selector whose operand is a package name known to the rule (`time.NewTicker`) is compiled to a capture
checked against the file's imports at match time, so `t.NewTicker` matches when the file says
`import t "time"`, and a local variable called `time` does not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tree_sitter import Node

from gleak_sarif.gosource import parser

_METAVAR = re.compile(r"\$\$\$([A-Z_][A-Z0-9_]*)?|\$([A-Z_][A-Z0-9_]*)")
_SINGLE = "__GLMV_"
_MULTI = "__GLMVS_"
_PUNCTUATION = frozenset("(){}[],;:.\n")
_STRINGY = frozenset({"interpreted_string_literal", "raw_string_literal", "rune_literal"})
# Node kinds whose presence implies a keyword in the source: used by the byte-level prefilter.
KIND_TOKENS: dict[str, bytes] = {
    "go_statement": b"go",
    "defer_statement": b"defer",
    "select_statement": b"select",
    "for_statement": b"for",
    "func_literal": b"func",
    "function_declaration": b"func",
    "method_declaration": b"func",
    "channel_type": b"chan",
    "send_statement": b"<-",
    "receive_statement": b"<-",
    "return_statement": b"return",
    "range_clause": b"range",
    "communication_case": b"case",
    "default_case": b"default",
    "if_statement": b"if",
    "goto_statement": b"goto",
    "break_statement": b"break",
}


class PatternError(ValueError):
    """The snippet cannot be turned into a query; the message says why and how to fix it."""


@dataclass
class CompiledPattern:
    query: str  # one top-level query pattern; the matched node is captured as @__match
    metavars: set[str] = field(default_factory=set)
    package_checks: list[tuple[str, str]] = field(default_factory=list)  # (capture, import path)
    tokens: set[bytes] = field(default_factory=set)  # byte strings every matching file contains
    root_kind: str = ""


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _replace_metavars(snippet: str) -> str:
    def repl(match: re.Match[str]) -> str:
        if match.group(0).startswith("$$$"):
            return _MULTI + (match.group(1) or "")
        return _SINGLE + match.group(2)

    return _METAVAR.sub(repl, snippet)


def _parse_snippet(code: str) -> list[tuple[Node, bytes, int, int]]:
    """Parse ``code`` in the wrappers a snippet may need; return (root, source, start, end) candidates."""
    out = []
    for prefix, suffix in (("package __p\nfunc __f() {\n", "\n}\n"), ("package __p\n", "\n")):
        source = (prefix + code + suffix).encode()
        tree = parser().parse(source)
        out.append((tree.root_node, source, len(prefix.encode()), len(source) - len(suffix.encode())))
    return out


def _covering_nodes(root: Node, start: int, end: int) -> list[Node]:
    """The top-level nodes inside the snippet region [start, end)."""
    found: list[Node] = []

    def walk(node: Node) -> None:
        for child in node.named_children:
            if child.end_byte <= start or child.start_byte >= end:
                continue
            if child.start_byte >= start and child.end_byte <= end:
                if child.type != "comment":
                    found.append(child)
            else:
                walk(child)

    walk(root)
    return found


def _first_error(node: Node) -> Node | None:
    if node.type == "ERROR" or node.is_missing:
        return node
    if not node.has_error:
        return None
    for child in node.children:
        bad = _first_error(child)
        if bad is not None:
            return bad
    return node


def _find_kind(node: Node, kind: str, start: int, end: int) -> Node | None:
    if node.type == kind and node.start_byte >= start and node.end_byte <= end:
        return node
    for child in node.named_children:
        if child.end_byte <= start or child.start_byte >= end:
            continue
        hit = _find_kind(child, kind, start, end)
        if hit is not None:
            return hit
    return None


def snippet_node(snippet: str, selector: str | None = None) -> tuple[Node, bytes]:
    """The tree-sitter node a snippet stands for (after metavariable replacement)."""
    code = _replace_metavars(snippet.strip())
    if not code:
        raise PatternError("empty pattern")
    errors = []
    for root, source, start, end in _parse_snippet(code):
        if selector is not None:
            if root.has_error:
                bad = _first_error(root)
                errors.append(bad)
                continue
            hit = _find_kind(root, selector, start, end)
            if hit is None:
                raise PatternError(f"the context has no node of kind {selector!r} to select")
            return hit, source
        nodes = _covering_nodes(root, start, end)
        if root.has_error or not nodes:
            errors.append(_first_error(root))
            continue
        if len(nodes) > 1:
            raise PatternError(
                "the pattern is several statements; a pattern matches one node. Use `follows`/`precedes` "
                "to relate statements, or `context` + `selector`"
            )
        node = nodes[0]
        if node.type == "expression_statement" and node.named_child_count == 1:
            node = node.named_children[0]
        if node.type == "statement_list" and node.named_child_count == 1:
            node = node.named_children[0]
        return node, source
    hint = ""
    bad = next((e for e in errors if e is not None), None)
    if bad is not None:
        hint = f" near {bad.text.decode(errors='replace')[:40]!r}" if bad.text else ""
    raise PatternError(
        f"the pattern is not valid Go{hint}; if it needs surrounding code (e.g. a `case` clause), "
        "use `pattern: {context: ..., selector: <node kind>}`"
    )


class _Emitter:
    def __init__(self, source: bytes, imports: dict[str, str]) -> None:
        self.source = source
        self.imports = imports
        self.predicates: list[str] = []
        self.metavars: set[str] = set()
        self.package_checks: list[tuple[str, str]] = []
        self.tokens: set[bytes] = set()
        self.counter = 0

    def _text(self, node: Node) -> str:
        return self.source[node.start_byte : node.end_byte].decode()

    def _fresh(self, prefix: str) -> str:
        self.counter += 1
        return f"__{prefix}{self.counter}"

    def _placeholder(self, node: Node) -> tuple[str, str] | None:
        """('single'|'multi', name) when ``node`` stands for a metavariable."""
        text = self._text(node).strip()
        if not re.fullmatch(r"__GLMVS?_[A-Z0-9_]*", text):
            return None
        if text.startswith(_MULTI):
            return ("multi", text[len(_MULTI) :])
        if text.startswith(_SINGLE):
            return ("single", text[len(_SINGLE) :])
        return None

    def emit(self, node: Node) -> str:
        holder = self._placeholder(node)
        if holder is not None:
            kind, name = holder
            if kind == "multi":
                raise PatternError("`$$$` stands for a run of nodes; it cannot be the whole pattern here")
            if name.startswith("_") or not name:
                return "(_)"
            self.metavars.add(name)
            return f"(_) @{name}"
        if node.type in KIND_TOKENS:
            self.tokens.add(KIND_TOKENS[node.type])
        if node.type in _STRINGY or node.named_child_count == 0:
            text = self._text(node)
            if text == node.type:  # nil, true, false, iota
                self.tokens.add(text.encode())
                return f"({node.type})"
            capture = self._fresh("t")
            if re.search(r"\s", text) or not re.search(r"\w", text):
                # `()`, `select {}`: compare without whitespace so `select{}` matches too
                flexible = r"\s*".join(re.escape(tok) for tok in re.findall(r"\w+|\S", text))
                self.predicates.append(f'(#match? @{capture} "^{_escape(flexible)}$")')
            else:
                self.predicates.append(f'(#eq? @{capture} "{_escape(text)}")')
            if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", text):
                self.tokens.add(text.encode())
            elif node.type in _STRINGY:
                self.tokens.add(text.encode())
            return f"({node.type}) @{capture}"
        return self._emit_parent(node)

    def _package_operand(self, node: Node) -> str | None:
        """For `time.X` / `sync.WaitGroup` where `time`/`sync` is a package the rule knows: a checked capture."""
        if node.type not in ("identifier", "package_identifier") or self._placeholder(node) is not None:
            return None
        path = self.imports.get(self._text(node))
        if path is None:
            return None
        capture = self._fresh("pkg")
        self.package_checks.append((capture, path))
        self.tokens.add(f'"{path}"'.encode())
        return f"({node.type}) @{capture}"

    def _emit_parent(self, node: Node) -> str:
        # Anchors (`.`) make the child list exact: before the first named child, after the last, and
        # between adjacent positional children; a `$$$` removes the anchors on both of its sides.
        parts: list[str] = []
        named_seen = False
        gap_before = False  # a `$$$` since the last emitted named child (or at the start)
        last_positional = False
        for index, child in enumerate(node.children):
            field_name = node.field_name_for_child(index)
            if not child.is_named:
                text = self._text(child)
                if field_name is not None:
                    parts.append(f'{field_name}: "{_escape(text)}"')
                    if text == "<-":
                        self.tokens.add(b"<-")
                elif node.type == "channel_type" and text in ("<-", "chan"):
                    parts.append(f'"{text}"')
                continue
            if child.type == "comment":
                continue
            holder = self._placeholder(child)
            if holder is None and child.type == "statement_list" and all(
                (self._placeholder(grand) or ("", ""))[0] == "multi" for grand in child.named_children
            ):
                holder = ("multi", "")  # `{ $$$ }`: an empty block has no statement_list at all
            if holder is not None and holder[0] == "multi":
                gap_before = True
                last_positional = False
                continue
            if not named_seen and not gap_before:
                parts.append(".")
            elif field_name is None and last_positional and not gap_before:
                parts.append(".")
            if field_name is not None:
                operand = None
                if field_name in ("operand", "package") and node.type in ("selector_expression", "qualified_type"):
                    operand = self._package_operand(child)
                parts.append(f"{field_name}: {operand or self.emit(child)}")
            else:
                parts.append(self.emit(child))
            named_seen = True
            gap_before = False
            last_positional = field_name is None
        if named_seen and not gap_before:
            parts.append(".")
        inner = " ".join(parts)
        return f"({node.type}{' ' + inner if inner else ''})"


def compile_snippet(snippet: str, imports: dict[str, str], selector: str | None = None) -> CompiledPattern:
    node, source = snippet_node(snippet, selector)
    if node.type in ("identifier", "field_identifier", "type_identifier"):
        text = source[node.start_byte : node.end_byte].decode()
        if text.startswith(_SINGLE) or text.startswith(_MULTI):
            raise PatternError("a pattern that is only a metavariable matches every node; use `kind` instead")
    emitter = _Emitter(source, imports)
    body = emitter.emit(node)
    query = f"({body} @__match {' '.join(emitter.predicates)})".replace("  ", " ")
    return CompiledPattern(
        query=query,
        metavars=emitter.metavars,
        package_checks=emitter.package_checks,
        tokens=emitter.tokens,
        root_kind=node.type,
    )
