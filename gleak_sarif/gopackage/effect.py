"""The package model's effects: what a function does itself or through its callees, in its own terms, and
the lock pairs it takes in order (gopackage/model.py computes them; held_after.py reads them)."""

from __future__ import annotations

from dataclasses import dataclass

from gleak_sarif.gopackage.summary import Op, Ref, Site

Trace = tuple[Site, ...]  # call sites from the asking function down to the operation, then the operation


@dataclass(frozen=True, slots=True)
class Effect:
    """An operation a function performs itself or through its callees, in that function's terms."""

    kind: str  # lock | relock (a lock the function released first) | send | recv | range | close | wait | wake
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
    # every way to it goes through a call with several possible callees (an interface method with several
    # implementations, a function-valued field set to several functions): it happens only for one of them
    dispatched: bool = False


@dataclass(frozen=True, slots=True)
class OrderEdge:
    outer: str  # identity of the lock held
    inner: str  # identity of the lock taken while holding it
    outer_mode: str
    inner_mode: str
    function: tuple[str, str]
    trace: Trace  # where the inner lock is taken (through calls)
    held: frozenset[str] = frozenset()  # every lock held there (a common outer lock serializes both)


def through_guard(effect: Effect, call: Op) -> tuple[bool, tuple[int, bool] | None]:
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
