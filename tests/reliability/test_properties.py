"""Property tests: the CI-sized run of the fuzz targets (tests/reliability/targets.py), plus the inputs
the long fuzz runs found, pinned as regressions. `scripts/fuzz --minutes N` is the long version."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from gleak_sarif.model import Finding, Fix, ScanResult, Severity, Span, TextEdit
from tests.reliability.conftest import PROFILE
from tests.reliability.targets import (
    SELECTORS,
    compile_any_snippet,
    dumps_text,
    engine_on_bytes,
    go_bytes,
    load_any_rule,
    parse_any_dump,
    sarif_of_any_result,
    scan_results,
    snippets,
    yamlish,
)


@settings(PROFILE)
@given(go_bytes())
def test_engine_on_any_bytes(data: bytes) -> None:
    engine_on_bytes(data)


@settings(PROFILE)
@given(st.tuples(snippets(), SELECTORS))
def test_pattern_compiler_on_any_snippet(args: tuple[str, str | None]) -> None:
    compile_any_snippet(args)


@settings(PROFILE)
@given(text=yamlish())
def test_rule_loader_on_any_yaml(tmp_path: Path, text: str) -> None:
    load_any_rule(text, tmp_path)


@settings(PROFILE)
@given(dumps_text())
def test_dump_parsers_on_any_text(text: str) -> None:
    parse_any_dump(text)


@settings(PROFILE, max_examples=max(10, PROFILE.max_examples // 2))  # schema validation is the slow part
@given(args=st.tuples(scan_results(), st.none() | st.text(max_size=10)))
def test_sarif_writer_on_any_findings(tmp_path: Path, args: tuple[ScanResult, str | None]) -> None:
    sarif_of_any_result(args, tmp_path)


# ---- regressions found by scripts/fuzz -------------------------------------------------------------


def test_invalid_utf8_in_a_compared_identifier() -> None:
    """Latin-1 identifiers: tree-sitter predicates decoded node text strictly and the scan died (exit 3)."""
    engine_on_bytes(b"package p\n\nfunc f() {\n\tcaf\xe9 := make(chan int)\n\tgo func() { caf\xe9 <- 1 }()\n"
                    b"\tselect {\n\tcase <-caf\xe9:\n\tcase <-done:\n\t}\n}\n")
    engine_on_bytes(b"package p\nfunc (w *W) Stop() int {\n\tselect {\n\tcase n := <-T\x03\x9a:P\xa2~\xafw.acks:"
                    b"\n\t\treturn n\n\t}\n}\n")


def _finding(path: str, edit: TextEdit | None = None) -> Finding:
    span = Span(path=path, start_byte=0, end_byte=1, start_line=1, start_column=1, end_line=1, end_column=2)
    return Finding(rule_id="GLR001", rule_name="x", severity=Severity.warning, message="m", primary=span,
                   fix=Fix(description="d", edits=[edit]) if edit else None)


def test_sarif_with_a_nul_byte_in_a_dump_path(tmp_path: Path) -> None:
    """A path read from a goroutine dump may hold any byte; realpath/open raised ValueError (exit 3)."""
    sarif_of_any_result((ScanResult(findings=[_finding("a\x00b.go")]), None), tmp_path)


def test_sarif_with_a_reversed_fix_edit(tmp_path: Path) -> None:
    edit = TextEdit(path=str(tmp_path / "a.go"), start_byte=5, end_byte=2, new_text="x")
    (tmp_path / "a.go").write_text("package p\n")
    result = ScanResult(findings=[_finding(str(tmp_path / "a.go"), edit)])
    sarif_of_any_result((result, None), tmp_path)
    from gleak_sarif.report import render

    log: dict[str, Any] = json.loads(render(result, "sarif", source_root=str(tmp_path)))
    region = log["runs"][0]["results"][0]["fixes"][0]["artifactChanges"][0]["replacements"][0]["deletedRegion"]
    assert region["byteOffset"] == 5 and region["byteLength"] == 0
