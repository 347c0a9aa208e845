"""`model: {cond-wait: ...}` and `model: {runs-on-goroutine: ...}`: a sync.Cond's Wait under another lock or
without its lock, and function literals that run on a goroutine of their own (real Go parsed by
tree-sitter, the package read across files)."""

from __future__ import annotations

from pathlib import Path

from gleak_sarif.config import ScanOptions
from gleak_sarif.engine import Engine
from tests.helpers import RULE_HEADER, lines, run_rule, write

QUEUE = """
    package work

    import "sync"

    type Queue struct {
        cond  *sync.Cond
        items []int
    }

    type Puller interface {
        Pull() int
        Push(v int)
    }

    // Pull sleeps once, checking nothing: its wake-up can be lost
    func (q *Queue) Pull() int {
        q.cond.L.Lock()
        defer q.cond.L.Unlock()
        q.cond.Wait()
        return q.items[0]
    }

    // PullReady re-checks its condition in a loop
    func (q *Queue) PullReady() int {
        q.cond.L.Lock()
        defer q.cond.L.Unlock()
        for len(q.items) == 0 {
            q.cond.Wait()
        }
        return q.items[0]
    }

    // pullLocked is called with q.cond.L held
    func (q *Queue) pullLocked() int {
        q.cond.Wait()
        return q.items[0]
    }

    func (q *Queue) Push(v int) {
        q.cond.L.Lock()
        q.items = append(q.items, v)
        q.cond.L.Unlock()
        q.cond.Signal()
    }
"""

CALLERS = """
    package work

    import "sync"

    type Worker struct {
        mu   sync.Mutex
        q    *Queue
        in   Puller
        wg   sync.WaitGroup
        seen int
    }

    func (w *Worker) direct() {
        w.mu.Lock()
        defer w.mu.Unlock()
        w.seen += w.q.Pull() // line 16: Pull's Wait sleeps holding w.mu
    }

    func (w *Worker) viaInterface() {
        w.mu.Lock()
        defer w.mu.Unlock()
        w.seen += w.in.Pull() // line 22: through the interface, to Queue.Pull
    }

    func (w *Worker) looped() {
        w.mu.Lock()
        defer w.mu.Unlock()
        w.seen += w.q.PullReady() // a loop re-checks: not bare
    }

    func (w *Worker) unlocked() {
        w.seen += w.q.Pull() // no lock held here
    }

    func (w *Worker) released() {
        w.mu.Lock()
        w.seen++
        w.mu.Unlock()
        w.seen += w.q.Pull() // released before the call
    }

    func (w *Worker) group() {
        w.mu.Lock()
        defer w.mu.Unlock()
        w.wg.Wait() // a WaitGroup, not a Cond
    }
"""

UNDER_OTHER = """
rule:
  kind: call_expression
  model:
    held: {lock: $MU}
    cond-wait: {other-than: $MU, bare: true, via: OP, lock: OWN}
related:
  - {capture: $OP, message: "op"}
  - {capture: $OWN, message: "own"}
"""


def scan_package(tmp_path: Path, rule: str, files: dict[str, str], target: str) -> list[object]:
    rule_file = write(tmp_path / "rules" / "TST001.yml", RULE_HEADER + rule)
    for name, text in files.items():
        write(tmp_path / "src" / name, text)
    engine = Engine(ScanOptions(rules=[str(rule_file)], builtin_rules=False, jobs=1, use_cache=False))
    return list(engine.scan([str(tmp_path / "src" / target)]).findings)


def test_cond_wait_under_another_lock_through_calls(tmp_path: Path) -> None:
    findings = scan_package(tmp_path, UNDER_OTHER, {"queue.go": QUEUE, "callers.go": CALLERS}, "callers.go")
    assert lines(findings) == [16, 22]  # type: ignore[arg-type]
    related = [(r.message, r.span.path.rsplit("/", 1)[-1], r.span.start_line)
               for r in findings[0].related]  # type: ignore[attr-defined]
    assert related == [("op", "queue.go", 19), ("own", "queue.go", 17)]


def test_cond_wait_without_bare_takes_looped_waits(tmp_path: Path) -> None:
    rule = UNDER_OTHER.replace("bare: true, ", "")
    findings = scan_package(tmp_path, rule, {"queue.go": QUEUE, "callers.go": CALLERS}, "callers.go")
    assert lines(findings) == [16, 22, 28]  # type: ignore[arg-type]


def test_cond_wait_directly_under_two_locks(tmp_path: Path) -> None:
    """The lock taken last stands for the Cond's: the outer one is reported, the inner one is not."""
    findings = run_rule(tmp_path, UNDER_OTHER.replace("kind: call_expression", "pattern: $C.Wait()"), """
        package board

        import "sync"

        type Board struct {
            mu      sync.Mutex
            viewMu  sync.Mutex
            changed *sync.Cond
        }

        func (b *Board) both() {
            b.viewMu.Lock()
            defer b.viewMu.Unlock()
            b.mu.Lock()
            defer b.mu.Unlock()
            b.changed.Wait()
        }

        func (b *Board) one() {
            b.mu.Lock()
            defer b.mu.Unlock()
            b.changed.Wait()
        }
    """)
    assert lines(findings) == [16]
    own = [r for r in findings[0].related if r.message == "own"]
    assert [r.span.start_line for r in own] == [14]


ON_GOROUTINE = """
rule:
  pattern: $C.Wait()
  model:
    cond-wait: {unlocked: true}
    runs-on-goroutine: {go: GO}
related:
  - {capture: $GO, message: "go"}
"""

SPAWNERS = """
    package notify

    import "sync"

    func async(f func()) <-chan struct{} {
        done := make(chan struct{})
        go func() {
            defer close(done)
            if f != nil {
                f()
            }
        }()
        return done
    }

    func spawn(_ int, f func()) { go f() }

    func inPlace(f func()) { f() }

    type N struct {
        mu   sync.Mutex
        cond *sync.Cond
        wg   sync.WaitGroup
    }

    func (n *N) lock() { n.mu.Lock() }

    func (n *N) cases() {
        async(func() {
            n.cond.Wait() // line 30: on async's goroutine, no lock
        })
        spawn(1, func() {
            n.cond.Wait() // line 33: `go f()` of the second parameter
        })
        go func() {
            n.cond.Wait() // line 36: a go statement's literal
        }()
        inPlace(func() {
            n.cond.Wait() // called in place: the caller's goroutine
        })
        async(func() {
            n.mu.Lock()
            n.cond.Wait() // locked first
            n.mu.Unlock()
        })
        async(func() {
            n.lock()
            n.cond.Wait() // locked through a call
            n.mu.Unlock()
        })
        async(func() {
            n.wg.Wait() // not a Cond
        })
    }
"""


def test_cond_wait_on_a_goroutine_without_its_lock(tmp_path: Path) -> None:
    findings = run_rule(tmp_path, ON_GOROUTINE, SPAWNERS)
    assert lines(findings) == [30, 33, 36]
    goes = [[r.span.start_line for r in f.related] for f in findings]
    assert goes == [[7], [16], [35]]
