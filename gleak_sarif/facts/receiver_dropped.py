"""`receiver-dropped`: the lock is a field of a method's receiver that every caller drops after the call."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from tree_sitter import Node

from gleak_sarif.facts.base import Asker, Env, Fact, binds, reads
from gleak_sarif.gopackage.extract_fresh import kept_in_place
from gleak_sarif.gopackage.summary import norm


@dataclass(frozen=True, slots=True)
class ReceiverDropped:
    lock: str = field(metadata=reads("the lock the method takes, e.g. $MU (bound before)"))
    via: str | None = field(default=None, metadata=binds("a call of the method on a value made for it"))


def _run(asker: Asker, spec: ReceiverDropped, env: Env) -> Iterator[Env]:
    """The function around the node is an unexported method locking a field of its receiver (`c.mu`), its
    body uses the receiver only through its fields and methods (never hands it on, nor `&c.mu`), and every
    call of the method in the package (at least one) is made on the result of a same-package function that
    returns a value it makes right there (`newConn(c).read()`): the value is the caller's alone and nothing is
    left to reach it once the call returns, so a lock left held on it blocks no one."""
    bound = env.get(spec.lock)
    if bound is None:
        return
    model = asker.model
    if asker.function is None:
        return
    func = model.functions[asker.function]
    if func.is_literal or func.recv_type is None or not func.key[1][:1].islower():
        return  # a function, or an exported method other packages may call on a value they keep
    text = norm(asker.ev.text(bound))
    if not any(op.kind == "lock" and op.ref is not None and op.ref.text == text and op.ref.root == "self" and
               op.ref.rest for op in func.ops):
        return  # not a field of the receiver
    method = asker.own_node(func.site, "method_declaration")
    receiver = _receiver_name(asker, method) if method is not None else None
    body = method.child_by_field_name("body") if method is not None else None
    if receiver is None or body is None or not kept_in_place(body, receiver, asker.ev.source):
        return
    name = func.key[1]
    first = None
    for caller in model.functions_in_files_with(f"{name}(".encode()):
        for position, op in enumerate(model.functions[caller].ops):
            if op.kind not in ("call", "go") or op.callee is None or op.callee[1] != name:
                continue
            if asker.function in model.targets_of(caller, position):
                return  # called on a value the caller names: it may lock it again
            if op.recv is not None or not op.recv_call:
                continue  # another type's method of the same name
            made = model.ensure_function(("", op.recv_call))
            if made and all(model.functions[m].results[:1] != (func.recv_type,) for m in made):
                continue  # a value of another type: another type's method of the same name
            if not made or not all(model.functions[m].returns_new for m in made):
                return  # a value the function may also hand to others
            first = first or op.site
    if first is None:
        return
    merged = asker.bind(env, spec.via, asker.evidence(first.text, first))
    if merged is not None:
        yield merged


def _receiver_name(asker: Asker, method: Node) -> str | None:
    receiver = method.child_by_field_name("receiver")
    if receiver is None:
        return None
    for declaration in receiver.named_children:
        name = declaration.child_by_field_name("name")
        if declaration.type == "parameter_declaration" and name is not None:
            return asker.ev.text(name)
    return None


FACT = Fact(
    key="receiver-dropped",
    spec=ReceiverDropped,
    usage="`receiver-dropped: $MU` or `{lock: $MU, via: NAME}`",
    holds="the function around the node is an unexported method, `$MU` is a field of its receiver, the method "
          "uses its receiver only through fields and methods (never hands it on, nor `&recv.mu`), and every "
          "call of it in the package (one at least) is on the result of a same-package function that returns a "
          "value it makes right there (`newConn(c).read()`, `func newConn(...) *conn { return &conn{...} }`): "
          "nothing else reaches that value, so nothing locks `$MU` again once the call returns",
    binds_doc="`via` one such call",
    run=_run,
    shorthand="lock",
    tokens=lambda spec: frozenset({b"Lock()"}),
)
