"""`caller-keeps-locked`: a caller of the function around the node is left holding the lock after the call."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from gleak_sarif.facts.base import Asker, Env, Fact, binds, reads
from gleak_sarif.gopackage.summary import norm


@dataclass(frozen=True, slots=True)
class CallerKeepsLocked:
    lock: str = field(metadata=reads("the lock the function takes, e.g. $MU (bound before)"))
    via: str | None = field(default=None, metadata=binds("the call (or `go` statement) that keeps it locked"))


def _run(asker: Asker, spec: CallerKeepsLocked, env: Env) -> Iterator[Env]:
    """The function around the node takes `$MU`; some call of it in the package (a `go` statement, or a call
    after which the caller never unlocks the lock in its own terms, deferred or not) leaves it locked: the
    function returning with the lock held is not a helper whose callers release it."""
    bound = env.get(spec.lock)
    if bound is None:
        return
    text = norm(asker.ev.text(bound))
    model = asker.model
    if asker.function is None:
        return
    func = model.functions[asker.function]
    ref = next((op.ref for op in func.ops if op.kind == "lock" and op.ref is not None and op.ref.text == text), None)
    if ref is None:
        return
    for caller, position in model.callers(asker.function):
        ops = model.functions[caller].ops
        call = ops[position]
        if call.kind == "call":
            mapped = model.map_ref(ref, call)
            if mapped is None:
                continue  # the lock has no name in the caller: unknown, not counted
            if any(op.kind == "unlock" and op.ref is not None and op.ref.text == mapped.text and
                   (op.deferred or op.site.start > call.site.start) for op in ops):
                continue  # the caller releases it: the lock is handed over on purpose
        owner, name = model.functions[caller].key
        where = "a function literal" if name.startswith("func@") else (f"{owner}.{name}" if owner else name)
        merged = asker.bind(env, spec.via, asker.evidence(f"{where}: {call.site.text}", call.site))
        if merged is not None:
            yield merged
            return


FACT = Fact(
    key="caller-keeps-locked",
    spec=CallerKeepsLocked,
    usage="`caller-keeps-locked: $MU` or `{lock: $MU, via: NAME}`",
    holds="the function around the node locks `$MU`, and a call of it in the package leaves the lock held: a "
          "`go` statement, or a call after which the caller never unlocks it (in the caller's terms, deferred "
          "or not). A function whose callers all release the lock returns holding it on purpose",
    binds_doc="`via` that call",
    run=_run,
    shorthand="lock",
    tokens=lambda spec: frozenset({b"Lock()"}),
)
