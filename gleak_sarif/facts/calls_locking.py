"""`calls-locking`: the node is a call of a package function that takes a lock (in the caller's terms)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

from gleak_sarif.facts.base import Asker, Env, Fact, binds, mode_ok, reads
from gleak_sarif.gopackage.summary import norm


@dataclass(frozen=True, slots=True)
class CallsLocking:
    lock: str = field(metadata=reads("the lock, in the caller's terms"))
    mode: Literal["write", "read", "any"] = "any"
    via: str | None = field(default=None, metadata=binds("the path to the lock (a location in the callee's file)"))


def _run(asker: Asker, spec: CallsLocking, env: Env) -> Iterator[Env]:
    lock = env.get(spec.lock)
    if lock is None:
        return
    wanted = norm(asker.ev.text(lock))
    for _, effect, text in asker.callee_effects(b"Lock()"):
        if effect.kind == "lock" and text is not None and norm(text) == wanted and mode_ok(spec.mode, effect.mode):
            merged = asker.bind(env, spec.via, asker.evidence(asker.chain(effect), effect.trace[-1]))
            if merged is not None:
                yield merged
                return


FACT = Fact(
    key="calls-locking",
    spec=CallsLocking,
    usage="`calls-locking: $MU` or `{lock: $MU, mode: ..., via: NAME}`",
    holds="the node is a call of a package function that takes `$MU` (in the caller's terms), itself or further "
          "down; a callee that first unlocks and then locks again (\"called with the lock held\") does not count",
    binds_doc="`via`: the lock in the callee, with the call chain as text",
    run=_run,
    shorthand="lock",
    tokens=lambda spec: frozenset({b"Lock()"}),
)
