"""`receivers-exit`: a send whose every receiver is a select loop that can stop receiving for good."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from gleak_sarif.facts.base import Asker, Env, Fact, binds
from gleak_sarif.gopackage.channels import ChannelField, Use, channel_field, field_ref, resolve
from gleak_sarif.gopackage.effect import Effect
from gleak_sarif.gopackage.model import PackageModel
from gleak_sarif.gopackage.summary import Site


@dataclass(frozen=True, slots=True)
class ReceiversExit:
    receiver: str | None = field(default=None, metadata=binds("a receive of the channel (a select case)"))
    exit: str | None = field(default=None, metadata=binds("the case of that select that leaves the loop"))


def _exits(model: PackageModel, found: ChannelField, owner: str | None) -> list[Use] | None:
    """The receives of ``found`` when each is a `select` case in a loop, with another case that leaves it
    on a stop signal that can come; None when some receive is not, or there is none."""
    if not found.declared or not found.makes or found.escape is not None or found.outside_recv:
        return None
    if any(size != "" for _, size in found.makes):
        return None  # a buffer takes some sends after the receiver left: not reported (not proven either way)
    receives = [use for use in found.uses if use.kind in ("recv", "range")]
    if not receives or any(use.bare or not use.looped or use.exit is None or _dead(model, use.exit)
                           for use in receives):
        return None
    if any(_drained_on_return(model, use.function, owner, found.name) for use in receives):
        return None
    return receives


def _drained_on_return(model: PackageModel, index: int, owner: str | None, name: str) -> bool:
    """Does a deferred function of function ``index`` receive from the channel field (itself or through
    same-package calls: `defer func() { c.drainRead() }()`, `defer c.drain()`)? Leaving the loop then
    hands the channel over to that drain: the receiver has not stopped receiving."""
    func = model.functions[index]
    effects: list[Effect] = []
    for position, op in enumerate(func.ops):
        if op.deferred and op.kind == "call":
            for target in model.targets_of(index, position):
                effects.extend(model.effects_of(target).values())
    for other in list(model.by_path.get(func.path, ())):
        literal = model.functions[other]
        if literal.is_literal and literal.deferred and func.start < literal.start and literal.end <= func.end \
                and _parent(model, other) == index:
            effects.extend(model.effects_of(other).values())
    for effect in effects:
        if effect.kind not in ("recv", "range") or not effect.trace:
            continue
        site = effect.trace[-1]
        found = model.op_at(site.path, site.start, site.end)
        if found is None:
            continue
        record = field_ref(model, model.functions[found[0]].ops[found[1]])
        if record is not None and any(field_name == name and (owner is None or field_owner in (None, owner))
                                      for field_owner, field_name in resolve(model, *record)):
            return True
    return False


def _parent(model: PackageModel, index: int) -> int | None:
    """The innermost function around function literal ``index`` (its own span excluded)."""
    func = model.functions[index]
    best: int | None = None
    for other in model.by_path.get(func.path, ()):
        candidate = model.functions[other]
        if other != index and candidate.start <= func.start and func.end <= candidate.end and \
                (best is None or model.functions[best].start <= candidate.start):
            best = other
    return best


def _dead(model: PackageModel, exit: Site) -> bool:
    """Is the stop case a receive on a channel field nothing sends on or closes (it never fires)?"""
    found = model.op_at(exit.path, exit.start, exit.end)
    if found is None:
        return False
    op = model.functions[found[0]].ops[found[1]]
    record = field_ref(model, op)
    if record is None:
        return False  # `ctx.Done()`, a parameter: it can come
    fields = resolve(model, *record)
    for owner, name in fields:
        stop = channel_field(model, owner, name)
        if not stop.declared or stop.escape is not None or stop.outside_feed or stop.has("send", "close") or \
                not stop.makes:
            return False
    return bool(fields)  # `ctx.Done()`: no field of the package, it can come


def _run(asker: Asker, spec: ReceiversExit, env: Env) -> Iterator[Env]:
    """The node is a bare send on a channel field that the package makes without a buffer and that does not
    escape (see `no-counterpart`), and every receive of it is a case of a `select` without `default`, inside
    a loop, whose other case is a stop signal that returns (or breaks out to a label no outer loop brings back
    to the select): `case <-s.quit:`,
    `case <-ctx.Done():`, not a timer, nor a message case, nor a stop channel nothing closes. Once that case
    is taken, nothing receives again and the send blocks forever."""
    model = asker.model
    op = asker.op
    if op is None or op.kind != "send" or not op.bare:
        return
    record = field_ref(model, op)
    if record is None:
        return
    receives: list[Use] = []
    for owner, name in resolve(model, *record):
        found = _exits(model, channel_field(model, owner, name), owner)
        if found is None:
            return
        receives.extend(found)
    if not receives:
        return
    first = receives[0]
    assert first.exit is not None
    merged = asker.bind(env, spec.receiver, asker.evidence(first.site.text, first.site))
    if merged is not None:
        merged = asker.bind(merged, spec.exit, asker.evidence(first.exit.text, first.exit))
    if merged is not None:
        yield merged


FACT = Fact(
    key="receivers-exit",
    spec=ReceiversExit,
    usage="`receivers-exit: {receiver: NAME, exit: NAME}` (or `receivers-exit: {}`)",
    holds="the node is a bare send on a channel field the package makes without a buffer and that does not "
          "escape (as for `no-counterpart`), and every receive of it in the package is a case of a `select` "
          "without `default`, inside a loop, with another case that returns or breaks out to a label (of a loop no "
          "other loop of the function encloses) on a stop "
          "signal: a receive that takes no value (`case <-s.quit:`, `case <-ctx.Done():`), not a timer, on a "
          "channel something closes or sends on; after that case nothing receives again (a deferred function of "
          "the receiving function that receives from the channel, itself or through calls, is a drain that "
          "keeps receiving: not reported)",
    binds_doc="`receiver` a receive of the channel, `exit` the case that leaves the loop",
    run=_run,
    tokens=lambda spec: frozenset({b"make(chan", b"select"}),
)
