"""Does a function hand its caller the only reference to a value it makes? (`FunctionSummary.fresh_result`)

`func (db *DB) begin() *Tx { tx := &Tx{...}; go tx.watch(); return tx }`: every `return` returns the same
local, made in the function by a composite literal or `new`, and the local is used otherwise only as the
operand of a field access or a method call (`tx.f = v`, `tx.m(...)`, `go tx.watch()`). Then a caller that
drops the result drops the last reference to it (as far as this function goes: what the methods called on it
do with their receiver is not followed). Anything else (passed to a call, stored, sent, captured by a
function literal other than a `go` statement's own, a method value `tx.Close` handed on) makes it not fresh.
"""

from __future__ import annotations

from tree_sitter import Node

from gleak_sarif.gosource import FUNCTION_KINDS


def fresh_result(body: Node, text: bytes) -> bool:
    """Is the function with this body returning a local it made that nothing else can reach?"""
    if b"return" not in text[body.start_byte : body.end_byte]:
        return False
    returns = _own(body, "return_statement")
    if not returns:
        return False
    names = set()
    for statement in returns:
        values = [v for v in statement.named_children if v.type != "comment"]
        if len(values) != 1 or values[0].type != "expression_list":
            return False
        items = [v for v in values[0].named_children if v.type != "comment"]
        if len(items) != 1 or items[0].type != "identifier":
            return False
        names.add(_text(items[0], text))
    if len(names) != 1:
        return False
    name = names.pop()
    made = False
    for node in _identifiers(body, name, text):
        parent = node.parent
        if parent is None:
            return False
        if parent.type == "expression_list" and parent.parent is not None and \
                parent.parent.type == "return_statement":
            continue
        if parent.type == "expression_list" and parent.parent is not None and \
                parent.parent.type == "short_var_declaration" and parent == parent.parent.child_by_field_name("left"):
            right = parent.parent.child_by_field_name("right")
            values = [v for v in right.named_children if v.type != "comment"] if right is not None else []
            if made or len(values) != 1 or not _makes(values[0], text):
                return False
            made = True
            continue
        if parent.type == "selector_expression" and parent.child_by_field_name("operand") == node and \
                _used_in_place(parent):
            continue
        return False
    return made


def returns_made(body: Node | None, text: bytes, result: str) -> bool:
    """Does every `return` of the function with this body (declared result type ``result``) return one value
    made right there (`return &T{...}`, `return T{...}`, `return new(T)`)? Then each call hands its caller a
    value no one else holds."""
    if body is None or not result:
        return False
    own = text[body.start_byte : body.end_byte]
    if b"return &" not in own and b"return new(" not in own and f"return {result}{{".encode() not in own:
        return False  # cheap test first: most functions return something else
    returns = _own(body, "return_statement")
    if not returns:
        return False
    for statement in returns:
        values = [v for v in statement.named_children if v.type != "comment"]
        if len(values) != 1 or values[0].type != "expression_list":
            return False
        items = [v for v in values[0].named_children if v.type != "comment"]
        if len(items) != 1 or not _makes(items[0], text):
            return False
    return True


def kept_in_place(body: Node, name: str, text: bytes) -> bool:
    """Is ``name`` (a method's receiver) used in the body only as the operand of a field access or a method
    call (`c.mu.Lock()`, `c.buf = b`, `read(c.conn)`), never handed on itself (passed, stored, returned, sent,
    captured by a literal) nor by the address of a field (`&c.mu`)? Then the method leaves no other reference
    to its receiver behind (what the methods it calls do with their receiver is not followed, nor a method
    value `c.m` handed on, which reads like a field)."""
    for node in _identifiers(body, name, text):
        parent = node.parent
        if node.type != "identifier" or parent is None or parent.type != "selector_expression" or \
                parent.child_by_field_name("operand") != node:
            return False
        outer = parent.parent
        if outer is not None and outer.type == "unary_expression" and _text(outer, text).startswith("&"):
            return False
    return True


def _used_in_place(selector: Node) -> bool:
    """`x.f` read or written as a field, or `x.m(...)` called: not a method value handed on."""
    parent = selector.parent
    if parent is None:
        return False
    if parent.type == "call_expression" and parent.child_by_field_name("function") == selector:
        return True
    if parent.type == "selector_expression" and parent.child_by_field_name("operand") == selector:
        return True  # x.f.g, x.f.m()
    # x.f = v
    return parent.type == "expression_list" and parent.parent is not None and \
        parent.parent.type == "assignment_statement" and parent == parent.parent.child_by_field_name("left")


def _makes(value: Node, text: bytes) -> bool:
    """`&T{...}`, `T{...}`, `new(T)`."""
    node = value
    if node.type == "unary_expression" and node.named_children:
        node = node.named_children[-1]
    if node.type == "composite_literal":
        return True
    if node.type == "call_expression":
        function = node.child_by_field_name("function")
        return function is not None and _text(function, text) == "new"
    return False


def _own(body: Node, kind: str) -> list[Node]:
    """Nodes of ``kind`` in the body, not inside nested function literals."""
    out, stack = [], [body]
    while stack:
        current = stack.pop()
        if current.type == kind:
            out.append(current)
        for child in current.named_children:
            if child.type not in FUNCTION_KINDS:
                stack.append(child)
    return out


def _identifiers(body: Node, name: str, text: bytes) -> list[Node]:
    """Every identifier ``name`` in the body; inside a function literal only when the literal is a `go`
    statement's own function (`go func() { x.run() }()`), else a sentinel that fails the check."""
    out, stack = [], [body]
    while stack:
        current = stack.pop()
        if current.type == "identifier" and _text(current, text) == name:
            out.append(current)
            continue
        for child in current.named_children:
            if child.type == "func_literal" and not _started(child):
                if _mentions(child, name, text):
                    out.append(child)  # captured by a literal that may outlive the call: fails the check
                continue
            stack.append(child)
    return out


def _started(literal: Node) -> bool:
    call = literal.parent
    return call is not None and call.type == "call_expression" and call.parent is not None and \
        call.parent.type == "go_statement"


def _mentions(node: Node, name: str, text: bytes) -> bool:
    stack = [node]
    while stack:
        current = stack.pop()
        if current.type == "identifier" and _text(current, text) == name:
            return True
        stack.extend(current.named_children)
    return False


def _text(node: Node, text: bytes) -> str:
    return text[node.start_byte : node.end_byte].decode("utf-8", "replace")
