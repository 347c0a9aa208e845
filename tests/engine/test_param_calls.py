"""Calls of a function-valued parameter (`process(x)`) run what the callers pass there (Op.funcs): literals,
package functions, method values, function-valued fields, through a conversion to a func type."""

from __future__ import annotations

import textwrap

from gleak_sarif.gopackage.extract import Queries, summarize
from gleak_sarif.gopackage.model import PackageModel
from gleak_sarif.gosource import parser

SOURCE = textwrap.dedent("""
    package cb

    import "sync"

    type Visit func(int)

    type Config struct {
        onItem func(int)
    }

    type Walker struct {
        mu  sync.Mutex
        cfg Config
    }

    func (w *Walker) Each(visit func(int)) {
        w.mu.Lock()
        defer w.mu.Unlock()
        visit(1)
    }

    func (w *Walker) count(n int) {}

    func record(n int) {}

    func drive(w *Walker) {
        w.Each(func(n int) { record(n) })
        w.Each(record)
        w.Each(w.count)
        w.Each(Visit(w.cfg.onItem))
    }

    func setup(w *Walker) {
        w.cfg = Config{onItem: func(n int) {}}
    }

    func unrelated(visit func(int)) {
        visit(2)
    }
""").encode()


def _model() -> PackageModel:
    root = parser().parse(SOURCE).root_node
    return PackageModel([summarize(Queries(), "cb.go", SOURCE, root, "cb", {"sync"})])


def test_a_parameter_call_runs_every_function_value_the_callers_pass() -> None:
    model = _model()
    each = next(i for i, f in enumerate(model.functions) if f.key == ("Walker", "Each"))
    position = next(p for p, op in enumerate(model.functions[each].ops) if op.callee == ("@param", "0"))
    names = {model.functions[t].key[1] if not model.functions[t].is_literal else "literal"
             for t in model.targets_of(each, position)}
    # the literal passed inline, the package function, the method value, and what the field converted to
    # Visit holds (a literal assigned in setup)
    assert names == {"literal", "record", "count"}
    literals = [t for t in model.targets_of(each, position) if model.functions[t].is_literal]
    assert len(literals) == 2
    assert (each, position) in model.value_calls  # the receiver of the call is not the callee's


def test_a_parameter_nobody_passes_a_function_value_for_runs_nothing() -> None:
    model = _model()
    unrelated = next(i for i, f in enumerate(model.functions) if f.key == ("", "unrelated"))
    position = next(p for p, op in enumerate(model.functions[unrelated].ops) if op.callee == ("@param", "0"))
    assert model.targets_of(unrelated, position) == []
