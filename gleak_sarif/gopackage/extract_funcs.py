"""Function values in one file's summary (extract.py's helpers): what a function-valued field is assigned
(`x.f = func() {...}`), what a call passes for a function-valued parameter (Op.funcs), calls of the
function's own function-valued parameters, parameters run on a goroutine of their own, and per-key locks
(`t.locks[k]`) as lock paths."""

from __future__ import annotations

from tree_sitter import Node

from gleak_sarif.gopackage import extract_locks
from gleak_sarif.gopackage.extract_fields import ExtractorView, FuncEnv
from gleak_sarif.gopackage.summary import (
    FunctionSummary,
    Op,
    Ref,
    encode_canon,
    literal_key,
    named_type,
    norm,
)


def element_ref(ex: ExtractorView, node: Node, index: Node, rest: list[str], env: FuncEnv,
                 recv_type: str | None) -> Ref | None:
    """``node`` reaches ``index`` (`x.f[k]`) through the fields in ``rest`` (outermost first): a path
    rooted where `x.f` is, through the element (`[]` in ``rest``), canon `@elem(<x.f's identity>)...`
    (None when `x.f` has no known identity: nothing to name the lock by)."""
    operand = index.child_by_field_name("operand")
    base = ex.ref(operand, env, recv_type) if operand is not None else None
    if base is None or not base.canon or base.root == "?":
        return None
    chain = list(reversed(rest))
    canon = ".".join([f"@elem({encode_canon(base.canon)})", *chain])
    return Ref(base.root, (*base.rest, "[]", *chain), norm(ex.text(node)).lstrip("&*"), canon)


def own_param_call(ex: ExtractorView, call: Node, name: str, captures: dict[str, list[Node]]) -> bool:
    """`f(...)` where f is a parameter of the function it is written in (not of an enclosing one): a call
    op whose callee is the parameter's position; the model resolves it to the function values the
    callers pass there (dispatch.param_targets), and gopackage/aliases.py reads which of its own parameters
    the function hands over (`wait(done)`). True when recorded."""
    context = ex._context(call)
    if context is None:
        return False
    func, env = context
    position = env.params.get(name)
    # a local of the function's own named like the parameter hides it; a literal's captured names do not
    # (its own parameter hides them): its own names only, not the Names view of the enclosing function's
    if position is None or set.__contains__(env.locals, name):
        return False
    args = [a for a in captures["args"][0].named_children if a.type != "comment"]
    func.ops.append(Op("call", ex.site(call), deferred=call.parent is not None and
                       call.parent.type == "defer_statement", callee=("@param", str(position)),
                       args=tuple(ex.ref(a, env, func.recv_type) for a in args), bools=extract_locks.bools(args),
                       guard=extract_locks.param_guard(ex, call, env), looped=ex.looped(call), loop=ex.outer_loop(call),
                       funcs=funcs(ex, args, env, func.recv_type)))
    return True


def funcs(ex: ExtractorView, args: list[Node], env: FuncEnv, recv_type: str | None) -> tuple[str, ...]:
    """Op.funcs: the function value each argument passes ("" none or unknown); () when none does."""
    out = tuple(func_arg(ex, a, env, recv_type) for a in args)
    return out if any(out) else ()


def func_arg(ex: ExtractorView, node: Node, env: FuncEnv, recv_type: str | None, depth: int = 0) -> str:
    if node.type == "func_literal":
        return "lit:" + literal_key(ex.path, node.start_byte)[1]
    if node.type == "identifier":
        name = ex.text(node)
        local = name in env.params or name in env.locals or name in env.types or name in ex.imports
        return "" if local else "fn:" + name
    if node.type == "selector_expression":
        ref = ex.ref(node, env, recv_type)
        return "val:" + encode_canon(ref.canon) if ref is not None and ref.canon and ref.rest else ""
    if node.type == "call_expression" and depth == 0:  # `Handler(x.f)`: maybe a conversion
        function = node.child_by_field_name("function")
        arguments = node.child_by_field_name("arguments")
        inner = [a for a in arguments.named_children if a.type != "comment"] if arguments is not None else []
        if function is not None and function.type == "identifier" and len(inner) == 1:
            value = func_arg(ex, inner[0], env, recv_type, depth + 1)
            return f"conv:{ex.text(function)}|{value}" if value else ""
    return ""


def param_call(ex: ExtractorView, call: Node, name: str) -> None:
    """`f(...)` of a function-valued parameter of an enclosing function, inside a `go func() {...}()`
    written in that function: the function runs its argument on a goroutine of its own (Op.spawned_params;
    a function literal passed there runs on another goroutine than its caller's)."""
    index = ex._innermost(call.start_byte, call.end_byte)
    if index is None or (name not in ex.envs[index].params and name not in ex.envs[index].locals):
        return
    spawner: Node | None = None
    while index is not None:  # out through the enclosing functions, by byte range
        func = ex.funcs[index]
        if name in ex.envs[index].params:
            if spawner is not None:
                spawned(ex, func, ex.envs[index].params[name], spawner)
            return
        if func.is_literal and spawner is None:
            spawner = ex.go_literals.get(func.start)  # a literal started by `go` (read before: _go)
        index = ex._innermost(func.start)


def spawned(ex: ExtractorView, func: FunctionSummary, position: int, go: Node) -> None:
    entry = (position, ex.site(go))
    if entry not in func.spawned_params:
        func.spawned_params = (*func.spawned_params, entry)


def func_value(ex: ExtractorView, captures: dict[str, list[Node]]) -> None:
    """`x.f = func() {...}` / `= g` / `= y.m`, `T{f: ...}`: what a function-valued field may hold (the
    model resolves a call `x.f()` to it). Only literals, package functions and method values."""
    node = captures["fassign"][0] if "fassign" in captures else captures["fkeyed"][0]
    value = captures["fright"][0]
    context = ex._context(node)
    func, env = context if context is not None else (None, FuncEnv())
    recv_type = func.recv_type if func is not None else None
    owner = ""  # the expression that owns the field (`g` in `g.onDone = ...`)
    if "fleft" in captures:
        ref = ex.ref(captures["fleft"][0], env, recv_type)
        field_id = ref.canon if ref is not None and ref.rest else None
        operand = captures["fleft"][0].child_by_field_name("operand")
        owner = norm(ex.text(operand)) if operand is not None else ""
    else:
        literal = node.parent.parent if node.parent is not None else None
        type_node = literal.child_by_field_name("type") if literal is not None and \
            literal.type == "composite_literal" else None
        type_name = named_type(ex.text(type_node)) if type_node is not None else ""
        field_id = f"{type_name}.{ex.text(captures['fkey'][0])}" if type_name else None
    if field_id is None:
        return
    # `=`: the target's receiver is the field's owner (`g.onDone = g.finish`, or a literal whose
    # receiver is g: `g.onDone = func() { g.finish() }` in a method of g), so a call `x.onDone()` runs
    # it on x
    target = ""
    if value.type == "func_literal":
        same = "=" if owner and owner == env.receiver else ""
        target = f"lit{same}:" + literal_key(ex.path, value.start_byte)[1]
    elif value.type == "identifier":
        name = ex.text(value)
        if name not in env.params and name not in env.locals and name not in env.types:
            target = "fn:" + name  # a package function (a local holding a function is not followed)
    else:
        operand = value.child_by_field_name("operand")
        method = value.child_by_field_name("field")
        holder = ex.ref(operand, env, recv_type) if operand is not None else None
        if holder is not None and holder.canon and method is not None:
            same = "=" if owner and owner == holder.text else ""
            target = f"m{same}:{encode_canon(holder.canon)}/{ex.text(method)}"
    if target:
        ex.summary.func_values.setdefault(field_id, []).append(target)


def once_owner(ex: ExtractorView, func: FunctionSummary) -> FunctionSummary:
    """The function a literal runs in when it is passed to a `.Do(...)` call (sync.Once), else itself."""
    if not func.is_literal:
        return func
    node = ex.root.descendant_for_byte_range(func.start, func.end)
    while node is not None and node.type != "func_literal":
        node = node.parent
    args = node.parent if node is not None else None
    call = args.parent if args is not None and args.type == "argument_list" else None
    function = call.child_by_field_name("function") if call is not None else None
    name = function.child_by_field_name("field") if function is not None and \
        function.type == "selector_expression" else None
    if name is not None and ex.text(name) == "Do":
        outer = ex._innermost(func.start, func.end)
        if outer is not None:
            return ex.funcs[outer]
    return func

