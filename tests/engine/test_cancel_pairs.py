"""Context cancel pairs in the package model: a call of a field holding a context's CancelFunc is the close
of that context's Done channel (gopackage/extract_cancel.py), and `calls-starting` reads it (real Go parsed
by tree-sitter, two files of one package)."""

from __future__ import annotations

import textwrap
from pathlib import Path

from gleak_sarif.gopackage.extract import Queries, summarize
from gleak_sarif.gopackage.model import PackageModel
from gleak_sarif.gosource import parser
from tests.helpers import run_rule

TYPES = """
package pool

import "context"

type Conn struct {
    ctx    context.Context
    cancel context.CancelFunc
}

type Pipe struct {
    halt context.CancelFunc
}

type Slot struct {
    ctx  context.Context
    stop context.CancelFunc
}

type Loose struct {
    cancel context.CancelFunc
}

func (c *Conn) Open() {
    c.ctx, c.cancel = context.WithCancel(context.Background())
}

func (p *Pipe) Open(parent context.Context) {
    ctx, p.halt = context.WithTimeout(parent, 1)
    go p.drain(ctx)
}

func (p *Pipe) drain(ctx context.Context) {
    <-ctx.Done()
}

func NewSlot() *Slot {
    ctx, cancel := context.WithCancel(context.TODO())
    return &Slot{ctx: ctx, stop: cancel}
}

func (l *Loose) Set(cancel context.CancelFunc) {
    l.cancel = cancel
}
"""

CALLS = """
package pool

func (c *Conn) Close() { c.cancel() }

func (p *Pipe) Close() { defer p.halt() }

func (s *Slot) Close() { s.stop() }

func (l *Loose) Close() { l.cancel() }

func shut(c *Conn) { c.Close() }
"""


def _model() -> PackageModel:
    summaries = []
    for name, text in (("types.go", TYPES), ("calls.go", CALLS)):
        source = textwrap.dedent(text).encode()
        root = parser().parse(source).root_node
        summaries.append(summarize(Queries(), name, source, root, "pool", {"context"}))
    return PackageModel(summaries)


def _closes(model: PackageModel, key: tuple[str, str]) -> set[str]:
    (index,) = model.by_key[key]
    return {e.canon for e in model.effects_of(index).values() if e.kind == "close" and e.canon}


def test_cancel_field_call_closes_the_paired_done() -> None:
    model = _model()
    # both halves assigned to fields at once
    assert _closes(model, ("Conn", "Close")) == {"Conn.cancel.Done()", "Conn.ctx.Done()"}
    # a local context paired with a field cancel takes the field's name; a deferred call closes too
    assert _closes(model, ("Pipe", "Close")) == {"Pipe.halt.Done()"}
    # both halves stored through locals in a composite literal
    assert _closes(model, ("Slot", "Close")) == {"Slot.stop.Done()", "Slot.ctx.Done()"}
    # a CancelFunc from a parameter: no known context, no close
    assert _closes(model, ("Loose", "Close")) == set()
    # through a call, in the caller's terms
    (index,) = model.by_key[("", "shut")]
    closes = [e for e in model.effects_of(index).values() if e.kind == "close"]
    assert {e.ref.text for e in closes if e.ref is not None} == {"c.cancel.Done()", "c.ctx.Done()"}


def test_local_context_takes_the_cancel_field_identity() -> None:
    model = _model()
    (drain,) = model.by_key[("Pipe", "drain")]
    (open_,) = model.by_key[("Pipe", "Open")]
    go = next(op for op in model.functions[open_].ops if op.kind == "go")
    assert go.args[0] is not None and go.args[0].canon == "Pipe.halt"
    wait = next(e for e in model.effects_of(drain).values() if e.kind == "recv")
    mapped = model.map_ref(wait.ref, go)
    assert mapped is not None and mapped.canon == "Pipe.halt.Done()"
    assert model.context_parents("Pipe.halt.Done()") == [("p0", ("Pipe", "Open"))]
    assert model.context_parents("Conn.ctx.Done()") == [("bg", ("Conn", "Open"))]
    assert model.context_parents("Conn.other.Done()") == []


STARTS = """
rule:
  pattern: $X.$START($$$)
  model:
    calls-starting: {stoppable: true, unstopped-on: $X, via: GO, stop: STOP}
"""

STARTER = """
package pool

import "context"

type Pipe struct {
    halt context.CancelFunc
}

func (p *Pipe) Open(parent context.Context) {
    var ctx context.Context
    ctx, p.halt = context.WithCancel(parent)
    go p.drain(ctx)
}

func (p *Pipe) drain(ctx context.Context) {
    <-ctx.Done()
}

func (p *Pipe) Close() { p.halt() }

func forever() {
    p := &Pipe{}
    p.Open(context.Background())
}

func closed() {
    p := &Pipe{}
    p.Open(context.Background())
    p.Close()
}

func tied(ctx context.Context) {
    p := &Pipe{}
    p.Open(ctx)
}
"""


def test_calls_starting_stops_by_cancel_field(tmp_path: Path) -> None:
    findings = run_rule(tmp_path, STARTS, STARTER)
    # only `forever`: `closed` calls the stop, `tied` passes a context its caller may cancel
    assert [f.primary.start_line for f in findings] == [23]


FRESH = """
package pool

type Job struct{ quit chan struct{} }

var kept []*Job

func fresh() *Job {
    j := &Job{quit: make(chan struct{})}
    go j.run()
    return j
}

func stored() *Job {
    j := &Job{}
    kept = append(kept, j)
    go j.run()
    return j
}

func handedOn(register func(func())) *Job {
    j := &Job{}
    register(j.Stop)
    go j.run()
    return j
}

func captured(later func(func())) *Job {
    j := new(Job)
    later(func() { j.Stop() })
    go func() { j.run() }()
    return j
}

func notMade(j *Job) *Job {
    go j.run()
    return j
}

func (j *Job) run()  { <-j.quit }
func (j *Job) Stop() { close(j.quit) }
"""


def test_fresh_result() -> None:
    source = textwrap.dedent(FRESH).encode()
    summary = summarize(Queries(), "fresh.go", source, parser().parse(source).root_node, "pool", set())
    fresh = {f.key[1]: f.fresh_result for f in summary.functions if not f.is_literal}
    assert fresh == {"fresh": True, "stored": False, "handedOn": False, "captured": False, "notMade": False,
                     "run": False, "Stop": False}
