"""The lock facts of the package model: `lock-sites` (the other places that lock a mutex, several related
locations from one binding), `caller-keeps-locked` (a caller left holding the lock), optional bindings in
`any`, and function literals that see the enclosing function's typed locals."""

from __future__ import annotations

from pathlib import Path

import pytest

from gleak_sarif.config import ScanOptions
from gleak_sarif.engine import Engine
from gleak_sarif.errors import ConfigError
from tests.helpers import RULE_HEADER, lines, run_rule, write

SITES = """
rule:
  pattern: $MU.Lock()
  as: LOCK
  all:
    - any:
        - model: {lock-sites: {lock: $MU, mode: $MODE, sites: NEXT}}
        - regex: ""
primary: $LOCK
related:
  - capture: $NEXT
    message: "also locked here"
"""

SITES_GO = """
package reg

import "sync"

type table struct {
    mu   sync.RWMutex
    rows map[string]int
}

type owner struct {
    t *table
}

func (t *table) put(k string) {
    t.mu.Lock()
    t.rows[k] = 1
    t.mu.Unlock()
}

func (t *table) get(k string) int {
    t.mu.RLock()
    defer t.mu.RUnlock()
    return t.rows[k]
}

func (o *owner) reset() {
    o.t.mu.Lock()
    o.t.rows = nil
    o.t.mu.Unlock()
}

func lonely() {
    var mu sync.Mutex
    mu.Lock()
    mu.Unlock()
}
"""


def _sites(tmp_path: Path, mode: str) -> dict[int, list[int]]:
    findings = run_rule(tmp_path, SITES.replace("$MODE", mode), SITES_GO)
    return {f.primary.start_line: [r.span.start_line for r in f.related] for f in findings}


def test_lock_sites_lists_every_other_site_of_the_same_field(tmp_path: Path) -> None:
    """`o.t.mu` is `table.mu` through the field's type; the asking function's own lock is left out; a
    local mutex has no identity (no site, but the optional branch keeps the finding)."""
    assert _sites(tmp_path, "any") == {15: [21, 27], 27: [15, 21], 34: []}


def test_lock_sites_by_mode(tmp_path: Path) -> None:
    assert _sites(tmp_path, "write") == {15: [27], 27: [15], 34: []}
    assert _sites(tmp_path, "read") == {15: [21], 27: [21], 34: []}


NESTED = """
rule:
  pattern: $B.Lock()
  as: INNER
  model: {held: {lock: $A, at: OUTER}}
  all:
    - any:
        - model: {lock-sites: {lock: $A, sites: QUEUED$SKIP}}
        - regex: ""
primary: $INNER
related:
  - capture: $OUTER
    message: "held since here"
  - capture: $QUEUED
    message: "also locked here"
"""

NESTED_GO = """
package reg

import "sync"

type reg struct {
    mu    sync.Mutex
    subMu sync.Mutex
}

func (r *reg) add() {
    r.mu.Lock()
    r.subMu.Lock()
    r.subMu.Unlock()
    r.mu.Unlock()
}

func (r *reg) drop() {
    r.mu.Lock()
    r.mu.Unlock()
}
"""


def test_lock_sites_skip_bound_leaves_out_the_places_other_captures_show(tmp_path: Path) -> None:
    """The held lock's own Lock() (line 11, bound to OUTER) is one of its sites: listed again under QUEUED
    unless `skip-bound`, which keeps only the sites no capture shows yet (drop's, line 18); no site left:
    the optional branch binds nothing."""
    def related(skip: str, go: str) -> dict[int, list[int]]:
        findings = run_rule(tmp_path, NESTED.replace("$SKIP", skip), go)
        return {f.primary.start_line: [r.span.start_line for r in f.related] for f in findings}

    assert related("", NESTED_GO) == {12: [11, 11, 18]}
    assert related(", skip-bound: true", NESTED_GO) == {12: [11, 18]}
    alone = NESTED_GO.replace("    r.mu.Lock()\n    r.mu.Unlock()\n", "")
    assert related(", skip-bound: true", alone) == {12: [11]}


def test_a_related_capture_bound_in_one_branch_only_is_accepted_but_not_a_message_variable(
        tmp_path: Path) -> None:
    """A related location may come from one branch of `any` (shown when bound); the message may not use it."""
    bad = SITES.replace("$MODE", "any") + 'message: "locked, next $NEXT"\n'
    with pytest.raises(ConfigError, match="NEXT"):
        run_rule(tmp_path, bad, SITES_GO, header=RULE_HEADER.replace('message: "matched"\n', ""))


KEEPS = """
rule:
  pattern: $MU.Lock()
  as: LOCK
  model: {caller-keeps-locked: {lock: $MU, via: VIA}}
primary: $LOCK
related:
  - capture: $VIA
    message: "kept locked by this call"
"""

KEEPS_GO = """
package pool

import "sync"

type pool struct {
    mu   sync.Mutex
    free int
}

// lockFree returns holding p.mu; every caller unlocks it
func (p *pool) lockFree() {
    for {
        p.mu.Lock()
        if p.free > 0 {
            return
        }
        p.mu.Unlock()
    }
}

func (p *pool) take() {
    p.lockFree()
    p.free--
    p.mu.Unlock()
}

func (p *pool) takeDeferred() {
    p.lockFree()
    defer p.mu.Unlock()
    p.free--
}

// waitEmpty returns holding p.mu, and its caller never releases it
func (p *pool) waitEmpty() {
    for {
        p.mu.Lock()
        if p.free == 0 {
            return
        }
        p.mu.Unlock()
    }
}

func (p *pool) drain() {
    p.waitEmpty()
    p.free = 0
}

func (p *pool) spin() {
    p.mu.Lock()
    p.mu.Unlock()
}

func start() {
    p := &pool{}
    go func() {
        p.spin()
    }()
}
"""


def test_caller_keeps_locked(tmp_path: Path) -> None:
    """lockFree's callers all unlock after the call (one with a deferred unlock): handed over on purpose.
    drain calls waitEmpty and never unlocks. spin is called from a literal whose `p` comes from the
    enclosing function (typed by `&pool{}`), so the call resolves; that caller does not unlock either (rules
    ask the fact only of functions that exit holding the lock)."""
    findings = run_rule(tmp_path, KEEPS, KEEPS_GO)
    assert lines(findings) == [36, 50]
    assert findings[0].related[0].span.start_line == 45  # p.waitEmpty() in drain
    assert findings[1].related[0].span.start_line == 57  # p.spin() in the literal


def test_several_places_in_one_binding_across_files(tmp_path: Path) -> None:
    """The sites of a sibling file are related locations in that file."""
    rule = write(tmp_path / "rules" / "TST001.yml", RULE_HEADER + SITES.replace("$MODE", "any"))
    write(tmp_path / "src" / "other.go", """
        package reg

        func (t *table) clear() {
            t.mu.Lock()
            t.rows = map[string]int{}
            t.mu.Unlock()
        }
    """)
    main = write(tmp_path / "src" / "main.go", SITES_GO)
    engine = Engine(ScanOptions(rules=[str(rule)], builtin_rules=False, jobs=1, use_cache=False))
    findings = engine.scan([str(main)]).findings
    first = next(f for f in findings if f.primary.start_line == 15)
    assert [(Path(r.span.path).name, r.span.start_line) for r in first.related] == [
        ("main.go", 21), ("main.go", 27), ("other.go", 4)]


ORDER = """
rule:
  kind: call_expression
  as: INNER
  model:
    held: {lock: $A, at: OUTER}
    lock-order-inverted: {held: $A, other: OTHER, other-lock: OTHER_LOCK}
primary: $INNER
related:
  - capture: $OTHER_LOCK
    message: "the other path locks here"
"""

TYPES_GO = """
package shop

import "sync"

type item struct {
    mu    sync.Mutex
    stock int
}

type Shop struct {
    mu    sync.Mutex
    items map[string]*item
    shelf struct {
        sync.Mutex
        rows []*item
    }
}

func (s *Shop) get(k string) *item { return s.items[k] }

func (s *Shop) Sell(k string) {
    s.mu.Lock()
    defer s.mu.Unlock()
    it := s.get(k)
    it.mu.Lock()
    it.stock--
    it.mu.Unlock()
}

func (s *Shop) Restock() {
    for _, it := range s.items {
        it.mu.Lock()
        s.drop("x")
        it.mu.Unlock()
    }
}

func (s *Shop) drop(k string) {
    s.mu.Lock()
    delete(s.items, k)
    s.mu.Unlock()
}

func (s *Shop) Tidy() {
    s.shelf.Lock()
    defer s.shelf.Unlock()
    for _, it := range s.shelf.rows {
        it.mu.Lock()
        it.mu.Unlock()
    }
}

func (s *Shop) Shelve(k string) {
    it := s.items[k]
    it.mu.Lock()
    defer it.mu.Unlock()
    s.wait()
}

func (s *Shop) wait() {
    s.shelf.Unlock()
    s.shelf.Lock()
}
"""


def test_lock_identities_through_element_result_and_anonymous_struct_types(tmp_path: Path) -> None:
    """`it := s.get(k)` (a method's result type), `for _, it := range s.items` and `it := s.items[k]` (a
    map's element type), `s.shelf.rows` (a field of an anonymous struct type) all name `item.mu`; a
    callee that releases the caller's lock and takes it again (wait) still takes it while `it.mu` is
    held: a lock order. Without those types nothing here has an identity and nothing is reported."""
    findings = run_rule(tmp_path, ORDER, TYPES_GO)
    assert lines(findings) == [25, 33, 48, 57]
    related = {f.primary.start_line: [r.span.start_line for r in f.related] for f in findings}
    assert related[25] == [39]  # Restock -> drop: the lock of s.mu at the end of the other path
    assert related[48] == [62]  # Shelve -> wait: the shelf taken again


DOUBLE = """
rule:
  kind: call_expression
  as: CALL
  model:
    held: {lock: $MU, mode: write}
    calls-locking: {lock: $MU, via: PATH}
primary: $CALL
related:
  - capture: $PATH
    message: "locked again"
"""

DISPATCH_GO = """
package lease

import "sync"

type store interface {
    Save()
    Load() int
}

type disk struct {
    mu   sync.Mutex
    data int
}

func (d *disk) Save() { d.mu.Lock(); d.mu.Unlock() }
func (d *disk) Load() int { return d.data }

type memory struct{ n int }

func (m *memory) Save() {}
func (m *memory) Load() int { return m.n }

type grant struct {
    mu       sync.Mutex
    onExpire func()
    onRenew  func()
    persist  func()
}

func (g *grant) Persist() {
    g.mu.Lock()
    defer g.mu.Unlock()
}

func (g *grant) init() {
    g.onExpire = func() { g.Persist() }
    g.onRenew = g.Persist
    g.persist = helper
}

func helper() {}

func (g *grant) Expire() {
    g.mu.Lock()
    defer g.mu.Unlock()
    g.onExpire()
    g.onRenew()
    g.persist()
}

type watcher struct {
    mu sync.Mutex
    cb func()
}

func (w *watcher) fire() {
    w.mu.Lock()
    defer w.mu.Unlock()
    w.cb()
}

func (g *grant) watch() *watcher {
    return &watcher{cb: func() { g.Persist() }}
}

func (d *disk) flush(s store) {
    d.mu.Lock()
    defer d.mu.Unlock()
    s.Save()
    _ = s.Load()
}
"""


def test_calls_through_interfaces_and_function_valued_fields(tmp_path: Path) -> None:
    """`s.Save()` on a package interface runs every package type's Save (disk's locks d.mu: the interface
    value may be d itself, which names-without-values cannot tell; here the receiver is mapped, so the
    callee's lock is `s.mu`, not `d.mu`: no finding). `g.onExpire()` runs the literal assigned in init,
    `g.onRenew()` the method value g.Persist: both lock g.mu again; `g.persist()` holds a function that
    locks nothing. `w.cb()` runs a literal whose receiver is g, not w: it locks g.mu, not w.mu."""
    findings = run_rule(tmp_path, DOUBLE, DISPATCH_GO)
    assert lines(findings) == [46, 47]
    assert all(f.related[0].span.start_line == 31 for f in findings)  # the Lock in Persist


def test_lock_order_through_an_interface(tmp_path: Path) -> None:
    """`j.out.Put()` on a field of a package interface type runs file.Put (the only implementation):
    journal.mu then file.mu, against Rotate's file.mu then journal.mu. `c.Close()` on a one-method
    interface shaped like io.Closer is not followed, though file.Close would lock file.mu (a package's own
    one-method handler interface is: test_lock_order_through_a_one_method_handler)."""
    source = """
    package logs

    import "sync"

    type sink interface {
        Put()
        Flush()
    }

    // a one-method interface (io.Writer-like) is not followed: file has Close too, but so might anything
    type closer interface{ Close() }

    type journal struct {
        mu  sync.Mutex
        out sink
    }

    type file struct {
        mu    sync.Mutex
        owner *journal
    }

    func (f *file) Put() {
        f.mu.Lock()
        defer f.mu.Unlock()
    }

    func (f *file) Flush() {}

    func (f *file) Close() {
        f.mu.Lock()
        defer f.mu.Unlock()
    }

    func (j *journal) Shut(c closer) {
        j.mu.Lock()
        defer j.mu.Unlock()
        c.Close()
    }

    func (j *journal) Write() {
        j.mu.Lock()
        defer j.mu.Unlock()
        j.out.Put()
    }

    func (f *file) Rotate() {
        f.mu.Lock()
        defer f.mu.Unlock()
        f.owner.mu.Lock()
        f.owner.mu.Unlock()
    }
    """
    assert lines(run_rule(tmp_path, ORDER, source)) == [44, 50]


def test_lock_order_types_same_or_different(tmp_path: Path) -> None:
    """`types: different` keeps pairs of locks of two objects' types; a struct held by value
    (`s.stats.mu`) is part of its owner, a pointer field (`s.peer.mu`) another object."""
    source = """
    package srv

    import "sync"

    type stats struct{ mu sync.Mutex }

    type peer struct{ mu sync.Mutex }

    type Server struct {
        mu    sync.Mutex
        stats stats
        peer  *peer
    }

    func (s *Server) A() {
        s.mu.Lock()
        defer s.mu.Unlock()
        s.stats.mu.Lock()
        s.stats.mu.Unlock()
        s.peer.mu.Lock()
        s.peer.mu.Unlock()
    }

    func (s *Server) B() {
        s.stats.mu.Lock()
        defer s.stats.mu.Unlock()
        s.mu.Lock()
        s.mu.Unlock()
    }

    func (s *Server) C() {
        s.peer.mu.Lock()
        defer s.peer.mu.Unlock()
        s.mu.Lock()
        s.mu.Unlock()
    }
    """
    different = ORDER.replace("other-lock: OTHER_LOCK}", "other-lock: OTHER_LOCK, types: different}")
    same = ORDER.replace("other-lock: OTHER_LOCK}", "other-lock: OTHER_LOCK, types: same}")
    assert lines(run_rule(tmp_path, different, source)) == [20, 34]
    assert lines(run_rule(tmp_path, same, source)) == [18, 27]


RECURSIVE_READ = """
rule:
  kind: call_expression
  as: CALL
  model:
    held: {lock: $MU, mode: read, at: LOCK}
    calls-locking: {lock: $MU, mode: read, via: PATH}
    lock-sites: {lock: $MU, mode: write, sites: WRITER}
primary: $CALL
related:
  - capture: $WRITER
    message: "writer"
"""

COND_GO = """
package catalog

import "sync"

type index struct {
    mu      sync.RWMutex
    other   sync.Mutex
    ready   *sync.Cond
    changed *sync.Cond
    rows    []string
}

func newIndex() *index {
    x := &index{}
    x.ready = sync.NewCond(x.mu.RLocker())
    x.changed = sync.NewCond(&x.other)
    return x
}

func (x *index) count() int {
    x.mu.RLock()
    defer x.mu.RUnlock()
    return len(x.rows)
}

func (x *index) add(r string) {
    x.mu.Lock()
    x.rows = append(x.rows, r)
    x.mu.Unlock()
}

func (x *index) waitRows() int {
    x.ready.L.Lock()
    defer x.ready.L.Unlock()
    return x.count()
}

func (x *index) waitChange() int {
    x.changed.L.Lock()
    defer x.changed.L.Unlock()
    return x.count()
}
"""


DROPPED = """
rule:
  pattern: $MU.Lock()
  as: LOCK
  model: {receiver-dropped: {lock: $MU, via: VIA}}
primary: $LOCK
related:
  - capture: $VIA
    message: "called on a value made for the call"
"""

DROPPED_GO = """
package wire

import "sync"

type frame struct {
    mu  sync.Mutex
    buf []byte
}

type shared struct {
    mu  sync.Mutex
    buf []byte
}

type leaky struct {
    mu  sync.Mutex
    buf []byte
}

var kept []*leaky

func newFrame(b []byte) *frame { return &frame{buf: b} }

func newShared(b []byte) *shared {
    s := &shared{buf: b}
    return s
}

func newLeaky(b []byte) *leaky { return &leaky{buf: b} }

// decode: every caller makes the frame for the call and drops it
func (f *frame) decode() int {
    f.mu.Lock()
    n := len(f.buf)
    f.mu.Unlock()
    return n
}

// decode: one caller keeps the value in a variable
func (s *shared) decode() int {
    s.mu.Lock()
    n := len(s.buf)
    s.mu.Unlock()
    return n
}

// decode hands its receiver on: another reference outlives the call
func (l *leaky) decode() int {
    l.mu.Lock()
    kept = append(kept, l)
    l.mu.Unlock()
    return 0
}

func use(b []byte) int {
    s := newShared(b)
    return newFrame(b).decode() + s.decode() + newLeaky(b).decode()
}
"""


def test_a_cond_lock_is_the_lock_it_was_made_with(tmp_path: Path) -> None:
    """`x.ready = sync.NewCond(x.mu.RLocker())`: `x.ready.L.Lock()` read-locks x.mu, so count() (RLock of
    x.mu) under it is a recursive read lock, with add()'s Lock as the writer. The Cond made with
    `&x.other` locks another mutex: nothing is reported for waitChange."""
    findings = run_rule(tmp_path, RECURSIVE_READ, COND_GO)
    assert lines(findings) == [35]
    assert findings[0].metavariables["MU"] == "x.mu"
    assert [r.span.start_line for r in findings[0].related] == [27]


def test_receiver_dropped(tmp_path: Path) -> None:
    """frame.decode is only called on newFrame's new value: it holds. shared.decode is called on a local
    the caller keeps (and newShared returns a local, not a value made in the return); leaky.decode hands its
    receiver to a package variable: neither holds."""
    findings = run_rule(tmp_path, DROPPED, DROPPED_GO)
    assert lines(findings) == [33]
    assert findings[0].related[0].span.start_line == 57  # newFrame(b).decode() in use


def test_lock_order_through_a_one_method_handler(tmp_path: Path) -> None:
    """A one-method interface of the package whose method only one package type has (and is not a standard
    interface's) is dispatched: `h.Changed()` runs panel.Changed, which locks panel.mu under model.mu."""
    source = """
    package views

    import "sync"

    type listener interface{ Changed() }

    type model struct {
        mu sync.Mutex
        h  listener
    }

    type panel struct {
        mu sync.Mutex
        m  *model
    }

    func (p *panel) Changed() {
        p.mu.Lock()
        defer p.mu.Unlock()
    }

    func (m *model) Set() {
        m.mu.Lock()
        defer m.mu.Unlock()
        m.h.Changed()
    }

    func (p *panel) Redraw() {
        p.mu.Lock()
        defer p.mu.Unlock()
        p.m.mu.Lock()
        p.m.mu.Unlock()
    }
    """
    assert lines(run_rule(tmp_path, ORDER, source)) == [25, 31]
