"""One file's context cancel pairs for the package model: which struct field holds the `context.CancelFunc`
of which context, so that a call of that field (`x.cancel()`) counts as the close of the context's `Done()`.

A pair is made by `ctx, cancel := context.WithCancel(parent)` (also WithTimeout, WithDeadline and their
Cause forms) and lands in fields by `x.ctx, x.cancel = context.WithCancel(...)`, by storing the locals
(`x.cancel = cancel`, `&T{ctx: ctx, cancel: cancel}`) or mixed (`ctx, x.cancel = context.WithCancel(...)`).
The context's Done channel is named `T.ctx.Done()` when the context is stored in field `T.ctx`, and always
`T.cancel.Done()` after the field holding its cancel: a local context paired with a cancel field takes the
cancel field's identity as its own (its `ctx.Done()` operations, and what a call or a `go` statement passes
for it, carry that identity). Run by extract.py's _Extractor on its query captures, in source order."""

from __future__ import annotations

from dataclasses import dataclass, field

from tree_sitter import Node

from gleak_sarif.gopackage.extract_fields import ExtractorView, FuncEnv
from gleak_sarif.gopackage.summary import named_type

# the constructors that return (ctx, cancel)
WITH_CANCEL = {"WithCancel", "WithTimeout", "WithDeadline", "WithCancelCause", "WithTimeoutCause",
               "WithDeadlineCause"}
BACKGROUND = {"context.Background()", "context.TODO()"}


@dataclass
class Pending:
    """One `context.WithCancel` result while the function is read: where its two halves went."""

    parent: str  # "bg": context.Background()/TODO(); "p<N>": the function's parameter N; "?": anything else
    function: tuple[str, str]  # the FunctionSummary key of the function that makes the pair
    ctx_local: str | None = None
    cancel_local: str | None = None
    ctx_fields: set[str] = field(default_factory=set)
    cancel_fields: set[str] = field(default_factory=set)


class CancelPairs:
    """The cancel-pair records of one file (FileSummary.cancel_pairs), filled as the extractor meets the
    assignments and literals."""

    def __init__(self, extractor: ExtractorView, imports: set[str]) -> None:
        self.x = extractor
        self.enabled = "context" in imports

    def _parent(self, call: Node, env: FuncEnv) -> str | None:
        """The parent kind of a `context.WithX(parent, ...)` call; None when ``call`` is no such call."""
        if call.type != "call_expression":
            return None
        function = call.child_by_field_name("function")
        arguments = call.child_by_field_name("arguments")
        if function is None or function.type != "selector_expression" or arguments is None:
            return None
        operand = function.child_by_field_name("operand")
        name = function.child_by_field_name("field")
        if operand is None or name is None or self.x.text(operand) != "context" or \
                self.x.text(name) not in WITH_CANCEL:
            return None
        args = [a for a in arguments.named_children if a.type != "comment"]
        if not args:
            return None
        text = "".join(self.x.text(args[0]).split())
        if text in BACKGROUND:
            return "bg"
        if args[0].type == "identifier" and text in env.params:
            return f"p{env.params[text]}"
        return "?"

    def assignment(self, left_list: Node, right_list: Node) -> None:
        """`ctx, cancel := context.WithCancel(p)` / `x.ctx, x.cancel = ...` / `ctx, x.cancel = ...`."""
        if not self.enabled:
            return
        left = [c for c in left_list.named_children if c.type != "comment"]
        right = [c for c in right_list.named_children if c.type != "comment"]
        if len(left) != 2 or len(right) != 1:
            return
        context = self.x._context(right[0])
        if context is None:
            return
        func, env = context
        parent = self._parent(right[0], env)
        if parent is None:
            return
        pending = Pending(parent, func.key)
        for position, target in enumerate(left):
            if target.type == "identifier":
                name = self.x.text(target)
                if name == "_":
                    continue
                if position == 0:
                    pending.ctx_local = name
                else:
                    pending.cancel_local = name
                env.cancels[name] = pending
            elif target.type == "selector_expression":
                ref = self.x.ref(target, env, func.recv_type)
                if ref is not None and ref.canon and ref.rest:
                    (pending.ctx_fields if position == 0 else pending.cancel_fields).add(ref.canon)
        self._emit(pending, env)

    def stored(self, target: Node, value: Node) -> None:
        """`x.f = v`: a local half of a pending pair lands in a field."""
        if not self.enabled or target.type != "selector_expression" or value.type != "identifier":
            return
        context = self.x._context(target)
        if context is None:
            return
        func, env = context
        ref = self.x.ref(target, env, func.recv_type)
        if ref is not None and ref.canon and ref.rest:
            self._land(env, self.x.text(value), ref.canon)

    def keyed(self, key: Node, value: Node) -> None:
        """`T{f: v}`: a local half of a pending pair lands in field T.f."""
        if not self.enabled or value.type != "identifier":
            return
        literal = key.parent.parent.parent if key.parent is not None and key.parent.parent is not None else None
        if literal is None or literal.type != "literal_value" or literal.parent is None or \
                literal.parent.type != "composite_literal":
            return
        type_node = literal.parent.child_by_field_name("type")
        type_name = named_type(self.x.text(type_node)) if type_node is not None else ""
        context = self.x._context(key)
        if not type_name or context is None:
            return
        self._land(context[1], self.x.text(value), f"{type_name}.{self.x.text(key)}")

    def _land(self, env: FuncEnv, name: str, canon: str) -> None:
        pending = env.cancels.get(name)
        if pending is None:
            return
        if name == pending.cancel_local:
            pending.cancel_fields.add(canon)
        elif name == pending.ctx_local:
            pending.ctx_fields.add(canon)
        self._emit(pending, env)

    def _emit(self, pending: Pending, env: FuncEnv) -> None:
        """Record the pair's identities once its cancel is in a field; a local context takes the cancel
        field's identity from here on."""
        if not pending.cancel_fields:
            return
        pairs = self.x.summary.cancel_pairs
        for cancel in sorted(pending.cancel_fields):
            for done in [f"{cancel}.Done()", *(f"{ctx}.Done()" for ctx in sorted(pending.ctx_fields))]:
                entry = (cancel, done, pending.parent, pending.function)
                if entry not in pairs:
                    pairs.append(entry)
        if pending.ctx_local is not None:
            env.types[pending.ctx_local] = min(pending.cancel_fields)
