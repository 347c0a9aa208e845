"""`cond-wait`: the node is a `sync.Cond` field's `Wait()` (or a call of a package function that reaches one)
made while the waiting function holds a lock other than a given one.

`Cond.Wait` releases only the Cond's own lock (`c.L`) while it waits. A lock of another mutex held across the
Wait stays held for as long as the waiter sleeps: every goroutine that needs that mutex, including the one
that would `Signal` after taking it, queues behind a goroutine that may never be woken ("nested monitor").
The fact finds the Wait through the package model (calls through interfaces and function-valued fields
too) and reads which locks the waiting function holds there (straight-line `held`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from gleak_sarif.facts.base import Asker, Env, Fact, binds, reads
from gleak_sarif.gopackage.model import PackageModel
from gleak_sarif.gopackage.summary import Op, Site, norm

_COND = re.compile(r"^\*?sync\.Cond$")


@dataclass(frozen=True, slots=True)
class CondWait:
    other_than: str | None = field(default=None, metadata=reads("a lock held at the node (bound before)"))
    via: str | None = field(default=None, metadata=binds("the `Wait()` call"))
    lock: str | None = field(default=None, metadata=binds("the lock the waiting function holds at the Wait"))
    # the node is the Wait itself, and its function takes no lock before it (itself or through calls)
    unlocked: bool = False
    # the Wait is not inside a loop of its function: no condition is checked again after it wakes, so a
    # Signal sent before it sleeps is lost (the `for !ready { c.Wait() }` idiom re-checks)
    bare: bool = False


def is_cond(model: PackageModel, canon: str | None) -> bool:
    """Is the identity ``canon`` (`Queue.cond`, `Owner.q.cond`) a field declared `sync.Cond` or `*sync.Cond`?"""
    if not canon or canon.startswith("pkg.") or "." not in canon:
        return False
    owner, _, name = canon.rpartition(".")
    type_name = model.type_of(owner) if ("." in owner or owner.startswith("@")) else owner
    return bool(type_name) and _COND.match(model.field_type(type_name, name)) is not None


def _held_at_wait(model: PackageModel, site: Site) -> list[Op]:
    index = model.function_at(site.path, site.start, site.end)
    if index is None:
        return []
    return [op for op in model.held_at(index, site.start, site.end) if op.ref is not None and op.ref.canon]


def _looped(model: PackageModel, site: Site) -> bool:
    found = model.op_at(site.path, site.start, site.end)
    return found is None or model.functions[found[0]].ops[found[1]].looped


def _locks_before(asker: Asker, model: PackageModel, index: int, position: int) -> bool:
    """Does function ``index`` take a lock before its operation at ``position`` (itself or in a callee)?"""
    for earlier, op in enumerate(model.functions[index].ops[:position]):
        if op.kind == "lock":
            return True
        if op.kind == "call" and any(effect.kind in ("lock", "relock")
                                     for _, effect, _ in model.callee_effects(index, earlier)):
            return True
    return False


def _unlocked(asker: Asker, spec: CondWait, env: Env) -> Iterator[Env]:
    model = asker.model
    op = asker.op
    if op is None or op.kind != "wait" or op.ref is None or not is_cond(model, op.ref.canon):
        return
    if asker.function is None or _locks_before(asker, model, asker.function, asker.position):
        return
    merged = asker.bind(env, spec.via, asker.evidence(op.site.text, op.site))
    if merged is not None:
        yield merged


def _run(asker: Asker, spec: CondWait, env: Env) -> Iterator[Env]:
    if spec.unlocked:
        yield from _unlocked(asker, spec, env)
        return
    other: str | None = None
    if spec.other_than is not None:
        other = asker.held_canon_of(env, spec.other_than)
        if other is None:
            return
    model = asker.model
    op = asker.op
    # (the Wait's site, its text) candidates: the node itself, or the Waits its callees reach
    waits: list[tuple[Site, str]] = []
    if op is not None and op.kind == "wait" and op.ref is not None and is_cond(model, op.ref.canon):
        waits.append((op.site, op.site.text))
    else:
        for _, effect, _text in asker.callee_effects(b"Wait()"):
            if effect.kind == "wait" and is_cond(model, effect.canon) and \
                    (other is None or other not in effect.released):
                waits.append((effect.trace[-1], asker.chain(effect)))
    if spec.bare:
        waits = [(site, text) for site, text in waits if not _looped(model, site)]
    wanted = model.identity(other) if other is not None else None
    for site, text in waits:
        held = _held_at_wait(model, site)
        if not held:
            continue  # called with the Cond's lock held by the caller (`waitLocked()`): the ordinary idiom
        # the lock taken last before the Wait stands for the Cond's own lock (`c.L.Lock()` or the mutex
        # given to `sync.NewCond`, taken inside any outer one); the caller's lock must be another one
        own = max(held, key=lambda op: op.site.start)
        assert own.ref is not None
        if wanted is not None and model.identity(own.ref.canon) == wanted:
            continue
        merged = asker.bind(env, spec.via, asker.evidence(text, site))
        if merged is not None:
            merged = asker.bind(merged, spec.lock, asker.evidence(norm(own.ref.text), own.site))
        if merged is not None:
            yield merged
            return


FACT = Fact(
    key="cond-wait",
    spec=CondWait,
    usage="`cond-wait: {other-than: $MU, bare: true, via: NAME, lock: NAME}` or `cond-wait: {unlocked: true}`",
    holds="the node is `x.f.Wait()` on a field declared `sync.Cond` or `*sync.Cond`, or a call of a package "
          "function that reaches such a Wait (itself or further down; through interfaces and function-valued "
          "fields), and the function that waits holds a lock there: the one it took last stands for the Cond's "
          "own `L`; with `other-than`, that lock is not `$MU` (a lock held at the node, bound before) and the "
          "path does not release `$MU` first; with `unlocked`, the node is the Wait itself and its function "
          "takes no lock before it (itself or through calls); `bare`: the Wait is not inside a loop of its function "
          "(no condition is checked again when it wakes)",
    binds_doc="`via` the `Wait()` (with the call chain as text), `lock` the Cond's lock (taken last before the Wait)",
    run=_run,
    tokens=lambda spec: frozenset({b"sync.Cond"}),
)
