"""The package model (`model:` facts): real Go parsed by tree-sitter, summaries across files."""

from __future__ import annotations

from pathlib import Path

import pytest

from gleak_sarif.config import ScanOptions
from gleak_sarif.engine import Engine
from gleak_sarif.errors import ConfigError
from gleak_sarif.rules.loader import load_pack
from tests.helpers import RULE_HEADER, lines, run_rule, write

HEADER = RULE_HEADER.replace('message: "matched"\n', "")

DOUBLE_LOCK = """
rule:
  kind: call_expression
  as: CALL
  model:
    held: {lock: $MU, at: LOCK}
    calls-locking: {lock: $MU, via: PATH}
primary: $CALL
related:
  - capture: $PATH
    message: "locked again"
"""

STORE = """
package store

import "sync"

type Store struct {
    mu    sync.Mutex
    other sync.Mutex
    items map[string]int
}

func (s *Store) Len() int {
    s.mu.Lock()
    defer s.mu.Unlock()
    return len(s.items)
}

func (s *Store) lenLocked() int { return len(s.items) }

func (s *Store) waitLocked() {
    s.mu.Unlock() // called with the lock held: releases, then takes it again
    s.mu.Lock()
}

func (s *Store) countOther() int {
    s.other.Lock()
    defer s.other.Unlock()
    return 1
}

func (s *Store) viaHelper() int { return s.Len() }

func (s *Store) Put(k string) {
    s.mu.Lock()
    defer s.mu.Unlock()
    s.items[k] = s.Len()       // line 35: Len locks s.mu
    _ = s.lenLocked()          // fine
    s.waitLocked()             // fine
    _ = s.countOther()         // another mutex
    _ = s.viaHelper()          // line 39: two levels down
    go s.Len()                 // another goroutine
    func() { _ = s.lenLocked() }()
}

func (s *Store) Drop(k string) {
    s.mu.Lock()
    if k == "" {
        s.mu.Unlock()
        return
    }
    _ = s.Len() // line 50: still held on this path
    s.mu.Unlock()
    _ = s.Len() // released
}

func Copy(dst, src *Store) {
    src.mu.Lock()
    defer src.mu.Unlock()
    _ = dst.Len() // another instance: dst.mu, not src.mu
}
"""


# calls s.Len() on line 6 with s.mu held; Len is declared in a sibling file
PUT = """
package store

func (s *Store) Put() {
    s.mu.Lock()
    defer s.mu.Unlock()
    _ = s.Len()
}
"""


def test_double_lock_through_calls(tmp_path: Path) -> None:
    findings = run_rule(tmp_path, DOUBLE_LOCK, STORE)
    assert lines(findings) == [35, 39, 50]
    via = findings[1].related[0]
    assert via.span.start_line == 12  # the Lock in Len, two calls down
    assert "s.Len()" in findings[1].metavariables["PATH"]


def test_callee_in_a_sibling_file_and_unsaved_text(tmp_path: Path) -> None:
    """The callee lives in another file of the package: the finding's related location points there."""
    rule = write(tmp_path / "rules" / "TST001.yml", RULE_HEADER + DOUBLE_LOCK)
    write(tmp_path / "src" / "len.go", """
        package store

        import "sync"

        type Store struct{ mu sync.Mutex }

        func (s *Store) Len() int {
            s.mu.Lock()
            defer s.mu.Unlock()
            return 0
        }
    """)
    put = write(tmp_path / "src" / "put.go", PUT)
    engine = Engine(ScanOptions(rules=[str(rule)], builtin_rules=False, jobs=1, use_cache=False))
    findings = engine.scan([str(put)]).findings
    assert lines(findings) == [6]
    assert findings[0].related[0].span.path.endswith("len.go")
    assert findings[0].related[0].span.start_line == 8


def test_parameter_and_package_variable_mapping(tmp_path: Path) -> None:
    source = """
    package reg

    import "sync"

    var regMu sync.Mutex
    var names = map[string]bool{}

    func lookup(n string) bool {
        regMu.Lock()
        defer regMu.Unlock()
        return names[n]
    }

    func withLock(mu *sync.Mutex, f func()) {
        mu.Lock()
        defer mu.Unlock()
        f()
    }

    type T struct{ mu sync.Mutex }

    func Register(n string, t *T) {
        regMu.Lock()
        defer regMu.Unlock()
        _ = lookup(n)              // line 25: the package mutex again
        withLock(&t.mu, func() {}) // t.mu is not held
    }

    func (t *T) Do() {
        t.mu.Lock()
        defer t.mu.Unlock()
        withLock(&t.mu, func() {}) // line 32: the argument is the held mutex
    }
    """
    assert lines(run_rule(tmp_path, DOUBLE_LOCK, source)) == [25, 32]


LOCK_ORDER = """
rule:
  kind: call_expression
  as: INNER
  model:
    held: {lock: $A}
    lock-order-inverted: {held: $A, other: OTHER}
primary: $INNER
message: "inverted: $OTHER"
"""


def test_lock_order_inversion_across_methods(tmp_path: Path) -> None:
    source = """
    package srv

    import "sync"

    type Server struct {
        mu     sync.Mutex
        connMu sync.RWMutex
    }

    func (s *Server) lockConns() { s.connMu.Lock() }

    func (s *Server) Add() {
        s.mu.Lock()
        defer s.mu.Unlock()
        s.lockConns() // line 15: mu, then connMu (through a call)
        s.connMu.Unlock()
    }

    func (srv *Server) Drop() {
        srv.connMu.Lock()
        defer srv.connMu.Unlock()
        srv.mu.Lock() // line 22: connMu, then mu
        srv.mu.Unlock()
    }

    func (s *Server) Read() {
        s.connMu.RLock()
        s.mu.Lock() // line 28: RLock of connMu, then mu: still inverted against Add
        s.mu.Unlock()
        s.connMu.RUnlock()
    }
    """
    findings = run_rule(tmp_path, LOCK_ORDER, source, header=HEADER)
    assert lines(findings) == [15, 22, 28]
    assert "Server.Drop" in findings[0].message or "Server.Read" in findings[0].message


def test_unbound_metavariable_in_model_is_a_rule_error(tmp_path: Path) -> None:
    rule = write(tmp_path / "TST001.yml", RULE_HEADER + """
rule:
  kind: call_expression
  model:
    calls-locking: {lock: $MU}
""")
    with pytest.raises(ConfigError) as caught:
        load_pack([str(rule)], builtin=False)
    assert "$MU" in str(caught.value)
    assert caught.value.line is not None and caught.value.line >= 7


def test_unknown_model_key_is_a_rule_error(tmp_path: Path) -> None:
    rule = write(tmp_path / "TST001.yml", RULE_HEADER + """
rule:
  kind: call_expression
  model:
    holds: $MU
""")
    with pytest.raises(ConfigError) as caught:
        load_pack([str(rule)], builtin=False)
    assert "holds" in str(caught.value)


def test_start_without_stop_needs_the_stop_method(tmp_path: Path) -> None:
    rule = """
    rule:
      pattern: $X.$START()
      as: CALL
      model:
        calls-starting: {stoppable: true, unstopped-on: $X, stop: STOP}
    primary: $CALL
    message: "stopped only by $STOP"
    """
    source = """
    package work

    type Worker struct {
        quit chan struct{}
        jobs chan int
    }

    func NewWorker() *Worker { return &Worker{quit: make(chan struct{}), jobs: make(chan int)} }

    func (w *Worker) Start() { go w.loop() }

    func (w *Worker) loop() {
        for {
            select {
            case <-w.quit:
                return
            case <-w.jobs:
            }
        }
    }

    func (w *Worker) Stop() { close(w.quit) }

    type Ticker struct{}

    func (t *Ticker) Start() { go func() {}() } // ends by itself

    func Leak() {
        w := NewWorker()
        w.Start() // line 30
    }

    func Fine() {
        w := NewWorker()
        w.Start()
        defer w.Stop()
        t := &Ticker{}
        t.Start()
    }
    """
    findings = run_rule(tmp_path, rule, source, header=HEADER)
    assert lines(findings) == [30]
    assert findings[0].message == "stopped only by Worker.Stop"


def test_start_without_stop_not_when_the_loop_ends_by_itself(tmp_path: Path) -> None:
    """A goroutine that waits on the stop channel only inside loops with a condition (`for it.Next() {`,
    `for i := 0; i < n; i++ {`) may end without the stop method; `for {`, `for i := 0; ; i++ {` and a range
    over the stop channel itself do not end by themselves."""
    rule = """
    rule:
      pattern: $X.$START()
      as: CALL
      model:
        calls-starting: {stoppable: true, unstopped-on: $X}
    primary: $CALL
    message: "unstopped"
    """
    source = """
    package work

    type it interface{ Next() bool }

    type W struct {
        quit chan struct{}
        out  chan int
        src  it
        n    int
    }

    func New() *W { return &W{quit: make(chan struct{}), out: make(chan int)} }

    func (w *W) Cond() { go w.cond() }
    func (w *W) cond() { for w.src.Next() { select { case <-w.quit: return; case w.out <- 1: } } }
    func (w *W) Counted() { go w.counted() }
    func (w *W) counted() { for i := 0; i < w.n; i++ { select { case <-w.quit: return; case w.out <- i: } } }
    func (w *W) Endless() { go w.endless() }
    func (w *W) endless() { for i := 0; ; i++ { select { case <-w.quit: return; case w.out <- i: } } }
    func (w *W) Ranged() { go w.ranged() }
    func (w *W) ranged() { for range w.quit { } }
    func (w *W) Stop() { close(w.quit) }

    func Use() {
        a := New()
        a.Cond()
        b := New()
        b.Counted()
        c := New()
        c.Endless() // line 30
        d := New()
        d.Ranged() // line 32
    }
    """
    assert lines(run_rule(tmp_path, rule, source, header=HEADER)) == [30, 32]


def test_flag_guarded_locks_and_helpers_that_release_first(tmp_path: Path) -> None:
    """`if !hasLock { mu.Lock() }` follows the caller's literal; a callee that unlocks the held lock
    before re-taking it (directly or further down) is a "called with the lock held" helper."""
    source = """
    package conn

    import "sync"

    type Conn struct{ mu sync.Mutex }

    func (c *Conn) check(hasLock bool) {
        if !hasLock {
            c.mu.Lock()
            defer c.mu.Unlock()
        }
    }

    func (c *Conn) state() int {
        c.mu.Lock()
        defer c.mu.Unlock()
        return 0
    }

    func (c *Conn) handshakeAndRelock() {
        c.mu.Unlock()
        _ = c.state()
        c.mu.Lock()
    }

    func (c *Conn) refresh(stop bool) {
        if !stop {
            c.check(false)
        }
    }

    func (c *Conn) Serve() {
        c.mu.Lock()
        defer c.mu.Unlock()
        c.check(true)           // told it holds the lock
        c.handshakeAndRelock()  // releases first
        c.refresh(true)         // the locking call only runs when stop is false
        c.check(false)          // line 38: locks again
        c.refresh(false)        // line 39: locks again, two calls down
    }
    """
    assert lines(run_rule(tmp_path, DOUBLE_LOCK, source)) == [38, 39]


def test_else_branch_guards_and_unlocking_locals(tmp_path: Path) -> None:
    """A call in the `else` block of `if inLock {...}` runs only for false; `unlock()` of a local that
    releases the mutex (a literal, or a same-file function returning one) releases it there, unless the
    literal locks the mutex too (balanced)."""
    source = """
    package pool

    import "sync"

    type Obj struct{ mu sync.Mutex }

    func (o *Obj) Invalidate() {
        o.mu.Lock()
        defer o.mu.Unlock()
    }

    func drop(o *Obj, inLock bool) {
        if inLock {
            return
        } else {
            o.Invalidate()
        }
    }

    func unlockOnce(l sync.Locker) func() {
        var once sync.Once
        return func() { once.Do(l.Unlock) }
    }

    func (o *Obj) Serve() {
        unlock := unlockOnce(&o.mu)
        o.mu.Lock()
        defer unlock()
        drop(o, true)         // the else branch does not run
        unlock()
        o.Invalidate()        // released by unlock()
        o.mu.Lock()
        release := func() { o.mu.Unlock() }
        touch := func() { o.mu.Lock(); o.mu.Unlock() }
        touch()
        drop(o, false)        // line 36: locks again (touch releases nothing)
        release()
        o.Invalidate()        // released by release()
    }
    """
    assert lines(run_rule(tmp_path, DOUBLE_LOCK, source)) == [36]


def test_a_common_outer_lock_serializes_an_inversion(tmp_path: Path) -> None:
    source = """
    package db

    import "sync"

    type DB struct{ gate, mu, tx sync.Mutex }

    func (d *DB) One() {
        d.gate.Lock()
        defer d.gate.Unlock()
        d.mu.Lock()
        d.tx.Lock()
        d.tx.Unlock()
        d.mu.Unlock()
    }

    func (d *DB) Two() {
        d.gate.Lock()
        defer d.gate.Unlock()
        d.tx.Lock()
        d.mu.Lock()
        d.mu.Unlock()
        d.tx.Unlock()
    }
    """
    assert lines(run_rule(tmp_path, LOCK_ORDER, source, header=HEADER)) == []


def test_a_new_scan_sees_an_edited_sibling(tmp_path: Path) -> None:
    """One process, two scans: the second sees the callee's new text (folder listings are per scan)."""
    rule = write(tmp_path / "rules" / "TST001.yml", RULE_HEADER + DOUBLE_LOCK)
    callee = write(tmp_path / "src" / "len.go", """
        package store

        import "sync"

        type Store struct{ mu sync.Mutex }

        func (s *Store) Len() int { return 0 }
    """)
    put = write(tmp_path / "src" / "put.go", PUT)
    engine = Engine(ScanOptions(rules=[str(rule)], builtin_rules=False, jobs=1, use_cache=False))
    assert engine.scan([str(put)]).findings == []
    text = callee.read_text().replace("func (s *Store) Len() int { return 0 }",
                                      "func (s *Store) Len() int {\n\ts.mu.Lock()\n\tdefer s.mu.Unlock()\n\treturn 0\n}")
    callee.write_text(text)
    assert lines(engine.scan([str(put)]).findings) == [6]


BUFFERED = """
rule:
  pattern: $CH <- $V
  not:
    model: {buffered: $CH}
"""


def test_buffered_channel_made_in_another_file(tmp_path: Path) -> None:
    """`buffered: $CH`: the send is on a field that a constructor in a sibling file makes with a buffer;
    a field made without one (or never made) is not buffered."""
    rule = write(tmp_path / "rules" / "TST001.yml", RULE_HEADER + BUFFERED)
    write(tmp_path / "src" / "new.go", """
        package pool

        func newWant() *want {
            return &want{result: make(chan int, 1), events: make(chan int)}
        }
    """)
    send = write(tmp_path / "src" / "want.go", """
        package pool

        type want struct {
            result chan int
            events chan int
            other  chan int
        }

        func (w *want) deliver(n int) {
            w.result <- n
            w.events <- n
            w.other <- n
        }
    """)
    engine = Engine(ScanOptions(rules=[str(rule)], builtin_rules=False, jobs=1, use_cache=False))
    assert lines(engine.scan([str(send)]).findings) == [11, 12]


def test_buffered_channel_set_from_a_buffered_local(tmp_path: Path) -> None:
    """`buffered: $CH`: a setter in a sibling file installs a local it made with a buffer (`c := make(chan
    int, 1); w.reply = c`); a local made without one, or set again from something else first, is not."""
    rule = write(tmp_path / "rules" / "TST001.yml", RULE_HEADER + BUFFERED)
    write(tmp_path / "src" / "set.go", """
        package pool

        func (w *want) install() {
            c := make(chan int, 1)
            w.reply = c
            d := make(chan int)
            w.events = d
            e := make(chan int, 1)
            e = make(chan int)
            w.other = e
        }
    """)
    send = write(tmp_path / "src" / "want.go", """
        package pool

        type want struct {
            reply  chan int
            events chan int
            other  chan int
        }

        func (w *want) deliver(n int) {
            w.reply <- n
            w.events <- n
            w.other <- n
        }
    """)
    engine = Engine(ScanOptions(rules=[str(rule)], builtin_rules=False, jobs=1, use_cache=False))
    assert lines(engine.scan([str(send)]).findings) == [11, 12]


BLOCKING = """
rule:
  kind: call_expression
  as: CALL
  model:
    held: {lock: $MU}
    calls-blocking: {unblocker-holds: $MU, via: VIA, unblocker: OTHER}
"""


@pytest.mark.parametrize(("release", "expected"), [
    ("p.mu.Lock()\n    defer p.mu.Unlock()\n    p.slots <- struct{}{}", [28]),  # every refill takes mu
    ("p.slots <- struct{}{}", []),  # Release refills without mu: the locked wait always ends
])
def test_calls_blocking_needs_every_unblocker_to_take_the_lock(tmp_path: Path, release: str,
                                                               expected: list[int]) -> None:
    source = f"""
package pool

import "sync"

type Pool struct {{
    mu    sync.Mutex
    slots chan struct{{}}
}}

func (p *Pool) Release() {{
    {release}
}}

func (p *Pool) take() {{
    <-p.slots
}}

func (p *Pool) update() {{
    p.take()
    p.slots <- struct{{}}{{}}
}}

func (p *Pool) Set() {{
    p.mu.Lock()
    defer p.mu.Unlock()
    p.update()
}}
"""
    assert lines(run_rule(tmp_path, BLOCKING, source)) == expected
