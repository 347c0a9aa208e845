"""`held`: a lock is held at the node (the straight-line view of the enclosing function, from the file alone)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

from tree_sitter import Node

from gleak_sarif.facts.base import Asker, Env, Fact, binds, mode_ok
from gleak_sarif.gopackage.summary import Op, Site


@dataclass(frozen=True, slots=True)
class Held:
    lock: str = field(metadata=binds("the locked expression, e.g. $MU for `c.mu`"))
    mode: Literal["write", "read", "any"] = "any"
    at: str | None = field(default=None, metadata=binds("the `Lock()` call"))


def _run(asker: Asker, spec: Held, env: Env) -> Iterator[Env]:
    for lock in asker.held():
        call = asker.own_node(lock.site, "call_expression")
        function = call.child_by_field_name("function") if call is not None else None
        operand = function.child_by_field_name("operand") if function is not None else None
        if call is None or operand is None:
            continue
        bound: Node = operand
        if lock.ref is not None and len(lock.ref.rest) >= 2 and lock.ref.rest[-1] == "L":
            # a sync.Cond's lock (`x.c.L.Lock()`): the package model knows the mutex the Cond was made with
            # (`sync.NewCond(x.mu.RLocker())` is a read lock of x.mu)
            lock = _cond_mutex(asker, lock)
            if lock.ref is not None and lock.ref.rest[-1:] != ("L",):
                site = Site(asker.path, operand.start_point[0] + 1, operand.start_point[1] + 1,
                            operand.start_byte, operand.end_byte, lock.ref.text)
                bound = asker.evidence(lock.ref.text, site)
        if not mode_ok(spec.mode, lock.mode):
            continue
        merged = asker.bind(env, spec.lock, bound)
        if merged is not None:
            merged = asker.bind(merged, spec.at, call)
        if merged is not None:
            yield merged


def _cond_mutex(asker: Asker, lock: Op) -> Op:
    """The package model's view of a held Cond lock (the mutex it stands for), or the lock as it is."""
    _ = asker.model
    if asker.function is None:
        return lock
    found = asker.model.op_at(lock.site.path, lock.site.start, lock.site.end)
    if found is None:
        return lock
    return asker.model.functions[found[0]].ops[found[1]]


def _needs(asker: Asker) -> bool:
    # most calls: no lock is taken in their function at all (and then the package model is not asked)
    return asker.in_locking_function() and asker.local_function is not None


FACT = Fact(
    key="held",
    spec=Held,
    usage="`held: $MU` or `held: {lock: $MU, mode: write\\|read\\|any, at: NAME}`",
    holds="a lock is held at the node (`mode`: taken with `Lock` or `RLock`); a `sync.Cond`'s lock "
          "(`x.c.L.Lock()`) is the mutex the package made the Cond with: `sync.NewCond(&x.mu)` locks `x.mu`, "
          "`sync.NewCond(x.mu.RLocker())` read-locks it",
    binds_doc="`$MU` the locked expression (or compares with it when already bound), `at` the `Lock()` call",
    run=_run,
    file_tokens=frozenset({b"Lock()"}),  # a held lock: this file calls Lock() or RLock()
    shorthand="lock",
    needs=_needs,
)
