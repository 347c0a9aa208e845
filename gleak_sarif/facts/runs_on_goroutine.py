"""`runs-on-goroutine`: the function literal around the node runs on a goroutine of its own.

A literal written as a `go` statement's function does; so does a literal passed to a package function that
runs that parameter on a new goroutine (`func after(f func()) { go func() { defer close(done); f() }() }`,
or `go f()`): the extractor records such parameters (FunctionSummary.spawned_params), and the call is
resolved through the model (methods by receiver type, interfaces, function-valued fields). Nothing that the
literal's caller holds (a lock, a deferred cleanup) holds on that goroutine.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from tree_sitter import Node

from gleak_sarif.facts.base import Asker, Env, Fact, binds


@dataclass(frozen=True, slots=True)
class RunsOnGoroutine:
    go: str | None = field(default=None, metadata=binds("the `go` statement that starts the literal"))


def _literal_around(asker: Asker) -> Node | None:
    model = asker.model
    if asker.function is None or not model.functions[asker.function].is_literal:
        return None
    func = model.functions[asker.function]
    node: Node | None = asker.ev.root.descendant_for_byte_range(func.start, func.end)
    while node is not None and not (node.type == "func_literal" and node.start_byte == func.start):
        node = node.parent
    return node


def _run(asker: Asker, spec: RunsOnGoroutine, env: Env) -> Iterator[Env]:
    literal = _literal_around(asker)
    if literal is None or literal.parent is None:
        return
    parent = literal.parent
    if parent.type == "call_expression" and parent.parent is not None and parent.parent.type == "go_statement":
        merged = asker.bind(env, spec.go, parent.parent)
        if merged is not None:
            yield merged
        return
    call = parent.parent
    if parent.type != "argument_list" or call is None or call.type != "call_expression":
        return
    position = [arg.id for arg in parent.named_children if arg.type != "comment"].index(literal.id)
    model = asker.model
    found = model.op_at(asker.path, call.start_byte, call.end_byte)
    if found is None:
        return
    for target in model.targets_of(*found):
        for param, site in model.functions[target].spawned_params:
            if param == position:
                merged = asker.bind(env, spec.go, asker.evidence(site.text, site))
                if merged is not None:
                    yield merged
                    return


FACT = Fact(
    key="runs-on-goroutine",
    spec=RunsOnGoroutine,
    usage="`runs-on-goroutine: {go: NAME}` (or `runs-on-goroutine: {}`)",
    holds="the function literal around the node runs on a goroutine of its own: it is a `go` statement's "
          "function, or an argument of a call of a package function that runs that parameter on a new "
          "goroutine (`go f()`, or `f()` inside a `go func() {...}()` of that function)",
    binds_doc="`go` the `go` statement that starts it",
    run=_run,
    file_tokens=frozenset({b"func("}),
    tokens=lambda spec: frozenset({b"go "}),
)
