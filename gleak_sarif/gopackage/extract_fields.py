"""One file's channel fields for the package model (gopackage/channels.py asks): where each field is made
(`x.f = make(chan T)`, `T{f: make(chan T, n)}`, through a local made first) with its buffer class, the locals
that stand for a field, accessors (`return s.f`), and where a field's channel leaves the model's sight (handed
to a call, returned, stored elsewhere, sent, put in a literal, or set from something else than `make`, `nil`
or a local made in place). Run by extract.py's _Extractor on its query captures, in source order."""

from __future__ import annotations

import re
from collections import ChainMap
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from tree_sitter import Node

from gleak_sarif.gopackage.summary import FileSummary, FunctionSummary, Ref, Site, named_type

# a timer's channel, in a select case
TIMER = re.compile(r"(\btime\.(After|Tick)\(|\.C$)")
# builtins whose arguments do not let a channel escape (`close` is an operation of its own)
HARMLESS_CALLS = {"close", "len", "cap", "make", "new", "delete", "print", "println"}


class Names(set[str]):
    """A function's variable names that also sees the enclosing function's (a literal's captured
    variables), as they are when a name is looked up."""

    def __init__(self, outer: set[str] | None = None) -> None:
        super().__init__()
        self.outer = outer

    def __contains__(self, name: object) -> bool:
        return set.__contains__(self, name) or (self.outer is not None and name in self.outer)


@dataclass
class FuncEnv:
    """What the extractor knows of one function's names while it reads the function (extract.py). A
    function literal's env sees its enclosing function's names live (nested()): the literal's env is made
    at its declaration, before the operations are read, and the operations are read in source order, so an
    operation in the literal sees the enclosing `g := &T{}` written before it."""

    receiver: str | None = None
    params: dict[str, int] = field(default_factory=dict)
    # variable -> same-package type name (or a placeholder, see extract_locals.type_of); a literal's chains to its
    # enclosing function's
    types: MutableMapping[str, str] = field(default_factory=dict)
    locals: set[str] = field(default_factory=Names)
    chans: set[str] = field(default_factory=Names)
    # locals made with a buffer (`c := make(chan T, 1)`): a field set from one (`x.f = c`) is a buffered
    # channel field, as if made there (FileSummary.buffered)
    buffered: set[str] = field(default_factory=Names)
    # locals holding a half of a `context.WithCancel` result (extract_cancel.Pending; shared with literals)
    cancels: dict[str, Any] = field(default_factory=dict)
    # variable of a slice, array or map type -> its same-package element type (`var ss []*Stopper` ->
    # `Stopper`): what `range ss` and `ss[i]` give; a literal's chains to its enclosing function's
    elems: MutableMapping[str, str] = field(default_factory=dict)
    # local -> (mutex expression, Unlock/RUnlock) for a local func that releases that mutex when called
    # (`unlock := func() { s.mu.Unlock() }`, `unlock := unlockOnce(&s.mu)`): `unlock()` is an unlock of it
    # (extract_locks.unlocker); a literal's chains to its enclosing function's
    unlockers: MutableMapping[str, tuple[Node, str]] = field(default_factory=dict)
    # local -> the field it points to (`wg := &x.wg`, `wg := &x.states[k].wg`): a `Wait()` or `Done()` on
    # the local is one on that field (extract_locals.assignment, extract_ops.call_op); a literal's chains to
    # its enclosing function's
    pointers: MutableMapping[str, Ref | None] = field(default_factory=dict)

    def nested(self) -> FuncEnv:
        """The environment of a function literal inside this function: writes stay in the literal's own
        names; the enclosing function's parameters are captured variables here, not parameters."""
        captured = Names(self.locals)
        captured |= set(self.params)
        return FuncEnv(self.receiver, {}, ChainMap({}, self.types), captured, Names(self.chans),
                       Names(self.buffered), cancels=self.cancels, elems=ChainMap({}, self.elems),
                       # flat (one ChainMap over every enclosing function's map): nesting ChainMaps
                       # recursed once per closure level on a lookup (deeply nested literals)
                       unlockers=ChainMap({}, *(self.unlockers.maps if isinstance(self.unlockers, ChainMap)
                                                else [self.unlockers])),
                       pointers=ChainMap({}, *(self.pointers.maps if isinstance(self.pointers, ChainMap)
                                               else [self.pointers])))


class Texts(Protocol):
    def text(self, node: Node) -> str: ...


class ExtractorView(Texts, Protocol):
    """What the extract_* helpers read of extract.py's _Extractor (which imports them): the file, the
    functions read so far with their names, the loops and select cases, and the references."""

    path: str
    source: bytes
    root: Node
    imports: set[str]
    names: frozenset[str] | None
    summary: FileSummary
    funcs: list[FunctionSummary]
    func_starts: list[int]
    envs: list[FuncEnv]
    result_texts: list[str]
    comm_ranges: list[tuple[int, int]]
    go_literals: dict[int, Node]
    fields: ChannelFields

    def site(self, node: Node) -> Site: ...

    def looped(self, node: Node) -> bool: ...

    def outer_loop(self, node: Node) -> tuple[int, int] | None: ...

    def loop_ends(self, node: Node) -> bool: ...

    def _innermost(self, start: int, end: int | None = None) -> int | None: ...

    def _context(self, node: Node) -> tuple[FunctionSummary, FuncEnv] | None: ...

    def ref(self, node: Node, env: FuncEnv, recv_type: str | None, calls: bool = False,
            elements: bool = False) -> Ref | None: ...


def is_chan_make(extractor: Texts, node: Node) -> bool:
    if node.type != "call_expression":
        return False
    function = node.child_by_field_name("function")
    arguments = node.child_by_field_name("arguments")
    return function is not None and extractor.text(function) == "make" and arguments is not None and \
        bool(arguments.named_children) and arguments.named_children[0].type == "channel_type"


def is_buffered_make(extractor: Texts, node: Node) -> bool:
    """`make(chan T, n)` with a size other than a literal 0."""
    if not is_chan_make(extractor, node):
        return False
    arguments = node.child_by_field_name("arguments")
    assert arguments is not None
    sizes = arguments.named_children[1:]
    return bool(sizes) and extractor.text(sizes[0]).strip() != "0"


class ChannelFields:
    """The channel-field records of one file, filled as the extractor meets the captures."""

    def __init__(self, extractor: ExtractorView) -> None:
        self.x = extractor
        # locals made by `make(chan ...)`: (scope start, scope end, name, site, buffer class)
        self.made_locals: list[tuple[int, int, str, Site, str]] = []

    def _mention(self, node: Node) -> str | None:
        """".f" for a field `x.f`, ".m()" for an accessor call `x.m()`, "name" for an identifier; after
        parentheses, `&` and `*`. None for anything else."""
        current = node
        while True:
            if current.type == "parenthesized_expression" and current.named_children:
                current = current.named_children[0]
            elif current.type == "unary_expression" and (operator := current.child_by_field_name("operator")) \
                    is not None and self.x.text(operator) in ("&", "*"):
                operand = current.child_by_field_name("operand")
                if operand is None:
                    return None
                current = operand
            else:
                break
        if current.type == "selector_expression":
            field_node = current.child_by_field_name("field")
            return "." + self.x.text(field_node) if field_node is not None else None
        if current.type == "call_expression":
            function = current.child_by_field_name("function")
            arguments = current.child_by_field_name("arguments")
            if function is not None and function.type == "selector_expression" and arguments is not None and \
                    not any(a.type != "comment" for a in arguments.named_children):
                field_node = function.child_by_field_name("field")
                return "." + self.x.text(field_node) + "()" if field_node is not None else None
            return None
        if current.type == "identifier":
            return self.x.text(current)
        return None

    def field_mention(self, node: Node) -> str:
        mention = self._mention(node)
        return mention if mention is not None and mention.startswith(".") else ""

    def _scope(self, node: Node) -> tuple[int, int] | None:
        index = self.x._innermost(node.start_byte, node.end_byte)
        if index is None:
            return None
        return self.x.funcs[index].start, self.x.funcs[index].end

    def made_local(self, name: str, at: int) -> tuple[int, int, Site, str] | None:
        """(scope start, scope end, site, buffer class) of the local ``name`` made at ``at``'s scope."""
        for start, end, local, site, size in reversed(self.made_locals):
            if local == name and start <= at < end:
                return start, end, site, size
        return None

    def tracked(self, name: str, at: int) -> bool:
        """Is ``name`` at ``at`` a local made by `make(chan ...)` or standing for a field?"""
        return self.made_local(name, at) is not None or any(
            local == name and start <= at < end for start, end, local, _, _, _ in self.x.summary.aliases)

    def _canon(self, node: Node) -> str | None:
        """The identity of a field or accessor call (`Server.events`, `Server.stopper.Quiet()`), if known."""
        context = self.x._context(node)
        if context is None:
            return None
        ref = self.x.ref(node, context[1], context[0].recv_type, calls=True)
        return ref.canon if ref is not None and ref.rest else None

    def escape(self, node: Node) -> None:
        mention = self._mention(node)
        if mention is None:
            return
        if mention.startswith("."):
            self.x.summary.escapes.setdefault(mention, []).append((self.x.site(node), self._canon(node)))
        elif self.tracked(mention, node.start_byte):
            self.x.summary.name_escapes.append((self.x.site(node), mention))

    def argument(self, node: Node) -> None:
        arguments = node.parent
        call = arguments.parent if arguments is not None else None
        function = call.child_by_field_name("function") if call is not None else None
        if function is not None and function.type == "identifier" and self.x.text(function) in HARMLESS_CALLS:
            return
        self.escape(node)

    def returned(self, values: Node) -> None:
        """`return s.f` as a method's only result value makes the method an accessor of f; any other
        returned channel escapes."""
        items = [v for v in values.named_children if v.type != "comment"]
        index = self.x._innermost(values.start_byte, values.end_byte)
        if index is not None and len(items) == 1 and items[0].type == "selector_expression":
            func, env = self.x.funcs[index], self.x.envs[index]
            operand = items[0].child_by_field_name("operand")
            field_node = items[0].child_by_field_name("field")
            if not func.is_literal and func.recv_type and env.receiver is not None and operand is not None and \
                    operand.type == "identifier" and self.x.text(operand) == env.receiver and field_node is not None:
                entry = (func.recv_type, "." + self.x.text(field_node), self.x.result_texts[index])
                accessors = self.x.summary.accessors.setdefault(func.key[1], [])
                if entry not in accessors:
                    accessors.append(entry)
                return
        for item in items:
            self.escape(item)

    def _make_class(self, node: Node) -> str | None:
        """The buffer class of `make(chan T[, n])`: "" none (or 0), "const" a literal or package-level
        size, "var" a size from a parameter or local; None when ``node`` is not a channel make."""
        current = node
        while current.type == "parenthesized_expression" and current.named_children:
            current = current.named_children[0]
        if not is_chan_make(self.x, current):
            return None
        arguments = current.child_by_field_name("arguments")
        assert arguments is not None
        sizes = [a for a in arguments.named_children[1:] if a.type != "comment"]
        if not sizes or self.x.text(sizes[0]).strip() == "0":
            return ""
        size = sizes[0]
        if size.type == "int_literal":
            return "const"
        if size.type == "identifier":
            context = self.x._context(node)
            name = self.x.text(size)
            if context is None or (name not in context[1].params and name not in context[1].locals):
                return "const"
        return "var"

    def _fed(self, key: str, canon: str | None, value: Node) -> None:
        """The field ``key`` (".f", identity ``canon`` when known) is set to ``value``: made here, made
        through a local, or from elsewhere."""
        size = self._make_class(value)
        if size is not None:
            self.x.summary.chan_makes.setdefault(key, []).append((self.x.site(value), size, canon))
            return
        if value.type == "nil":
            return
        mention = self._mention(value)
        if mention is not None and not mention.startswith("."):
            made = self.made_local(mention, value.start_byte)
            if made is not None:  # the local stands for the field wherever it is seen (closures too)
                start, end, site, size = made
                self.x.summary.chan_makes.setdefault(key, []).append((site, size, canon))
                self.x.summary.aliases.append((start, end, mention, key, canon, self.x.site(value)))
                return
        # from a parameter, a call, another field...
        self.x.summary.escapes.setdefault(key, []).append((self.x.site(value), canon))
        if mention is not None:
            self.escape(value)

    def named(self, name: str, value: Node) -> None:
        """A local ``name`` defined or assigned from ``value``: an alias of a field, a made channel."""
        scope = self._scope(value)
        if scope is None:
            return
        size = self._make_class(value)
        if size is not None:
            self.made_locals.append((scope[0], scope[1], name, self.x.site(value), size))
            return
        mention = self._mention(value)
        if mention is None:
            return
        if mention.startswith("."):
            self.x.summary.aliases.append((scope[0], scope[1], name, mention, self._canon(value), self.x.site(value)))
        elif self.tracked(mention, value.start_byte):
            self.x.summary.name_escapes.append((self.x.site(value), mention))  # a copy: not followed

    def field_assignment(self, left_list: Node, right_list: Node) -> None:
        left = [c for c in left_list.named_children if c.type != "comment"]
        right = [c for c in right_list.named_children if c.type != "comment"]
        if len(left) != len(right):
            return  # `a, b = f()`: nothing the model follows
        for target, value in zip(left, right, strict=True):
            if target.type == "selector_expression":
                field_node = target.child_by_field_name("field")
                if field_node is not None:
                    self._fed("." + self.x.text(field_node), self._canon(target), value)
            elif target.type == "identifier":
                if self.x.text(target) != "_":
                    self.named(self.x.text(target), value)
            else:
                self.escape(value)  # stored in a map, a slice, through a pointer

    def keyed_field(self, key: Node, value: Node) -> None:
        literal = key.parent.parent.parent if key.parent is not None and key.parent.parent is not None else None
        if literal is not None and literal.type == "literal_value" and literal.parent is not None and \
                literal.parent.type == "composite_literal":
            type_node = literal.parent.child_by_field_name("type")
            type_name = named_type(self.x.text(type_node)) if type_node is not None else ""
            self._fed("." + self.x.text(key), f"{type_name}.{self.x.text(key)}" if type_name else None, value)
        else:
            self.escape(value)

    def select_exit(self, node: Node) -> Site | None:
        """For an operation that is a `select` case: the first other case whose body returns (or breaks out
        to a label: the loop around), when the select has no `default`; None otherwise."""
        case = node.parent
        while case is not None and case.type != "communication_case":
            if case.type in ("func_literal", "block", "select_statement"):
                return None
            case = case.parent
        select = case.parent if case is not None else None
        if case is None or select is None or select.type != "select_statement":
            return None
        if any(child.type == "default_case" for child in select.named_children):
            return None
        for other in select.named_children:
            if other.type != "communication_case" or other == case:
                continue
            communication = other.child_by_field_name("communication")
            # a stop signal: a receive that takes no value (`case <-s.quit:`, `case <-ctx.Done():`), not a
            # timer (a timeout that returns is another protocol) nor a message that happens to end the loop
            if communication is None or communication.type != "receive_statement" or \
                    communication.child_by_field_name("left") is not None:
                continue
            received = communication.child_by_field_name("right")
            operand = received.child_by_field_name("operand") if received is not None else None
            if received is None or operand is None or TIMER.search(self.x.text(operand)) is not None:
                continue
            if _leaves(other):
                return self.x.site(received)
        return None


def _leaves(case: Node) -> bool:
    """Does a select case's body `return` or `break`/`goto` to a label (out of the loop around the select)?"""
    stack = [child for child in case.named_children if child != case.child_by_field_name("communication")]
    while stack:
        current = stack.pop()
        if current.type == "return_statement":
            return True
        if current.type == "goto_statement" and current.named_children:
            return True
        if current.type == "break_statement" and current.named_children and _breaks_for_good(current):
            return True  # `break Loop`: a plain `break` only leaves the select
        if current.type != "func_literal":
            stack.extend(current.named_children)
    return False


_FUNCTION_BOUNDARY = ("function_declaration", "method_declaration", "func_literal")


def _breaks_for_good(statement: Node) -> bool:
    """Does `break L` leave every loop around the select? Not when another loop of the function encloses
    the statement labeled L: that loop comes back to the select (`for { ...; L: for { select { case <-t:
    break L } } }` ends one round, not the receiving)."""
    label = statement.named_children[0].text
    labeled = statement.parent
    while labeled is not None and labeled.type not in _FUNCTION_BOUNDARY:
        if labeled.type == "labeled_statement" and labeled.named_children and \
                labeled.named_children[0].text == label:
            break
        labeled = labeled.parent
    if labeled is None or labeled.type != "labeled_statement":
        return True  # no label found around it: keep the old reading (it leaves)
    outer = labeled.parent
    while outer is not None and outer.type not in _FUNCTION_BOUNDARY:
        if outer.type == "for_statement":
            return False
        outer = outer.parent
    return True
