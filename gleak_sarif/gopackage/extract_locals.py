"""Locals and assignments in one file's summary (extract.py's helpers): what each local or parameter stands
for (its same-package type, or a placeholder the model resolves: extract_locals.type_of; the element type
of a slice, array or map), buffered channel fields (`x.f = make(chan T, n)`), and the assignments the other
helpers record (channel fields, cancel pairs, a literal's parameter stored in a captured local)."""

from __future__ import annotations

from typing import Protocol

from tree_sitter import Node

from gleak_sarif.gopackage.extract_cancel import CancelPairs
from gleak_sarif.gopackage.extract_fields import ExtractorView, FuncEnv, is_buffered_make, is_chan_make
from gleak_sarif.gopackage.summary import Ref, element_type, encode_canon, named_type, norm

# builtins whose result is never a value of a package type
BUILTINS = {"make", "append", "len", "cap", "copy", "complex", "real", "imag", "min", "max", "recover"}


class LocalsView(ExtractorView, Protocol):
    """ExtractorView with the cancel pairs (extract_cancel.py imports extract_fields, so they are named here)."""

    cancels: CancelPairs


def assignment(ex: LocalsView, captures: dict[str, list[Node]]) -> None:
    node = captures.get("define", captures.get("assign", [None]))[0]
    assert node is not None
    left = [c for c in captures["left"][0].named_children if c.type != "comment"]
    right = [c for c in captures["right"][0].named_children if c.type != "comment"]
    context = ex._context(node)
    if context is None:
        return
    func, env = context
    defining = "define" in captures
    for index, target in enumerate(left):
        value = right[index] if len(right) == len(left) else (right[0] if len(right) == 1 else None)
        result_index = index if len(right) == 1 and len(left) > 1 else 0
        if value is not None and is_buffered_make(ex, value):
            ref = ex.ref(target, env, func.recv_type)
            if ref is not None and ref.canon is not None and ref.rest:
                ex.summary.buffered.add(ref.canon)
        if target.type != "identifier":
            continue
        name = ex.text(target)
        if defining and len(right) == len(left) and value is not None and name != "_":
            ex.fields.named(name, value)
        if defining or name not in env.params:
            env.locals.add(name)
            type_name = type_of(ex, value, result_index, env, func.recv_type) if value is not None else ""
            if type_name:
                env.types[name] = type_name
            elif defining:
                env.types.pop(name, None)
            elem = elem_type(ex, value, env) if value is not None else ""
            if elem:
                env.elems[name] = elem
            elif defining:
                env.elems.pop(name, None)
            pointed = field_pointer(ex, value, env, func.recv_type) if defining and value is not None else None
            if pointed is not None:
                env.pointers[name] = pointed
            elif defining or name in env.pointers:
                env.pointers[name] = None  # set again: no longer that field (hides an enclosing one)
            if value is not None and is_chan_make(ex, value):
                env.chans.add(name)
            if value is not None and is_buffered_make(ex, value):
                env.buffered.add(name)
            else:
                env.buffered.discard(name)  # set again from something else (a literal's own write only)
    if defining:  # after the types above: a paired local context takes its cancel field's identity
        ex.cancels.assignment(captures["left"][0], captures["right"][0])


def field_pointer(ex: LocalsView, value: Node, env: FuncEnv, recv_type: str | None) -> Ref | None:
    """`&x.f` or `&x.m[k].f`: the field the pointer points to, when it has an identity."""
    if value.type != "unary_expression":
        return None
    operator = value.child_by_field_name("operator")
    operand = value.child_by_field_name("operand")
    if operator is None or ex.text(operator) != "&" or operand is None or operand.type != "selector_expression":
        return None
    ref = ex.ref(operand, env, recv_type)
    if ref is None:
        ref = ex.ref(operand, env, recv_type, elements=True)
    return ref if ref is not None and ref.canon is not None and ref.rest else None


def buffered_store(ex: LocalsView, left_list: Node, right_list: Node) -> None:
    """`x.f = c` where `c` is a local the function made with a buffer (`c := make(chan T, 1)`): the field is
    a buffered channel, as if `x.f = make(chan T, 1)` were written (a reply channel installed by a setter)."""
    left = [c for c in left_list.named_children if c.type != "comment"]
    right = [c for c in right_list.named_children if c.type != "comment"]
    context = ex._context(left_list)
    if len(left) != len(right) or context is None:
        return
    func, env = context
    for target, value in zip(left, right, strict=True):
        if value.type == "identifier" and ex.text(value) in env.buffered:
            ref = ex.ref(target, env, func.recv_type)
            if ref is not None and ref.canon is not None and ref.rest:
                ex.summary.buffered.add(ref.canon)


def param_store(ex: LocalsView, left_list: Node, right_list: Node) -> None:
    """`seen = done` in a function literal: an enclosing function's local takes the literal's parameter
    (FunctionSummary.param_stores, read by gopackage/aliases.py)."""
    left = [c for c in left_list.named_children if c.type != "comment"]
    right = [c for c in right_list.named_children if c.type != "comment"]
    context = ex._context(left_list)
    if len(left) != 1 or len(right) != 1 or context is None or not context[0].is_literal:
        return
    func, env = context
    target, value = left[0], right[0]
    if target.type != "identifier" or value.type != "identifier" or ex.text(value) not in env.params:
        return
    name = ex.text(target)
    # a captured local: not the literal's own parameter or local (the literal's own names are the set's
    # own members; the enclosing function's are seen through it)
    if name in env.params or set.__contains__(env.locals, name) or name not in env.locals:
        return
    entry = (env.params[ex.text(value)], name)
    if entry not in func.param_stores:
        func.param_stores = (*func.param_stores, entry)


def cancel_assignment(ex: LocalsView, left_list: Node, right_list: Node) -> None:
    left = [c for c in left_list.named_children if c.type != "comment"]
    right = [c for c in right_list.named_children if c.type != "comment"]
    if len(left) == 2 and len(right) == 1:
        ex.cancels.assignment(left_list, right_list)
    elif len(left) == len(right):
        for target, value in zip(left, right, strict=True):
            ex.cancels.stored(target, value)


def local_var(ex: LocalsView, spec: Node) -> None:
    context = ex._context(spec)
    if context is None:
        return
    func, env = context
    type_node = spec.child_by_field_name("type")
    value = spec.child_by_field_name("value")
    names = [c for i, c in enumerate(spec.children) if spec.field_name_for_child(i) == "name"]
    values = [v for v in value.named_children if v.type != "comment"] if value is not None else []
    if len(values) == len(names):
        for child, item in zip(names, values, strict=True):
            ex.fields.named(ex.text(child), item)
    for index, child in enumerate(spec.children):
        if spec.field_name_for_child(index) != "name":
            continue
        name = ex.text(child)
        env.locals.add(name)
        if type_node is not None:
            env.types[name] = named_type(ex.text(type_node))
            if ex.text(type_node).lstrip("<-").startswith("chan"):
                env.chans.add(name)
            elem = element_type(ex.text(type_node))
        elif value is not None and value.named_children:
            env.types[name] = type_of(ex, value.named_children[0], 0, env, func.recv_type)
            elem = elem_type(ex, value.named_children[0], env)
        else:
            elem = ""
        if elem:
            env.elems[name] = elem
        else:
            env.elems.pop(name, None)


def type_of(ex: LocalsView, value: Node, result_index: int, env: FuncEnv | None = None,
             recv_type: str | None = None) -> str:
    """The same-package named type an expression evidently has (`&T{}`, `T{}`, `new(T)`, `x.(*T)`), or a
    placeholder the model resolves once it knows the other files' declarations: `@NewT#0` (a
    constructor's result), `@elem(T/f)` (the element type of the map, slice or array field `T.f`:
    `x.f[k]`), `@res(T/f/m#0)` (the result of the method `m` on the value `T.f`: `x.f.m()`)."""
    node = value
    if node.type == "unary_expression" and node.named_children:
        node = node.named_children[-1]
    if node.type == "composite_literal":
        type_node = node.child_by_field_name("type")
        return named_type(ex.text(type_node)) if type_node is not None else ""
    if node.type == "type_assertion_expression":
        type_node = node.child_by_field_name("type")
        return named_type(ex.text(type_node)) if type_node is not None and result_index == 0 else ""
    if node.type == "index_expression" and env is not None and result_index == 0:
        operand = node.child_by_field_name("operand")
        if operand is not None and operand.type == "identifier" and ex.text(operand) in env.elems:
            return env.elems[ex.text(operand)]  # `ss[i]` of a local or parameter `ss []*T`
        ref = ex.ref(operand, env, recv_type) if operand is not None else None
        return f"@elem({encode_canon(ref.canon)})" if ref is not None and ref.canon else ""
    if node.type == "call_expression" and env is not None:
        function = node.child_by_field_name("function")
        operand = function.child_by_field_name("operand") if function is not None and \
            function.type == "selector_expression" else None
        method = function.child_by_field_name("field") if function is not None and \
            function.type == "selector_expression" else None
        if operand is not None and method is not None and not (
                operand.type == "identifier" and ex.text(operand) in ex.imports and
                ex.text(operand) not in env.params and ex.text(operand) not in env.types):
            ref = ex.ref(operand, env, recv_type)
            if ref is not None and ref.canon:
                return f"@res({encode_canon(ref.canon)}/{ex.text(method)}#{result_index})"
            return ""
    if node.type == "call_expression":
        function = node.child_by_field_name("function")
        if function is not None and function.type == "identifier":
            name = ex.text(function)
            if name == "new":
                arguments = node.child_by_field_name("arguments")
                if arguments is not None and arguments.named_children:
                    return named_type(ex.text(arguments.named_children[0]))
                return ""
            if name in BUILTINS:
                return ""  # `make(chan T)`, `append(...)`: no package type (was "@make#0": every local
                # made by make looked like one value across the package)
            return f"@{name}#{result_index}"  # a constructor: resolved when the model is built
    return ""


def elem_type(ex: LocalsView, value: Node, env: FuncEnv) -> str:
    """The same-package element type of a slice, array or map value (`[]*T{...}`, `make(map[K]*T)`,
    `append(ss, ...)`, another such variable), "" when unknown."""
    if value.type == "composite_literal":
        type_node = value.child_by_field_name("type")
        return element_type(ex.text(type_node)) if type_node is not None else ""
    if value.type == "identifier":
        return env.elems.get(ex.text(value), "")
    if value.type == "call_expression":
        function = value.child_by_field_name("function")
        arguments = value.child_by_field_name("arguments")
        args = [a for a in arguments.named_children if a.type != "comment"] if arguments is not None else []
        name = ex.text(function) if function is not None and function.type == "identifier" else ""
        if not args:
            return ""
        if name == "make":
            return element_type(ex.text(args[0]))
        if name == "append":
            return elem_type(ex, args[0], env)
    return ""


def range_value(ex: LocalsView, clause: Node, over: Node) -> None:
    """`for _, v := range x.f`: v has the element type of the map or slice field `x.f`."""
    left = clause.child_by_field_name("left")
    names = [c for c in left.named_children if c.type != "comment"] if left is not None else []
    context = ex._context(clause)
    if len(names) != 2 or names[1].type != "identifier" or context is None:
        return
    func, env = context
    name = ex.text(names[1])
    env.locals.add(name)
    env.elems.pop(name, None)
    if over.type == "identifier" and ex.text(over) in env.elems:
        env.types[name] = env.elems[ex.text(over)]  # `range ss` of a local or parameter `ss []*T`
        return
    ref = ex.ref(over, env, func.recv_type)
    if ref is not None and ref.canon:
        env.types[name] = f"@elem({encode_canon(ref.canon)})"
    else:
        env.types.pop(name, None)


def keyed_make(ex: LocalsView, node: Node) -> None:
    children = node.named_children
    if len(children) != 2:
        return
    key, value = children
    inner = value.named_children[0] if value.type == "literal_element" and value.named_children else value
    if not is_buffered_make(ex, inner):
        return
    literal = node.parent.parent if node.parent is not None else None
    if literal is None or literal.type != "composite_literal":
        return
    type_node = literal.child_by_field_name("type")
    type_name = named_type(ex.text(type_node)) if type_node is not None else ""
    if type_name:
        ex.summary.buffered.add(f"{type_name}.{norm(ex.text(key))}")




