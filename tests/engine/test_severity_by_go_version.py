"""`severity-by-go-version`: a rule's severity follows the scanned module's go.mod `go` line."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from gleak_sarif.config import ScanOptions
from gleak_sarif.engine import Engine
from gleak_sarif.errors import ConfigError
from gleak_sarif.model import Severity
from tests.helpers import run_rule, write

RULE = """
severity-by-go-version:
  - {go-version: ">=1.23", severity: note}
  - {go-version: ">=1.21, <1.23", severity: error}
rule:
  pattern: time.NewTimer($D)
"""
SOURCE = """\
package p

import "time"

func f() { time.NewTimer(time.Second) }
"""


@pytest.mark.parametrize(
    ("go_mod", "expected"),
    [
        ("module m\n\ngo 1.24\n", Severity.note),
        ("module m\n\ngo 1.22\n", Severity.error),
        ("module m\n\ngo 1.20\n", Severity.warning),  # no row holds: the rule's `severity`
        (None, Severity.warning),  # no go.mod at all
    ],
)
def test_severity_follows_go_mod(tmp_path: Path, go_mod: str | None, expected: Severity) -> None:
    findings = run_rule(tmp_path, RULE, SOURCE, go_mod=go_mod)
    assert [f.severity for f in findings] == [expected]


def test_user_severity_override_wins(tmp_path: Path) -> None:
    rule = write(tmp_path / "rules" / "TST001.yml", """\
        id: TST001
        name: test-rule
        severity: warning
        precision: high
        message: "matched"
        docs: {what: "w.", why: "y.", example: "e"}
        severity-by-go-version: [{go-version: ">=1.23", severity: note}]
        rule: {pattern: time.NewTimer($D)}
        """)
    source = write(tmp_path / "src" / "p.go", SOURCE)
    write(tmp_path / "src" / "go.mod", "module m\n\ngo 1.24\n")
    engine = Engine(ScanOptions(rules=[str(rule)], builtin_rules=False, jobs=1, use_cache=False,
                                severity_overrides={"TST001": Severity.error}))
    assert [f.severity for f in engine.scan([str(source)]).findings] == [Severity.error]


def test_bad_version_term_is_a_config_error(tmp_path: Path) -> None:
    bad = RULE.replace('">=1.23"', '"newer than 1.23"')
    with pytest.raises(ConfigError, match="go-version"):
        run_rule(tmp_path, bad, SOURCE)


GL503_SOURCE = """\
package poll

import (
	"context"
	"time"
)

func wait(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
"""


# GL503 is a note since the levels by evidence (bench/levels.py)
@pytest.mark.parametrize(("go_line", "expected"), [("go 1.21", [Severity.note]), ("go 1.23", [])])
def test_builtin_timer_rule_follows_go_mod(tmp_path: Path, go_line: str, expected: list[Severity]) -> None:
    # GL503: timers are collected since Go 1.23, so an unstopped one is no leak there
    source = write(tmp_path / "poll" / "poll.go", GL503_SOURCE)
    write(tmp_path / "go.mod", f"module m\n\n{go_line}\n")
    engine = Engine(ScanOptions(select=["GL503"], jobs=1, use_cache=False))
    assert [f.severity for f in engine.scan([str(source)]).findings] == expected


REPO = Path(__file__).resolve().parents[2]
VERSIONED = sorted(p for p in (REPO / "rules").rglob("*.yml") if re.search(r"^go-version:", p.read_text(), re.M))


@pytest.mark.parametrize("rule_file", VERSIONED, ids=lambda p: p.name.split("-")[0])
@pytest.mark.parametrize(
    ("go_mod", "reported"),
    [
        ("go 1.22.5\n", True),
        ("go 1.26.7\n", False),
        ("go 1.26.7\n\ntoolchain go1.26.8\n", False),  # issue 16: three parts and a toolchain line
        ("go 1.23.0 // the first 1.23\n", False),
    ],
)
def test_go_version_rules_read_three_part_go_lines(tmp_path: Path, rule_file: Path, go_mod: str,
                                                   reported: bool) -> None:
    """Every rule limited to old Go (`go-version: "<1.23"`) fires on its legacy fixtures under a go.mod with a
    two- or three-part older version, and stays silent under a newer one however it is written."""
    rule_id = rule_file.name.split("-")[0]
    legacy = REPO / "fixtures" / rule_id / "legacy"
    assert legacy.is_dir(), f"{rule_id} has go-version but no fixtures/{rule_id}/legacy module"
    shutil.copytree(legacy, tmp_path / "mod")
    (tmp_path / "mod" / "go.mod").write_text(f"module m\n\n{go_mod}", encoding="utf-8")
    engine = Engine(ScanOptions(select=[rule_id], jobs=1, use_cache=False))
    findings = engine.scan([str(tmp_path / "mod")]).findings
    assert bool(findings) is reported, [f.primary.start_line for f in findings]
