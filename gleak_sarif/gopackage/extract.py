"""One file's tree -> its FileSummary: one query pass, then the captures in source order."""

from __future__ import annotations

import bisect

from tree_sitter import Node, Query, QueryCursor

from gleak_sarif.gopackage import extract_funcs
from gleak_sarif.gopackage.extract_cancel import CancelPairs
from gleak_sarif.gopackage.extract_fields import ChannelFields, FuncEnv, is_chan_make
from gleak_sarif.gopackage.extract_fresh import fresh_result, returns_made
from gleak_sarif.gopackage.summary import (
    LOCK_MODES,
    OP_NAMES,
    UNLOCKS,
    WAKERS,
    FileSummary,
    FunctionSummary,
    Op,
    Ref,
    Site,
    element_type,
    encode_canon,
    literal_key,
    named_type,
    norm,
    one_line,
)
from gleak_sarif.gosource import GO

# builtins whose result is never a value of a package type
BUILTINS = {"make", "append", "len", "cap", "copy", "complex", "real", "imag", "min", "max", "recover"}

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
"""
# the one-file view that answers `held`: functions and lock calls only (a fraction of the captures)
_LOCKS_QUERY_TEXT = """
(function_declaration name: (identifier) @name) @func
(method_declaration name: (field_identifier) @name) @func
(func_literal) @lit
(call_expression function: (selector_expression operand: (_) @operand field: (field_identifier) @fname)
  arguments: (argument_list) @args (#match? @fname "^R?(Un)?[Ll]ock$")) @call
(for_statement) @loop
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
                         "keyed", "fassign", "fkeyed", "comm", "tname", "eassign", "ekeyed", "escarg",
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
                self._type(captures)
            elif "var" in captures:
                self._global(captures["var"][0])
            elif "func" in captures or "lit" in captures:
                self._function(captures)
            elif "comm" in captures:
                node = captures["comm"][0]
                self.comm_ranges.append((node.start_byte, node.end_byte))
        self.comm_ranges.sort()
        for func in self.funcs:
            if func.is_literal:
                func.deferred = func.start in self.deferred_literals
                func.argument = self.argument_literals.get(func.start)
        for _, _, captures in items:
            if "call" in captures:
                self._call(captures)
            elif "send" in captures:
                self._channel_op("send", captures["send"][0], captures["chan"][0])
            elif "recv" in captures:
                self._channel_op("recv", captures["recv"][0], captures["chan"][0])
            elif "range" in captures:
                self._range_value(captures["range"][0], captures["chan"][0])
                self._channel_op("range", captures["range"][0], captures["chan"][0])
            elif "go" in captures:
                self._go(captures["go"][0])
            elif "define" in captures or "assign" in captures:
                self._assignment(captures)
            elif "var" in captures:
                self._local_var(captures["var"][0])
            elif "keyed" in captures:
                self._keyed(captures["keyed"][0])
            elif "eassign" in captures:
                self.fields.field_assignment(captures["eleft"][0], captures["eright"][0])
                self._cancel_assignment(captures["eleft"][0], captures["eright"][0])
                self._cond_assignment(captures["eleft"][0], captures["eright"][0])
                self._param_store(captures["eleft"][0], captures["eright"][0])
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

    # ---- declarations ----
    def _type(self, captures: dict[str, list[Node]]) -> None:
        self._struct(self.text(captures["tname"][0]), captures["ttype"][0])

    def _struct(self, name: str, body: Node) -> None:
        """The field types of a type declaration. A field of an anonymous struct type (`mu struct {
        sync.Mutex; replicas map[int]*Replica }`) gets a type of its own, named `Outer__field`."""
        fields: dict[str, str] = {}
        if body.type == "interface_type":
            methods = [self.text(name_node) for elem in body.named_children if elem.type == "method_elem"
                       if (name_node := elem.named_children[0] if elem.named_children else None) is not None]
            embeds = ["~" + self.text(elem) for elem in body.named_children if elem.type == "type_elem"]
            self.summary.interfaces[name] = methods + embeds
        elif body.type == "function_type":
            self.summary.func_types.add(name)
        if body.type == "struct_type":
            for decl in _descendants_of_type(body, "field_declaration"):
                type_node = decl.child_by_field_name("type")
                type_text = self.text(type_node) if type_node is not None else ""
                names = [c for i, c in enumerate(decl.children) if decl.field_name_for_child(i) == "name"]
                if names:
                    for name_node in names:
                        field_name = self.text(name_node)
                        fields[field_name] = type_text
                        if type_node is not None and type_node.type == "struct_type":
                            fields[field_name] = f"{name}__{field_name}"
                            self._struct(fields[field_name], type_node)
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
        env = FuncEnv()
        recv_type = None
        if literal:
            outer = self._innermost(node.start_byte)
            key = literal_key(self.path, node.start_byte)
            if outer is not None:
                env = self.envs[outer].nested()
                recv_type = self.funcs[outer].recv_type
        else:
            name = self.text(captures["name"][0])
            receiver = node.child_by_field_name("receiver")
            if receiver is not None:
                for decl in receiver.named_children:
                    type_node = decl.child_by_field_name("type")
                    recv_type = named_type(self.text(type_node)) if type_node is not None else ""
                    name_node = decl.child_by_field_name("name")
                    if name_node is not None:
                        env.receiver = self.text(name_node)
            key = (recv_type or "", name)
        params = node.child_by_field_name("parameters")
        unused: list[int] = []  # channel parameters the body never mentions
        recv_only_params: list[int] = []
        if params is not None:
            index = 0
            for decl in params.named_children:
                type_node = decl.child_by_field_name("type")
                type_text = named_type(self.text(type_node)) if type_node is not None else ""
                names: list[Node | None] = [
                    c for i, c in enumerate(decl.children) if decl.field_name_for_child(i) == "name"]
                is_chan = type_node is not None and self.text(type_node).lstrip("<-").strip().startswith("chan")
                recv_only = type_node is not None and self.text(type_node).startswith("<-")
                for name_node in names or [None]:
                    if is_chan and (name_node is None or self.text(name_node) == "_"):
                        unused.append(index)
                    if recv_only:
                        recv_only_params.append(index)
                    if name_node is not None:
                        pname = self.text(name_node)
                        env.params[pname] = index
                        env.types[pname] = type_text
                        env.locals.discard(pname)
                        if type_node is not None:
                            elem = named_type(self.text(type_node)) if decl.type == \
                                "variadic_parameter_declaration" else element_type(self.text(type_node))
                            if elem:
                                env.elems[pname] = elem
                        if type_node is not None and self.text(type_node).lstrip("<-").strip().startswith("chan"):
                            env.chans.add(pname)
                    index += 1
        body = node.child_by_field_name("body")
        chan_params = {name: index for name, index in env.params.items() if name in env.chans and name != "_"}
        if chan_params and body is not None:
            mentioned = _identifiers(body, set(chan_params))
            unused.extend(index for name, index in chan_params.items() if name not in mentioned)
        results: tuple[str, ...] = ()
        result = node.child_by_field_name("result")
        if result is not None:
            if result.type == "parameter_list":
                results = tuple(named_type(self.text(d.child_by_field_name("type") or d))
                                for d in result.named_children)
            else:
                results = (named_type(self.text(result)),)
        fresh = not literal and bool(results) and bool(results[0]) and body is not None and \
            b"go " in self.source[body.start_byte : body.end_byte] and fresh_result(body, self.source)
        made = not literal and bool(results) and returns_made(body, self.source, results[0])
        summary = FunctionSummary(key, self.path, node.start_byte, node.end_byte, self.site(node), recv_type,
                                  literal, results, unused_params=tuple(sorted(unused)),
                                  recv_only_params=tuple(recv_only_params), fresh_result=fresh, returns_new=made)
        self.result_texts.append(self.text(result) if result is not None else "")
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

    # ---- operations ----
    def _call(self, captures: dict[str, list[Node]]) -> None:
        call = captures["call"][0]
        name = self.text(captures["fname"][0])
        if call.parent is not None and call.parent.type == "go_statement" and \
                not (name == "close" and "operand" not in captures):
            return  # the go statement's own op; `go close(c)` still closes c (later, on its own goroutine)
        if "operand" not in captures:
            extract_funcs.param_call(self, call, name)
            if extract_funcs.own_param_call(self, call, name, captures):
                return
        if "operand" in captures and not any(a.type != "comment" for a in captures["args"][0].named_children):
            self._field_call(call)  # `x.cancel()`: maybe a stored context.CancelFunc
        if self.names is not None and name not in self.names and name not in OP_NAMES:
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
                if target is None:  # a per-key lock: `t.locks[k].Lock()`
                    target = self.ref(operand, env, func.recv_type, elements=True)
                self._lock_op(func, env, call, name, target, deferred)
                return
            if not args and name == "Wait":
                func.ops.append(Op("wait", self.site(call), target, deferred=deferred, looped=self.looped(call)))
                return
            if not args and name in WAKERS:
                func.ops.append(Op("wake", self.site(call), target, deferred=deferred))
                return
            func.ops.append(Op("call", self.site(call), deferred=deferred, callee=("?", name), recv=target,
                               args=tuple(self.ref(a, env, func.recv_type) for a in args),
                               bools=self._bools(args), guard=self._guard(call, env), looped=self.looped(call),
                               loop=self.outer_loop(call), recv_call=self._recv_call(operand, env),
                               funcs=extract_funcs.funcs(self, args, env, func.recv_type)))
            return
        if name == "close" and len(args) == 1:
            owner = extract_funcs.once_owner(self, func)  # `once.Do(func() { close(c.quit) })` closes in the caller
            owner.ops.append(Op("close", self.site(call), self.ref(args[0], env, func.recv_type),
                                deferred=deferred, field=self.fields.field_mention(args[0]),
                                loop=self.outer_loop(call) if owner is func else None))
            return
        if name in env.params or name in env.locals or name in env.types:
            return  # a function value
        func.ops.append(Op("call", self.site(call), deferred=deferred, callee=("", name),
                           args=tuple(self.ref(a, env, func.recv_type) for a in args), bools=self._bools(args),
                           guard=self._guard(call, env), looped=self.looped(call),
                           loop=self.outer_loop(call), funcs=extract_funcs.funcs(self, args, env, func.recv_type)))

    def _recv_call(self, operand: Node, env: FuncEnv) -> str:
        """`newConn(c).read()`: the same-package function whose result the method is called on, else ""."""
        function = operand.child_by_field_name("function") if operand.type == "call_expression" else None
        name = self.text(function) if function is not None and function.type == "identifier" else ""
        local = name in env.params or name in env.locals or name in env.types
        return "" if local or (self.names is not None and name not in self.names) else name

    def _field_call(self, call: Node) -> None:
        """A call without arguments of a field of a known type (`t.cancel()`), kept as a `cancel` op: the
        model makes it the close of a context's Done channel when the field holds that context's cancel."""
        context = self._context(call)
        function = call.child_by_field_name("function")
        if context is None or function is None:
            return
        func, env = context
        target = self.ref(function, env, func.recv_type)
        if target is not None and target.canon and target.rest and target.root != "?":
            owner = extract_funcs.once_owner(self, func)
            owner.ops.append(Op("cancel", self.site(call), target, deferred=call.parent is not None and
                                call.parent.type == "defer_statement"))

    def _bools(self, args: list[Node]) -> tuple[bool | None, ...]:
        return tuple(a.type == "true" if a.type in ("true", "false") else None for a in args)

    def _lock_op(self, func: FunctionSummary, env: FuncEnv, call: Node, name: str, target: Ref | None,
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
        if func.is_literal and unlock and extract_funcs.deferred_literal(self, func) and not any(
                op.kind == "lock" and op.ref is not None and target is not None and op.ref.text == target.text
                for op in func.ops):
            # `defer func() { mu.Unlock() }()`: the enclosing function's deferred unlock
            outer = self._innermost(func.start, func.end)
            if outer is not None:
                owner, deferred = self.funcs[outer], True
        guard = None if unlock or statement is None else self._guard(statement, env)
        owner.ops.append(Op("unlock" if unlock else "lock", self.site(call), target, mode=mode,
                            deferred=deferred, block=block, exits=exits, guard=guard,
                            loop=self.outer_loop(call) if owner is func else None))

    def _guard(self, node: Node, env: FuncEnv) -> tuple[int, bool] | None:
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

    def _channel_op(self, kind: str, node: Node, channel: Node) -> None:
        context = self._context(node)
        if context is None:
            return
        func, env = context
        target = self.ref(channel, env, func.recv_type, calls=True)
        if kind == "range" and (target is None or (not target.rest and target.text not in env.chans and
                                                   not self.fields.tracked(target.text, node.start_byte))):
            return  # a local or parameter not known as a channel; fields are checked against field types later
        index = bisect.bisect_right(self.comm_ranges, (node.start_byte, 1 << 62)) - 1
        in_select = index >= 0 and self.comm_ranges[index][0] <= node.start_byte < self.comm_ranges[index][1]
        func.ops.append(Op(kind, self.site(node), target, bare=not in_select, looped=self.looped(node),
                           loop=self.outer_loop(node), field=self.fields.field_mention(channel),
                           exit=self.fields.select_exit(node) if in_select else None))

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
            self.go_literals[function.start_byte] = node
            func.ops.append(Op("go", self.site(node), literal=literal_key(self.path, function.start_byte),
                               args=args, looped=self.looped(node)))
        elif function.type == "identifier":
            if self.text(function) in env.params:
                extract_funcs.spawned(self, func, env.params[self.text(function)], node)  # `go f()` of a parameter f
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
            if defining and len(right) == len(left) and value is not None and name != "_":
                self.fields.named(name, value)
            if defining or name not in env.params:
                env.locals.add(name)
                type_name = self._type_of(value, result_index, env, func.recv_type) if value is not None else ""
                if type_name:
                    env.types[name] = type_name
                elif defining:
                    env.types.pop(name, None)
                elem = self._elem_type(value, env) if value is not None else ""
                if elem:
                    env.elems[name] = elem
                elif defining:
                    env.elems.pop(name, None)
                if value is not None and is_chan_make(self, value):
                    env.chans.add(name)
        if defining:  # after the types above: a paired local context takes its cancel field's identity
            self.cancels.assignment(captures["left"][0], captures["right"][0])

    def _param_store(self, left_list: Node, right_list: Node) -> None:
        """`seen = done` in a function literal: an enclosing function's local takes the literal's parameter
        (FunctionSummary.param_stores, read by gopackage/aliases.py)."""
        left = [c for c in left_list.named_children if c.type != "comment"]
        right = [c for c in right_list.named_children if c.type != "comment"]
        context = self._context(left_list)
        if len(left) != 1 or len(right) != 1 or context is None or not context[0].is_literal:
            return
        func, env = context
        target, value = left[0], right[0]
        if target.type != "identifier" or value.type != "identifier" or self.text(value) not in env.params:
            return
        name = self.text(target)
        # a captured local: not the literal's own parameter or local (the literal's own names are the set's
        # own members; the enclosing function's are seen through it)
        if name in env.params or set.__contains__(env.locals, name) or name not in env.locals:
            return
        entry = (env.params[self.text(value)], name)
        if entry not in func.param_stores:
            func.param_stores = (*func.param_stores, entry)

    def _cancel_assignment(self, left_list: Node, right_list: Node) -> None:
        left = [c for c in left_list.named_children if c.type != "comment"]
        right = [c for c in right_list.named_children if c.type != "comment"]
        if len(left) == 2 and len(right) == 1:
            self.cancels.assignment(left_list, right_list)
        elif len(left) == len(right):
            for target, value in zip(left, right, strict=True):
                self.cancels.stored(target, value)

    def _cond_assignment(self, left_list: Node, right_list: Node) -> None:
        """`x.cond = sync.NewCond(&x.mu)` / `sync.NewCond(x.mu.RLocker())`: the Cond's lock is x.mu (written or
        read); recorded when the Cond and the mutex hang off the same expression (summary.cond_locks)."""
        left = [c for c in left_list.named_children if c.type != "comment"]
        right = [c for c in right_list.named_children if c.type != "comment"]
        if len(left) != 1 or len(right) != 1 or left[0].type != "selector_expression" or \
                right[0].type != "call_expression" or not self.text(right[0]).startswith("sync.NewCond("):
            return
        arguments = right[0].child_by_field_name("arguments")
        args = [a for a in arguments.named_children if a.type != "comment"] if arguments is not None else []
        context = self._context(left[0])
        if len(args) != 1 or context is None or "sync" not in self.imports:
            return
        func, env = context
        arg, mode = args[0], "write"
        if arg.type == "unary_expression" and self.text(arg).startswith("&"):
            arg = arg.child_by_field_name("operand") or arg
        elif arg.type == "call_expression" and self.text(arg).replace(" ", "").endswith(".RLocker()"):
            function = arg.child_by_field_name("function")
            arg = (function.child_by_field_name("operand") if function is not None else None) or arg
            mode = "read"
        else:
            return  # a Locker from elsewhere (a parameter, a value of another package): unknown
        cond, mutex = self.ref(left[0], env, func.recv_type), self.ref(arg, env, func.recv_type)
        if cond is None or mutex is None or not cond.canon or not cond.rest:
            return
        owner = cond.text.rpartition(".")[0]
        if not mutex.text.startswith(owner + ".") or mutex.root != cond.root:
            return  # the mutex of another value: not followed
        self.summary.cond_locks.append((cond.canon, mutex.text[len(owner) + 1 :], mode))

    def _local_var(self, spec: Node) -> None:
        context = self._context(spec)
        if context is None:
            return
        func, env = context
        type_node = spec.child_by_field_name("type")
        value = spec.child_by_field_name("value")
        names = [c for i, c in enumerate(spec.children) if spec.field_name_for_child(i) == "name"]
        values = [v for v in value.named_children if v.type != "comment"] if value is not None else []
        if len(values) == len(names):
            for child, item in zip(names, values, strict=True):
                self.fields.named(self.text(child), item)
        for index, child in enumerate(spec.children):
            if spec.field_name_for_child(index) != "name":
                continue
            name = self.text(child)
            env.locals.add(name)
            if type_node is not None:
                env.types[name] = named_type(self.text(type_node))
                if self.text(type_node).lstrip("<-").startswith("chan"):
                    env.chans.add(name)
                elem = element_type(self.text(type_node))
            elif value is not None and value.named_children:
                env.types[name] = self._type_of(value.named_children[0], 0, env, func.recv_type)
                elem = self._elem_type(value.named_children[0], env)
            else:
                elem = ""
            if elem:
                env.elems[name] = elem
            else:
                env.elems.pop(name, None)

    def _type_of(self, value: Node, result_index: int, env: FuncEnv | None = None,
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
            return named_type(self.text(type_node)) if type_node is not None else ""
        if node.type == "type_assertion_expression":
            type_node = node.child_by_field_name("type")
            return named_type(self.text(type_node)) if type_node is not None and result_index == 0 else ""
        if node.type == "index_expression" and env is not None and result_index == 0:
            operand = node.child_by_field_name("operand")
            if operand is not None and operand.type == "identifier" and self.text(operand) in env.elems:
                return env.elems[self.text(operand)]  # `ss[i]` of a local or parameter `ss []*T`
            ref = self.ref(operand, env, recv_type) if operand is not None else None
            return f"@elem({encode_canon(ref.canon)})" if ref is not None and ref.canon else ""
        if node.type == "call_expression" and env is not None:
            function = node.child_by_field_name("function")
            operand = function.child_by_field_name("operand") if function is not None and \
                function.type == "selector_expression" else None
            method = function.child_by_field_name("field") if function is not None and \
                function.type == "selector_expression" else None
            if operand is not None and method is not None and not (
                    operand.type == "identifier" and self.text(operand) in self.imports and
                    self.text(operand) not in env.params and self.text(operand) not in env.types):
                ref = self.ref(operand, env, recv_type)
                if ref is not None and ref.canon:
                    return f"@res({encode_canon(ref.canon)}/{self.text(method)}#{result_index})"
                return ""
        if node.type == "call_expression":
            function = node.child_by_field_name("function")
            if function is not None and function.type == "identifier":
                name = self.text(function)
                if name == "new":
                    arguments = node.child_by_field_name("arguments")
                    if arguments is not None and arguments.named_children:
                        return named_type(self.text(arguments.named_children[0]))
                    return ""
                if name in BUILTINS:
                    return ""  # `make(chan T)`, `append(...)`: no package type (was "@make#0": every local
                    # made by make looked like one value across the package)
                return f"@{name}#{result_index}"  # a constructor: resolved when the model is built
        return ""

    def _elem_type(self, value: Node, env: FuncEnv) -> str:
        """The same-package element type of a slice, array or map value (`[]*T{...}`, `make(map[K]*T)`,
        `append(ss, ...)`, another such variable), "" when unknown."""
        if value.type == "composite_literal":
            type_node = value.child_by_field_name("type")
            return element_type(self.text(type_node)) if type_node is not None else ""
        if value.type == "identifier":
            return env.elems.get(self.text(value), "")
        if value.type == "call_expression":
            function = value.child_by_field_name("function")
            arguments = value.child_by_field_name("arguments")
            args = [a for a in arguments.named_children if a.type != "comment"] if arguments is not None else []
            name = self.text(function) if function is not None and function.type == "identifier" else ""
            if not args:
                return ""
            if name == "make":
                return element_type(self.text(args[0]))
            if name == "append":
                return self._elem_type(args[0], env)
        return ""

    def _range_value(self, clause: Node, over: Node) -> None:
        """`for _, v := range x.f`: v has the element type of the map or slice field `x.f`."""
        left = clause.child_by_field_name("left")
        names = [c for c in left.named_children if c.type != "comment"] if left is not None else []
        context = self._context(clause)
        if len(names) != 2 or names[1].type != "identifier" or context is None:
            return
        func, env = context
        name = self.text(names[1])
        env.locals.add(name)
        env.elems.pop(name, None)
        if over.type == "identifier" and self.text(over) in env.elems:
            env.types[name] = env.elems[self.text(over)]  # `range ss` of a local or parameter `ss []*T`
            return
        ref = self.ref(over, env, func.recv_type)
        if ref is not None and ref.canon:
            env.types[name] = f"@elem({encode_canon(ref.canon)})"
        else:
            env.types.pop(name, None)

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
        type_name = named_type(self.text(type_node)) if type_node is not None else ""
        if type_name:
            self.summary.buffered.add(f"{type_name}.{norm(self.text(key))}")


def _is_buffered_make(extractor: _Extractor, node: Node) -> bool:
    if not is_chan_make(extractor, node):
        return False
    arguments = node.child_by_field_name("arguments")
    assert arguments is not None
    sizes = arguments.named_children[1:]
    return bool(sizes) and extractor.text(sizes[0]).strip() != "0"


def _identifiers(node: Node, wanted: set[str]) -> set[str]:
    """The names of ``wanted`` that occur as identifiers under ``node``."""
    found: set[str] = set()
    stack = [node]
    while stack and found != wanted:
        current = stack.pop()
        if current.type == "identifier":
            text = current.text.decode("utf-8", "replace") if current.text is not None else ""
            if text in wanted:
                found.add(text)
        else:
            stack.extend(current.named_children)
    return found


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

