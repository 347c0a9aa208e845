"""Locals and parameters of slice, array and map types give their elements a type (gopackage/extract.py):
a method called on a range variable or an indexed element resolves to the package's method."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import lines, run_rule

CALLS_LOCKING = """
rule:
  all:
    - kind: call_expression
    - model:
        held: $MU
        calls-locking: $MU
"""


def test_range_variables_and_elements_of_typed_collections(tmp_path: Path) -> None:
    """Each call of `flush` (which locks what the caller holds) is resolved when the collection's element
    type is a package type: a parameter `[]*T`, a variadic `...*T`, a map, a local made by `make`, a slice literal, `append` to a
    declared slice, an element taken by index. A slice of another package's type, or a range over the keys
    only, resolves nothing."""
    source = """
        package q
        import (
            "sync"
            "other.example/pool"
        )
        type T struct{ mu sync.Mutex }
        func (t *T) flush() {
            t.mu.Lock()
            t.mu.Unlock()
        }
        func params(ss []*T, vs ...*T) {
            for _, s := range ss {
                s.mu.Lock()
                s.flush()
                s.mu.Unlock()
            }
            for _, v := range vs {
                v.mu.Lock()
                v.flush()
                v.mu.Unlock()
            }
        }
        func locals(n int) {
            m := map[string]*T{}
            for _, s := range m {
                s.mu.Lock()
                s.flush()
                s.mu.Unlock()
            }
            made := make([]*T, n)
            for _, s := range made {
                s.mu.Lock()
                s.flush()
                s.mu.Unlock()
            }
            lit := []*T{{}, {}}
            first := lit[0]
            first.mu.Lock()
            first.flush()
            first.mu.Unlock()
            var grown []*T
            grown = append(grown, &T{})
            for _, s := range grown {
                s.mu.Lock()
                s.flush()
                s.mu.Unlock()
            }
        }
        func others(bs []*pool.T, m map[string]*T) {
            for _, b := range bs {
                b.mu.Lock()
                b.flush()
                b.mu.Unlock()
            }
            for k := range m {
                _ = k
            }
        }
    """
    assert lines(run_rule(tmp_path, CALLS_LOCKING, source)) == [14, 19, 27, 33, 39, 45]
