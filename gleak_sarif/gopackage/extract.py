"""One file's tree -> its FileSummary: one query pass, then the captures in source order.

The _Extractor holds the file's state (functions read so far with their name environments, loops, select
cases) and resolves references; what each capture records is in the modules named for it: extract_decls
(types, globals, function headers), extract_ops (calls, channel operations, `go`), extract_locks (lock
calls, guards, a Cond's lock), extract_locals (locals' types, assignments), extract_funcs (function values),
extract_fields (channel fields), extract_cancel (context cancel pairs), extract_fresh (fresh results)."""

from __future__ import annotations

import bisect

from tree_sitter import Node, Query, QueryCursor

from gleak_sarif.gopackage import extract_decls, extract_funcs, extract_locals, extract_locks, extract_ops
from gleak_sarif.gopackage.extract_cancel import CancelPairs
from gleak_sarif.gopackage.extract_fields import ChannelFields, FuncEnv
from gleak_sarif.gopackage.summary import FileSummary, FunctionSummary, Ref, Site, norm, one_line
from gleak_sarif.gosource import compile_query

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
(argument_list [(selector_expression) (identifier) (unary_expression) (call_expression)
  (parenthesized_expression)] @escarg)
(return_statement (expression_list) @escret)
(literal_element [(selector_expression) (identifier) (unary_expression) (call_expression)] @esclit)
(send_statement value: [(selector_expression) (identifier) (unary_expression) (call_expression)] @escsend)
(assignment_statement left: (expression_list) @eleft right: (expression_list) @eright) @eassign
(keyed_element . (literal_element [(identifier) (field_identifier)] @ekey) . (literal_element (_) @evalue)) @ekeyed
(assignment_statement left: (expression_list . (selector_expression) @fleft .)
  right: (expression_list . [(func_literal) (identifier) (selector_expression)] @fright .)) @fassign
(keyed_element . (literal_element (identifier) @fkey) . (literal_element [(func_literal) (identifier)
  (selector_expression)] @fright) .) @fkeyed
(for_statement) @loop
(defer_statement (call_expression function: (func_literal) @dlit))
(call_expression arguments: (argument_list (func_literal) @alit) @alist) @acall
(short_var_declaration left: (expression_list . (identifier) @uleft .)
  right: (expression_list . [(func_literal) (call_expression)] @uright .)) @udefine
(call_expression function: (identifier) @uname arguments: (argument_list) @uargs (#eq? @uargs "()")) @ucall
"""
# the one-file view that answers `held`: functions and lock calls only (a fraction of the captures)
_LOCKS_QUERY_TEXT = """
(function_declaration name: (identifier) @name) @func
(method_declaration name: (field_identifier) @name) @func
(func_literal) @lit
(call_expression function: (selector_expression operand: (_) @operand field: (field_identifier) @fname)
  arguments: (argument_list) @args (#match? @fname "^R?(Un)?[Ll]ock$")) @call
(for_statement) @loop
(short_var_declaration left: (expression_list . (identifier) @uleft .)
  right: (expression_list . [(func_literal) (call_expression)] @uright .)) @udefine
(call_expression function: (identifier) @uname arguments: (argument_list) @uargs (#eq? @uargs "()")) @ucall
"""


class Queries:
    """The two extraction queries, compiled on first use (once per scan context: ~8 ms)."""

    def __init__(self) -> None:
        self._compiled: dict[bool, Query] = {}

    def get(self, locks_only: bool) -> Query:
        query = self._compiled.get(locks_only)
        if query is None:
            query = self._compiled[locks_only] = compile_query(_LOCKS_QUERY_TEXT if locks_only else _QUERY_TEXT)
        return query


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
        self.envs: list[FuncEnv] = []
        self.comm_ranges: list[tuple[int, int]] = []
        # the `for` statements of the file (start, end), by start: looped()/outer_loop() look them up instead of
        # walking up the tree (a node's parent costs its depth in tree-sitter: deep nesting went cubic)
        self.loops: list[tuple[int, int]] = []
        self.ending_loops: set[tuple[int, int]] = set()  # loops with a condition (see loop_ends)
        self.result_texts: list[str] = []  # per function: its declared result, as written
        # function literals by start byte, from query captures (no walk up the tree): deferred ones
        # (`defer func() {...}()`), call arguments (call start, position), `go func() {...}()` ones (the go)
        self.deferred_literals: set[int] = set()
        self.argument_literals: dict[int, tuple[int, int]] = {}
        self.go_literals: dict[int, Node] = {}
        self.fields = ChannelFields(self)
        self.cancels = CancelPairs(self, imports)

    def text(self, node: Node) -> str:
        return self.source[node.start_byte : node.end_byte].decode("utf-8", "replace")

    def _loops_around(self, node: Node) -> list[tuple[int, int]]:
        """The byte ranges of the `for` statements of the node's own function around it, innermost first."""
        index = self._innermost(node.start_byte, node.end_byte)
        floor = self.funcs[index].start if index is not None else -1
        found: list[tuple[int, int]] = []
        position = bisect.bisect_right(self.loops, (node.start_byte, 1 << 62)) - 1
        while position >= 0 and self.loops[position][0] > floor:
            start, end = self.loops[position]
            if end >= node.end_byte and (start, end) != (node.start_byte, node.end_byte):
                found.append((start, end))
            position -= 1
        return found

    def looped(self, node: Node) -> bool:
        """Is the node inside a `for` of its own function (so it may run more than once per call)?"""
        return bool(self._loops_around(node))

    def loop_ends(self, node: Node) -> bool:
        """Is the node inside loops of its own function that all have a condition (Op.loop_ends)?"""
        loops = self._loops_around(node)
        return bool(loops) and all(loop in self.ending_loops for loop in loops)

    def outer_loop(self, node: Node) -> tuple[int, int] | None:
        """The byte range of the outermost `for` of the node's own function around it: two operations of
        one function share a loop body exactly when their outermost loops are the same."""
        loops = self._loops_around(node)
        return loops[-1] if loops else None

    def site(self, node: Node) -> Site:
        line, column = node.start_point
        return Site(self.path, line + 1, column + 1, node.start_byte, node.end_byte, one_line(self.text(node)))

    def run(self) -> FileSummary:
        matches = QueryCursor(self.query).matches(self.root)
        items: list[tuple[int, int, dict[str, list[Node]]]] = []
        for index, captures in matches:
            if "loop" in captures:
                loop = captures["loop"][0]
                self.loops.append((loop.start_byte, loop.end_byte))
                if _has_condition(loop):
                    self.ending_loops.add((loop.start_byte, loop.end_byte))
                continue
            anchor = next(iter(captures.values()))[0]
            if "dlit" in captures:
                self.deferred_literals.add(captures["dlit"][0].start_byte)
                continue
            if "alit" in captures:
                literal, arguments = captures["alit"][0], captures["alist"][0]
                position = [a.id for a in arguments.named_children if a.type != "comment"].index(literal.id)
                self.argument_literals[literal.start_byte] = (captures["acall"][0].start_byte, position)
                continue
            for name in ("func", "lit", "call", "send", "recv", "range", "go", "define", "var", "assign",
                         "keyed", "fassign", "fkeyed", "comm", "udefine", "ucall", "tname", "eassign", "ekeyed", "escarg",
                         "escret", "esclit", "escsend"):
                if name in captures:
                    anchor = captures[name][0]
                    break
            items.append((anchor.start_byte, index, captures))
        items.sort(key=lambda item: item[0])
        self.loops.sort()
        # declarations first (types, globals, functions), then operations, which need them
        for _, _, captures in items:
            if "tname" in captures:
                extract_decls.type_spec(self, captures)
            elif "var" in captures:
                extract_decls.global_var(self, captures["var"][0])
            elif "func" in captures or "lit" in captures:
                extract_decls.function_decl(self, captures)
            elif "comm" in captures:
                node = captures["comm"][0]
                self.comm_ranges.append((node.start_byte, node.end_byte))
        self.comm_ranges.sort()
        for func in self.funcs:
            if func.is_literal:
                func.deferred = func.start in self.deferred_literals
                func.argument = self.argument_literals.get(func.start)
        for _, _, captures in items:
            if "udefine" in captures:
                extract_locks.unlocker_define(self, captures["uleft"][0], captures["uright"][0])
            elif "ucall" in captures:
                extract_locks.unlocker_call(self, captures["ucall"][0], captures["uname"][0])
            elif "call" in captures:
                extract_ops.call_op(self, captures)
            elif "send" in captures:
                extract_ops.channel_op(self, "send", captures["send"][0], captures["chan"][0])
            elif "recv" in captures:
                extract_ops.channel_op(self, "recv", captures["recv"][0], captures["chan"][0])
            elif "range" in captures:
                extract_locals.range_value(self, captures["range"][0], captures["chan"][0])
                extract_ops.channel_op(self, "range", captures["range"][0], captures["chan"][0])
            elif "go" in captures:
                extract_ops.go_statement(self, captures["go"][0])
            elif "define" in captures or "assign" in captures:
                extract_locals.assignment(self, captures)
            elif "var" in captures:
                extract_locals.local_var(self, captures["var"][0])
            elif "keyed" in captures:
                extract_locals.keyed_make(self, captures["keyed"][0])
            elif "eassign" in captures:
                self.fields.field_assignment(captures["eleft"][0], captures["eright"][0])
                extract_locals.cancel_assignment(self, captures["eleft"][0], captures["eright"][0])
                extract_locks.cond_assignment(self, captures["eleft"][0], captures["eright"][0])
                extract_locals.param_store(self, captures["eleft"][0], captures["eright"][0])
                extract_locals.buffered_store(self, captures["eleft"][0], captures["eright"][0])
            elif "ekeyed" in captures:
                self.fields.keyed_field(captures["ekey"][0], captures["evalue"][0])
                self.cancels.keyed(captures["ekey"][0], captures["evalue"][0])
            elif "escret" in captures:
                self.fields.returned(captures["escret"][0])
            elif "escarg" in captures:
                self.fields.argument(captures["escarg"][0])
            elif "esclit" in captures:
                item = captures["esclit"][0]
                if item.parent is None or item.parent.parent is None or item.parent.parent.type != "keyed_element":
                    self.fields.escape(item)  # a keyed element's value is keyed_field's
            elif "escsend" in captures:
                self.fields.escape(captures["escsend"][0])
            elif "fassign" in captures or "fkeyed" in captures:
                extract_funcs.func_value(self, captures)
        self.summary.functions = self.funcs
        return self.summary

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
    def ref(self, node: Node, env: FuncEnv, recv_type: str | None, calls: bool = False,
            elements: bool = False) -> Ref | None:
        """``calls``: a method call without arguments is a step of the path too (`s.events()`, written
        `events()` in ``rest``): the channel an accessor returns (see gopackage/channels.py). ``elements``:
        an element of a map, slice or array field is a step too (`t.locks[k].Lock()`, `t.rows[i].mu`), its
        identity the field's element type (`@elem(T/locks)`, as for a local `l := t.locks[k]`): only lock
        operands ask for it (a per-key lock), channel paths keep their own rules."""
        rest: list[str] = []
        current = node
        while True:
            kind = current.type
            if elements and kind == "index_expression":
                return extract_funcs.element_ref(self, node, current, rest, env, recv_type)
            if calls and kind == "call_expression":
                function = current.child_by_field_name("function")
                arguments = current.child_by_field_name("arguments")
                if function is None or function.type != "selector_expression" or arguments is None or \
                        any(a.type != "comment" for a in arguments.named_children):
                    return None
                current = function
                field_node = current.child_by_field_name("field")
                operand = current.child_by_field_name("operand")
                if field_node is None or operand is None:
                    return None
                rest.append(self.text(field_node) + "()")
                current = operand
            elif kind == "selector_expression":
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
        text = norm(self.text(node)).lstrip("&*")
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

    def _context(self, node: Node) -> tuple[FunctionSummary, FuncEnv] | None:
        index = self._innermost(node.start_byte, node.end_byte)
        if index is None:
            return None
        return self.funcs[index], self.envs[index]


def _has_condition(loop: Node) -> bool:
    """`for cond {` or `for init; cond; post {`: not `for {`, `for ;; {` or a `range` loop."""
    for child in loop.named_children:
        if child.type == "for_clause":
            return child.child_by_field_name("condition") is not None
        if child.type not in ("block", "comment", "range_clause"):
            return True  # the condition expression
    return False


def summarize(queries: Queries, path: str, source: bytes, root: Node, package: str, imports: set[str],
              locks_only: bool = False, names: frozenset[str] | None = None) -> FileSummary:
    """``locks_only``: functions and lock/unlock calls only (enough for the locks held at a point).
    ``names``: the package's function and method names; calls of other names are left out."""
    return _Extractor(queries.get(locks_only), path, source, root, package, imports, names).run()

