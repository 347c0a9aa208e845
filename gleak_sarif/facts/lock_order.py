"""`lock-order-inverted`: the node takes a lock while another is held; elsewhere the order is reversed."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from gleak_sarif.facts.base import Asker, Env, Fact, binds, reads
from gleak_sarif.gopackage.summary import norm


@dataclass(frozen=True, slots=True)
class LockOrderInverted:
    held: str = field(metadata=reads("the lock held"))
    other: str | None = field(default=None, metadata=binds("the site that takes them in the other order"))


def _run(asker: Asker, spec: LockOrderInverted, env: Env) -> Iterator[Env]:
    held_node = env.get(spec.held)
    if held_node is None or asker.local_function is None:
        return
    held_text = norm(asker.ev.text(held_node))
    held_ops = [op for op in asker.package_held() if op.ref is not None and norm(op.ref.text) == held_text]
    if not held_ops or held_ops[0].ref is None or not held_ops[0].ref.canon:
        return
    outer = held_ops[0].ref.canon
    outer_mode = held_ops[0].mode
    held_here = frozenset(op.ref.canon for op in asker.package_held() if op.ref is not None and op.ref.canon)
    inner: list[tuple[str, str]] = []
    model = asker.model
    op = asker.op
    if op is not None and op.kind == "lock" and op.ref is not None and op.ref.canon:
        inner.append((op.ref.canon, op.mode))
    elif op is not None and op.kind == "call":
        for _, effect, _text in asker.callee_effects(b"Lock()"):
            if effect.kind == "lock" and effect.canon and outer not in effect.released:
                inner.append((effect.canon, effect.mode))
    for canon, mode in inner:
        if canon == outer:
            continue
        for edge in model.order_edges(canon, outer):
            if "write" not in (outer_mode, mode, edge.outer_mode, edge.inner_mode):
                continue  # readers only: they do not exclude each other
            if (held_here & edge.held) - {canon, outer}:
                continue  # both paths hold a third lock first: it lets one of them in at a time
            owner, name = edge.function
            where = f"{owner}.{name}" if owner and not name.startswith("func@") else name
            if name.startswith("func@"):
                where = "a function literal"
            text = f"{where} takes {canon.removeprefix('pkg.')} then {outer.removeprefix('pkg.')}"
            merged = asker.bind(env, spec.other, asker.evidence(text, edge.trace[0]))
            if merged is not None:
                yield merged
                return


FACT = Fact(
    key="lock-order-inverted",
    spec=LockOrderInverted,
    usage="`lock-order-inverted: {held: $A, other: NAME}`",
    holds="the node takes a lock (a `Lock()` call, or a call of a package function that locks) while `$A` is "
          "held, and some function of the package takes the two in the other order; pairs where every side only "
          "reads are left out",
    binds_doc="`other` the site of the other order",
    run=_run,
    file_tokens=frozenset({b"Lock()"}),  # a held lock: this file calls Lock() or RLock()
    needs=lambda asker: asker.local_function is not None,
)
