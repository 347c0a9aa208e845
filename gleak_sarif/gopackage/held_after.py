"""Locks a call leaves held: a function that takes a lock and returns without releasing it (`lockKey(k)` of a
per-key lock table) holds that lock in its caller after the call, until the caller (or a function it calls)
releases it. The package model's lock order (PackageModel.order_edges) reads these pairs: the caller takes
its later locks, and those of its deferred function literals, while the kept lock is held."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from gleak_sarif.gopackage.effect import Effect, through_guard
from gleak_sarif.gopackage.summary import FunctionSummary, Op, Ref, Site


class PackageModel(Protocol):
    """What this module reads of the package model (gopackage/model.py, which calls it: no import back)."""

    functions: list[FunctionSummary]
    fact_memo: dict[tuple[object, ...], object]
    by_path: dict[str, list[int]]
    held: list[list[list[Op]]]

    def identity(self, canon: str | None) -> str | None: ...

    def function_at(self, path: str, start: int, end: int) -> int | None: ...

    def targets_of(self, index: int, position: int) -> list[int]: ...

    def effects_of(self, index: int, depth: int = 0) -> dict[tuple[object, ...], Effect]: ...

    def call_view(self, index: int, position: int) -> Op: ...

    @staticmethod
    def map_ref(ref: Ref | None, call: Op) -> Ref | None: ...

MAX_DEPTH = 6  # unlocks are looked for this many calls down


@dataclass(frozen=True, slots=True)
class KeptPair:
    """The caller holds ``outer`` (kept by the call at ``call``) when ``trace`` takes ``inner``."""

    outer: str  # identity of the kept lock
    outer_mode: str
    inner: str  # identity of the lock taken later
    inner_mode: str
    trace: tuple[Site, ...]  # from the caller's operation down to the lock call
    held: frozenset[str]  # identities held there (the kept lock and the caller's own)


def returns_holding(model: PackageModel, index: int) -> list[Op]:
    """The locks function ``index`` takes and still holds when it returns: a lock (not deferred, not under
    a parameter guard, not in a loop) in the function's outermost statement list (its list holds every
    operation of the function), and no unlock of the same text or identity anywhere in the function,
    deferred or not, also in a function literal written in it (a lock released on some path is GL406's
    question, not a lock handed to the caller). Literals are not called by name: none."""
    memo = model.fact_memo
    key = ("held-after:returns", index)
    known = memo.get(key)
    if isinstance(known, list):
        return known
    func = model.functions[index]
    out: list[Op] = []
    if not func.is_literal:
        # its own unlocks and those of the literals written in it (`release := func() { mu.Unlock() }`;
        # `defer release()`): a lock one of them releases is not handed to the caller
        unlocks = [op for other in model.by_path.get(func.path, ())
                   if other == index or (model.functions[other].is_literal and
                                         func.start < model.functions[other].start < func.end)
                   for op in model.functions[other].ops if op.kind == "unlock" and op.ref is not None]
        unlocked_texts = {op.ref.text for op in unlocks if op.ref is not None}
        unlocked_ids = {model.identity(op.ref.canon) for op in unlocks if op.ref is not None and op.ref.canon}
        for lock in func.ops:
            if lock.kind != "lock" or lock.deferred or lock.ref is None or not lock.ref.canon or \
                    lock.guard is not None or lock.loop is not None or lock.block == (0, 0):
                continue
            if any(not lock.block[0] <= op.site.start < lock.block[1] for op in func.ops):
                continue  # a nested statement list: taken on some paths only
            if lock.ref.text in unlocked_texts or model.identity(lock.ref.canon) in unlocked_ids:
                continue
            out.append(lock)
    memo[key] = out
    return out


def unlocks_of(model: PackageModel, index: int, depth: int = 0) -> frozenset[str]:
    """Identities of the locks function ``index`` releases, itself or through its same-package callees."""
    memo = model.fact_memo
    key = ("held-after:unlocks", index)
    known = memo.get(key)
    if isinstance(known, frozenset):
        return known
    memo[key] = frozenset()  # a call cycle sees what is known so far
    found: set[str] = set()
    for position, op in enumerate(model.functions[index].ops):
        if op.kind == "unlock" and op.ref is not None and op.ref.canon:
            identity = model.identity(op.ref.canon)
            if identity:
                found.add(identity)
        elif op.kind == "call" and depth < MAX_DEPTH:
            for target in model.targets_of(index, position):
                if target != index:
                    found |= unlocks_of(model, target, depth + 1)
    result = frozenset(found)
    memo[key] = result
    return result


def _deferred_literals(model: PackageModel, index: int) -> list[int]:
    """The `defer func() {...}()` literals written directly in function ``index`` (they run at its return)."""
    func = model.functions[index]
    out = []
    for other in model.by_path.get(func.path, ()):
        literal = model.functions[other]
        if other != index and literal.deferred and func.start < literal.start and literal.end <= func.end:
            inner = model.function_at(literal.path, literal.start - 1, literal.end) if literal.start else None
            if inner == index:  # not a literal of a literal
                out.append(other)
    return out


def _inner_locks(model: PackageModel, index: int, position: int) -> list[tuple[str, str, tuple[Site, ...],
                                                                               frozenset[str]]]:
    """What the op at ``position`` of function ``index`` locks: (canon, mode, trace, identities released on
    the way), as PackageModel._edges_of reads it."""
    op = model.functions[index].ops[position]
    if op.kind == "lock" and not op.deferred and op.ref is not None and op.ref.canon:
        return [(op.ref.canon, op.mode, (op.site,), frozenset())]
    out = []
    if op.kind == "call":
        for target in model.targets_of(index, position):
            if target == index:
                continue
            for effect in model.effects_of(target).values():
                if effect.kind in ("lock", "relock") and through_guard(effect, op) == (True, None):
                    mapped = model.map_ref(effect.ref, model.call_view(index, position))
                    canon = effect.canon or (mapped.canon if mapped else None)
                    if canon:
                        out.append((canon, effect.mode, (op.site, *effect.trace), effect.released))
    return out


def kept_pairs(model: PackageModel, index: int) -> list[KeptPair]:
    """Lock pairs of function ``index`` made by a call that returns holding a lock: every lock the function
    takes after that call (directly or through calls), and every lock its deferred literals take, is taken
    while the kept lock is held, until the function releases it (its own unlock of the same text or
    identity, or a callee that unlocks that identity: the scan stops there). A deferred unlock of it in the
    function leaves the deferred literals out (the order of deferred calls is not modelled)."""
    func = model.functions[index]
    ident = model.identity
    out: list[KeptPair] = []
    for position, call in enumerate(func.ops):
        if call.kind != "call":
            continue
        for target in model.targets_of(index, position):
            if target == index:
                continue
            for lock in returns_holding(model, target):
                mapped: Ref | None = model.map_ref(lock.ref, model.call_view(index, position))
                assert lock.ref is not None
                kept = ident(lock.ref.canon or (mapped.canon if mapped else None))
                if not kept:
                    continue
                out.extend(_after(model, index, position, kept, lock.mode, mapped.text if mapped else None))
    return out


def _after(model: PackageModel, index: int, position: int, kept: str, mode: str,
           text: str | None) -> list[KeptPair]:
    func = model.functions[index]
    ident = model.identity
    out: list[KeptPair] = []

    def add(inner: list[tuple[str, str, tuple[Site, ...], frozenset[str]]], held: frozenset[str],
            prefix: tuple[Site, ...] = ()) -> None:
        for canon, inner_mode, trace, released in inner:
            inner_id = ident(canon)
            if inner_id and inner_id != kept and kept not in {ident(c) for c in released}:
                out.append(KeptPair(kept, mode, inner_id, inner_mode, (*prefix, *trace), held | {kept}))

    deferred_release = False
    for later in range(position + 1, len(func.ops)):
        op = func.ops[later]
        if op.kind == "unlock" and op.ref is not None and \
                (op.ref.text == text or (op.ref.canon and ident(op.ref.canon) == kept)):
            if not op.deferred:
                return out  # released here
            deferred_release = True
            continue
        held = frozenset(i for h in model.held[index][later] if h.ref is not None and (i := ident(h.ref.canon)))
        add(_inner_locks(model, index, later), held)
        if op.kind == "call" and any(kept in unlocks_of(model, target) for target in model.targets_of(index, later)
                                     if target != index):
            return out  # a callee releases it
    if deferred_release:
        return out
    for literal in _deferred_literals(model, index):
        lit = model.functions[literal]
        for effect in model.effects_of(literal).values():
            if effect.kind in ("lock", "relock") and effect.canon and effect.guard is None:
                add([(effect.canon, effect.mode, effect.trace, effect.released)], frozenset(), (lit.site,))
    return out
