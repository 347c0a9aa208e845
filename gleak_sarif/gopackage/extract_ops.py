"""Operations in one file's summary (extract.py's helpers): calls (of package functions, methods and
function values), stored cancel funcs called (`x.cancel()`), channel sends, receives, ranges and closes, and
`go` statements. Lock calls go to extract_locks.py, function values to extract_funcs.py."""

from __future__ import annotations

import bisect

from tree_sitter import Node

from gleak_sarif.gopackage import extract_funcs, extract_locks
from gleak_sarif.gopackage.extract_fields import ExtractorView, FuncEnv, is_buffered_make
from gleak_sarif.gopackage.summary import LOCK_MODES, OP_NAMES, UNLOCKS, WAKERS, Op, literal_key


def call_op(ex: ExtractorView, captures: dict[str, list[Node]]) -> None:
    call = captures["call"][0]
    name = ex.text(captures["fname"][0])
    if call.parent is not None and call.parent.type == "go_statement" and \
            not (name == "close" and "operand" not in captures):
        return  # the go statement's own op; `go close(c)` still closes c (later, on its own goroutine)
    if "operand" not in captures:
        extract_funcs.param_call(ex, call, name)
        if extract_funcs.own_param_call(ex, call, name, captures):
            return
    if "operand" in captures and not any(a.type != "comment" for a in captures["args"][0].named_children):
        field_call(ex, call)  # `x.cancel()`: maybe a stored context.CancelFunc
    if ex.names is not None and name not in ex.names and name not in OP_NAMES:
        return  # not a function of this package, nor an operation the model tracks
    context = ex._context(call)
    if context is None:
        return
    func, env = context
    args = [a for a in captures["args"][0].named_children if a.type != "comment"]
    operand = captures["operand"][0] if "operand" in captures else None
    deferred = call.parent is not None and call.parent.type == "defer_statement"
    if operand is not None:
        if operand.type == "identifier" and ex.text(operand) in ex.imports and \
                ex.text(operand) not in env.params and ex.text(operand) not in env.types:
            return  # pkg.F(): another package
        target = ex.ref(operand, env, func.recv_type)
        if not args and (name in LOCK_MODES or name in UNLOCKS):
            if target is None:  # a per-key lock: `t.locks[k].Lock()`
                target = ex.ref(operand, env, func.recv_type, elements=True)
            extract_locks.lock_op(ex, func, env, call, name, target, deferred)
            return
        if not args and (name == "Wait" or name in WAKERS) and target is not None and target.root == "local" \
                and not target.rest and env.pointers.get(target.text) is not None:
            target = env.pointers[target.text]  # `wg := &x.wg; defer wg.Done()`: x.wg's
        if not args and name == "Wait":
            func.ops.append(Op("wait", ex.site(call), target, deferred=deferred, looped=ex.looped(call)))
            return
        if not args and name in WAKERS:
            func.ops.append(Op("wake", ex.site(call), target, deferred=deferred))
            return
        func.ops.append(Op("call", ex.site(call), deferred=deferred, callee=("?", name), recv=target,
                           args=tuple(ex.ref(a, env, func.recv_type) for a in args),
                           bools=extract_locks.bools(args), guard=extract_locks.param_guard(ex, call, env), looped=ex.looped(call),
                           loop=ex.outer_loop(call), recv_call=recv_call(ex, operand, env),
                           funcs=extract_funcs.funcs(ex, args, env, func.recv_type)))
        return
    if name == "close" and len(args) == 1:
        owner = extract_funcs.once_owner(ex, func)  # `once.Do(func() { close(c.quit) })` closes in the caller
        owner.ops.append(Op("close", ex.site(call), ex.ref(args[0], env, func.recv_type),
                            deferred=deferred, field=ex.fields.field_mention(args[0]),
                            loop=ex.outer_loop(call) if owner is func else None))
        return
    if name in env.params or name in env.locals or name in env.types:
        return  # a function value
    func.ops.append(Op("call", ex.site(call), deferred=deferred, callee=("", name),
                       args=tuple(ex.ref(a, env, func.recv_type) for a in args), bools=extract_locks.bools(args),
                       guard=extract_locks.param_guard(ex, call, env), looped=ex.looped(call),
                       loop=ex.outer_loop(call), funcs=extract_funcs.funcs(ex, args, env, func.recv_type)))


def recv_call(ex: ExtractorView, operand: Node, env: FuncEnv) -> str:
    """`newConn(c).read()`: the same-package function whose result the method is called on, else ""."""
    function = operand.child_by_field_name("function") if operand.type == "call_expression" else None
    name = ex.text(function) if function is not None and function.type == "identifier" else ""
    local = name in env.params or name in env.locals or name in env.types
    return "" if local or (ex.names is not None and name not in ex.names) else name


def field_call(ex: ExtractorView, call: Node) -> None:
    """A call without arguments of a field of a known type (`t.cancel()`), kept as a `cancel` op: the
    model makes it the close of a context's Done channel when the field holds that context's cancel."""
    context = ex._context(call)
    function = call.child_by_field_name("function")
    if context is None or function is None:
        return
    func, env = context
    target = ex.ref(function, env, func.recv_type)
    if target is not None and target.canon and target.rest and target.root != "?":
        owner = extract_funcs.once_owner(ex, func)
        owner.ops.append(Op("cancel", ex.site(call), target, deferred=call.parent is not None and
                            call.parent.type == "defer_statement"))


def channel_op(ex: ExtractorView, kind: str, node: Node, channel: Node) -> None:
    context = ex._context(node)
    if context is None:
        return
    func, env = context
    target = ex.ref(channel, env, func.recv_type, calls=True)
    if kind == "range" and (target is None or (not target.rest and target.text not in env.chans and
                                               not ex.fields.tracked(target.text, node.start_byte))):
        return  # a local or parameter not known as a channel; fields are checked against field types later
    index = bisect.bisect_right(ex.comm_ranges, (node.start_byte, 1 << 62)) - 1
    in_select = index >= 0 and ex.comm_ranges[index][0] <= node.start_byte < ex.comm_ranges[index][1]
    value = node.child_by_field_name("value") if kind == "send" else None
    value_buffered = value is not None and (
        (value.type == "identifier" and ex.text(value) in env.buffered) or is_buffered_make(ex, value))
    func.ops.append(Op(kind, ex.site(node), target, bare=not in_select, looped=ex.looped(node),
                       loop=ex.outer_loop(node), field=ex.fields.field_mention(channel),
                       exit=ex.fields.select_exit(node) if in_select else None, value_buffered=value_buffered,
                       loop_ends=kind in ("recv", "range") and ex.loop_ends(node)))


def go_statement(ex: ExtractorView, node: Node) -> None:
    context = ex._context(node)
    if context is None:
        return
    func, env = context
    call = next((c for c in node.named_children if c.type == "call_expression"), None)
    if call is None:
        return
    function = call.child_by_field_name("function")
    arguments = call.child_by_field_name("arguments")
    args = tuple(ex.ref(a, env, func.recv_type) for a in (arguments.named_children if arguments else []))
    if function is None:
        return
    if function.type == "func_literal":
        ex.go_literals[function.start_byte] = node
        func.ops.append(Op("go", ex.site(node), literal=literal_key(ex.path, function.start_byte),
                           args=args, looped=ex.looped(node)))
    elif function.type == "identifier":
        if ex.text(function) in env.params:
            extract_funcs.spawned(ex, func, env.params[ex.text(function)], node)  # `go f()` of a parameter f
        func.ops.append(Op("go", ex.site(node), callee=("", ex.text(function)), args=args,
                           looped=ex.looped(node)))
    elif function.type == "selector_expression":
        operand = function.child_by_field_name("operand")
        name = function.child_by_field_name("field")
        if operand is not None and name is not None:
            func.ops.append(Op("go", ex.site(node), callee=("?", ex.text(name)),
                               recv=ex.ref(operand, env, func.recv_type), args=args, looped=ex.looped(node)))
