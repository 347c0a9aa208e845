"""`lock-sites`: the other places in the package that lock the same mutex (the goroutines that block next)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

from tree_sitter import Node

from gleak_sarif.facts.base import Asker, Env, Fact, binds, reads
from gleak_sarif.gopackage.summary import Evidence, norm

MAX_SITES = 10  # related locations per finding: enough to show the victims, not a wall of them


@dataclass(frozen=True, slots=True)
class LockSites:
    lock: str = field(metadata=reads("the lock, e.g. $MU for `c.mu` (bound before)"))
    mode: Literal["write", "read", "any"] = "any"
    sites: str | None = field(default=None, metadata=binds("every other site (one related location each)"))
    # leave out the sites another capture of the finding is bound to already (the lock taken before, the
    # other path's lock): their own related locations show them; no site left: the fact fails
    skip_bound: bool = False


Place = tuple[str, int, int]  # file name, start and end byte: one expression of the package's folder


def _bound_places(asker: Asker, env: Env) -> set[Place]:
    """The expressions the captures bound so far stand for (a package is one folder, so a file's name is
    enough); whole spans, so a lock call's operand (`$MU`) does not stand for the call."""
    places: set[Place] = set()
    for value in env.values():
        item: object = value
        if isinstance(item, Evidence):
            for one in (item, *item.more):
                places.add((os.path.basename(one.site.path), one.site.start, one.site.end))
        elif isinstance(item, Node):
            places.add((os.path.basename(asker.ev.path), item.start_byte, item.end_byte))
    return places


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
    shown = _bound_places(asker, env) if spec.skip_bound else set()
    for index, lock in model.lock_sites(canon, spec.mode):
        if op is not None and lock.site == op.site:
            continue  # the node's own lock (another goroutine running the same code blocks there too,
            # but that is the node itself)
        if (os.path.basename(lock.site.path), lock.site.start, lock.site.end) in shown:
            continue
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
    usage="`lock-sites: {lock: $MU, mode: write\\|read\\|any, sites: NAME, skip-bound: true}`",
    holds="some other place of the package locks the same mutex as `$MU` (its identity: `Type.field` "
          "whatever path reaches it, or the package variable): a `Lock()` (`mode: write`) or `RLock()` (`mode: "
          "read`) call other than the node itself. `$MU` is the lock the node takes, or one held at the node. "
          "`skip-bound: true`: a site another capture is bound to already does not count (a finding "
          "lists it once)",
    binds_doc="`sites` every such call (up to 10; a `related:` entry gives one location per site)",
    run=_run,
    tokens=lambda spec: frozenset({b"Lock()"}),
)
