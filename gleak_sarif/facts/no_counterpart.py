"""`no-counterpart`: a send or receive on a channel field whose other end the package never does."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from gleak_sarif.facts.base import Asker, Env, Fact, binds, reads
from gleak_sarif.gopackage.channels import ChannelField, channel_field, field_ref, resolve
from gleak_sarif.gopackage.summary import norm

# the operations that let each one go on
COUNTERPARTS = {"send": ("recv", "range"), "recv": ("send", "close"), "range": ("send", "close")}


@dataclass(frozen=True, slots=True)
class NoCounterpart:
    chan: str | None = field(default=None, metadata=reads("the channel expression, e.g. $CH (bound before)"))
    made: str | None = field(default=None, metadata=binds("where the package makes the channel"))


def _fields(asker: Asker) -> list[ChannelField]:
    """The channel fields the operation at the node may be on ([] when it is not on a field)."""
    model = asker.model
    op = asker.op
    if op is None or op.kind not in COUNTERPARTS:
        return []
    record = field_ref(model, op)
    if record is None:
        return []
    return [channel_field(model, owner, name) for owner, name in resolve(model, *record)]


def _unmatched(found: ChannelField, kind: str) -> bool:
    if not found.declared or not found.makes or found.escape is not None or found.has(*COUNTERPARTS[kind]):
        return False
    if kind == "send":
        return not found.outside_recv and not found.trusted_buffer()
    return not found.outside_feed


def _run(asker: Asker, spec: NoCounterpart, env: Env) -> Iterator[Env]:
    """The node is a send, receive or `range` on a channel field (directly, through an accessor or a local
    standing for it) that a struct of the package declares, the package makes, and that does not escape;
    and nothing in the package does the other end: no receive or `range` for a send, no send or `close` for
    a receive. A send is not reported when every make gives a constant buffer and no send is in a loop."""
    if spec.chan is not None:
        bound = env.get(spec.chan)
        if bound is None:
            return
    found = _fields(asker)
    op = asker.op
    if not found or op is None:
        return
    if spec.chan is not None and op.ref is not None and norm(asker.ev.text(env[spec.chan])) != op.ref.text:
        return
    if not all(_unmatched(item, op.kind) for item in found):
        return
    merged = asker.bind(env, spec.made, asker.evidence(found[0].makes[0][0].text, found[0].makes[0][0]))
    if merged is not None:
        yield merged


FACT = Fact(
    key="no-counterpart",
    spec=NoCounterpart,
    usage="`no-counterpart: {chan: $CH, made: NAME}` (or `no-counterpart: {}`)",
    holds="the node is a send, receive or `range` on a channel field (also through an accessor `x.Events()` "
          "returning it, or a local standing for it: `c := s.events`, `s.events = c`) that a struct of the "
          "package declares and the package makes, and nothing in the package does the other end (a receive "
          "or `range` for a send; a send or `close` for a receive); the field must not escape (handed to a "
          "call, returned other than by an accessor, stored elsewhere, set from anything but `make`/`nil`), "
          "nor be exported or handed out by an exported accessor outside package main (a `<-chan` accessor "
          "lets others receive only); a send with a constant buffer at every make and no send in a loop is "
          "trusted to fit",
    binds_doc="`made` the `make` of the channel",
    run=_run,
    tokens=lambda spec: frozenset({b"make(chan"}),
)
