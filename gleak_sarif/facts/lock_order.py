"""`lock-order-inverted`: the node takes a lock while another is held; elsewhere the order is reversed."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

from gleak_sarif.facts.base import Asker, Env, Fact, binds, reads
from gleak_sarif.gopackage.summary import lock_name, norm

MAX_WRITERS = 10  # related locations: enough to show the writers, not a wall of them


@dataclass(frozen=True, slots=True)
class LockOrderInverted:
    held: str = field(metadata=reads("the lock held"))
    other: str | None = field(default=None, metadata=binds("the site that takes them in the other order"))
    other_lock: str | None = field(default=None, metadata=binds("the lock call at the end of that path"))
    writers: str | None = field(default=None, metadata=binds(
        "when both paths only read one of the two locks: the package's `Lock()` calls of it"))
    # `types`: only pairs of locks of objects of two different types (`Store.mu` and `Replica.mu`), or
    # only pairs of locks of one type's objects (`Server.mu`, `Server.stats.mu`; package variables are one)
    types: Literal["any", "same", "different"] = "any"


def _run(asker: Asker, spec: LockOrderInverted, env: Env) -> Iterator[Env]:
    held_node = env.get(spec.held)
    if held_node is None or asker.local_function is None:
        return
    held_text = norm(asker.ev.text(held_node))
    held_ops = [op for op in asker.package_held() if op.ref is not None and norm(op.ref.text) == held_text]
    if not held_ops or held_ops[0].ref is None or not held_ops[0].ref.canon:
        return
    model = asker.model
    ident = model.identity  # one name per lock field, whatever path reaches it
    outer = ident(held_ops[0].ref.canon)
    if not outer:
        return
    outer_mode = held_ops[0].mode
    held_here = frozenset(i for op in asker.package_held() if op.ref is not None and (i := ident(op.ref.canon)))
    inner: list[tuple[str, str, str]] = []  # (identity, mode, the path as written)
    op = asker.op
    if op is not None and op.kind == "lock" and op.ref is not None and op.ref.canon and \
            (canon := ident(op.ref.canon)):
        inner.append((canon, op.mode, op.ref.canon))
    elif op is not None and op.kind == "call":
        for _, effect, _text in asker.callee_effects(b"Lock()"):
            canon = ident(effect.canon)
            if effect.kind in ("lock", "relock") and canon and effect.canon and \
                    outer not in {ident(c) for c in effect.released}:
                inner.append((canon, effect.mode, effect.canon))
    outer_object = model.object_type(held_ops[0].ref.canon)
    for canon, mode, path in inner:
        if canon == outer:
            continue
        if spec.types != "any" and (model.object_type(path) == outer_object) != (spec.types == "same"):
            continue  # (two locks of one object's type, or of two types)
        for edge in model.order_edges(canon, outer):
            if "write" not in (outer_mode, mode, edge.outer_mode, edge.inner_mode):
                continue  # readers only: they do not exclude each other
            if (held_here & edge.held) - {canon, outer}:
                continue  # both paths hold a third lock first: it lets one of them in at a time
            # a lock both paths only read: the second RLock waits only behind a writer queued on it
            # (sync.RWMutex lets no new reader in then), so the pair deadlocks only when the package
            # takes that lock with Lock() somewhere
            read_twice = [lock for lock, first, second in ((outer, outer_mode, edge.inner_mode),
                                                            (canon, mode, edge.outer_mode))
                          if first == "read" and second == "read"]
            writers = [site for lock in read_twice for site in model.lock_sites(lock, "write")]
            if read_twice and not writers:
                continue
            owner, name = edge.function
            where = f"{owner}.{name}" if owner and not name.startswith("func@") else name
            if name.startswith("func@"):
                where = "a function literal"
            text = f"{where} takes {lock_name(canon)} then {lock_name(outer)}"
            merged = asker.bind(env, spec.other, asker.evidence(text, edge.trace[0]))
            if merged is not None and len(edge.trace) > 1:  # (a direct lock: `other` is that call)
                lock_text = f"{lock_name(canon)}: {edge.trace[-1].text}"
                merged = asker.bind(merged, spec.other_lock, asker.evidence(lock_text, edge.trace[-1]))
            if merged is not None and writers:
                found = [asker.evidence(f"{asker.function_name(index)}: {op.site.text}", op.site)
                         for index, op in writers[:MAX_WRITERS]]
                merged = asker.bind(merged, spec.writers, asker.with_more(found[0], found[1:]))
            if merged is not None:
                yield merged
                return


FACT = Fact(
    key="lock-order-inverted",
    spec=LockOrderInverted,
    usage="`lock-order-inverted: {held: $A, other: NAME, other-lock: NAME, types: any\\|same\\|different}`",
    holds="the node takes a lock (a `Lock()` call, or a call of a package function that locks) while `$A` is "
          "held, and some function of the package takes the two in the other order; pairs where every side only "
          "reads are left out, and so are pairs where both paths only read one of the two locks and the package "
          "never takes that one with `Lock()` (a read lock waits only behind a queued writer); `types`: only "
          "locks of objects of two different types (`Store.mu`, `Replica.mu`; a field reached through a pointer is another object), or of one type (`Server.mu`, `Server.stats.mu` "
          "for a struct held by value; package variables are one)",
    binds_doc="`other` the site of the other order (where that function takes the inner lock, or the call "
              "that leads to it), `other-lock` the lock call at the end of that path (when it is another call), "
              "`writers` the `Lock()` calls of a lock both paths only read (up to 10)",
    run=_run,
    file_tokens=frozenset({b"Lock()"}),  # a held lock: this file calls Lock() or RLock()
    needs=lambda asker: asker.local_function is not None,
)
