"""Declared types of expressions (gleak_sarif/gotypes/resolve.py): what the declarations tell, import-resolved,
and what stays unknown (never a name read for a type)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from tree_sitter import Node

from gleak_sarif.gopackage.index import PackageIndex
from gleak_sarif.gosource import file_imports, parser
from gleak_sarif.gotypes.resolve import FileTypes, file_types

SIBLING = """
package p

import (
    "sync"
    nethttp "net/http"
)

type Pool struct {
    running sync.WaitGroup
    client  *nethttp.Client
    Base
}

type Base struct {
    mu   sync.RWMutex
    jobs Jobs
}

type Jobs []*Job

type Job struct{ id int }

func (b *Base) Lookup(id int) (*Job, bool) { return nil, false }

func NewPool() *Pool { return &Pool{} }

var Shared = NewPool()

type Waiter interface {
    Wait() error
    Pinger
}

type Pinger interface{ Ping() *Job }
"""

MAIN = """
package p

import (
    "context"
    "net/http"
    "sync"
    "time"
    "github.com/go-resty/resty/v2"
    . "strings"
)

type Tracker struct{ n int }

func (t *Tracker) Add(n int) {}

func use(p *Pool, w Waiter, opts ...*Job) {
    var a sync.WaitGroup
    b := &sync.WaitGroup{}
    c := new(sync.Mutex)
    wg := &Tracker{}
    resp, err := http.Get("u")
    r2, _ := p.client.Do(nil)
    r3, _ := resty.New().R().Get("u")
    rc := resty.New()
    t := time.NewTimer(time.Second)
    ctx, cancel := context.WithCancel(context.Background())
    j, ok := p.Lookup(1)
    for i, job := range p.jobs {
        _ = i
        _ = job
    }
    for _, o := range opts {
        _ = o
    }
    m := map[string]*Tracker{}
    v, found := m["x"]
    ch := make(chan *Job, 1)
    select {
    case got := <-ch:
        _ = got
    }
    var x any = p
    switch y := x.(type) {
    case *Pool:
        _ = y
    }
    if wg := "three"; wg != "" {
        _ = wg
    }
    conv := (*Tracker)(nil)
    bl := NewReader("s")
    _ = Shared.running
    _ = p.mu
    _ = w.Wait()
    _ = w.Ping()
    _ = resp.Body
    _ = http.DefaultClient
    _, _, _, _, _, _, _, _, _ = a, b, c, wg, err, r2, r3, rc, t
    _, _, _, _, _, _, _, _ = ctx, cancel, j, ok, v, found, conv, bl
}

func generic[T any](x T) { _ = x }
"""


def _types(tmp_path: Path) -> tuple[FileTypes, Node, bytes]:
    sibling = tmp_path / "pool.go"
    sibling.write_text(textwrap.dedent(SIBLING), encoding="utf-8")
    source = textwrap.dedent(MAIN).encode()
    main = tmp_path / "main.go"
    main.write_bytes(source)
    index = PackageIndex()
    index.add(str(sibling), sibling.read_bytes())
    index.add(str(main), source)
    root = parser().parse(source).root_node
    return file_types(root, source, file_imports(source, root), index, str(main)), root, source


def _find(root: Node, source: bytes, text: str, occurrence: int = 0) -> Node:
    """The ``occurrence``-th expression node whose text is ``text`` (outermost first)."""
    found: list[Node] = []
    stack = [root]
    while stack:
        node = stack.pop()
        if source[node.start_byte:node.end_byte].decode() == text and node.is_named and \
                node.type not in ("expression_statement", "expression_list"):
            found.append(node)
        stack.extend(reversed(node.children))
    found.sort(key=lambda n: (n.start_byte, -(n.end_byte - n.start_byte)))
    return found[occurrence]


@pytest.mark.parametrize(("text", "occurrence", "expected"), [
    ("a", 1, "sync.WaitGroup"),  # `var a sync.WaitGroup`, read later
    ("b", 1, "*sync.WaitGroup"),
    ("c", 1, "*sync.Mutex"),
    ("wg", 0, "*Tracker"),  # named like a WaitGroup, declared a *Tracker: the declaration wins
    ("resp", 1, "*net/http.Response"),  # a standard-library function's result
    ("err", 1, "error"),
    ("r2", 1, "*net/http.Response"),  # a field declared in another file, through an import renamed there
    ("r3", 0, None),  # a package outside the table: unknown
    ("rc", 1, None),  # `resty.New()`: a function outside the table, its result unknown
    ("t", 1, "*time.Timer"),
    ("cancel", 1, "context.CancelFunc"),
    ("ctx", 1, "context.Context"),
    ("j", 1, "*Job"),  # a method promoted from the embedded Base, declared in another file
    ("ok", 1, "bool"),
    ("job", 1, "*Job"),  # range over a field of a named slice type
    ("i", 1, "int"),
    ("o", 1, "*Job"),  # range over a variadic parameter
    ("v", 1, "*Tracker"),  # comma-ok index of a map
    ("found", 1, "bool"),
    ("got", 1, "*Job"),  # `case got := <-ch:`
    ("y", 1, "*Pool"),  # one type per case of a type switch
    ("wg", 3, "string"),  # shadowed in the `if` initializer
    ("conv", 1, "*Tracker"),
    ("bl", 1, None),  # a dot-import may declare NewReader: unknown
    ("Shared.running", 0, "sync.WaitGroup"),  # a package variable of another file
    ("p.mu", 0, "sync.RWMutex"),  # a promoted field
    ("w.Wait()", 0, "error"),  # an interface method of the package
    ("w.Ping()", 0, "*Job"),  # ... from an embedded interface
    ("resp.Body", 0, "io.ReadCloser"),
    ("http.DefaultClient", 0, "*net/http.Client"),
    ("x", -1, None),  # a type parameter: unknown
])
def test_declared_types(tmp_path: Path, text: str, occurrence: int, expected: str | None) -> None:
    types, root, source = _types(tmp_path)
    assert types.type_of(_find(root, source, text, occurrence)) == expected


def test_method_owner_through_embedding(tmp_path: Path) -> None:
    types, _, _ = _types(tmp_path)
    assert types.method_owner("*Pool", "Lookup") == "Base"
    assert types.method_owner("Pool", "RLock") is None  # mu is a named field, not embedded
    assert types.method_owner("*Tracker", "Add") == "Tracker"
    assert types.method_owner("*sync.WaitGroup", "Add") == "sync.WaitGroup"
    assert types.method_owner("*github.com/x/y.Group", "Add") is None  # outside the table


def test_hostile_nesting_is_unknown_not_a_crash(tmp_path: Path) -> None:
    """A type nested 5,000 deep, and a chain of 5,000 selectors: unknown (or a type), never RecursionError."""
    deep_type = "[]" * 5000 + "int"
    chain = "x" + ".f" * 5000
    source = f"package p\n\nvar x struct{{ f int }}\n\nfunc g() {{\n\tvar y {deep_type}\n\t_ = y\n\t_ = {chain}\n}}\n".encode()
    root = parser().parse(source).root_node
    types = file_types(root, source, file_imports(source, root), None, str(tmp_path / "a.go"))
    assert types.type_of(_find(root, source, "y", 1)) is None
    assert types.type_of(_find(root, source, chain)) is None
