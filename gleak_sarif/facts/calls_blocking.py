"""`calls-blocking`: the node is a call of a package function that blocks on a channel or a Wait."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from gleak_sarif.facts.base import Asker, Env, Fact, binds, reads
from gleak_sarif.gopackage.effect import Effect
from gleak_sarif.gopackage.model import PackageModel

# what unblocks a goroutine blocked on each operation
PARTNERS = {"send": ("recv", "range"), "recv": ("send", "close"), "range": ("send", "close"),
            "wait": ("wake",)}
# what ends the wait for good: a `range` goes on after each send and ends only at close
ENDERS = {**PARTNERS, "range": ("close",)}


@dataclass(frozen=True, slots=True)
class CallsBlocking:
    unblocker_holds: str | None = field(default=None, metadata=reads("a lock the unblocking side takes first"))
    via: str | None = field(default=None, metadata=binds("the blocking operation"))
    unblocker: str | None = field(default=None, metadata=binds("the unblocking side's operation"))


def _run(asker: Asker, spec: CallsBlocking, env: Env) -> Iterator[Env]:
    lock_canon: str | None = None
    if spec.unblocker_holds is not None:
        lock_canon = asker.held_canon_of(env, spec.unblocker_holds)
        if lock_canon is None:
            return
    model = asker.model
    for _, effect, _text in asker.callee_effects():
        if effect.kind not in PARTNERS or not effect.bare or effect.canon is None:
            continue
        if lock_canon is not None and lock_canon in effect.released:
            continue  # the callee lets go of the lock before it blocks
        if effect.kind in ("send", "recv") and effect.canon in model.buffered:
            continue  # a buffered channel: its partner is not needed to go on (not proven, trusted)
        if effect.kind in ("send", "recv", "range") and not model.is_channel(effect.canon):
            continue
        # the functions on the way down to the blocking operation: their own later operations run on this
        # goroutine, after the block, so they cannot end it
        chain = {found for site in effect.trace
                 if (found := model.function_at(site.path, site.start, site.end)) is not None}
        partner = _partner(model, effect, lock_canon, chain)
        if spec.unblocker_holds is not None and partner is None:
            continue
        merged = asker.bind(env, spec.via, asker.evidence(asker.chain(effect), effect.trace[-1]))
        if merged is not None and partner is not None:
            index, other = partner
            text = f"{asker.function_name(index)}: {other.trace[-1].text}"
            merged = asker.bind(merged, spec.unblocker, asker.evidence(text, other.trace[0]))
        if merged is not None:
            yield merged
            return


def _partner(model: PackageModel, blocked: Effect, lock_canon: str | None,
             chain: frozenset[int] | set[int] = frozenset()) -> tuple[int, Effect] | None:
    """A function of the package that does the unblocking operation after taking ``lock_canon``. With a
    lock, every function outside the blocked call ``chain`` that ends the wait must take the lock first:
    one that does not (a pool's Release refilling the slots a locked Wait waits for) can always end it,
    so nothing is returned then (issue 16: GL410 named the blocked function's own later send as its
    partner)."""
    kinds = PARTNERS[blocked.kind]
    assert blocked.canon is not None
    # the partner names the same field: only files that mention it are read
    token = ("." + blocked.canon.rsplit(".", 1)[-1]).encode()
    found: tuple[int, Effect] | None = None
    for index in model.functions_in_files_with(token):
        for effect in model.effects_of(index).values():
            if effect.kind not in kinds or effect.canon != blocked.canon:
                continue
            if lock_canon is None:
                return index, effect
            if lock_canon not in effect.before:
                if effect.kind in ENDERS[blocked.kind] and index not in chain:
                    return None
                continue
            if found is None:
                found = index, effect
    return found


FACT = Fact(
    key="calls-blocking",
    spec=CallsBlocking,
    usage="`calls-blocking: {unblocker-holds: $MU, via: NAME, unblocker: NAME}`",
    holds="the node is a call of a package function that blocks on a channel field (a bare send or receive, "
          "`range`) or a `Wait()`, the channel is not made with a buffer anywhere in the package, and (with "
          "`unblocker-holds`) a function of the package takes `$MU` before doing the unblocking operation "
          "(receive/send/`close`, `Done`/`Signal`/`Broadcast`), and no function does an operation that ends the "
          "wait without taking `$MU` first (a pool's `Release` that refills the slots a locked wait waits for; a "
          "send does not end a `range`, only `close` does)",
    binds_doc="`via` the blocking operation, `unblocker` the other side",
    run=_run,
)
