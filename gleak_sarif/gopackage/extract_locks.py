"""Locks in one file's summary (extract.py's helpers): lock and unlock calls with the block they end and
whether it exits, a deferred literal's unlock as its enclosing function's, `if hasLock {...}` guards on a
parameter (and the boolean arguments a call passes for them), and the mutex a `sync.NewCond` waits with."""

from __future__ import annotations

from tree_sitter import Node

from gleak_sarif.gopackage.extract_fields import ExtractorView, FuncEnv
from gleak_sarif.gopackage.summary import LOCK_MODES, UNLOCKS, FunctionSummary, Op, Ref


def bools(args: list[Node]) -> tuple[bool | None, ...]:
    return tuple(a.type == "true" if a.type in ("true", "false") else None for a in args)


def lock_op(ex: ExtractorView, func: FunctionSummary, env: FuncEnv, call: Node, name: str, target: Ref | None,
             deferred: bool) -> None:
    unlock = name in UNLOCKS
    mode = UNLOCKS[name] if unlock else LOCK_MODES[name]
    block = (0, 0)
    exits = False
    statement = call.parent
    if statement is not None and statement.type == "expression_statement" and statement.parent is not None:
        stmts = statement.parent
        block = (stmts.start_byte, stmts.end_byte)
        last = stmts.named_children[-1] if stmts.named_children else None
        exits = last is not None and (
            last.type in ("return_statement", "break_statement", "continue_statement", "goto_statement")
            or (last.type == "expression_statement" and ex.text(last).startswith(("panic(", "os.Exit("))))
    elif not deferred:
        return  # `if mu.TryLock()`-like shapes and locks inside expressions: not tracked
    owner = func
    if func.is_literal and unlock and deferred_literal(ex, func) and not any(
            op.kind == "lock" and op.ref is not None and target is not None and op.ref.text == target.text
            for op in func.ops):
        # `defer func() { mu.Unlock() }()`: the enclosing function's deferred unlock
        outer = ex._innermost(func.start, func.end)
        if outer is not None:
            owner, deferred = ex.funcs[outer], True
    guard = None if unlock or statement is None else param_guard(ex, statement, env)
    owner.ops.append(Op("unlock" if unlock else "lock", ex.site(call), target, mode=mode,
                        deferred=deferred, block=block, exits=exits, guard=guard,
                        loop=ex.outer_loop(call) if owner is func else None))


def param_guard(ex: ExtractorView, node: Node, env: FuncEnv) -> tuple[int, bool] | None:
    """`if hasLock {...}` / `if !hasLock {...}` around the node, on a parameter: what it does happens
    only for one value of that argument (`f(x, true)` says the caller holds the lock already)."""
    block: Node | None = node.parent
    for _ in range(8):  # up to the nearest block
        if block is None or block.type in ("block", "func_literal", "function_declaration",
                                           "method_declaration"):
            break
        block = block.parent
    branch = block.parent if block is not None and block.type == "block" else None
    if branch is None or branch.type != "if_statement" or branch.child_by_field_name("consequence") != block:
        return None
    condition = branch.child_by_field_name("condition")
    wanted = True
    if condition is not None and condition.type == "unary_expression" and ex.text(condition).startswith("!"):
        condition, wanted = condition.child_by_field_name("operand"), False
    if condition is None or condition.type != "identifier":
        return None
    position = env.params.get(ex.text(condition))
    return None if position is None else (position, wanted)


def cond_assignment(ex: ExtractorView, left_list: Node, right_list: Node) -> None:
    """`x.cond = sync.NewCond(&x.mu)` / `sync.NewCond(x.mu.RLocker())`: the Cond's lock is x.mu (written or
    read); recorded when the Cond and the mutex hang off the same expression (summary.cond_locks)."""
    left = [c for c in left_list.named_children if c.type != "comment"]
    right = [c for c in right_list.named_children if c.type != "comment"]
    if len(left) != 1 or len(right) != 1 or left[0].type != "selector_expression" or \
            right[0].type != "call_expression" or not ex.text(right[0]).startswith("sync.NewCond("):
        return
    arguments = right[0].child_by_field_name("arguments")
    args = [a for a in arguments.named_children if a.type != "comment"] if arguments is not None else []
    context = ex._context(left[0])
    if len(args) != 1 or context is None or "sync" not in ex.imports:
        return
    func, env = context
    arg, mode = args[0], "write"
    if arg.type == "unary_expression" and ex.text(arg).startswith("&"):
        arg = arg.child_by_field_name("operand") or arg
    elif arg.type == "call_expression" and ex.text(arg).replace(" ", "").endswith(".RLocker()"):
        function = arg.child_by_field_name("function")
        arg = (function.child_by_field_name("operand") if function is not None else None) or arg
        mode = "read"
    else:
        return  # a Locker from elsewhere (a parameter, a value of another package): unknown
    cond, mutex = ex.ref(left[0], env, func.recv_type), ex.ref(arg, env, func.recv_type)
    if cond is None or mutex is None or not cond.canon or not cond.rest:
        return
    owner = cond.text.rpartition(".")[0]
    if not mutex.text.startswith(owner + ".") or mutex.root != cond.root:
        return  # the mutex of another value: not followed
    ex.summary.cond_locks.append((cond.canon, mutex.text[len(owner) + 1 :], mode))


def deferred_literal(ex: ExtractorView, func: FunctionSummary) -> bool:
    node = ex.root.descendant_for_byte_range(func.start, func.end)
    while node is not None and node.type != "func_literal":
        node = node.parent
    call = node.parent if node is not None else None
    return call is not None and call.type == "call_expression" and call.parent is not None and \
        call.parent.type == "defer_statement"
