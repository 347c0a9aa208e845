"""The package model: per-function effect summaries for one Go package, without type information.

A package is the `.go` files of one directory with the same `package` clause (a `_test.go` file sees the
non-test files too; the others do not see tests). For every function, method and function literal the model
records, in source order, the operations that matter for goroutine leaks: lock/unlock of a mutex, send /
receive / range / close on a channel, `Wait` / `Done` (WaitGroup, Cond), calls of same-package functions
and `go` statements; each with the locks held at that point.

Names stand in for types. A *reference* is an expression rooted at the receiver (`self`), a parameter (`pN`),
a package-level variable (`g`) or a local; its *identity* (`canon`) is `Type.field.path` when the root's type
is a named type of this package (the receiver type, a parameter's declared type, a local made by `&T{}`,
`T{}`, `new(T)` or a same-package constructor whose first result is `T`/`*T`), or `pkg.var` for package
variables. Calls resolve to same-package functions the same way (`x.m()` with x of a known type, `f()`), and
effects flow from callee to caller to a fixed point, mapped into the caller's terms (the callee's `self.mu`
is the caller's `c.mu` for a call `c.flush()`; a parameter is the argument).

The facts rules can ask (`model:` in the rule language, docs/rule-language.md) are answered from here.
"""

from __future__ import annotations

import bisect
import dataclasses
import hashlib
import os
import re
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tree_sitter import Node, Query, QueryCursor

from gleak_sarif.engine.folders import MAX_SIBLING_BYTES, PACKAGE_LINE, Folders, Listing, read_sibling
from gleak_sarif.gosource import FUNCTION_KINDS, GO, Imports, file_imports, parser, utf8_safe

if TYPE_CHECKING:
    from gleak_sarif.rules.compiler import CNode

MAX_FILE_BYTES = MAX_SIBLING_BYTES  # larger siblings are not read
MAX_DEPTH = 12  # call chains deeper than this are cut
MAX_MODELS = 64
MAX_FILE_SUMMARIES = 2048


LOCK_MODES = {"Lock": "write", "RLock": "read"}
UNLOCKS = {"Unlock": "write", "RUnlock": "read"}
WAKERS = {"Done", "Signal", "Broadcast"}  # the other side of Wait()
_OP_NAMES = {*LOCK_MODES, *UNLOCKS, *WAKERS, "Wait", "close"}

_QUERY_TEXT = """
(function_declaration name: (identifier) @name) @func
(method_declaration name: (field_identifier) @name) @func
(func_literal) @lit
(call_expression function: (identifier) @fname arguments: (argument_list) @args) @call
(call_expression function: (selector_expression operand: (_) @operand field: (field_identifier) @fname)
  arguments: (argument_list) @args) @call
(send_statement channel: (_) @chan) @send
(unary_expression operator: "<-" operand: (_) @chan) @recv
(range_clause right: (_) @chan) @range
(go_statement) @go
(communication_case communication: (_) @comm)
(short_var_declaration left: (expression_list) @left right: (expression_list) @right) @define
(var_spec) @var
(type_spec name: (type_identifier) @tname type: (_) @ttype)
(assignment_statement left: (expression_list) @left
  right: (expression_list (call_expression function: (identifier) @make)) @right (#eq? @make "make")) @assign
(keyed_element (literal_element (call_expression function: (identifier) @make)) (#eq? @make "make")) @keyed
"""
# the one-file view that answers `held`: functions and lock calls only (a fraction of the captures)
_LOCKS_QUERY_TEXT = """
(function_declaration name: (identifier) @name) @func
(method_declaration name: (field_identifier) @name) @func
(func_literal) @lit
(call_expression function: (selector_expression operand: (_) @operand field: (field_identifier) @fname)
  arguments: (argument_list) @args (#match? @fname "^R?(Un)?[Ll]ock$")) @call
"""


class Queries:
    """The two extraction queries, compiled on first use (once per scan context: ~8 ms)."""

    def __init__(self) -> None:
        self._compiled: dict[bool, Query] = {}

    def get(self, locks_only: bool) -> Query:
        query = self._compiled.get(locks_only)
        if query is None:
            query = self._compiled[locks_only] = Query(GO, _LOCKS_QUERY_TEXT if locks_only else _QUERY_TEXT)
        return query


# ---- summaries (plain data: picklable, cacheable) ---------------------------------------------------

@dataclass(frozen=True, slots=True)
class Site:
    path: str
    line: int  # 1-based
    column: int  # 1-based, bytes
    start: int
    end: int
    text: str  # the operation's source text, one line, shortened


@dataclass(frozen=True, slots=True)
class Ref:
    """An expression naming a mutex, channel or value, in its function's terms."""

    root: str  # "self" | "p<N>" | "g" (package variable) | "local" | "?" (not mappable)
    rest: tuple[str, ...]  # field chain after the root
    text: str  # as written, whitespace removed
    canon: str | None  # package-wide identity ("Server.mu", "pkg.registryMu"), None when unknown


@dataclass(slots=True)
class Op:
    kind: str  # lock | unlock | send | recv | range | close | wait | wake | call | go
    site: Site
    ref: Ref | None = None  # the mutex / channel / WaitGroup
    mode: str = ""  # lock/unlock: "write" | "read"
    deferred: bool = False
    bare: bool = True  # send/recv: not a select case
    callee: tuple[str, str] | None = None  # call/go: (receiver type or "", name) of a same-package function
    literal: tuple[str, str] | None = None  # go func(){...}(): the literal's FunctionSummary key
    recv: Ref | None = None  # method call: the receiver expression
    args: tuple[Ref | None, ...] = ()
    block: tuple[int, int] = (0, 0)  # lock/unlock: the statement list around it
    exits: bool = False  # unlock: its statement list ends in return/panic/break/continue/goto
    # lock or call: only `if p` / `if !p` for a parameter p: (p's position, the value that runs it)
    guard: tuple[int, bool] | None = None
    bools: tuple[bool | None, ...] = ()  # call: arguments written as `true` / `false`
    looped: bool = False  # send/recv/range/call/go: inside a loop of its function (may run many times)


@dataclass(slots=True)
class FunctionSummary:
    key: tuple[str, str]  # (receiver type or "", name); literals: ("", "func@<start byte>")
    path: str
    start: int
    end: int
    site: Site
    recv_type: str | None = None
    is_literal: bool = False
    results: tuple[str, ...] = ()  # declared result types (named types of this package, else "")
    ops: list[Op] = field(default_factory=list)


@dataclass(slots=True)
class FileSummary:
    path: str
    package: str
    functions: list[FunctionSummary] = field(default_factory=list)
    types: dict[str, dict[str, str]] = field(default_factory=dict)  # struct type -> field -> type text
    globals: set[str] = field(default_factory=set)  # package-level variable names
    buffered: set[str] = field(default_factory=set)  # channel identities made with a buffer
    digest: bytes = b""  # of the text summarized


def _one_line(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _norm(text: str) -> str:
    return "".join(text.split())


_TYPE_NAME = re.compile(r"^\*?([A-Za-z_][A-Za-z0-9_]*)(\[.*\])?$")


def _type_name(text: str) -> str:
    """`*Server` / `Server[T]` -> `Server`; qualified or composite types -> ""."""
    match = _TYPE_NAME.match(_norm(text))
    return match.group(1) if match else ""


class _Extractor:
    """One file's summaries from its tree: one query pass, then the captures in source order."""

    def __init__(self, query: Query, path: str, source: bytes, root: Node, package: str, imports: set[str],
                 names: frozenset[str] | None = None) -> None:
        self.query = query
        self.names = names
        self.path = path
        self.source = source
        self.root = root
        self.summary = FileSummary(path, package)
        self.imports = imports
        self.func_starts: list[int] = []
        self.funcs: list[FunctionSummary] = []
        self.envs: list[_FuncEnv] = []
        self.comm_ranges: list[tuple[int, int]] = []

    def text(self, node: Node) -> str:
        return self.source[node.start_byte : node.end_byte].decode("utf-8", "replace")

    @staticmethod
    def looped(node: Node) -> bool:
        """Is the node inside a `for` of its own function (so it may run more than once per call)?"""
        current = node.parent
        while current is not None and current.type not in FUNCTION_KINDS:
            if current.type == "for_statement":
                return True
            current = current.parent
        return False

    def site(self, node: Node) -> Site:
        line, column = node.start_point
        return Site(self.path, line + 1, column + 1, node.start_byte, node.end_byte, _one_line(self.text(node)))

    def run(self) -> FileSummary:
        matches = QueryCursor(self.query).matches(self.root)
        items: list[tuple[int, int, dict[str, list[Node]]]] = []
        for index, captures in matches:
            anchor = next(iter(captures.values()))[0]
            for name in ("func", "lit", "call", "send", "recv", "range", "go", "define", "var", "assign",
                         "keyed", "comm", "tname"):
                if name in captures:
                    anchor = captures[name][0]
                    break
            items.append((anchor.start_byte, index, captures))
        items.sort(key=lambda item: item[0])
        # declarations first (types, globals, functions), then operations, which need them
        for _, _, captures in items:
            if "tname" in captures:
                self._type(captures)
            elif "var" in captures:
                self._global(captures["var"][0])
            elif "func" in captures or "lit" in captures:
                self._function(captures)
            elif "comm" in captures:
                node = captures["comm"][0]
                self.comm_ranges.append((node.start_byte, node.end_byte))
        self.comm_ranges.sort()
        for _, _, captures in items:
            if "call" in captures:
                self._call(captures)
            elif "send" in captures:
                self._channel_op("send", captures["send"][0], captures["chan"][0])
            elif "recv" in captures:
                self._channel_op("recv", captures["recv"][0], captures["chan"][0])
            elif "range" in captures:
                self._channel_op("range", captures["range"][0], captures["chan"][0])
            elif "go" in captures:
                self._go(captures["go"][0])
            elif "define" in captures or "assign" in captures:
                self._assignment(captures)
            elif "var" in captures:
                self._local_var(captures["var"][0])
            elif "keyed" in captures:
                self._keyed(captures["keyed"][0])
        self.summary.functions = self.funcs
        return self.summary

    # ---- declarations ----
    def _type(self, captures: dict[str, list[Node]]) -> None:
        name = self.text(captures["tname"][0])
        body = captures["ttype"][0]
        fields: dict[str, str] = {}
        if body.type == "struct_type":
            for decl in _descendants_of_type(body, "field_declaration"):
                type_node = decl.child_by_field_name("type")
                type_text = self.text(type_node) if type_node is not None else ""
                names = [c for i, c in enumerate(decl.children) if decl.field_name_for_child(i) == "name"]
                if names:
                    for name_node in names:
                        fields[self.text(name_node)] = type_text
                elif type_text:  # embedded: the field is named after the type
                    fields[type_text.lstrip("*").rsplit(".", 1)[-1]] = type_text
        self.summary.types[name] = fields

    def _global(self, spec: Node) -> None:
        parent = spec.parent
        if parent is not None and parent.type == "var_spec_list":
            parent = parent.parent
        if parent is None or parent.type != "var_declaration" or parent.parent is None or \
                parent.parent.type != "source_file":
            return
        for index, child in enumerate(spec.children):
            if spec.field_name_for_child(index) == "name":
                self.summary.globals.add(self.text(child))

    def _function(self, captures: dict[str, list[Node]]) -> None:
        literal = "lit" in captures
        node = captures["lit"][0] if literal else captures["func"][0]
        env = _FuncEnv()
        recv_type = None
        if literal:
            outer = self._innermost(node.start_byte)
            key = _literal_key(self.path, node.start_byte)
            if outer is not None:
                env = self.envs[outer].copy()
                # the enclosing function's parameters are captured variables here, not parameters
                env.locals |= set(env.params)
                env.params = {}
                recv_type = self.funcs[outer].recv_type
        else:
            name = self.text(captures["name"][0])
            receiver = node.child_by_field_name("receiver")
            if receiver is not None:
                for decl in receiver.named_children:
                    type_node = decl.child_by_field_name("type")
                    recv_type = _type_name(self.text(type_node)) if type_node is not None else ""
                    name_node = decl.child_by_field_name("name")
                    if name_node is not None:
                        env.receiver = self.text(name_node)
            key = (recv_type or "", name)
        params = node.child_by_field_name("parameters")
        if params is not None:
            index = 0
            for decl in params.named_children:
                type_node = decl.child_by_field_name("type")
                type_text = _type_name(self.text(type_node)) if type_node is not None else ""
                names: list[Node | None] = [
                    c for i, c in enumerate(decl.children) if decl.field_name_for_child(i) == "name"]
                for name_node in names or [None]:
                    if name_node is not None:
                        pname = self.text(name_node)
                        env.params[pname] = index
                        env.types[pname] = type_text
                        env.locals.discard(pname)
                        if type_node is not None and self.text(type_node).lstrip("<-").strip().startswith("chan"):
                            env.chans.add(pname)
                    index += 1
        results: tuple[str, ...] = ()
        result = node.child_by_field_name("result")
        if result is not None:
            if result.type == "parameter_list":
                results = tuple(_type_name(self.text(d.child_by_field_name("type") or d))
                                for d in result.named_children)
            else:
                results = (_type_name(self.text(result)),)
        summary = FunctionSummary(key, self.path, node.start_byte, node.end_byte, self.site(node), recv_type,
                                  literal, results)
        # functions are visited in start order, so the lists stay sorted by start byte
        self.funcs.append(summary)
        self.func_starts.append(summary.start)
        self.envs.append(env)

    def _innermost(self, start: int, end: int | None = None) -> int | None:
        """Index of the innermost function containing [start, end)."""
        end = start + 1 if end is None else end
        index = bisect.bisect_right(self.func_starts, start) - 1
        while index >= 0:
            func = self.funcs[index]
            if func.start <= start and end <= func.end and func.start != start:
                return index
            index -= 1
        return None

    # ---- references ----
    def ref(self, node: Node, env: _FuncEnv, recv_type: str | None) -> Ref | None:
        rest: list[str] = []
        current = node
        while True:
            kind = current.type
            if kind == "selector_expression":
                field_node = current.child_by_field_name("field")
                operand = current.child_by_field_name("operand")
                if field_node is None or operand is None:
                    return None
                rest.append(self.text(field_node))
                current = operand
            elif kind == "parenthesized_expression":
                inner = current.named_children
                if not inner:
                    return None
                current = inner[0]
            elif kind == "unary_expression" and (operator := current.child_by_field_name("operator")) is not None \
                    and self.text(operator) in ("&", "*"):
                operand = current.child_by_field_name("operand")
                if operand is None:
                    return None
                current = operand
            else:
                break
        if current.type != "identifier":
            return None  # a call result, an index expression, a literal: not a path the model follows
        rest.reverse()
        text = _norm(self.text(node)).lstrip("&*")
        name = self.text(current)
        chain = ".".join(rest)
        if env.receiver is not None and name == env.receiver:
            canon = f"{recv_type}.{chain}" if recv_type and chain else (recv_type or None)
            return Ref("self", tuple(rest), text, canon)
        type_name = env.types.get(name, "")
        if name in env.params:
            canon = (f"{type_name}.{chain}" if chain else type_name) if type_name else None
            return Ref(f"p{env.params[name]}", tuple(rest), text, canon)
        if name in env.locals or name in env.types:
            canon = (f"{type_name}.{chain}" if chain else type_name) if type_name else None
            return Ref("local", tuple(rest), text, canon)
        if name in self.imports:
            return Ref("?", tuple(rest), text, None)
        # a package-level variable (declared in any file of the package: checked when the model is built)
        return Ref("g", tuple(rest), text, f"pkg.{name}" + (f".{chain}" if chain else ""))

    def _context(self, node: Node) -> tuple[FunctionSummary, _FuncEnv] | None:
        index = self._innermost(node.start_byte, node.end_byte)
        if index is None:
            return None
        return self.funcs[index], self.envs[index]

    # ---- operations ----
    def _call(self, captures: dict[str, list[Node]]) -> None:
        call = captures["call"][0]
        if call.parent is not None and call.parent.type == "go_statement":
            return  # the go statement's own op
        name = self.text(captures["fname"][0])
        if self.names is not None and name not in self.names and name not in _OP_NAMES:
            return  # not a function of this package, nor an operation the model tracks
        context = self._context(call)
        if context is None:
            return
        func, env = context
        args = [a for a in captures["args"][0].named_children if a.type != "comment"]
        operand = captures["operand"][0] if "operand" in captures else None
        deferred = call.parent is not None and call.parent.type == "defer_statement"
        if operand is not None:
            if operand.type == "identifier" and self.text(operand) in self.imports and \
                    self.text(operand) not in env.params and self.text(operand) not in env.types:
                return  # pkg.F(): another package
            target = self.ref(operand, env, func.recv_type)
            if not args and (name in LOCK_MODES or name in UNLOCKS):
                self._lock_op(func, env, call, name, target, deferred)
                return
            if not args and name == "Wait":
                func.ops.append(Op("wait", self.site(call), target, deferred=deferred))
                return
            if not args and name in WAKERS:
                func.ops.append(Op("wake", self.site(call), target, deferred=deferred))
                return
            func.ops.append(Op("call", self.site(call), deferred=deferred, callee=("?", name), recv=target,
                               args=tuple(self.ref(a, env, func.recv_type) for a in args),
                               bools=self._bools(args), guard=self._guard(call, env), looped=self.looped(call)))
            return
        if name == "close" and len(args) == 1:
            owner = self._once_owner(func)  # `once.Do(func() { close(c.quit) })` closes in the caller
            owner.ops.append(Op("close", self.site(call), self.ref(args[0], env, func.recv_type),
                                deferred=deferred))
            return
        if name in env.params or name in env.locals or name in env.types:
            return  # a function value
        func.ops.append(Op("call", self.site(call), deferred=deferred, callee=("", name),
                           args=tuple(self.ref(a, env, func.recv_type) for a in args), bools=self._bools(args),
                           guard=self._guard(call, env), looped=self.looped(call)))

    def _bools(self, args: list[Node]) -> tuple[bool | None, ...]:
        return tuple(a.type == "true" if a.type in ("true", "false") else None for a in args)

    def _lock_op(self, func: FunctionSummary, env: _FuncEnv, call: Node, name: str, target: Ref | None,
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
                or (last.type == "expression_statement" and self.text(last).startswith(("panic(", "os.Exit("))))
        elif not deferred:
            return  # `if mu.TryLock()`-like shapes and locks inside expressions: not tracked
        owner = func
        if func.is_literal and unlock and self._deferred_literal(func) and not any(
                op.kind == "lock" and op.ref is not None and target is not None and op.ref.text == target.text
                for op in func.ops):
            # `defer func() { mu.Unlock() }()`: the enclosing function's deferred unlock
            outer = self._innermost(func.start, func.end)
            if outer is not None:
                owner, deferred = self.funcs[outer], True
        guard = None if unlock or statement is None else self._guard(statement, env)
        owner.ops.append(Op("unlock" if unlock else "lock", self.site(call), target, mode=mode,
                            deferred=deferred, block=block, exits=exits, guard=guard))

    def _guard(self, node: Node, env: _FuncEnv) -> tuple[int, bool] | None:
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
        if condition is not None and condition.type == "unary_expression" and self.text(condition).startswith("!"):
            condition, wanted = condition.child_by_field_name("operand"), False
        if condition is None or condition.type != "identifier":
            return None
        position = env.params.get(self.text(condition))
        return None if position is None else (position, wanted)

    def _once_owner(self, func: FunctionSummary) -> FunctionSummary:
        """The function a literal runs in when it is passed to a `.Do(...)` call (sync.Once), else itself."""
        if not func.is_literal:
            return func
        node = self.root.descendant_for_byte_range(func.start, func.end)
        while node is not None and node.type != "func_literal":
            node = node.parent
        args = node.parent if node is not None else None
        call = args.parent if args is not None and args.type == "argument_list" else None
        function = call.child_by_field_name("function") if call is not None else None
        name = function.child_by_field_name("field") if function is not None and \
            function.type == "selector_expression" else None
        if name is not None and self.text(name) == "Do":
            outer = self._innermost(func.start, func.end)
            if outer is not None:
                return self.funcs[outer]
        return func

    def _deferred_literal(self, func: FunctionSummary) -> bool:
        node = self.root.descendant_for_byte_range(func.start, func.end)
        while node is not None and node.type != "func_literal":
            node = node.parent
        call = node.parent if node is not None else None
        return call is not None and call.type == "call_expression" and call.parent is not None and \
            call.parent.type == "defer_statement"

    def _channel_op(self, kind: str, node: Node, channel: Node) -> None:
        context = self._context(node)
        if context is None:
            return
        func, env = context
        target = self.ref(channel, env, func.recv_type)
        if kind == "range" and (target is None or (not target.rest and target.text not in env.chans)):
            return  # a local or parameter not known as a channel; fields are checked against field types later
        index = bisect.bisect_right(self.comm_ranges, (node.start_byte, 1 << 62)) - 1
        in_select = index >= 0 and self.comm_ranges[index][0] <= node.start_byte < self.comm_ranges[index][1]
        func.ops.append(Op(kind, self.site(node), target, bare=not in_select, looped=self.looped(node)))

    def _go(self, node: Node) -> None:
        context = self._context(node)
        if context is None:
            return
        func, env = context
        call = next((c for c in node.named_children if c.type == "call_expression"), None)
        if call is None:
            return
        function = call.child_by_field_name("function")
        arguments = call.child_by_field_name("arguments")
        args = tuple(self.ref(a, env, func.recv_type) for a in (arguments.named_children if arguments else []))
        if function is None:
            return
        if function.type == "func_literal":
            func.ops.append(Op("go", self.site(node), literal=_literal_key(self.path, function.start_byte),
                               args=args, looped=self.looped(node)))
        elif function.type == "identifier":
            func.ops.append(Op("go", self.site(node), callee=("", self.text(function)), args=args,
                               looped=self.looped(node)))
        elif function.type == "selector_expression":
            operand = function.child_by_field_name("operand")
            name = function.child_by_field_name("field")
            if operand is not None and name is not None:
                func.ops.append(Op("go", self.site(node), callee=("?", self.text(name)),
                                   recv=self.ref(operand, env, func.recv_type), args=args, looped=self.looped(node)))

    def _assignment(self, captures: dict[str, list[Node]]) -> None:
        node = captures.get("define", captures.get("assign", [None]))[0]
        assert node is not None
        left = [c for c in captures["left"][0].named_children if c.type != "comment"]
        right = [c for c in captures["right"][0].named_children if c.type != "comment"]
        context = self._context(node)
        if context is None:
            return
        func, env = context
        defining = "define" in captures
        for index, target in enumerate(left):
            value = right[index] if len(right) == len(left) else (right[0] if len(right) == 1 else None)
            result_index = index if len(right) == 1 and len(left) > 1 else 0
            if value is not None and _is_buffered_make(self, value):
                ref = self.ref(target, env, func.recv_type)
                if ref is not None and ref.canon is not None and ref.rest:
                    self.summary.buffered.add(ref.canon)
            if target.type != "identifier":
                continue
            name = self.text(target)
            if defining or name not in env.params:
                env.locals.add(name)
                type_name = self._type_of(value, result_index) if value is not None else ""
                if type_name:
                    env.types[name] = type_name
                elif defining:
                    env.types.pop(name, None)
                if value is not None and _is_chan_make(self, value):
                    env.chans.add(name)

    def _local_var(self, spec: Node) -> None:
        context = self._context(spec)
        if context is None:
            return
        _, env = context
        type_node = spec.child_by_field_name("type")
        value = spec.child_by_field_name("value")
        for index, child in enumerate(spec.children):
            if spec.field_name_for_child(index) != "name":
                continue
            name = self.text(child)
            env.locals.add(name)
            if type_node is not None:
                env.types[name] = _type_name(self.text(type_node))
                if self.text(type_node).lstrip("<-").startswith("chan"):
                    env.chans.add(name)
            elif value is not None and value.named_children:
                env.types[name] = self._type_of(value.named_children[0], 0)

    def _type_of(self, value: Node, result_index: int) -> str:
        """The same-package named type an expression evidently has (`&T{}`, `T{}`, `new(T)`, `NewT()`)."""
        node = value
        if node.type == "unary_expression" and node.named_children:
            node = node.named_children[-1]
        if node.type == "composite_literal":
            type_node = node.child_by_field_name("type")
            return _type_name(self.text(type_node)) if type_node is not None else ""
        if node.type == "call_expression":
            function = node.child_by_field_name("function")
            if function is not None and function.type == "identifier":
                name = self.text(function)
                if name == "new":
                    arguments = node.child_by_field_name("arguments")
                    if arguments is not None and arguments.named_children:
                        return _type_name(self.text(arguments.named_children[0]))
                    return ""
                return f"@{name}#{result_index}"  # a constructor: resolved when the model is built
        return ""

    def _keyed(self, node: Node) -> None:
        children = node.named_children
        if len(children) != 2:
            return
        key, value = children
        inner = value.named_children[0] if value.type == "literal_element" and value.named_children else value
        if not _is_buffered_make(self, inner):
            return
        literal = node.parent.parent if node.parent is not None else None
        if literal is None or literal.type != "composite_literal":
            return
        type_node = literal.child_by_field_name("type")
        type_name = _type_name(self.text(type_node)) if type_node is not None else ""
        if type_name:
            self.summary.buffered.add(f"{type_name}.{_norm(self.text(key))}")


def _literal_key(path: str, start: int) -> tuple[str, str]:
    return ("", f"func@{path}:{start}")


def _is_chan_make(extractor: _Extractor, node: Node) -> bool:
    if node.type != "call_expression":
        return False
    function = node.child_by_field_name("function")
    arguments = node.child_by_field_name("arguments")
    return function is not None and extractor.text(function) == "make" and arguments is not None and \
        bool(arguments.named_children) and arguments.named_children[0].type == "channel_type"


def _is_buffered_make(extractor: _Extractor, node: Node) -> bool:
    if not _is_chan_make(extractor, node):
        return False
    arguments = node.child_by_field_name("arguments")
    assert arguments is not None
    sizes = arguments.named_children[1:]
    return bool(sizes) and extractor.text(sizes[0]).strip() != "0"


@dataclass
class _FuncEnv:
    receiver: str | None = None
    params: dict[str, int] = field(default_factory=dict)
    types: dict[str, str] = field(default_factory=dict)  # variable -> same-package type name (or "@ctor#i")
    locals: set[str] = field(default_factory=set)
    chans: set[str] = field(default_factory=set)

    def copy(self) -> _FuncEnv:
        return _FuncEnv(self.receiver, dict(self.params), dict(self.types), set(self.locals), set(self.chans))


def _descendants_of_type(node: Node, kind: str) -> list[Node]:
    out, stack = [], [node]
    while stack:
        current = stack.pop()
        if current.type == kind:
            out.append(current)
            continue
        stack.extend(current.named_children)
    return out


def summarize(queries: Queries, path: str, source: bytes, root: Node, package: str, imports: set[str],
              locks_only: bool = False, names: frozenset[str] | None = None) -> FileSummary:
    """``locks_only``: functions and lock/unlock calls only (enough for the locks held at a point).
    ``names``: the package's function and method names; calls of other names are left out."""
    return _Extractor(queries.get(locks_only), path, source, root, package, imports, names).run()


# ---- the package model ---------------------------------------------------------------------------

Trace = tuple[Site, ...]  # call sites from the asking function down to the operation, then the operation


@dataclass(frozen=True, slots=True)
class Effect:
    """An operation a function performs itself or through its callees, in that function's terms."""

    kind: str  # lock | send | recv | range | close | wait | wake
    ref: Ref | None  # None: not expressible in the function's terms (a callee's local), canon still known
    canon: str | None
    mode: str
    bare: bool
    # identities of locks taken earlier on the way to it (held or released since), over every path that
    # reaches it: one effect per operation, not one per path (paths multiply through call chains)
    before: frozenset[str]
    trace: Trace
    guard: tuple[int, bool] | None = None  # lock: taken only for this value of a parameter (see Op.guard)
    # identities of locks released earlier on the way (a helper "called with the lock held" that unlocks
    # first): a lock the caller holds and the path releases is not held when this happens
    released: frozenset[str] = frozenset()
    looped: bool = False  # param_ops: the operation or a call on the way to it is inside a loop


@dataclass(frozen=True, slots=True)
class OrderEdge:
    outer: str  # identity of the lock held
    inner: str  # identity of the lock taken while holding it
    outer_mode: str
    inner_mode: str
    function: tuple[str, str]
    trace: Trace  # where the inner lock is taken (through calls)
    held: frozenset[str] = frozenset()  # every lock held there (a common outer lock serializes both)


class PackageModel:
    """Functions of one package, loaded on demand.

    A file's summary is read (parsed) only when a question needs one of its functions, types or
    operations: the function a call resolves to, a constructor's result type, a struct's field types, the
    methods of a type, or the files holding a token (every file that locks, for lock order). Effects are
    computed depth first with a memo; a call cycle sees what is known so far (documented limit)."""

    def __init__(self, files: list[FileSummary], *, index: PackageIndex | None = None,
                 loader: Callable[[str], FileSummary | None] | None = None) -> None:
        self.index = index
        self.loader = loader
        self.loaded: set[str] = set()
        self.types: dict[str, dict[str, str]] = {}
        self.globals: set[str] = set(index.globals) if index is not None else set()
        self.buffered: set[str] = set()
        self.functions: list[FunctionSummary] = []
        self.digests: dict[str, bytes] = {}
        self.by_key: dict[tuple[str, str], list[int]] = {}
        self.by_path: dict[str, list[int]] = {}
        self.path_starts: dict[str, list[int]] = {}
        self.ops_at: dict[tuple[str, int, int], tuple[int, int]] = {}  # (function, position)
        self.held: list[list[list[Op]]] = []
        self.locked_before: list[list[frozenset[str]]] = []
        self.unlocked_before: list[list[frozenset[str]]] = []
        self.released_before: list[list[frozenset[str]]] = []
        self.targets: list[dict[int, list[int]]] = []  # per function, per op position: resolved callees (lazy)
        self._param_ops: dict[tuple[int, int], list[Effect]] = {}
        self.effects: list[dict[tuple[object, ...], Effect]] = []
        self.starts: list[dict[int, Trace]] = []
        self.state: list[int] = []  # 0 not computed, 1 in progress, 2 done
        self._edges: dict[tuple[str, str], list[OrderEdge]] | None = None
        self._function_edges: dict[int, list[OrderEdge]] = {}
        self._pending: list[FileSummary] = []
        for summary in files:
            self.loaded.add(summary.path)
            self._pending.append(summary)
        self._flush()

    # ---- loading ----
    def load(self, path: str) -> None:
        if path in self.loaded or self.loader is None:
            return
        self.loaded.add(path)
        summary = self.loader(path)
        if summary is not None:
            self._pending.append(summary)
            self._flush()

    def _flush(self) -> None:
        """Add pending summaries: declarations first, then their functions (whose names may need them)."""
        while self._pending:
            batch, self._pending = self._pending, []
            for summary in batch:
                self.types.update(summary.types)
                self.globals |= summary.globals
                self.buffered |= summary.buffered
                self.digests[summary.path] = summary.digest
            for summary in batch:
                for original in summary.functions:
                    index = len(self.functions)
                    self.functions.append(original)  # replaced below, once its names are resolved
                    self.by_key.setdefault(original.key, []).append(index)
                    self.by_path.setdefault(original.path, []).append(index)
                    self.held.append([])
                    self.locked_before.append([])
                    self.unlocked_before.append([])
                    self.released_before.append([])
                    self.targets.append({})
                    self.effects.append({})
                    self.starts.append({})
                    self.state.append(0)
            for summary in batch:
                for index in self.by_path.get(summary.path, ()):
                    original = self.functions[index]
                    # a copy: summaries are cached and shared between models, whose names resolve apart
                    func = dataclasses.replace(original, ops=sorted(
                        (self._normalized(op) for op in original.ops), key=lambda op: op.site.start))
                    self.functions[index] = func
                    self.held[index] = _held_per_op(func.ops)
                    self.locked_before[index] = _locked_before(func.ops)
                    self.unlocked_before[index] = _unlocked_before(func.ops)
                    self.released_before[index] = _released_before(func.ops)
                    for position, op in enumerate(func.ops):
                        self.ops_at[(op.site.path, op.site.start, op.site.end)] = (index, position)
                self.path_starts[summary.path] = [self.functions[i].start for i in self.by_path.get(summary.path, ())]

    def _ensure_function(self, key: tuple[str, str]) -> list[int]:
        if self.index is not None:
            for path in self.index.functions.get(key, ()):
                self.load(path)
        return self.by_key.get(key, [])

    def _ensure_type(self, name: str) -> dict[str, str] | None:
        if name not in self.types and self.index is not None:
            for path in self.index.types.get(name, ()):
                self.load(path)
        return self.types.get(name)

    def methods_of(self, type_name: str) -> list[int]:
        if self.index is not None:
            for path in self.index.receivers.get(type_name, ()):
                self.load(path)
        return [i for i, f in enumerate(self.functions) if f.recv_type == type_name and not f.is_literal]

    def functions_in_files_with(self, *tokens: bytes) -> list[int]:
        """Every function of the files that hold all ``tokens`` (loaded now if needed)."""
        if self.index is None:
            return list(range(len(self.functions)))
        paths = {path for path, data in self.index.files.items() if all(t in data for t in tokens)}
        for path in sorted(paths):
            self.load(path)
        return [i for path in sorted(paths) for i in self.by_path.get(path, ())]

    def is_buffered(self, canon: str) -> bool:
        """Is the channel ``canon`` made with a buffer somewhere in the package? Reads the files that make a
        channel and name it (`T{f: make(chan X, 1)}`, `x.f = make(chan X, n)`), loaded now if needed."""
        if canon not in self.buffered:
            self.functions_in_files_with(b"make(chan", canon.rsplit(".", 1)[-1].encode())
        return canon in self.buffered

    # ---- names and types ----
    def _fix_ref(self, ref: Ref | None) -> Ref | None:
        if ref is None:
            return None
        if ref.root == "g":
            name = ref.text.split(".", 1)[0]
            if name not in self.globals:
                return Ref("local", ref.rest, ref.text, None)
            return ref
        # `@NewT#0...` (a constructor's result) stays as it is: resolving it reads the constructor's
        # file, which only a method call on it (type_of) needs
        return ref

    def _result_type(self, function: str, index: int) -> str:
        for candidate in self._ensure_function(("", function)):
            results = self.functions[candidate].results
            if index < len(results) and self._ensure_type(results[index]) is not None:
                return results[index]
        return ""

    def type_of(self, canon: str | None) -> str:
        """The named type of the value an identity denotes (`Server.pool` -> `Pool` via field types)."""
        if not canon or canon.startswith("pkg."):
            return ""
        parts = canon.split(".")
        current = parts[0]
        if current.startswith("@"):
            ctor, _, result = current[1:].partition("#")
            current = self._result_type(ctor, int(result or 0))
        for name in parts[1:]:
            fields = self._ensure_type(current)
            if fields is None or name not in fields:
                return ""
            current = _type_name(fields[name])
        return current if self._ensure_type(current) is not None else ""

    def is_channel(self, canon: str | None) -> bool:
        if not canon or "." not in canon or canon.startswith("pkg."):
            return False
        owner, _, name = canon.rpartition(".")
        type_name = self.type_of(owner) if "." in owner or owner.startswith("@") else owner
        fields = self._ensure_type(type_name) or {}
        return fields.get(name, "").lstrip("<-").strip().startswith("chan")

    def _normalized(self, op: Op) -> Op:
        ref, recv = self._fix_ref(op.ref), self._fix_ref(op.recv)
        args = tuple(self._fix_ref(a) for a in op.args)
        if ref is op.ref and recv is op.recv and all(a is b for a, b in zip(args, op.args, strict=True)):
            return op  # nothing to resolve: share it
        return dataclasses.replace(op, ref=ref, recv=recv, args=args)

    def _resolve(self, op: Op) -> list[int]:
        if op.kind == "go" and op.literal is not None:
            return list(self.by_key.get(op.literal, []))
        if op.kind not in ("call", "go") or op.callee is None:
            return []
        owner, name = op.callee
        if owner == "":
            return list(self._ensure_function(("", name)))
        if op.recv is None:
            return []
        type_name = self.type_of(op.recv.canon) if op.recv.canon else ""
        return list(self._ensure_function((type_name, name))) if type_name else []

    def targets_of(self, index: int, position: int) -> list[int]:
        targets = self.targets[index].get(position)
        if targets is None:  # per call: resolving reads the callee's file
            targets = self.targets[index][position] = self._resolve(self.functions[index].ops[position])
        return targets

    def param_ops(self, index: int, param: int, depth: int = 0) -> list[Effect]:
        """Channel operations function ``index`` does on its parameter ``param``, itself or in the
        functions it passes the parameter to (only those calls are followed: cheaper than effects_of)."""
        key = (index, param)
        known = self._param_ops.get(key)
        if known is not None:
            return known
        out: list[Effect] = []
        self._param_ops[key] = out  # a recursive cycle sees what is known so far
        root = f"p{param}"
        for position, op in enumerate(self.functions[index].ops):
            if op.kind in ("send", "recv", "range", "close") and op.ref is not None and op.ref.root == root \
                    and not op.ref.rest:
                out.append(Effect(op.kind, op.ref, op.ref.canon, "", op.bare, frozenset(), (op.site,),
                                  looped=op.looped))
            elif op.kind in ("call", "go") and depth < MAX_DEPTH:
                for argument, arg in enumerate(op.args):
                    if arg is None or arg.root != root or arg.rest:
                        continue
                    for target in self.targets_of(index, position):
                        if target == index and argument == param:
                            continue
                        for effect in self.param_ops(target, argument, depth + 1):
                            out.append(Effect(effect.kind, arg, effect.canon, "", effect.bare, frozenset(),
                                              (op.site, *effect.trace), looped=op.looped or effect.looped))
        return out

    # ---- mapping a callee's reference into the caller's terms ----
    @staticmethod
    def map_ref(ref: Ref | None, call: Op) -> Ref | None:
        if ref is None:
            return None
        base: Ref | None
        if ref.root == "self":
            base = call.recv
        elif ref.root.startswith("p") and ref.root[1:].isdigit():
            position = int(ref.root[1:])
            base = call.args[position] if position < len(call.args) else None
        elif ref.root == "g":
            return ref
        else:
            return None
        if base is None or base.root == "?":
            return None
        rest = base.rest + ref.rest
        text = ".".join([base.text, *ref.rest]) if ref.rest else base.text
        canon = ref.canon or (".".join([base.canon, *ref.rest]) if base.canon else None)
        return Ref(base.root, rest, text, canon)

    # ---- effects, depth first ----
    def _direct(self, index: int) -> dict[tuple[object, ...], Effect]:
        func = self.functions[index]
        out: dict[tuple[object, ...], Effect] = {}
        unlocked: set[str] = set()
        for position, op in enumerate(func.ops):
            held = self.held[index][position]
            held_canons = frozenset(h.ref.canon for h in held if h.ref is not None and h.ref.canon)
            before = self.locked_before[index][position] | held_canons
            released = self.released_before[index][position]
            if op.kind == "unlock" and op.ref is not None:
                unlocked.add(op.ref.text)
            if op.kind == "lock" and not op.deferred and op.ref is not None:
                fresh = op.ref.text not in unlocked and not any(h.ref == op.ref for h in held)
                if fresh:
                    _add(out, Effect("lock", op.ref, op.ref.canon, op.mode, True, before, (op.site,), op.guard,
                                     released))
            elif op.kind in ("send", "recv", "range", "close"):
                if op.kind == "range" and op.ref is not None and op.ref.rest and not self.is_channel(op.ref.canon):
                    continue
                _add(out, Effect(op.kind, op.ref, op.ref.canon if op.ref else None, "", op.bare, before,
                                 (op.site,), None, released))
            elif op.kind in ("wait", "wake") and not op.deferred:
                _add(out, Effect(op.kind, op.ref, op.ref.canon if op.ref else None, "", True, before,
                                 (op.site,), None, released))
        return out

    def effects_of(self, index: int, depth: int = 0) -> dict[tuple[object, ...], Effect]:
        """What function ``index`` does itself and through same-package calls, in its own terms."""
        if self.state[index] == 2 or self.state[index] == 1:
            return self.effects[index]  # done, or a call cycle: what is known so far
        if depth > MAX_DEPTH:
            return self._direct(index)
        self.state[index] = 1
        effects = self.effects[index] = self._direct(index)
        starts = self.starts[index]
        func = self.functions[index]
        for position, op in enumerate(func.ops):
            if op.kind == "go":
                for target in self.targets_of(index, position):
                    starts.setdefault(target, (op.site,))
            if op.kind != "call":
                continue
            targets = self.targets_of(index, position)
            if not targets:
                continue
            held = self.held[index][position]
            held_canons = frozenset(h.ref.canon for h in held if h.ref is not None and h.ref.canon)
            before = self.locked_before[index][position] | held_canons
            for target in targets:
                if target == index:
                    continue
                for effect in list(self.effects_of(target, depth + 1).values()):
                    if len(effect.trace) > MAX_DEPTH:
                        continue
                    keep, guard = _through_guard(effect, op)
                    if not keep:
                        continue
                    if effect.kind == "lock" and guard is None:
                        guard = op.guard  # a call made only `if p`: its locks too
                    mapped = self.map_ref(effect.ref, op)
                    if effect.kind == "lock" and mapped is not None and \
                            mapped.text in self.unlocked_before[index][position]:
                        continue  # released here first: a function called with the lock held
                    canon = effect.canon or (mapped.canon if mapped is not None else None)
                    _add(effects, Effect(effect.kind, mapped, canon, effect.mode, effect.bare,
                                         effect.before | before, (op.site, *effect.trace), guard,
                                         effect.released | self.released_before[index][position]))
                for started, trace in list(self.starts[target].items()):
                    if started not in starts and len(trace) <= MAX_DEPTH:
                        starts[started] = (op.site, *trace)
        self.state[index] = 2
        return effects

    def starts_of(self, index: int) -> dict[int, Trace]:
        self.effects_of(index)
        return self.starts[index]

    def order_edges(self, first: str, then: str) -> list[OrderEdge]:
        """The places that hold lock ``first`` and take ``then`` (directly or through calls). Only the
        files naming both locks' last field (or variable) are read."""
        key = (first, then)
        if self._edges is None:
            self._edges = {}
        found = self._edges.get(key)
        if found is not None:
            return found
        tokens = {name.rsplit(".", 1)[-1].encode() for name in (first, then)}
        out: list[OrderEdge] = []
        for index in self.functions_in_files_with(b"Lock()", *tokens):
            for edge in self._edges_of(index):
                if edge.outer == first and edge.inner == then:
                    out.append(edge)
        self._edges[key] = out
        return out

    def _edges_of(self, index: int) -> list[OrderEdge]:
        """(held, then taken) lock pairs of one function."""
        known = self._function_edges.get(index)
        if known is not None:
            return known
        edges: list[OrderEdge] = []
        self._function_edges[index] = edges
        func = self.functions[index]
        for position, op in enumerate(func.ops):
            held_ops = self.held[index][position]
            if not held_ops:
                continue
            inner: list[tuple[str, str, Trace, frozenset[str]]] = []
            if op.kind == "lock" and not op.deferred and op.ref is not None and op.ref.canon:
                inner.append((op.ref.canon, op.mode, (op.site,), frozenset()))
            elif op.kind == "call":
                for target in self.targets_of(index, position):
                    if target == index:
                        continue
                    for effect in self.effects_of(target).values():
                        if effect.kind == "lock" and _through_guard(effect, op) == (True, None):
                            mapped = self.map_ref(effect.ref, op)
                            canon = effect.canon or (mapped.canon if mapped else None)
                            if canon:
                                inner.append((canon, effect.mode, (op.site, *effect.trace), effect.released))
            held_canons = frozenset(h.ref.canon for h in held_ops if h.ref is not None and h.ref.canon)
            for held in held_ops:
                if held.ref is None or not held.ref.canon:
                    continue
                for canon, mode, trace, released in inner:
                    if canon != held.ref.canon and held.ref.canon not in released:
                        edges.append(OrderEdge(held.ref.canon, canon, held.mode, mode, func.key, trace, held_canons))
        return edges

    # ---- questions rules ask ----
    def function_at(self, path: str, start: int, end: int) -> int | None:
        """The innermost function or literal of ``path`` around [start, end)."""
        indexes = self.by_path.get(path)
        if not indexes:
            return None
        position = bisect.bisect_right(self.path_starts[path], start) - 1
        while position >= 0:  # functions nest: the nearest start at or before that contains it
            func = self.functions[indexes[position]]
            if func.start <= start and end <= func.end:
                return indexes[position]
            position -= 1
        return None

    def op_at(self, path: str, start: int, end: int) -> tuple[int, int] | None:
        """(function, position) of the operation at exactly [start, end)."""
        return self.ops_at.get((path, start, end))

    def held_at(self, index: int, start: int, end: int) -> list[Op]:
        """Locks held at [start, end) in function ``index`` (straight-line view, see _held_per_op)."""
        found = self.ops_at.get((self.functions[index].path, start, end))
        if found is not None and found[0] == index:
            return self.held[index][found[1]]
        func = self.functions[index]
        probe = Op("probe", Site(func.path, 0, 0, start, end, ""))
        ops = [op for op in func.ops if op.site.start < start] + [probe]
        return _held_per_op(ops)[-1]

    def callee_effects(self, index: int, position: int) -> list[tuple[int, Effect, Ref | None]]:
        """Effects of the functions a call resolves to, with each effect's reference in the caller's terms."""
        out: list[tuple[int, Effect, Ref | None]] = []
        op = self.functions[index].ops[position]
        for target in self.targets_of(index, position):
            if target == index:
                continue
            for effect in self.effects_of(target).values():
                keep, guard = _through_guard(effect, op)
                if keep and guard is None:  # a lock still waiting on the caller's flag: not known to happen
                    out.append((target, effect, self.map_ref(effect.ref, op)))
        return out


def _through_guard(effect: Effect, call: Op) -> tuple[bool, tuple[int, bool] | None]:
    """Does a guarded lock happen through this call? (keep it, its guard in the caller's terms). A
    literal `true`/`false` decides it; the caller's own parameter passes the guard on; anything else
    leaves it unknown, and unknown is not counted (precision first)."""
    if effect.guard is None:
        return True, None
    position, wanted = effect.guard
    value = call.bools[position] if position < len(call.bools) else None
    if value is not None:
        return value == wanted, None
    arg = call.args[position] if position < len(call.args) else None
    if arg is not None and not arg.rest and arg.root.startswith("p") and arg.root[1:].isdigit():
        return True, (int(arg.root[1:]), wanted)
    return False, None


def _add(effects: dict[tuple[object, ...], Effect], effect: Effect) -> bool:
    """Record an effect; the same operation reached again only widens its `before` set. True: changed."""
    key = (effect.kind, effect.ref.root if effect.ref else None, effect.ref.rest if effect.ref else None,
           effect.canon, effect.mode, effect.bare, effect.trace[-1].start, effect.trace[-1].path, effect.guard)
    known = effects.get(key)
    if known is None:
        effects[key] = effect
        return True
    if effect.before <= known.before and effect.released <= known.released:
        return False
    effects[key] = Effect(known.kind, known.ref, known.canon, known.mode, known.bare,
                          known.before | effect.before, known.trace, known.guard,
                          known.released | effect.released)
    return True


def _unlocked_before(ops: list[Op]) -> list[frozenset[str]]:
    """For each op, the texts of the locks the function released earlier in source order."""
    out: list[frozenset[str]] = []
    released: set[str] = set()
    for op in ops:
        out.append(frozenset(released))
        if op.kind == "unlock" and not op.deferred and op.ref is not None:
            released.add(op.ref.text)
    return out


def _released_before(ops: list[Op]) -> list[frozenset[str]]:
    """For each op, the identities of the locks the function released earlier in source order."""
    out: list[frozenset[str]] = []
    released: set[str] = set()
    for op in ops:
        out.append(frozenset(released))
        if op.kind == "unlock" and not op.deferred and op.ref is not None and op.ref.canon:
            released.add(op.ref.canon)
    return out


def _locked_before(ops: list[Op]) -> list[frozenset[str]]:
    """For each op, the identities of locks the function took earlier in source order."""
    out: list[frozenset[str]] = []
    taken: set[str] = set()
    for op in ops:
        out.append(frozenset(taken))
        if op.kind == "lock" and not op.deferred and op.ref is not None and op.ref.canon:
            taken.add(op.ref.canon)
    return out


def _held_per_op(ops: list[Op]) -> list[list[Op]]:
    """For each op, the lock ops held when it runs. A lock counts while its statement list encloses the op
    and no unlock of the same text lies between them, except an unlock in a list that ends by leaving
    (`mu.Unlock(); return`) and does not enclose the op. A deferred unlock releases nothing here."""
    out: list[list[Op]] = []
    locks: list[Op] = []
    unlocks: list[Op] = []
    for op in ops:
        start = op.site.start
        held = []
        for lock in locks:
            if not (lock.block[0] <= start < lock.block[1]):
                continue
            released = False
            for unlock in unlocks:
                if unlock.ref is None or lock.ref is None or unlock.ref.text != lock.ref.text:
                    continue
                if unlock.site.start < lock.site.start:
                    continue
                if unlock.block[0] <= start < unlock.block[1] or not unlock.exits:
                    released = True
                    break
            if not released:
                held.append(lock)
        out.append(held)
        if op.kind == "lock" and not op.deferred and op.block != (0, 0) and op.ref is not None:
            locks.append(op)
        elif op.kind == "unlock" and not op.deferred and op.ref is not None:
            unlocks.append(op)
    return out


# ---- the package index: which file declares what (no parse) ----------------------------------------

_FUNC_LINE = re.compile(
    rb"^func[ \t]*(?:\([ \t]*(?:[A-Za-z_][A-Za-z0-9_]*[ \t]+)?\*?[ \t]*([A-Za-z_][A-Za-z0-9_]*)[^)\n]*\))?"
    rb"[ \t]*([A-Za-z_][A-Za-z0-9_]*)", re.M)
_TYPE_LINE = re.compile(rb"^type[ \t]+([A-Za-z_][A-Za-z0-9_]*)", re.M)
_VAR_LINE = re.compile(rb"^var[ \t]+([A-Za-z_][A-Za-z0-9_]*)", re.M)
_BLOCK = re.compile(rb"^(type|var)[ \t]*\((.*?)^\)", re.M | re.S)
_BLOCK_NAME = re.compile(rb"^\t([A-Za-z_][A-Za-z0-9_]*)[ \t,=]", re.M)


class PackageIndex:
    """Byte-level facts about a package's files from their `func`, `type` and `var` lines (no parse):
    which file to read for a function, a type or a type's methods. The lines are read on first use
    (a token check needs only the bytes)."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self._parsed = False
        self._functions: dict[tuple[str, str], list[str]] = {}  # (receiver type or "", name) -> paths
        self._methods: dict[str, list[str]] = {}  # method name -> paths
        self._receivers: dict[str, list[str]] = {}  # type -> paths declaring its methods
        self._types: dict[str, list[str]] = {}
        self._globals: set[str] = set()

    def add(self, path: str, data: bytes) -> None:
        self.files[path] = data
        self._parsed = False

    def _parse(self) -> None:
        if self._parsed:
            return
        self._parsed = True
        for path, data in self.files.items():
            for match in _FUNC_LINE.finditer(data):
                owner = match.group(1).decode() if match.group(1) else ""
                name = match.group(2).decode()
                _append(self._functions.setdefault((owner, name), []), path)
                if owner:
                    _append(self._methods.setdefault(name, []), path)
                    _append(self._receivers.setdefault(owner, []), path)
            for match in _TYPE_LINE.finditer(data):
                _append(self._types.setdefault(match.group(1).decode(), []), path)
            for match in _VAR_LINE.finditer(data):
                self._globals.add(match.group(1).decode())
            if b"type (" in data or b"var (" in data or b"type(" in data or b"var(" in data:
                for block in _BLOCK.finditer(data):
                    for name in _BLOCK_NAME.finditer(block.group(2)):
                        if block.group(1) == b"type":
                            _append(self._types.setdefault(name.group(1).decode(), []), path)
                        else:
                            self._globals.add(name.group(1).decode())

    @property
    def functions(self) -> dict[tuple[str, str], list[str]]:
        self._parse()
        return self._functions

    @property
    def methods(self) -> dict[str, list[str]]:
        self._parse()
        return self._methods

    @property
    def receivers(self) -> dict[str, list[str]]:
        self._parse()
        return self._receivers

    @property
    def types(self) -> dict[str, list[str]]:
        self._parse()
        return self._types

    @property
    def globals(self) -> set[str]:
        self._parse()
        return self._globals

    def names(self) -> frozenset[str]:
        return frozenset(name for _, name in self.functions)


def _append(paths: list[str], path: str) -> None:
    if path not in paths:
        paths.append(path)




def _digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest()


def _package_key(listing: Listing | None, path: str, package: str) -> tuple[tuple[object, ...], Listing]:
    directory = os.path.dirname(path)
    tests = path.endswith("_test.go")
    files = (listing if package else None) or [(path, 0, 0)]
    return (directory, package, tests, tuple(files)), files


@dataclass
class ModelFile:
    """One evaluated file as the package model sees it, with what was built for it so far (its summaries,
    its one-file lock view, its package's model, the functions that lock)."""

    path: str  # absolute
    package: str
    source: bytes
    root: Node
    imports: Imports
    summaries: dict[bool, FileSummary] = field(default_factory=dict)  # locks_only -> summary
    local: PackageModel | None = None
    model: PackageModel | None = None
    locking: list[tuple[int, int]] | None = None


class PackageModels:
    """The package models of one scan: package indexes, file summaries read from disk, models (each an
    LRU). The evaluated file's own text (maybe unsaved) always comes from its tree."""

    def __init__(self, folders: Folders) -> None:
        self.folders = folders
        self.queries = Queries()
        self._indexes: OrderedDict[tuple[object, ...], PackageIndex] = OrderedDict()
        self._summaries: OrderedDict[tuple[str, int, int, int], FileSummary | None] = OrderedDict()
        self._models: OrderedDict[tuple[object, ...], PackageModel] = OrderedDict()

    def _key(self, path: str, package: str) -> tuple[tuple[object, ...], Listing]:
        listing = self.folders.listing(os.path.dirname(path), path.endswith("_test.go")) if package else None
        return _package_key(listing, path, package)

    def index(self, path: str, package: str, source: bytes) -> PackageIndex:
        key, listing = self._key(path, package)
        index = self._indexes.get(key)
        if index is not None and index.files.get(path, source) == source:
            self._indexes.move_to_end(key)
            return index
        index = PackageIndex()
        wanted = package.encode()
        for sibling, _, _ in listing:
            if sibling == path:
                index.add(path, source)
                continue
            data = read_sibling(sibling)
            if data is None:
                continue
            found = PACKAGE_LINE.search(data)
            if found is not None and found.group(1) == wanted and len(data) <= MAX_FILE_BYTES:
                index.add(sibling, data)
        self._indexes[key] = index
        while len(self._indexes) > MAX_MODELS:
            self._indexes.popitem(last=False)
        return index

    def may_hold(self, path: str, package: str, source: bytes, tokens: frozenset[bytes]) -> bool:
        """Might a file of the package hold every one of ``tokens``? (the worker's prefilter for rules whose
        `model:` facts need, e.g., a `go` statement somewhere in the package)."""
        if all(token in source for token in tokens):
            return True
        index = self.index(os.path.abspath(path), package, source)
        return any(all(token in data for token in tokens) for data in index.files.values())

    def declares(self, file: ModelFile, name: str, method: bool, token: bytes = b"") -> bool:
        """Does a `.go` file of the package declare a function (or a method) ``name``, in a file holding
        ``token``? A byte-level check that spares building the model for calls of other packages'
        methods (`buf.Reset()`, `wg.Wait()`)."""
        index = self.index(file.path, file.package, file.source)
        paths = index.methods.get(name, []) if method else index.functions.get(("", name), [])
        return any(token in index.files[path] for path in paths)

    def _from_disk(self, path: str, package: str, mtime: int, size: int, names: frozenset[str]) -> FileSummary | None:
        key = (path, mtime, size, hash(names))
        if key in self._summaries:
            self._summaries.move_to_end(key)
            return self._summaries[key]
        summary: FileSummary | None = None
        data = read_sibling(path) or b""
        found = PACKAGE_LINE.search(data)
        if data and len(data) <= MAX_FILE_BYTES and b"\0" not in data and found is not None and \
                found.group(1).decode() == package:
            data = utf8_safe(data)[0]
            root = parser().parse(data).root_node
            summary = summarize(self.queries, path, data, root, package, _imports_of(root, data), names=names)
            summary.digest = _digest(data)
        self._summaries[key] = summary
        while len(self._summaries) > MAX_FILE_SUMMARIES:
            self._summaries.popitem(last=False)
        return summary

    def summary(self, file: ModelFile, locks_only: bool = False) -> FileSummary:
        cached = file.summaries.get(locks_only)
        if cached is None:
            names = None if locks_only else self.index(file.path, file.package, file.source).names()
            cached = summarize(self.queries, file.path, file.source, file.root, file.package,
                               set(file.imports.by_name), locks_only, names)
            cached.digest = _digest(file.source)
            file.summaries[locks_only] = cached
        return cached

    def file_model(self, file: ModelFile) -> PackageModel:
        """The evaluated file alone, without call effects: locks held, operations by position."""
        if file.local is None:
            file.local = PackageModel([self.summary(file, locks_only=True)])
        return file.local

    def model(self, file: ModelFile) -> PackageModel:
        """The model of the evaluated file's package: its own text (maybe unsaved) plus its siblings on disk,
        read as questions need them. Shared by the package's files while the folder and texts stay the same."""
        if file.model is not None:
            return file.model
        path = file.path
        key, listing = self._key(path, file.package)
        digest = _digest(file.source)
        model = self._models.get(key)
        if model is not None and model.digests.get(path, digest) == digest:
            self._models.move_to_end(key)
        else:
            index = self.index(path, file.package, file.source)
            names = index.names()
            stats = {p: (mtime, size) for p, mtime, size in listing}
            package = file.package

            def loader(sibling: str) -> FileSummary | None:
                if sibling not in index.files or sibling not in stats:
                    return None
                return self._from_disk(sibling, package, *stats[sibling], names)

            model = PackageModel([], index=index, loader=loader)
            self._models[key] = model
            while len(self._models) > MAX_MODELS:
                self._models.popitem(last=False)
        if path not in model.loaded:  # this file's own text (maybe unsaved), from its tree: no second parse
            model.loaded.add(path)
            model._pending.append(self.summary(file))
            model._flush()
        file.model = model
        return model


def _imports_of(root: Node, source: bytes) -> set[str]:
    return set(file_imports(source, root).by_name)


def required_package_tokens(root: CNode) -> list[frozenset[bytes]]:
    """Byte strings some file of the package must hold for the `model:` facts every match of ``root``
    passes: lets the worker skip files of packages that cannot match."""
    from gleak_sarif.rules.compiler import required_tokens

    return required_tokens(root, _model_tokens)


def _model_tokens(node: CNode) -> list[frozenset[bytes]]:
    query = node.model
    out: list[frozenset[bytes]] = []
    if query is not None:
        if query.calls_locking is not None:
            out.append(frozenset({b"Lock()"}))
        if query.calls_starting is not None:
            stoppable = query.calls_starting.stoppable or query.calls_starting.unstopped_on
            out.append(frozenset({b"go ", b"close("} if stoppable else {b"go "}))
    return out
