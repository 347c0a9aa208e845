"""`buffered`: the send or receive at the node is on a channel the package makes with a buffer somewhere."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from gleak_sarif.facts.base import Asker, Env, Fact, reads
from gleak_sarif.gopackage.summary import norm


@dataclass(frozen=True, slots=True)
class Buffered:
    chan: str = field(metadata=reads("the channel expression, e.g. $CH (bound before)"))


def _run(asker: Asker, spec: Buffered, env: Env) -> Iterator[Env]:
    """The send or receive at this node is on the bound channel, and the package makes that channel (by
    its identity: a field of a type, a package variable) with a buffer somewhere: in a constructor of
    another file (`&T{result: make(chan R, 1)}`), an assignment `x.f = make(chan R, n)`, a local made with a
    buffer and stored in the field (`c := make(chan R, 1); x.f = c`), ..."""
    bound = env.get(spec.chan)
    if bound is None:
        return
    model = asker.model
    op = asker.op
    if op is None or op.kind not in ("send", "recv") or op.ref is None or op.ref.canon is None:
        return
    if op.ref.text == norm(asker.ev.text(bound)) and model.is_buffered(op.ref.canon):
        yield env


FACT = Fact(
    key="buffered",
    spec=Buffered,
    usage="`buffered: $CH` (or `{chan: $CH}`)",
    holds="the node is a send or receive on `$CH` and the package makes that channel (a field of a type, a "
          "package variable) with a buffer somewhere: a constructor in another file (`&T{result: make(chan R, "
          "1)}`), `x.f = make(chan R, n)`, or a local made with a buffer in the function that stores it (`c := make(chan "
          "R, 1); x.f = c`: a reply channel a setter installs); the files that make a channel and name the field "
          "are read for it",
    binds_doc="(compares with `$CH`, bound before)",
    run=_run,
    shorthand="chan",
)
