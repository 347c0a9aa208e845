"""`calls-starting`: the node is a call of a package method that starts a goroutine (itself or further down)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from gleak_sarif.facts.base import Asker, Env, Fact, binds, reads
from gleak_sarif.gopackage.model import PackageModel
from gleak_sarif.gopackage.summary import Site, norm


@dataclass(frozen=True, slots=True)
class CallsStarting:
    # the goroutine waits on a channel of the type that only another method closes
    stoppable: bool = False
    unstopped_on: str | None = field(default=None, metadata=reads("the value the method is called on"))
    via: str | None = field(default=None, metadata=binds("the `go` statement"))
    stop: str | None = field(default=None, metadata=binds("the stopping method's close"))


def _run(asker: Asker, spec: CallsStarting, env: Env) -> Iterator[Env]:
    if not asker.may_call_package(b"go "):
        return
    model = asker.model
    if asker.function is None or asker.op is None or asker.op.kind != "call":
        return
    for target in model.targets_of(asker.function, asker.position):
        starter = model.functions[target]
        for body, trace in model.starts_of(target).items():
            stops: dict[str, Site] = {}
            if spec.stoppable or spec.unstopped_on is not None:
                stops = _stop_methods(model, target, body)
                if not stops:
                    continue
            if spec.unstopped_on is not None:
                receiver = env.get(spec.unstopped_on)
                if receiver is None or _stop_called(asker, norm(asker.ev.text(receiver)), set(stops)):
                    continue
            merged = asker.bind(env, spec.via, asker.evidence(" -> ".join(s.text for s in trace), trace[-1]))
            if merged is not None and stops:
                name = sorted(stops)[0]
                merged = asker.bind(merged, spec.stop, asker.evidence(f"{starter.recv_type}.{name}", stops[name]))
            if merged is not None:
                yield merged
                return


def _stop_methods(model: PackageModel, starter: int, body: int) -> dict[str, Site]:
    """Methods of the starter's type, other than the starter, that close a channel field of the type the
    started goroutine waits on: name -> the close."""
    type_name = model.functions[starter].recv_type
    if not type_name:
        return {}
    prefix = type_name + "."
    waited = {e.canon for e in model.effects_of(body).values()
              if e.kind in ("recv", "range") and e.canon and e.canon.startswith(prefix)}
    if not waited:
        return {}
    out: dict[str, Site] = {}
    for index in model.methods_of(type_name):
        func = model.functions[index]
        if index in (starter, body):
            continue
        for effect in model.effects_of(index).values():
            if effect.kind == "close" and effect.canon in waited:
                out.setdefault(func.key[1], effect.trace[-1])
    return out


def _stop_called(asker: Asker, receiver: str, stops: set[str]) -> bool:
    """Is a stopping method called on ``receiver`` in the top-level declaration around the node?"""
    model = asker.model
    assert asker.function is not None
    outer = model.functions[asker.function]
    for index in model.by_path.get(outer.path, ()):
        func = model.functions[index]
        if not func.is_literal and func.start <= outer.start and outer.end <= func.end:
            outer = func
    for index in model.by_path.get(outer.path, ()):
        func = model.functions[index]
        if not (outer.start <= func.start and func.end <= outer.end):
            continue
        for op in func.ops:
            if op.kind in ("call", "go") and op.callee is not None and op.callee[1] in stops and \
                    op.recv is not None and norm(op.recv.text) == receiver:
                return True
    return False


def _tokens(spec: CallsStarting) -> frozenset[bytes]:
    return frozenset({b"go ", b"close("} if spec.stoppable or spec.unstopped_on else {b"go "})


FACT = Fact(
    key="calls-starting",
    spec=CallsStarting,
    usage="`calls-starting: {stoppable: true, unstopped-on: $X, via: NAME, stop: NAME}`",
    holds="the node is a call of a package method that starts a goroutine (itself or further down); "
          "`stoppable`: the goroutine waits on a channel field of the method's type that another method of the "
          "type closes (directly, through calls, or in a `sync.Once`); `unstopped-on`: and no such method is "
          "called on `$X` in the enclosing top-level function (deferred, in closures or not)",
    binds_doc="`via` the `go` statement, `stop` the closing method's `close`",
    run=_run,
    tokens=_tokens,
)
