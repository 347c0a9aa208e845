"""Who waits for a goroutine: the places that block until a goroutine running a given operation ends.

A goroutine stuck on an operation never gets to what it does last: its deferred `wg.Done()` or
`close(done)`, or the `Done()`, `close` or send that comes after the operation. Whoever waits for that signal
(`wg.Wait()`, `<-done`, `range done`) waits for ever too: it is *downstream* of the stuck goroutine. Root
rules name these waiters as related locations, so a reader (and the runtime's leak report) sees the whole
chain.

The goroutine is the function the operation is in when it is started by a `go` statement, or one of its
callers (up to MAX_DEPTH calls up) that is, or the `go func() {...}()` of a package function that runs a
function literal passed to it (`RunWorker(func() {...})`: FunctionSummary.spawned_params; then only that
goroutine's deferred signals count, since where it calls the literal is not recorded). A deferred function
literal's signals (`defer func() { close(done) }()`) are the goroutine's deferred signals. A function on
the way from the goroutine body to the operation never returns either: its own later signals (`close(s.stopped)`
after a stuck `s.drain.Wait()`) and deferred ones count too, whichever goroutine runs it. Signals are matched to waits by identity (`Type.wg`,
`Type.done`; the field name when the owner's type is not known; an accessor `s.Stopped()` that returns
the field) or, for locals, by their text within one
top-level function (the goroutine literals that capture them).
"""

from __future__ import annotations

from dataclasses import dataclass

from gleak_sarif.gopackage.channels import field_ref, resolve
from gleak_sarif.gopackage.model import PackageModel
from gleak_sarif.gopackage.summary import Op, Ref, Site

MAX_DEPTH = 3
# what a waiter does for each kind of end signal
WAITS = {"wake": ("wait",), "close": ("recv", "range"), "send": ("recv",)}


@dataclass(frozen=True, slots=True)
class Waiter:
    signal: Site  # the goroutine's end signal it never reaches (`defer wg.Done()`, `close(done)`)
    wait: Site  # where another function waits for it


@dataclass(frozen=True, slots=True)
class _Signal:
    kind: str  # wake | close | send
    ref: Ref | None  # in the goroutine's terms
    canon: str | None
    site: Site
    function: int  # the goroutine body


def _goroutines(model: PackageModel, index: int, position: int,
                path: list[tuple[int, int]] | None = None) -> list[tuple[int, int]]:
    """(goroutine body, position in it where the operation is reached) for the function ``index``;
    ``path`` gets the functions on the way that are no goroutine body, with the position of the operation
    or of the call that reaches it."""
    out: list[tuple[int, int]] = []
    frontier = [(index, position)]
    seen = {index}
    for _ in range(MAX_DEPTH + 1):
        following = []
        for current, at in frontier:
            if model.starters_of(current):
                out.append((current, at))
            elif path is not None:
                path.append((current, at))
            out.extend((body, len(model.functions[body].ops)) for body in _spawned_bodies(model, current))
            for caller in model.callers_of(current):
                if caller in seen:
                    continue
                seen.add(caller)
                for call_position, op in enumerate(model.functions[caller].ops):
                    if op.kind == "call" and current in model.targets_of(caller, call_position):
                        following.append((caller, call_position))
                        break
        frontier = following
    return out


def _spawned_bodies(model: PackageModel, index: int) -> list[int]:
    """The goroutine bodies that run function literal ``index`` through a parameter: the literal is an
    argument of a call whose callee runs that parameter on a new goroutine (FunctionSummary.spawned_params)."""
    func = model.functions[index]
    if not func.is_literal or func.argument is None:
        return []
    call_start, argument = func.argument
    outer = model.function_at(func.path, call_start, call_start + 1)
    if outer is None:
        return []
    out: list[int] = []
    for position, op in enumerate(model.functions[outer].ops):
        if op.kind != "call" or op.site.start != call_start:
            continue
        for target in model.targets_of(outer, position):
            for param, go in model.functions[target].spawned_params:
                if param != argument:
                    continue
                for started in model.functions[target].ops:
                    if started.kind == "go" and started.site.start == go.start:
                        # `go func() { f() }()`: that literal; `go f()`: the literal itself
                        out.extend(model.by_key.get(started.literal, []) if started.literal else [index])
    return out


def _signals(model: PackageModel, body: int, at: int) -> list[_Signal]:
    """The end signals of goroutine ``body`` that come after position ``at``: deferred ones (also in a
    deferred function literal), or later ones."""
    out = []
    func = model.functions[body]
    sources = [(body, True)] + [(other, False) for other in model.by_path.get(func.path, [])
                                if model.functions[other].deferred and func.start < model.functions[other].start
                                and model.function_at(func.path, model.functions[other].start - 1,
                                                      model.functions[other].end) == body]
    for index, own in sources:
        for position, op in enumerate(model.functions[index].ops):
            if own and not op.deferred and position <= at:
                continue
            if op.kind in ("wake", "close") or (op.kind == "send" and op.bare and not op.deferred):
                out.append(_Signal(op.kind, op.ref, op.ref.canon if op.ref else None, op.site, body))
            elif op.kind == "call":
                for _, effect, mapped in model.callee_effects(index, position):
                    if effect.kind in ("wake", "close"):
                        out.append(_Signal(effect.kind, mapped, effect.canon or (mapped.canon if mapped else None),
                                           op.site, body))
    return out


def _same(model: PackageModel, ref: Ref | None, canon: str | None, kind: str, scope: int, waiter: int,
          op: Op) -> bool:
    """Is ``op`` (in function ``waiter``) on the WaitGroup/channel that ``ref`` names in function ``scope``?"""
    if op.ref is None or (ref is None and canon is None):
        return False
    if canon is not None and op.ref.canon is not None:
        return canon == op.ref.canon or (kind != "wake" and _accessor_of(model, canon, op))
    if ref is not None and not ref.rest and not op.ref.rest:  # locals of one top-level function
        return ref.text == op.ref.text and model.top_level(waiter) == model.top_level(scope)
    if kind != "wake" and op.ref.rest and ref is not None and ref.rest:  # fields, owners not both known
        record = field_ref(model, op)
        if record is None:
            return False
        owners = {owner for owner, name in resolve(model, *record) if name == ref.rest[-1]}
        # an accessor several types declare (`s.ShouldStop()` on an `s` of unknown type) names none of them
        return len(owners) == 1 if record[0].endswith("()") else bool(owners)
    return False


def _accessor_of(model: PackageModel, canon: str, op: Op) -> bool:
    """Is ``op`` on an accessor call (`<-s.Stopped()`) that returns the channel field ``canon`` names?"""
    record = field_ref(model, op)
    if record is None or not record[0].endswith("()"):
        return False
    owner_path, _, name = canon.rpartition(".")
    owner = model.type_of(owner_path) if owner_path else ""
    return bool(owner) and (owner, name) in resolve(model, *record)


def waiters(model: PackageModel, index: int, position: int) -> list[Waiter]:
    """The places that wait for the goroutine(s) running the operation at ``position`` of function ``index``."""
    found: list[Waiter] = []
    path: list[tuple[int, int]] = []
    bodies = _goroutines(model, index, position, path)
    # a function on the way that never returns never reaches its own later signals either (`close(s.done)`
    # after the stuck `Wait`): their waiters are downstream too, whichever goroutine runs the function
    for body, at in [*bodies, *path]:
        starts = model.starters_of(body)
        for signal in _signals(model, body, at):
            # the signal as the goroutine names it, and as each `go` statement that starts it does (a
            # parameter `wg *sync.WaitGroup` is the starter's `&wg`)
            names: list[tuple[Ref | None, str | None, int]] = [(signal.ref, signal.canon, body)]
            for starter, go_position in starts:
                mapped = model.map_ref(signal.ref, model.functions[starter].ops[go_position])
                if mapped is not None:
                    names.append((mapped, signal.canon or mapped.canon, starter))
            candidates = _candidates(model, names, signal.kind)
            for waiter in sorted(candidates):
                if waiter == body:
                    continue
                for op in candidates[waiter]:
                    if any(
                            _same(model, ref, canon, signal.kind, scope, waiter, op) for ref, canon, scope in names):
                        found.append(Waiter(signal.site, op.site))
                        break
    return found


@dataclass(slots=True)
class _Waiting:
    """The functions of the files holding a token that may wait for a signal of a kind, indexed by what
    `_same` can match their waiting operations on."""

    ops: dict[int, list[Op]]  # function -> its bare waits, receives or ranges, in order
    by_canon: dict[str, list[int]]  # identity -> the functions with such an operation on it
    by_local: dict[str, list[int]]  # a local's text -> the functions with such an operation on it
    # the functions with an operation `_same` may match on something else than its identity or its local's
    # text: a field whose owner is not known, or an accessor call
    other: list[int]


def _waiting_in(model: PackageModel, token: bytes, kind: str) -> _Waiting:
    """The functions of the files holding ``token`` that may wait for a signal of ``kind`` (a bare `Wait()`,
    receive or `range`), with those operations in order; once per model, token and kind (every signal of
    every goroutine asks: a walk over every operation of those files)."""
    key = ("waiters", token, kind)
    known = model.fact_memo.get(key)
    if not isinstance(known, _Waiting):
        wanted = WAITS[kind]
        known = model.fact_memo[key] = _Waiting({
            index: ops for index in model.functions_in_files_with(token)
            if (ops := [op for op in model.functions[index].ops if op.kind in wanted and op.bare])}, {}, {}, [])
        for index, ops in known.ops.items():
            for op in ops:
                ref = op.ref
                if ref is None:
                    continue  # `_same` is False
                if ref.canon is not None:
                    known.by_canon.setdefault(ref.canon, []).append(index)
                    record = field_ref(model, op) if kind != "wake" else None
                    if record is not None and record[0].endswith("()"):
                        known.other.append(index)  # `_accessor_of`
                elif ref.rest:
                    known.other.append(index)  # a field, owner not known
                else:
                    known.by_local.setdefault(ref.text, []).append(index)
    return known


def _candidates(model: PackageModel, names: list[tuple[Ref | None, str | None, int]],
                kind: str) -> dict[int, list[Op]]:
    """The functions that may wait on one of ``names`` (ref, identity, function), with their waiting
    operations in order. By lookup when every name has an identity: the functions left out have no
    operation `_same` could match (and `_same` reads nothing for them); else every function of the files
    holding the names' tokens."""
    waitings = [_waiting_in(model, token.encode(), kind) for ref, canon, _ in names if (token := _token(ref, canon))]
    candidates: dict[int, list[Op]] = {}
    if any(canon is None for _, canon, _ in names):
        for waiting in waitings:
            candidates.update(waiting.ops)
        return candidates
    for waiting in waitings:
        chosen = [*waiting.other]
        for ref, canon, _ in names:
            chosen += waiting.by_canon.get(canon or "", ())
            if ref is not None and not ref.rest:
                chosen += waiting.by_local.get(ref.text, ())
        for index in chosen:
            candidates[index] = waiting.ops[index]
    return candidates


def _token(ref: Ref | None, canon: str | None) -> str:
    """A name every file holding a wait on this WaitGroup or channel contains (the field's or the variable's)."""
    if ref is not None:
        return ref.rest[-1] if ref.rest else ref.text
    return (canon or "").rsplit(".", 1)[-1]
