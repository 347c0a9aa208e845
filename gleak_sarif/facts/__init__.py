"""`model:` in the rule language: the facts a rule can ask the package model (gleak_sarif/gopackage/) at one
node. Each fact is one module of this package (see base.py for what it holds); FACTS lists them in the
order they run: `held` binds what the others compare with.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from gleak_sarif.facts import (
    buffered,
    caller_keeps_locked,
    calls_blocking,
    calls_locking,
    calls_starting,
    cond_wait,
    consumer_starts_after,
    drops,
    held,
    lock_order,
    lock_partner,
    lock_sites,
    no_counterpart,
    no_waker,
    param_alias,
    passes,
    receiver_dropped,
    receivers_exit,
    replies_buffered,
    runs_on_goroutine,
    starved,
    type_of,
    waiters,
)
from gleak_sarif.facts.base import Asker, Env, Fact

FACTS: tuple[Fact[Any], ...] = (held.FACT, lock_partner.FACT, calls_locking.FACT, calls_blocking.FACT,
                                cond_wait.FACT, calls_starting.FACT, lock_order.FACT, passes.FACT, buffered.FACT,
                                no_waker.FACT, no_counterpart.FACT, consumer_starts_after.FACT, receivers_exit.FACT,
                                waiters.FACT, drops.FACT, lock_sites.FACT, caller_keeps_locked.FACT,
                                runs_on_goroutine.FACT, receiver_dropped.FACT, starved.FACT,
                                param_alias.FACT, replies_buffered.FACT, type_of.FACT)
BY_KEY: dict[str, Fact[Any]] = {fact.key: fact for fact in FACTS}

# A compiled `model:` query: (fact key, its options) in FACTS order.
ModelQuery = tuple[tuple[str, Any], ...]


def evaluate(query: ModelQuery, asker: Asker, env: Env) -> Iterator[Env]:
    """The environments in which every fact of ``query`` holds at the asker's node."""
    facts = [(BY_KEY[key], spec) for key, spec in query]
    if not all(fact.needs is None or fact.needs(asker) for fact, _ in facts):
        return
    envs = [env]
    for fact, spec in facts:
        envs = [out for e in envs for out in fact.run(asker, spec, e)]
    yield from envs


def metavariables(query: ModelQuery) -> tuple[set[str], set[str]]:
    """(metavariables ``query`` compares with, metavariables it binds)."""
    reads: set[str] = set()
    binds: set[str] = set()
    for key, spec in query:
        fact_reads, fact_binds = BY_KEY[key].metavariables(spec)
        reads |= fact_reads
        binds |= fact_binds
    return reads, binds


def file_tokens(query: ModelQuery) -> set[bytes]:
    """Byte strings the asking file holds whenever ``query`` holds."""
    return {token for key, _ in query for token in BY_KEY[key].file_tokens}


def package_tokens(query: ModelQuery) -> list[frozenset[bytes]]:
    """Byte strings some file of the package must hold for ``query`` to hold (one set per fact)."""
    out = []
    for key, spec in query:
        tokens = BY_KEY[key].tokens
        if tokens is not None:
            out.append(tokens(spec))
    return out


def markdown_table() -> str:
    """The facts table of docs/rule-language.md ("The package model")."""
    lines = ["| key | holds when | binds |", "|---|---|---|"]
    lines.extend(f"| {fact.usage} | {fact.holds} | {fact.binds_doc} |" for fact in FACTS)
    return "\n".join(lines) + "\n"
