"""`held`: a lock is held at the node (the straight-line view of the enclosing function, from the file alone)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

from gleak_sarif.facts.base import Asker, Env, Fact, binds, mode_ok


@dataclass(frozen=True, slots=True)
class Held:
    lock: str = field(metadata=binds("the locked expression, e.g. $MU for `c.mu`"))
    mode: Literal["write", "read", "any"] = "any"
    at: str | None = field(default=None, metadata=binds("the `Lock()` call"))


def _run(asker: Asker, spec: Held, env: Env) -> Iterator[Env]:
    for lock in asker.held():
        if not mode_ok(spec.mode, lock.mode):
            continue
        call = asker.own_node(lock.site, "call_expression")
        function = call.child_by_field_name("function") if call is not None else None
        operand = function.child_by_field_name("operand") if function is not None else None
        if call is None or operand is None:
            continue
        merged = asker.bind(env, spec.lock, operand)
        if merged is not None:
            merged = asker.bind(merged, spec.at, call)
        if merged is not None:
            yield merged


def _needs(asker: Asker) -> bool:
    # most calls: no lock is taken in their function at all (and then the package model is not asked)
    return asker.in_locking_function() and asker.local_function is not None


FACT = Fact(
    key="held",
    spec=Held,
    usage="`held: $MU` or `held: {lock: $MU, mode: write\\|read\\|any, at: NAME}`",
    holds="a lock is held at the node (`mode`: taken with `Lock` or `RLock`)",
    binds_doc="`$MU` the locked expression (or compares with it when already bound), `at` the `Lock()` call",
    run=_run,
    file_tokens=frozenset({b"Lock()"}),  # a held lock: this file calls Lock() or RLock()
    shorthand="lock",
    needs=_needs,
)
