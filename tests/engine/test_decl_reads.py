"""What a `calls:` answer reads of a sibling (engine/callees.py `decl_local`, gopackage/reads.py
`declaration_digest`): the callee's declarations and the file's non-function declarations, when R looks
only inside the declaration."""

from __future__ import annotations

from pathlib import Path

import pytest

from gleak_sarif.engine.callees import decl_local
from gleak_sarif.gopackage.reads import declaration_digest
from gleak_sarif.gosource import parser
from gleak_sarif.rules.compiled import CNode
from gleak_sarif.rules.loader import load_pack
from tests.helpers import write

SOURCE = b"""package p

import "sync"

var mu sync.Mutex

// Flush locks.
func Flush() { mu.Lock(); mu.Unlock() }

func Other() int { return 1 }

func (s *S) Flush() {}

type S struct{}
"""


def _digest(source: bytes, kind: str = "function_declaration", name: str = "Flush") -> str:
    return declaration_digest(source, parser().parse(source).root_node, kind, name)


def test_declaration_digest_sees_the_callee_and_the_file_declarations_only() -> None:
    same = _digest(SOURCE)
    assert _digest(SOURCE.replace(b"return 1", b"return 2")) == same  # another function
    assert _digest(SOURCE.replace(b"// Flush locks.", b"// Flush, a comment")) == same  # a comment
    assert _digest(SOURCE.replace(b"func (s *S) Flush() {}", b"func (s *S) Flush() { mu.Lock() }")) == same
    assert _digest(SOURCE.replace(b"mu.Lock();", b"mu.TryLock();")) != same  # the callee
    assert _digest(SOURCE.replace(b'import "sync"', b'import sync "sync"')) != same  # imports
    assert _digest(SOURCE.replace(b"struct{}", b"struct{ n int }")) != same  # a type
    # the method Flush is another declaration
    method = _digest(SOURCE, "method_declaration")
    assert _digest(SOURCE.replace(b"mu.Lock();", b"mu.TryLock();"), "method_declaration") == method
    assert _digest(SOURCE.replace(b"func (s *S) Flush() {}", b"func (s *S) Flush() { _ = 1 }"),
                   "method_declaration") != method
    # a syntax error anywhere: the whole text counts
    broken = SOURCE.replace(b"return 1", b"return 1 +")
    assert _digest(broken) != _digest(broken.replace(b"return 1", b"return 2"))


def _calls(tmp_path: Path, body: str) -> CNode:
    text = ("id: TST009\nname: t\nseverity: warning\nprecision: high\nmessage: m\n"
            "docs: {what: w., why: y., example: e}\nrule:\n  kind: call_expression\n  calls:\n" + body)
    write(tmp_path / "rules" / "TST009.yml", text)
    root = load_pack([str(tmp_path / "rules")], builtin=False).rules[0].root
    calls = root.calls or next(part.calls for part in root.all or [] if part.calls is not None)
    assert calls is not None
    return calls


@pytest.mark.parametrize(("body", "local"), [
    ("    has: {pattern: $M.Lock(), stopBy: end}\n", True),
    ("    has: {kind: go_statement, stopBy: end, inside: {kind: function_declaration, stopBy: declaration}}\n",
     True),
    ("    has: {kind: go_statement, stopBy: end, follows: {kind: call_expression, stopBy: function}}\n", True),
    ("    has: {kind: go_statement, stopBy: end, inside: {kind: argument_list, stopBy: neighbor}}\n", True),
    ("    has: {kind: go_statement, stopBy: end, inside: {kind: source_file, stopBy: end}}\n", False),
    ("    has: {kind: go_statement, stopBy: end, follows: {kind: call_expression, stopBy: end}}\n", False),
    ("    inside: {kind: source_file}\n", False),  # the declaration's parent: the file
    ("    follows: {kind: function_declaration}\n", False),  # the declaration's neighbour: another one
    ("    has: {kind: go_statement, stopBy: end, not: {inside: {kind: source_file, stopBy: end}}}\n", False),
])
def test_decl_local(tmp_path: Path, body: str, local: bool) -> None:
    assert decl_local(_calls(tmp_path, body)) is local
