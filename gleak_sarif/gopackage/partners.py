"""The other end of a channel operation, and whether it needs a given lock before it gets there.

A goroutine that holds a mutex while it sends (or receives) waits for the other end of the channel; if every
way to that other end first takes the same mutex, neither goroutine can go on. This module finds the other
end's *roots*: the functions of the package that reach a counterpart operation (a receive or `range` for a
send, a send or `close` for a receive), themselves or through calls, and that no other such function calls
(goroutine bodies, exported methods). A root *needs* the lock when, on its way, it takes it (itself or in a
callee):
- before the counterpart operation, in source order (also when it lets go of it again before);
- anywhere, when the counterpart is deferred (`defer close(done)` runs after the whole body);
- anywhere in the same loop as the counterpart: the next iteration's operation comes after this one's lock.
A lock a callee takes only through a call with several possible callees (an interface method with several
implementations in the package, a function-valued field set to several functions) is not counted: it is
taken only when that one implementation runs, so it is not on every way to the other end.

Channels are fields (by identity, see channels.py) or locals of one top-level function (its goroutine
literals share them); locks are matched by identity (`Type.mu`) or, for locals, by their text within that
top-level function.
"""

from __future__ import annotations

from dataclasses import dataclass

from gleak_sarif.gopackage.channels import channel_field, field_ref, resolve
from gleak_sarif.gopackage.model import PackageModel
from gleak_sarif.gopackage.summary import Op, Ref, Site

COUNTERPARTS = {"send": ("recv", "range"), "recv": ("send", "close"), "range": ("send", "close"),
                "wait": ("wake",)}
MAX_CALLER_DEPTH = 4


@dataclass(frozen=True, slots=True)
class Lock:
    """A lock as the asking function names it: its identity when known, else its text (a local)."""

    canon: str | None
    text: str
    scope: tuple[str, int, int]  # the top-level function the text is valid in: (path, start, end)


@dataclass(frozen=True, slots=True)
class Partner:
    function: int  # the root
    operation: Site  # the counterpart operation (maybe in a callee)
    lock: Site  # where the root takes the lock (the innermost site, maybe in a callee)
    # the lock comes only after the operation, in the same loop: a deadlock needs the blocked side to come
    # back while the other end waits for the lock (a loop, or another call of a method)
    after: bool = False
    wait: Site | None = None  # the other end first waits here, for a goroutine that takes the lock


def _uses(model: PackageModel, function: int, op: Op, depth: int = 0) -> set[tuple[str, int]] | None:
    """(path, start) of the counterpart operations of ``op`` in the package; None when the channel is not
    one the model can follow (a call result, a parameter some caller fills with one)."""
    kinds = COUNTERPARTS[op.kind]
    if op.kind == "wait":
        return _done_uses(model, function, op)
    record = field_ref(model, op)
    if record is not None:
        out: set[tuple[str, int]] = set()
        for owner, name in resolve(model, *record):
            found = channel_field(model, owner, name)
            if found.escape is not None:
                return None  # its other end may be anywhere
            out |= {(use.site.path, use.site.start) for use in found.uses if use.kind in kinds}
        return out
    ref = op.ref
    if ref is None or ref.rest:
        return None
    if ref.root.startswith("p") and ref.root[1:].isdigit():
        return _parameter_uses(model, function, op, int(ref.root[1:]), depth)
    if ref.root not in ("local", "g"):
        return None
    scope = model.top_level(function)
    out = set()
    for other in model.by_path.get(scope[0], ()):
        func = model.functions[other]
        if not (scope[1] <= func.start and func.end <= scope[2]):
            continue
        for candidate in func.ops:
            if candidate.kind in kinds and candidate.ref is not None and candidate.ref.text == ref.text and \
                    not candidate.ref.rest:
                out.add((candidate.site.path, candidate.site.start))
    return out


def _is_done(op: Op) -> bool:
    return op.kind == "wake" and op.site.text.endswith(".Done()")


def _done_uses(model: PackageModel, function: int, op: Op) -> set[tuple[str, int]] | None:
    """(path, start) of the `Done()` calls that end ``op``, a `Wait()` on a WaitGroup: on the same field (by
    identity), or on the same local of the top-level function (its goroutine literals share it). None when
    the WaitGroup may be done elsewhere: a `Done()` on a WaitGroup of unknown identity in a file that
    mentions the field's name (a parameter some call fills with it, a call's result), or the local handed to
    a call (`go worker(&wg)`). A local pointer to a field (`wg := &x.wg`) is that field (extract_locals)."""
    ref = op.ref
    if ref is None:
        return None
    out: set[tuple[str, int]] = set()
    if ref.rest and ref.canon is not None:
        canon = model.resolved(ref.canon)
        token = ("." + ref.rest[-1]).encode()
        for index in model.functions_in_files_with(token):
            for done in model.functions[index].ops:
                if not _is_done(done):
                    continue
                named = model.resolved(done.ref.canon) if done.ref is not None else None
                if named is None or (named.startswith("@") and not named.startswith("@elem(")):
                    if _own_local(model, index, done.ref) or _passed_other(model, index, done.ref, canon):
                        continue  # a local WaitGroup its own top-level function waits on, or another one
                    return None  # a Done of a WaitGroup the model cannot name: maybe this one
                if named == canon:
                    out.add((done.site.path, done.site.start))
        return out
    if ref.root != "local" or ref.rest:
        return None
    scope = model.top_level(function)
    for inner in model.by_path.get(scope[0], ()):
        func = model.functions[inner]
        if not (scope[1] <= func.start and func.end <= scope[2]):
            continue
        for candidate in func.ops:
            if candidate.kind in ("call", "go") and any(
                    arg is not None and arg.text.lstrip("&") == ref.text for arg in candidate.args):
                return None  # handed on: its Done may be anywhere
            if _is_done(candidate) and candidate.ref is not None and candidate.ref.text == ref.text and \
                    not candidate.ref.rest:
                out.add((candidate.site.path, candidate.site.start))
    return out


def _own_local(model: PackageModel, index: int, ref: Ref | None) -> bool:
    """``ref`` is a local that its top-level function also waits on (`var wg sync.WaitGroup; ...; wg.Wait()`):
    a WaitGroup of its own, not a pointer to a field."""
    if ref is None or ref.root != "local" or ref.rest:
        return False
    scope = model.top_level(index)
    return any(scope[1] <= model.functions[other].start and model.functions[other].end <= scope[2] and
               any(op.kind == "wait" and op.ref is not None and op.ref.text == ref.text and not op.ref.rest
                   for op in model.functions[other].ops)
               for other in model.by_path.get(scope[0], ()))


def _passed_other(model: PackageModel, index: int, ref: Ref | None, canon: str | None) -> bool:
    """``ref`` is a parameter of function ``index`` and every call or `go` of it passes a WaitGroup of a known
    identity other than ``canon`` (or a local of the caller)."""
    if ref is None or ref.rest or not (ref.root.startswith("p") and ref.root[1:].isdigit()):
        return False
    position = int(ref.root[1:])
    sites = [(caller, at) for caller in model.callers_of(index)
             for at, call in enumerate(model.functions[caller].ops)
             if call.kind == "call" and index in model.targets_of(caller, at)]
    sites += model.starters_of(index)
    if not sites:
        return False
    for caller, at in sites:
        call = model.functions[caller].ops[at]
        argument = call.args[position] if position < len(call.args) else None
        if argument is None:
            return False
        if argument.canon is None:
            if argument.root != "local" or argument.rest:
                return False
        elif model.resolved(argument.canon) == canon:
            return False
    return True


def _parameter_uses(model: PackageModel, function: int, op: Op, position: int,
                    depth: int) -> set[tuple[str, int]] | None:
    """A channel parameter: the counterparts of what every caller (or `go` statement) passes for it."""
    if depth >= MAX_CALLER_DEPTH:
        return None
    sites = [(caller, at) for caller in model.callers_of(function)
             for at, call in enumerate(model.functions[caller].ops)
             if call.kind == "call" and function in model.targets_of(caller, at)]
    sites += model.starters_of(function)
    if not sites:
        return None
    out: set[tuple[str, int]] = set()
    for caller, at in sites:
        call = model.functions[caller].ops[at]
        argument = call.args[position] if position < len(call.args) else None
        if argument is None:
            return None
        found = _uses(model, caller, Op(op.kind, call.site, argument), depth + 1)
        if found is None:
            return None
        out |= found
    return out


def _same_lock(model: PackageModel, lock: Lock, canon: str | None, text: str | None, index: int) -> bool:
    if lock.canon is not None and canon is not None:
        return model.resolved(lock.canon) == model.resolved(canon)
    return text is not None and text == lock.text and model.top_level(index) == lock.scope


def _deferred_host(model: PackageModel, index: int) -> int | None:
    """The function a `defer func() {...}()` literal ``index`` is written in (it runs when that returns)."""
    func = model.functions[index]
    if not func.is_literal or not func.deferred:
        return None
    hosts = [other for other in model.by_path.get(func.path, ()) if other != index and
             model.functions[other].start <= func.start and func.end <= model.functions[other].end]
    return max(hosts, key=lambda other: model.functions[other].start, default=None)


def _needs(model: PackageModel, index: int, uses: set[tuple[str, int]], lock: Lock,
           depth: int = 0, further: bool = True, hosted: tuple[int, ...] = ()) -> Partner | None:
    """How root ``index`` takes ``lock`` on its way to a counterpart operation, if it does: itself (or in a
    callee), or by waiting first on another channel whose every other end takes it (one step further:
    `defer close(stop); <-result` where result's sender locks; not with ``further`` False)."""
    counterparts: list[tuple[int, bool, tuple[int, int] | None, Site]] = []  # (position, deferred, loop, site)
    locks: list[tuple[int, tuple[int, int] | None, Site]] = []
    waits: list[tuple[int, Op]] = []  # bare sends and receives on the way
    for position, op in enumerate(model.functions[index].ops):
        if (op.site.path, op.site.start) in uses:
            counterparts.append((position, op.deferred, op.loop, op.site))
        elif op.kind in ("send", "recv") and op.bare and not op.deferred:
            waits.append((position, op))
        elif op.kind == "lock" and not op.deferred and op.ref is not None and \
                _same_lock(model, lock, op.ref.canon, op.ref.text, index):
            locks.append((position, op.loop, op.site))
        elif op.kind == "call":
            for _, effect, mapped in model.callee_effects(index, position):
                last = effect.trace[-1]
                if (last.path, last.start) in uses:
                    counterparts.append((position, op.deferred, op.loop, last))
                    if lock.canon is not None and lock.canon in effect.before:
                        # the callee itself takes the lock before the operation
                        return Partner(index, last, _lock_in(effect.trace, model, lock) or last)
                elif effect.kind == "lock" and not op.deferred and not effect.dispatched and \
                        (index, position) not in model.multi_calls and _same_lock(
                        model, lock, effect.canon or (mapped.canon if mapped else None),
                        mapped.text if mapped else None, index):
                    locks.append((position, op.loop, effect.trace[-1]))
    for literal in hosted:  # deferred literals of this function: they run after its whole body
        counterparts += [(len(model.functions[index].ops), True, None, op.site)
                         for op in model.functions[literal].ops if (op.site.path, op.site.start) in uses]
    if depth == 0 and further:
        for position, deferred, _, site in counterparts:
            for wait_position, wait in waits:
                if wait_position < position or deferred:
                    inner = lock_partners(model, index, wait, lock, depth + 1)
                    if inner:
                        return Partner(index, site, inner[0].lock, wait=wait.site)
    after = None
    for position, deferred, loop, site in counterparts:
        for lock_position, lock_loop, lock_site in locks:
            if lock_position < position or deferred:
                return Partner(index, site, lock_site)
            if after is None and loop is not None and loop == lock_loop:
                after = Partner(index, site, lock_site, after=True)
    return after


def _lock_in(trace: tuple[Site, ...], model: PackageModel, lock: Lock) -> Site | None:
    """The site of a `Lock()` of ``lock`` in the functions along ``trace`` (for the related location)."""
    for site in trace:
        found = model.function_at(site.path, site.start, site.end)
        if found is None:
            continue
        for op in model.functions[found].ops:
            if op.kind == "lock" and op.ref is not None and op.ref.canon == lock.canon and \
                    op.site.start < site.start:
                return op.site
    return None


def lock_partners(model: PackageModel, function: int, op: Op, lock: Lock, depth: int = 0) -> list[Partner] | None:
    """The roots of the other end of ``op`` (in ``function``), each with where it takes ``lock``, when every
    root takes it on the way (and there is at least one); else None."""
    if op.kind not in COUNTERPARTS:
        return None
    uses = _uses(model, function, op)
    if not uses:
        return None
    # a local channel's blocked operation runs once per call unless it is in a loop; a field's may run again
    # in another call (another goroutine calling the same method)
    again = op.looped or (bool(op.ref.rest) if op.kind == "wait" and op.ref is not None
                           else field_ref(model, op) is not None)
    reaching: set[int] = set()  # functions that reach a counterpart, themselves or through calls
    # for a Wait: a `defer func() { ...; wg.Done() }()` literal runs in the function it is written in,
    # which is the way to that Done (its callers, or the goroutine it is)
    hosts: dict[int, list[int]] = {}
    for index in range(len(model.functions)):
        if index != function and any((o.site.path, o.site.start) in uses for o in model.functions[index].ops):
            host = _deferred_host(model, index) if op.kind == "wait" else None
            if host is not None and host != function:
                hosts.setdefault(host, []).append(index)
                index = host
            reaching.add(index)
    roots: set[int] = set()
    frontier = sorted(reaching)
    for _ in range(MAX_CALLER_DEPTH):
        following: list[int] = []
        for index in frontier:
            callers = [c for c in model.callers_of(index) if c != function]
            if not callers:
                roots.add(index)
            for caller in callers:
                if caller not in reaching:
                    reaching.add(caller)
                    following.append(caller)
        frontier = following
    roots |= set(frontier)
    partners = []
    for root in sorted(roots):
        # a `Done` is not waited for one step further: a goroutine's send before its deferred Done goes to
        # a receiver that is often the waiter itself (or a buffer), and its callers' locks are no partner's
        found = _needs(model, root, uses, lock, depth, further=op.kind != "wait", hosted=tuple(hosts.get(root, ())))
        if found is None or (found.after and not again):
            return None  # this way to the other end does not need the lock: no deadlock for sure
        partners.append(found)
    return partners or None
