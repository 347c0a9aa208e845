"""Locks in one file's summary (extract.py's helpers): lock and unlock calls with the block they end and
whether it exits, a deferred literal's unlock as its enclosing function's, `if hasLock {...}` guards on a
parameter (and the boolean arguments a call passes for them), and the mutex a `sync.NewCond` waits with."""

from __future__ import annotations

from tree_sitter import Node

from gleak_sarif.gopackage.extract_fields import ExtractorView, FuncEnv, Texts
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
    """`if hasLock {...}` / `if !hasLock {...}` around the node (or the `else` block of one), on a
    parameter: what it does happens only for one value of that argument (`f(x, true)` says the caller
    holds the lock already)."""
    block: Node | None = node.parent
    for _ in range(8):  # up to the nearest block
        if block is None or block.type in ("block", "func_literal", "function_declaration",
                                           "method_declaration"):
            break
        block = block.parent
    branch = block.parent if block is not None and block.type == "block" else None
    if branch is None or branch.type != "if_statement":
        return None
    # the `else` block of `if hasLock {...} else {...}` runs for the other value
    if branch.child_by_field_name("consequence") == block:
        wanted = True
    elif branch.child_by_field_name("alternative") == block:
        wanted = False
    else:
        return None
    condition = branch.child_by_field_name("condition")
    if condition is not None and condition.type == "unary_expression" and ex.text(condition).startswith("!"):
        condition, wanted = condition.child_by_field_name("operand"), not wanted
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


def _released(ex: Texts, body: Node, names: set[str] | None = None) -> tuple[Node, str] | None:
    """The one mutex a function literal releases: `x.mu.Unlock()` called, or its method value handed on
    (`once.Do(l.Unlock)`); with ``names``, only a mutex that is one of those identifiers. None when it
    releases none or several."""
    found: list[tuple[Node, str]] = []
    stack = [body]
    while stack:
        node = stack.pop()
        if node.type == "selector_expression":
            method = node.child_by_field_name("field")
            operand = node.child_by_field_name("operand")
            if method is not None and operand is not None and ex.text(method) in UNLOCKS and \
                    (names is None or (operand.type == "identifier" and ex.text(operand) in names)):
                parent = node.parent
                called = parent is not None and parent.type == "call_expression" and \
                    parent.child_by_field_name("function") == node
                handed = parent is not None and parent.type == "argument_list"
                if called or handed:
                    found.append((operand, ex.text(method)))
        stack.extend(node.named_children)
    if len({ex.text(operand) for operand, _ in found}) != 1:
        return None
    mutex = ex.text(found[0][0])
    if any(_locks(ex, node, mutex) for node in _descendants(body)):
        return None  # it locks the mutex too (`func() { mu.Lock(); defer mu.Unlock(); ... }`): balanced
    return found[0]


def _locks(ex: Texts, node: Node, mutex: str) -> bool:
    """`mutex.Lock()` (RLock, TryLock, TryRLock) called at the node."""
    if node.type != "call_expression":
        return False
    function = node.child_by_field_name("function")
    if function is None or function.type != "selector_expression":
        return False
    method = function.child_by_field_name("field")
    operand = function.child_by_field_name("operand")
    return method is not None and operand is not None and \
        ex.text(method) in ("Lock", "RLock", "TryLock", "TryRLock") and ex.text(operand) == mutex


def unlocker(ex: ExtractorView, value: Node) -> tuple[Node, str] | None:
    """A value that releases a mutex when called: a literal whose body unlocks it (`func() { s.mu.Unlock()
    }`), or the result of a function of this file that returns a literal releasing its parameter, called
    with the mutex (`unlockOnce(&s.mu)`, where `func unlockOnce(l sync.Locker) func() { var once sync.Once;
    return func() { once.Do(l.Unlock) } }`). Returns the mutex expression (at the assignment) and the
    release method; None otherwise (a function of another file is not followed)."""
    if value.type == "func_literal":
        body = value.child_by_field_name("body")
        return _released(ex, body) if body is not None else None
    if value.type != "call_expression":
        return None
    function = value.child_by_field_name("function")
    arguments = value.child_by_field_name("arguments")
    args = [a for a in arguments.named_children if a.type != "comment"] if arguments is not None else []
    if function is None or function.type != "identifier" or len(args) != 1:
        return None
    mutex = args[0]
    if mutex.type == "unary_expression" and ex.text(mutex).startswith("&"):
        mutex = mutex.child_by_field_name("operand") or mutex
    if mutex.type not in ("identifier", "selector_expression"):
        return None
    name = ex.text(function)
    for decl in ex.root.named_children:
        if decl.type != "function_declaration" or decl.child_by_field_name("name") is None or \
                ex.text(decl.child_by_field_name("name")) != name:  # type: ignore[arg-type]
            continue
        params = decl.child_by_field_name("parameters")
        result = decl.child_by_field_name("result")
        body = decl.child_by_field_name("body")
        if params is None or result is None or body is None or ex.text(result).replace(" ", "") != "func()":
            return None
        names = {ex.text(n) for p in params.named_children if p.type == "parameter_declaration"
                 for n in p.children_by_field_name("name")}
        literals = [n for n in _descendants(body) if n.type == "func_literal"]
        for literal in literals:
            inner = literal.child_by_field_name("body")
            released = _released(ex, inner, names) if inner is not None else None
            if released is not None:
                return mutex, released[1]
        return None
    return None


def unlocker_define(ex: ExtractorView, left: Node, value: Node) -> None:
    """`unlock := <value>`: the local releases a mutex when called (unlocker), or no longer does."""
    context = ex._context(left)
    if context is None:
        return
    released = unlocker(ex, value)
    if released is not None:
        context[1].unlockers[ex.text(left)] = released
    else:
        context[1].unlockers.pop(ex.text(left), None)


def unlocker_call(ex: ExtractorView, call: Node, name: Node) -> None:
    """`unlock()` (or `defer unlock()`) of a local that releases a mutex: an unlock of that mutex, as if
    written `s.mu.Unlock()` there (a once-wrapped unlock called early and deferred too: the early call
    releases it)."""
    context = ex._context(call)
    if context is None or ex.text(name) not in context[1].unlockers:
        return
    func, env = context
    mutex, method = env.unlockers[ex.text(name)]
    lock_op(ex, func, env, call, method, ex.ref(mutex, env, func.recv_type),
            call.parent is not None and call.parent.type == "defer_statement")


def _descendants(node: Node) -> list[Node]:
    out: list[Node] = []
    stack = [node]
    while stack:
        current = stack.pop()
        out.append(current)
        stack.extend(current.named_children)
    return out
