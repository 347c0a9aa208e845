"""`passes`: a call or `go` of a package function that operates on the argument it is passed."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

from gleak_sarif.facts.base import Asker, Env, Fact, binds
from gleak_sarif.gopackage.summary import norm


@dataclass(frozen=True, slots=True)
class Passes:
    arg: str = field(metadata=binds("the argument, e.g. $CH"))
    op: Literal["send", "recv", "range", "close", "any"] = "any"
    bare: bool = False  # only sends/receives that are not `select` cases
    via: str | None = field(default=None, metadata=binds("the operation in the callee"))
    # the callee does `op` on the argument at one place, at most once per call: not in a loop, nor through a
    # call made in a loop (e.g. for a fix that gives a channel one buffer slot per goroutine)
    once: bool = False


def _run(asker: Asker, spec: Passes, env: Env) -> Iterator[Env]:
    """The call (or `go` statement) hands an argument to a package function that sends on it, receives
    from it, ranges over it or closes it (through its parameter, itself or further down)."""
    node = asker.node
    call = node
    if node.type == "go_statement":
        call = next((c for c in node.named_children if c.type == "call_expression"), node)
    if call.type != "call_expression":
        return
    function = call.child_by_field_name("function")
    if function is None or (function.type != "func_literal" and not asker.may_call_package(node=call)):
        return
    arguments = call.child_by_field_name("arguments")
    args = [a for a in arguments.named_children if a.type != "comment"] if arguments is not None else []
    bound = env.get(spec.arg)
    wanted = norm(asker.ev.text(bound)) if bound is not None else None
    if not args or (wanted is not None and not any(norm(asker.ev.text(arg)) == wanted for arg in args)):
        return  # cheap first: `go func() { ... }()` passes nothing; the model is built only when needed
    model = asker.model
    if asker.function is None or asker.op is None or asker.op.kind not in ("call", "go"):
        return
    for target in model.targets_of(asker.function, asker.position):
        for position, arg in enumerate(args):
            if wanted is not None and norm(asker.ev.text(arg)) != wanted:
                continue
            effects = [e for e in model.param_ops(target, position) if spec.op == "any" or e.kind == spec.op]
            if spec.once and (len(effects) != 1 or effects[0].looped):
                continue
            for effect in effects:
                if spec.bare and not effect.bare:
                    continue
                merged = asker.bind(env, spec.arg, arg)
                if merged is not None:
                    merged = asker.bind(merged, spec.via, asker.evidence(asker.chain(effect), effect.trace[-1]))
                if merged is not None:
                    yield merged
                    return


FACT = Fact(
    key="passes",
    spec=Passes,
    usage="`passes: {arg: $CH, op: send\\|recv\\|range\\|close\\|any, bare: true, once: true, via: NAME}`",
    holds="the node is a call or a `go` statement of a package function (or a `go func(c chan T){...}(ch)` "
          "literal) that does `op` on the parameter an argument is passed to, itself or further down; `bare`: "
          "only sends/receives that are not `select` cases; `once`: the callee does `op` on it at one place only, "
          "not inside a loop, nor through a call made inside a loop (at most once per call)",
    binds_doc="`$CH` the argument (or compares with it), `via` the operation in the callee",
    run=_run,
)
