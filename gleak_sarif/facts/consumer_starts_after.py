"""`consumer-starts-after`: a send on a channel field whose only receivers are goroutines that the sending
function starts after the send.

Until the function reaches its `go` statement (or the call that runs a function literal on a goroutine of its
own, see runs_on_goroutine.py), nobody can receive: an unbuffered send blocks for ever, and so does a send into
a buffer that another send may already have filled. The receivers are found over the package (channels.py:
every receive, `range` and `select` case on the field, also through accessors and locals standing for it).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from gleak_sarif.facts.base import Asker, Env, Fact, binds
from gleak_sarif.gopackage.channels import ChannelField, channel_field, field_ref, resolve
from gleak_sarif.gopackage.model import PackageModel
from gleak_sarif.gopackage.summary import Site


@dataclass(frozen=True, slots=True)
class ConsumerStartsAfter:
    consumer: str | None = field(default=None, metadata=binds("where the receiving goroutine is started"))


def _start_site(model: PackageModel, outer: int, after: int, literal: int) -> Site | None:
    """The `go` statement or spawning call of function ``outer`` (at a position after ``after``) that runs
    function literal ``literal`` on a new goroutine; None when none does."""
    func = model.functions[literal]
    ops = model.functions[outer].ops
    for position in range(after + 1, len(ops)):
        op = ops[position]
        if op.kind == "go" and op.literal == func.key:
            return op.site
        if op.kind == "call" and func.argument is not None and op.site.start == func.argument[0]:
            for target in model.targets_of(outer, position):
                if any(param == func.argument[1] for param, _ in model.functions[target].spawned_params):
                    return op.site
    return None


def _fits(found: ChannelField, node_site: Site, consumers: set[int]) -> bool:
    """May the send find room in the buffer? Unbuffered: no. Buffered: yes unless every make gives a
    constant size and another send outside the consumers may have filled it first (trusted, not counted)."""
    if not any(size for _, size in found.makes):
        return False
    if any(size != "const" for _, size in found.makes):
        return True
    return not any(use.kind == "send" and use.site != node_site and use.function not in consumers
                   for use in found.uses)


def _run(asker: Asker, spec: ConsumerStartsAfter, env: Env) -> Iterator[Env]:
    model = asker.model
    op = asker.op
    if op is None or op.kind != "send" or not op.bare or asker.function is None:
        return
    record = field_ref(model, op)
    if record is None:
        return
    fields = [channel_field(model, owner, name) for owner, name in resolve(model, *record)]
    if len(fields) != 1:
        return
    found = fields[0]
    if not found.declared or not found.makes or found.escape is not None or found.outside_recv:
        return
    receives = [use for use in found.uses if use.kind in ("recv", "range")]
    if not receives:
        return  # nobody at all: no-counterpart's question
    starts: list[Site] = []
    consumers: set[int] = set()
    for use in receives:
        func = model.functions[use.function]
        if not func.is_literal:
            return
        site = _start_site(model, asker.function, asker.position, use.function)
        if site is None:
            return
        starts.append(site)
        consumers.add(use.function)
    if _fits(found, op.site, consumers):
        return
    merged = asker.bind(env, spec.consumer, asker.evidence(starts[0].text, starts[0]))
    if merged is not None:
        yield merged


FACT = Fact(
    key="consumer-starts-after",
    spec=ConsumerStartsAfter,
    usage="`consumer-starts-after: {consumer: NAME}` (or `consumer-starts-after: {}`)",
    holds="the node is a bare send on a channel field (made by the package, not escaping, not receivable from "
          "outside, as for `no-counterpart`) and every receive of it in the package (bare, `range` or a "
          "`select` case) is in a function literal that the sending function starts on a new goroutine after "
          "the send (a `go` statement, or a call that runs the literal on a goroutine: `runs-on-goroutine`); "
          "and the send cannot count on a buffer: the channel is unbuffered, or every make gives a constant "
          "size and another send on it outside those goroutines may fill it first",
    binds_doc="`consumer` where the receiving goroutine is started",
    run=_run,
    tokens=lambda spec: frozenset({b"go "}),
)
