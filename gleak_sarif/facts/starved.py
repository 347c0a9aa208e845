"""`starved`: the senders that only the stuck goroutine's loop would have served (downstream of a leak)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from gleak_sarif.facts.base import Asker, Env, Fact, binds
from gleak_sarif.gopackage.starved import starved


@dataclass(frozen=True, slots=True)
class Starved:
    send: str | None = field(default=None, metadata=binds("a send elsewhere that only this loop receives"))
    receive: str | None = field(default=None, metadata=binds("the receive of this function it waits for"))


def _run(asker: Asker, spec: Starved, env: Env) -> Iterator[Env]:
    """The node is an operation the package model records; the same function receives from a channel
    field after it or in the loop around it, nothing else in the package receives from that field and no
    other package can: a bare send on the field elsewhere waits for ever once the buffer is full, when the
    operation blocks for good (gopackage/starved.py)."""
    model = asker.model  # first: it finds the node's function and operation
    if asker.function is None or asker.op is None:
        return
    for receive, send in starved(model, asker.function, asker.position):
        merged = asker.bind(env, spec.send, asker.evidence(send.text, send))
        if merged is not None:
            merged = asker.bind(merged, spec.receive, asker.evidence(receive.text, receive))
        if merged is not None:
            yield merged
            return


FACT = Fact(
    key="starved",
    spec=Starved,
    usage="`starved: {send: NAME, receive: NAME}`",
    holds="the node is an operation of a function that, after it or in the `for` loop around it, receives "
          "from a channel field (a select case or a bare receive) that nothing else in the package receives "
          "from and no other package can (an unexported field, not handed on); a bare send on that field in "
          "another function waits for ever once the buffer is full when the operation blocks for good. Use it "
          "for a related location: `any: [{model: {starved: {send: S}}}, {regex: \"\"}]` as the last item of "
          "`all`",
    binds_doc="`send` the starved send, `receive` the receive of this function that it waits for",
    run=_run,
)
