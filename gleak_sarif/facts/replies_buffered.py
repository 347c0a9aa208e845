"""`replies-buffered`: a receive from a channel of channels whose every sender sends one made with a buffer."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from gleak_sarif.facts.base import Asker, Env, Fact, binds
from gleak_sarif.gopackage.channels import channel_field, field_ref, resolve


@dataclass(frozen=True, slots=True)
class RepliesBuffered:
    sender: str | None = field(default=None, metadata=binds("a send of a buffered channel on the field"))


def _run(asker: Asker, spec: RepliesBuffered, env: Env) -> Iterator[Env]:
    """The node is a receive (bare or a select case) on a channel field of the package whose values are
    channels, and every send on that field in the package (one at least) sends a channel made with a buffer
    right there: `make(chan T, n)` written in the send, or a local the sending function made with one
    (`reply := make(chan T, 1); s.requests <- reply`). The field does not escape and no other package can
    send on it (as for `no-counterpart`), and nothing closes it (a receive would get a nil channel). A reply channel received from it takes its one reply without
    waiting for the requester, which may have given up."""
    model = asker.model
    op = asker.op
    if op is None or op.kind != "recv":
        return
    record = field_ref(model, op)
    if record is None:
        return
    senders = []
    for owner, name in resolve(model, *record):
        found = channel_field(model, owner, name)
        if not found.declared or found.escape is not None or found.outside_feed:
            return
        for use in found.uses:
            if use.kind == "close":
                return  # a closed channel of channels hands out nil: a send on it blocks for ever
            if use.kind != "send":
                continue
            at = model.op_at(use.site.path, use.site.start, use.site.end)
            if at is None or not model.functions[at[0]].ops[at[1]].value_buffered:
                return
            senders.append(use.site)
    if not senders:
        return
    merged = asker.bind(env, spec.sender, asker.evidence(senders[0].text, senders[0]))
    if merged is not None:
        yield merged


FACT = Fact(
    key="replies-buffered",
    spec=RepliesBuffered,
    usage="`replies-buffered: {sender: NAME}` (or `replies-buffered: {}`)",
    holds="the node is a receive on a channel field of channels (made by the package, not escaping, not fed "
          "from outside, as for `no-counterpart`, never closed) and every send on that field in the package (one at least) "
          "sends a channel made with a buffer right there: `make(chan T, n)` in the send, or a local the "
          "sending function made with one (`reply := make(chan T, 1); s.requests <- reply`): a reply channel "
          "received from it takes its reply without waiting for the requester",
    binds_doc="`sender` a send of a buffered channel on the field",
    run=_run,
    tokens=lambda spec: frozenset({b"make(chan"}),
)
