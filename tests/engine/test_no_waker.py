"""`model: {no-waker: ...}`: a Wait() on a WaitGroup/Cond field nothing in the package can wake (real Go
parsed by tree-sitter, the package read across files)."""

from __future__ import annotations

from pathlib import Path

from gleak_sarif.config import ScanOptions
from gleak_sarif.engine import Engine
from tests.helpers import RULE_HEADER, lines, write

NO_WAKER = """
rule:
  pattern: $W.Wait()
  model:
    no-waker: {decl: DECL}
related:
  - capture: $DECL
    message: "declared here"
"""

TYPES = """
    package farm

    import "sync"

    type Farm struct {
        inflight sync.WaitGroup
        ready    *sync.Cond
        spare    sync.WaitGroup
        Public   sync.WaitGroup
        shared   *sync.WaitGroup
        lamp     *sync.Cond
    }

    type Other struct {
        inflight sync.WaitGroup
    }

    func NewFarm(wg *sync.WaitGroup) *Farm {
        return &Farm{ready: sync.NewCond(&sync.Mutex{}), shared: wg, lamp: sync.NewCond(&sync.Mutex{})}
    }

    func (o *Other) run(job func()) {
        o.inflight.Add(1)
        go func() {
            defer o.inflight.Done() // another type's field of the same name: not a waker of Farm.inflight
            job()
        }()
    }
"""

WAITS = """
    package farm

    import "time"

    func (f *Farm) Submit(job func()) {
        f.inflight.Add(1)
        f.Public.Add(1)
        f.shared.Add(1)
        go job()
        time.AfterFunc(time.Second, f.lamp.Broadcast)
    }

    func (f *Farm) Settle() {
        f.inflight.Wait() // line 14: nothing marks Farm.inflight done
        f.ready.Wait()    // line 15: nothing signals Farm.ready
        f.spare.Wait()    // never added to: returns at once
        f.Public.Wait()   // exported: others may call Done
        f.shared.Wait()   // handed in by NewFarm's caller
        f.lamp.Wait()     // its Broadcast is handed to a timer
    }
"""


def scan(tmp_path: Path, *extra: tuple[str, str]) -> list[int]:
    rule = write(tmp_path / "rules" / "TST001.yml", RULE_HEADER + NO_WAKER)
    write(tmp_path / "src" / "types.go", TYPES)
    for name, text in extra:
        write(tmp_path / "src" / name, text)
    waits = write(tmp_path / "src" / "waits.go", WAITS)
    engine = Engine(ScanOptions(rules=[str(rule)], builtin_rules=False, jobs=1, use_cache=False))
    findings = engine.scan([str(waits)]).findings
    for finding in findings:
        (related,) = finding.related
        assert related.span.path.endswith("types.go") and related.message == "declared here"
    return lines(findings)


def test_wait_on_a_field_nothing_wakes(tmp_path: Path) -> None:
    assert scan(tmp_path) == [14, 15]


def test_a_waker_in_a_sibling_file(tmp_path: Path) -> None:
    assert scan(tmp_path, ("done.go", """
        package farm

        func (f *Farm) finish() { f.inflight.Done() }
        func (f *Farm) open()   { f.ready.Broadcast() }
    """)) == []


def test_a_field_handed_on_in_a_sibling_file(tmp_path: Path) -> None:
    assert scan(tmp_path, ("hand.go", """
        package farm

        import "sync"

        func track(wg *sync.WaitGroup) {}
        func (f *Farm) lend() *sync.Cond { track(&f.inflight); return f.ready }
    """)) == []


def test_a_waker_through_a_field_of_another_type(tmp_path: Path) -> None:
    """`r.farm.inflight.Done()` names `reader.farm.inflight`: its owner's type is Farm, so it wakes
    Farm.inflight."""
    assert scan(tmp_path, ("reader.go", """
        package farm

        type reader struct{ farm *Farm }

        func (r *reader) close() { r.farm.inflight.Done(); r.farm.ready.Signal() }
    """)) == []
