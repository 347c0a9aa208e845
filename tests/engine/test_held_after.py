"""Locks a call leaves held (gopackage/held_after.py) and per-key locks (`t.locks[k].Lock()`): the package
model's lock order sees a lock a callee returns holding, in its caller, until the caller releases it."""

from __future__ import annotations

import textwrap

from gleak_sarif.gopackage import held_after
from gleak_sarif.gopackage.extract import Queries, summarize
from gleak_sarif.gopackage.model import PackageModel
from gleak_sarif.gopackage.summary import lock_name, lock_token
from gleak_sarif.gosource import parser

SOURCE = textwrap.dedent("""
    package keys

    import "sync"

    type slot struct {
        mu   sync.Mutex
        hits int
    }

    type Table struct {
        mu    sync.Mutex
        locks map[string]*sync.Mutex
        slots []slot
    }

    func (t *Table) Hold(k string) {
        t.mu.Lock()
        t.locks[k].Lock()
        t.mu.Unlock()
    }

    func (t *Table) HoldSome(k string, on bool) {
        if on {
            t.locks[k].Lock()
        }
        t.mu.Lock()
        t.mu.Unlock()
    }

    func (t *Table) HoldAndDrop(k string) {
        t.locks[k].Lock()
        defer t.locks[k].Unlock()
    }

    func (t *Table) Release(k string) {
        if l, ok := t.locks[k]; ok {
            l.Unlock()
        }
    }

    func (t *Table) Touch(i int) {
        t.slots[i].mu.Lock()
        t.slots[i].hits++
        t.slots[i].mu.Unlock()
    }

    func deferredTable(t *Table, k string) {
        t.Hold(k)
        defer func() { t.mu.Lock(); t.mu.Unlock() }()
    }

    func releasedFirst(t *Table, k string) {
        t.Hold(k)
        t.Release(k)
        t.mu.Lock()
        t.mu.Unlock()
    }

    func notReleased(t *Table, k string) {
        t.Hold(k)
        t.mu.Lock()
        t.mu.Unlock()
    }
""").encode()


def _model() -> PackageModel:
    root = parser().parse(SOURCE).root_node
    return PackageModel([summarize(Queries(), "keys.go", SOURCE, root, "keys", {"sync"})])


def _index(model: PackageModel, name: str) -> int:
    return next(i for i, f in enumerate(model.functions) if f.key[1] == name)


def test_an_element_of_a_field_is_a_lock_with_the_element_type_as_identity() -> None:
    model = _model()
    hold = model.functions[_index(model, "Hold")]
    locks = [op for op in hold.ops if op.kind == "lock"]
    assert [op.ref.canon for op in locks if op.ref] == ["Table.mu", "@elem(Table/locks)"]
    touch = model.functions[_index(model, "Touch")]
    refs = [op.ref for op in touch.ops if op.kind in ("lock", "unlock")]
    assert [r.canon for r in refs if r] == ["@elem(Table/slots).mu"] * 2
    assert model.identity("@elem(Table/slots).mu") == "slot.mu"  # the element's declared type
    # a local taken from the map names the same lock
    release = model.functions[_index(model, "Release")]
    assert [op.ref.canon for op in release.ops if op.kind == "unlock" and op.ref] == ["@elem(Table/locks)"]


def test_returns_holding_only_a_lock_taken_on_every_path_and_never_released() -> None:
    model = _model()
    assert [op.ref.text for op in held_after.returns_holding(model, _index(model, "Hold")) if op.ref] == \
        ["t.locks[k]"]
    assert held_after.returns_holding(model, _index(model, "HoldSome")) == []  # only when `on`
    assert held_after.returns_holding(model, _index(model, "HoldAndDrop")) == []  # deferred unlock
    assert held_after.returns_holding(model, _index(model, "Touch")) == []


def test_the_caller_takes_its_later_locks_while_the_kept_lock_is_held_until_released() -> None:
    model = _model()
    pairs = {(p.outer, p.inner) for p in held_after.kept_pairs(model, _index(model, "notReleased"))}
    assert pairs == {("@elem(Table/locks)", "Table.mu")}
    # a deferred literal runs at the return: the lock is still held then
    deferred = held_after.kept_pairs(model, _index(model, "deferredTable"))
    assert [(p.outer, p.inner, len(p.trace)) for p in deferred] == [("@elem(Table/locks)", "Table.mu", 2)]
    # a callee that unlocks it (through a local of the element type) ends the pairs
    assert held_after.kept_pairs(model, _index(model, "releasedFirst")) == []
    edges = model.order_edges("@elem(Table/locks)", "Table.mu")
    assert {model.functions[_index(model, "notReleased")].key, model.functions[_index(model, "deferredTable")].key} \
        <= {e.function for e in edges}


def test_names_and_tokens_of_element_locks() -> None:
    assert lock_name("@elem(Table/locks)") == "Table.locks[]"
    assert lock_name("pkg.registryMu") == "registryMu"
    assert lock_token("@elem(Table/locks)") == b"locks"
    assert lock_token("@elem(Table/slots).mu") == b"mu"
    assert lock_token("Store.mu") == b"mu"


RELEASER = textwrap.dedent("""
    package keys

    import "sync"

    type Pool struct {
        mu sync.Mutex
    }

    func (p *Pool) Use() {
        p.mu.Lock()
        release := func() { p.mu.Unlock() }
        defer release()
    }
""").encode()


def test_a_lock_a_literal_of_the_function_releases_is_not_returned_held() -> None:
    root = parser().parse(RELEASER).root_node
    model = PackageModel([summarize(Queries(), "pool.go", RELEASER, root, "keys", {"sync"})])
    use = next(i for i, f in enumerate(model.functions) if f.key == ("Pool", "Use"))
    assert held_after.returns_holding(model, use) == []
