"""Lazy atoms (relation targets, not in the combined query): asked in many ranges of one file, an atom is
collected once per top-level declaration holding the range (the whole file only for a range no
declaration holds). The answers must be those of one query per range (issue 20)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tree_sitter import Node

from gleak_sarif.config import ScanOptions
from gleak_sarif.engine import evaluate
from gleak_sarif.engine.context import ScanContext
from gleak_sarif.engine.evaluate import FileEvaluator
from gleak_sarif.engine.worker import scan_source
from gleak_sarif.gosource import parser
from gleak_sarif.rules.loader import load_pack
from gleak_sarif.rules.query import prepare_pack

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
FILES = ["runtime/leaky/main.go", "GL409/pool_ok.go", "GL408/cache.go", "GL410/dispatcher_ok.go"]


def _ranges(root: Node) -> list[tuple[int, int]]:
    """Every block's range (nested ones too), every top-level declaration's, two declarations together and
    the whole file: the shapes relations ask about."""
    out: list[tuple[int, int]] = []
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type in ("block", "function_declaration", "method_declaration"):
            out.append((node.start_byte, node.end_byte))
        stack.extend(node.children)
    decls = [c for c in root.children if c.type in ("function_declaration", "method_declaration")]
    out.append((decls[0].start_byte, decls[1].end_byte))
    out.append((0, root.end_byte))
    return out


def test_collected_atoms_answer_as_range_queries(monkeypatch: pytest.MonkeyPatch) -> None:
    pack = load_pack(select=["ALL"])
    prepare_pack(pack)
    lazy = [atom.index for atom in pack.atoms if atom.root_pattern is None]
    assert len(lazy) > 20
    source = (FIXTURES / FILES[0]).read_bytes()
    root = parser().parse(source).root_node
    ranges = _ranges(root)

    def answers(after: int) -> tuple[FileEvaluator, list[list[tuple[int, ...]]]]:
        monkeypatch.setattr(evaluate, "WHOLE_FILE_AFTER", after)
        evaluator = FileEvaluator(pack, "main.go", "main.go", source, root, None)
        found: list[list[tuple[int, ...]]] = [[(n.start_byte, n.end_byte, n.kind_id) for n in evaluator._atom_in(atom, start, end)]
                 for atom in lazy for start, end in ranges]
        found += [[(m.node.start_byte, len(m.binds)) for m in evaluator._atom_at(atom, node)]
                  for atom in lazy for node in root.children]
        return evaluator, found

    collected, by_collection = answers(0)
    _, by_range = answers(10**9)
    assert by_collection == by_range
    assert any(m for m in by_range)  # the atoms do match in this file: the comparison says something
    spans = {(first, last) for _, first, last in collected._collected}
    assert (0, len(source)) in spans  # a range no declaration holds: the whole file
    assert any(first > 0 for first, _ in spans)  # ranges inside one declaration: that declaration


def test_same_findings_per_declaration_and_per_range(monkeypatch: pytest.MonkeyPatch) -> None:
    pack = load_pack(select=["ALL"])
    prepare_pack(pack)

    def findings(after: int) -> list[tuple[str, int, int, str]]:
        monkeypatch.setattr(evaluate, "WHOLE_FILE_AFTER", after)
        context = ScanContext(pack, ScanOptions(jobs=1, use_cache=False, config_path=None))
        out = []
        for name in FILES:
            path = str(FIXTURES / name)
            result = scan_source(context, path, (FIXTURES / name).read_bytes(), None)
            assert not result.notifications
            out += [(f.rule_id, f.primary.start_line, f.primary.start_column, f.message) for f in result.findings]
        return sorted(out)

    every_range = findings(10**9)
    assert every_range  # these fixtures have findings
    assert findings(0) == every_range
    assert findings(evaluate.WHOLE_FILE_AFTER) == every_range
