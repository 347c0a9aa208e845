"""`drops`: a call hands a channel to a package function that never uses it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from gleak_sarif.facts.base import Asker, Env, Fact, reads
from gleak_sarif.gopackage.summary import norm


@dataclass(frozen=True, slots=True)
class Drops:
    arg: str = field(metadata=reads("the argument, e.g. $CH (bound before)"))


def _run(asker: Asker, spec: Drops, env: Env) -> Iterator[Env]:
    """The node is a call (or `go` statement) of package functions, each of which has a channel parameter
    at the position ``$CH`` is passed to and never mentions it in its body (or leaves it unnamed): the
    channel goes nowhere through this call, so the call cannot send on it or close it."""
    bound = env.get(spec.arg)
    node = asker.node
    call = next((c for c in node.named_children if c.type == "call_expression"), node) \
        if node.type == "go_statement" else node
    if bound is None or call.type != "call_expression" or not asker.may_call_package(node=call):
        return
    arguments = call.child_by_field_name("arguments")
    args = [a for a in arguments.named_children if a.type != "comment"] if arguments is not None else []
    wanted = norm(asker.ev.text(bound))
    positions = [i for i, a in enumerate(args) if norm(asker.ev.text(a)) == wanted]
    if not positions:
        return
    model = asker.model
    # the operation is the call, or the `go` statement around it
    statement = call.parent if call.parent is not None and call.parent.type == "go_statement" else call
    found = model.op_at(asker.path, statement.start_byte, statement.end_byte)
    if found is None or model.functions[found[0]].ops[found[1]].kind not in ("call", "go"):
        return
    targets = model.targets_of(*found)
    if targets and all(position in model.functions[t].unused_params for t in targets for position in positions):
        yield env


FACT = Fact(
    key="drops",
    spec=Drops,
    usage="`drops: {arg: $CH}` (or `drops: $CH`)",
    holds="the node is a call or `go` statement of package functions (every function the call may run) whose "
          "channel parameter at `$CH`'s position is never mentioned in the body, or is unnamed: the call "
          "cannot send on the channel or close it",
    binds_doc="(compares with `$CH`, bound before)",
    run=_run,
    shorthand="arg",
)
