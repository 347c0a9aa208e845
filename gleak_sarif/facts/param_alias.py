"""`param-alias`: a local set from a function literal's parameter is the argument the callee hands it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from gleak_sarif.facts.base import Asker, Env, Fact, binds, reads
from gleak_sarif.gopackage.aliases import param_aliases


@dataclass(frozen=True, slots=True)
class ParamAlias:
    of: str = field(metadata=reads("the local, e.g. $A (bound before)"))
    arg: str | None = field(default=None, metadata=binds("the argument the local stands for"))
    via: str | None = field(default=None, metadata=binds("the call that hands it to the literal"))


def _run(asker: Asker, spec: ParamAlias, env: Env) -> Iterator[Env]:
    """``$A`` is a local (by name, in the function around the node) that a function literal sets from its
    own parameter (`seen = done`); the literal is an argument of a call of a package function that calls
    that parameter with one of its own parameters (`wait(done)`): the local is the argument the call passes
    for it (gopackage/aliases.py)."""
    bound = env.get(spec.of)
    if bound is None or bound.type != "identifier":
        return
    model = asker.model
    if asker.function is None:
        return
    for outer, position, argument in param_aliases(model, asker.function, asker.ev.text(bound)):
        site = model.functions[outer].ops[position].site
        if site.path != model.functions[asker.function].path:
            continue
        call = asker.own_node(site, "call_expression")
        arguments = call.child_by_field_name("arguments") if call is not None else None
        args = [a for a in arguments.named_children if a.type != "comment"] if arguments is not None else []
        if call is None or argument >= len(args):
            continue
        merged = asker.bind(env, spec.arg, args[argument])
        if merged is not None:
            merged = asker.bind(merged, spec.via, call)
        if merged is not None:
            yield merged


FACT = Fact(
    key="param-alias",
    spec=ParamAlias,
    usage="`param-alias: {of: $A, arg: NAME, via: NAME}`",
    holds="`$A` is a local that a function literal sets from its own parameter (`seen = done`), and the literal "
          "is an argument of a call of a package function that calls that parameter with one of its own "
          "parameters (`wait(done)`): `$A` is the argument the call passes there (in the same top-level "
          "function, by name)",
    binds_doc="`arg` that argument, `via` the call",
    run=_run,
)
