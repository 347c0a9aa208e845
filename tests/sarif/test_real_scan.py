"""End to end with the real engine: scan fixtures/, write SARIF, validate; suppressions and a baseline."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from sarifkit import EXPECTED_NOTES, REPO, schema_errors, write_log

from gleak_sarif.baseline import apply_baseline
from gleak_sarif.config import ScanOptions
from gleak_sarif.engine import Engine
from gleak_sarif.model import BaselineState, ScanResult
from gleak_sarif.report.sarif import build_sarif, render_sarif


def scan(paths: list[str]) -> ScanResult:
    return Engine(ScanOptions(use_cache=False, jobs=1)).scan(paths)


@pytest.fixture(scope="module")
def fixtures_scan() -> ScanResult:
    return scan([str(REPO / "fixtures")])


def test_sarif_of_fixtures_is_valid(fixtures_scan: ScanResult, tmp_path: Path, validate: Any) -> None:
    assert fixtures_scan.findings, "the fixtures should produce findings"
    log = build_sarif(fixtures_scan, category="gleak", source_root=str(REPO), tool_version="0.1.0")
    run = log["runs"][0]
    assert len(run["results"]) == len(fixtures_scan.findings)
    assert {r["id"] for r in run["tool"]["driver"]["rules"]} >= {f.rule_id for f in fixtures_scan.findings}
    for res in run["results"]:
        uri = res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        assert uri.startswith("fixtures/") and not uri.startswith("/")
        assert set(res["partialFingerprints"]) == {"primaryLocationLineHash", "gleakFingerprint/v1"}
    assert schema_errors(log) == []
    report = validate(write_log(tmp_path, log))
    assert report.errors == [], report.errors
    assert report.warnings == [], report.warnings
    assert set(report.rule_ids("notes")) <= EXPECTED_NOTES, report.notes


def test_real_suppression_and_baseline(fixtures_scan: ScanResult, tmp_path: Path, validate: Any) -> None:
    first = fixtures_scan.findings[0]
    package = Path(first.primary.path).resolve().parent
    repo = tmp_path / "repo"
    shutil.copytree(package, repo / package.name)
    shutil.copy(REPO / "fixtures" / "go.mod", repo / "go.mod")

    before = scan([str(repo)])
    before.source_root = str(repo)
    assert before.findings
    baseline = tmp_path / "baseline.sarif"
    baseline.write_text(render_sarif(before, category="gleak", source_root=None, tool_version="0.1.0"))

    # Suppress the first finding with a directive above its statement (same indentation: golangci-lint's
    # rule for covering the whole statement), and push everything in its file down by two more lines.
    target = Path(before.findings[0].primary.path)
    lines = target.read_text(encoding="utf-8").split("\n")
    index = before.findings[0].primary.start_line - 1
    indent = lines[index][: len(lines[index]) - len(lines[index].lstrip())]
    lines.insert(index, indent + "//nolint:gleak // reviewed: bounded by the caller")
    target.write_text("// Header added later.\n// Second line.\n" + "\n".join(lines), encoding="utf-8")

    after = scan([str(repo)])
    after.source_root = str(repo)
    reason = "reviewed: bounded by the caller"
    suppressed = [
        f for f in after.findings if f.suppression is not None and f.suppression.justification == reason
    ]
    assert len(suppressed) == 1
    assert (suppressed[0].rule_id, suppressed[0].primary.start_line) == (
        before.findings[0].rule_id,
        before.findings[0].primary.start_line + 3,
    )
    absent = apply_baseline(after, str(baseline))
    assert absent == []
    moved = [f for f in after.findings if Path(f.primary.path).resolve() == target.resolve()]
    assert moved and all(f.baseline_state is BaselineState.updated for f in moved)

    log = build_sarif(after, category="gleak", source_root=None, tool_version="0.1.0")
    sup = [
        r for r in log["runs"][0]["results"] if r.get("suppressions", [{}])[0].get("justification") == reason
    ]
    assert len(sup) == 1 and sup[0]["suppressions"][0]["kind"] == "inSource"
    assert schema_errors(log) == []
    report = validate(write_log(tmp_path, log))
    assert report.errors == [] and report.warnings == []


def test_sarif_of_hostile_file_names_is_valid(tmp_path: Path, validate: Any) -> None:
    """Names that are not UTF-8 or hold a newline (issue 22 items 3, 14): percent-encoded URIs that the
    multitool and the 2.1.0 schema accept, with the same notes as any scan."""
    example = (REPO / "fixtures" / "example" / "server.go").read_bytes()
    root = tmp_path / "repo"
    root.mkdir()
    for name in (b"bad\xff.go", b"line\nbreak.go", b"100%.go"):
        (root / name.decode("utf-8", "surrogateescape")).write_bytes(example)
    result = scan([str(root)])
    assert result.findings
    log = build_sarif(result, category="gleak", source_root=str(root), tool_version="0.1.0")
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in log["runs"][0]["results"]}
    assert uris == {"bad%FF.go", "line%0Abreak.go", "100%25.go"}
    assert schema_errors(log) == []
    report = validate(write_log(tmp_path, log))
    assert report.errors == [], report.errors
    assert report.warnings == [], report.warnings
    assert set(report.rule_ids("notes")) <= EXPECTED_NOTES, report.notes
