"""`lock-partner`: every way to the other end of the channel operation at the node takes a given lock first."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from gleak_sarif.facts.base import Asker, Env, Fact, binds, reads
from gleak_sarif.gopackage.partners import Lock, lock_partners
from gleak_sarif.gopackage.summary import norm


@dataclass(frozen=True, slots=True)
class LockPartner:
    lock: str = field(metadata=reads("the mutex held at the node, e.g. $MU (bound by `held`)"))
    partner: str | None = field(default=None, metadata=binds("the other end's operation"))
    partner_lock: str | None = field(default=None, metadata=binds("where the other end takes the lock"))
    partner_wait: str | None = field(default=None, metadata=binds("where the other end first waits for a "
                                                                   "goroutine that takes the lock"))


def _run(asker: Asker, spec: LockPartner, env: Env) -> Iterator[Env]:
    """The node is a send or receive on a channel field (or a local channel of the top-level function), or a
    WaitGroup's `Wait()` (its other end: the `Done()` calls on the same WaitGroup);
    the package does the other end somewhere (a receive or `range` for a send, a send or `close` for a
    receive), and every function that gets there (its roots: goroutine bodies, methods nobody in the package
    calls) takes the lock on the way: before it in source order, anywhere when it is deferred, or in the same
    loop (gopackage/partners.py)."""
    bound = env.get(spec.lock)
    if bound is None:
        return
    model = asker.model
    op, function = asker.op, asker.function
    if op is None or function is None:
        return
    text = norm(asker.ev.text(bound))
    lock = Lock(asker.canon_of_held(text), text, model.top_level(function))
    partners = lock_partners(model, function, op, lock)
    if not partners:
        return
    first = partners[0]
    name = asker.function_name(first.function)
    merged = asker.bind(env, spec.partner, asker.evidence(f"{name}: {first.operation.text}", first.operation))
    if merged is not None:
        merged = asker.bind(merged, spec.partner_lock, asker.evidence(first.lock.text, first.lock))
    if merged is not None and first.wait is not None:
        merged = asker.bind(merged, spec.partner_wait, asker.evidence(first.wait.text, first.wait))
    if merged is not None:
        yield merged


FACT = Fact(
    key="lock-partner",
    spec=LockPartner,
    usage="`lock-partner: {lock: $MU, partner: NAME, partner-lock: NAME, partner-wait: NAME}`",
    holds="the node is a send or receive on a channel field (or a local channel of its top-level function) "
          "and every function of the package that reaches the other end (a receive or `range` for a send, a "
          "send or `close` for a receive; its roots: goroutine bodies and functions no such function calls) "
          "takes `$MU` on the way: before it, anywhere when the other end is deferred, or in the same loop "
          "(the next operation comes after this iteration's lock); locks in callees count, and so does a bare "
          "send or receive on the way whose every other end takes `$MU` (one step further). The node may also "
          "be a WaitGroup's `Wait()`: its other end is every `Done()` on the same field (by identity; a local "
          "pointer `wg := &x.states[k].wg` is that field) or on the same local of the top-level function, "
          "reached also through a `defer func() {...}()` of the function that runs it (no step further); it "
          "does not hold when a `Done()` the model cannot name may be this one (a call's result, a parameter "
          "some call fills with it, in a file that mentions the field) or the local is handed to a call",
    binds_doc="`partner` the other end's operation, `partner-lock` where it (or the goroutine it waits for) "
              "takes `$MU`, `partner-wait` where it waits for that goroutine (when it does)",
    run=_run,
    file_tokens=frozenset({b"Lock()"}),
)
