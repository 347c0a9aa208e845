"""`lock-sites`: the other places in the package that lock the same mutex (the goroutines that block next)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

from gleak_sarif.facts.base import Asker, Env, Fact, binds, reads
from gleak_sarif.gopackage.summary import norm

MAX_SITES = 10  # related locations per finding: enough to show the victims, not a wall of them


@dataclass(frozen=True, slots=True)
class LockSites:
    lock: str = field(metadata=reads("the lock, e.g. $MU for `c.mu` (bound before)"))
    mode: Literal["write", "read", "any"] = "any"
    sites: str | None = field(default=None, metadata=binds("every other site (one related location each)"))


def _run(asker: Asker, spec: LockSites, env: Env) -> Iterator[Env]:
    bound = env.get(spec.lock)
    if bound is None:
        return
    text = norm(asker.ev.text(bound))
    model = asker.model
    op = asker.op
    canon: str | None = None
    if op is not None and op.kind == "lock" and op.ref is not None and op.ref.text == text:
        canon = op.ref.canon  # the node is a Lock() of it
    else:
        canon = asker.canon_of_held(text)  # the node runs while it is held
    if canon is None or asker.function is None:
        return
    found = []
    for index, lock in model.lock_sites(canon, spec.mode):
        if op is not None and lock.site == op.site:
            continue  # the node's own lock (another goroutine running the same code blocks there too,
            # but that is the node itself)
        found.append(asker.evidence(f"{asker.function_name(index)}: {lock.site.text}", lock.site))
        if len(found) == MAX_SITES:
            break
    if not found:
        return
    first, *more = found
    merged = asker.bind(env, spec.sites, asker.with_more(first, more))
    if merged is not None:
        yield merged


FACT = Fact(
    key="lock-sites",
    spec=LockSites,
    usage="`lock-sites: {lock: $MU, mode: write\\|read\\|any, sites: NAME}`",
    holds="some other place of the package locks the same mutex as `$MU` (its identity: `Type.field` "
          "whatever path reaches it, or the package variable): a `Lock()` (`mode: write`) or `RLock()` (`mode: "
          "read`) call other than the node itself. `$MU` is the lock the node takes, or one held at the node",
    binds_doc="`sites` every such call (up to 10; a `related:` entry gives one location per site)",
    run=_run,
    tokens=lambda spec: frozenset({b"Lock()"}),
)
