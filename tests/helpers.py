"""Shared test helpers: run an inline rule on inline Go source through the real engine."""

from __future__ import annotations

import os
import shutil
import textwrap
from pathlib import Path

import pytest

from gleak_sarif.config import ScanOptions
from gleak_sarif.engine import Engine
from gleak_sarif.model import Finding

RULE_HEADER = """\
id: TST001
name: test-rule
severity: warning
precision: high
message: "matched"
docs: {what: "w.", why: "y.", example: "e"}
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def run_rule(tmp_path: Path, rule_body: str, go_source: str, *, header: str = RULE_HEADER,
             go_mod: str | None = None) -> list[Finding]:
    """Scan one Go file with one rule (``rule_body`` is YAML appended to a minimal header)."""
    rule_file = write(tmp_path / "rules" / "TST001.yml", header + textwrap.dedent(rule_body))
    source = write(tmp_path / "src" / "main.go", go_source)
    if go_mod is not None:
        write(tmp_path / "src" / "go.mod", go_mod)
    engine = Engine(ScanOptions(rules=[str(rule_file)], builtin_rules=False, jobs=1, use_cache=False))
    return engine.scan([str(source)]).findings


def lines(findings: list[Finding]) -> list[int]:
    return [f.primary.start_line for f in findings]


def require_tool(name: str) -> str:
    """The path of an external tool; under CI a missing tool fails the test instead of skipping it."""
    found = shutil.which(name)
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail(f"{name} is required under CI but was not found on PATH")
    pytest.skip(f"{name} not installed")
    raise AssertionError("unreachable")
