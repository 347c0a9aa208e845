"""Baselines: new / unchanged / updated / absent, matched by gleakFingerprint/v1 on real files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sarifkit import (
    EXPECTED_NOTES,
    LEAK_GO,
    GoFile,
    gl101_finding,
    gl201_finding,
    gl502_finding,
    rule_gl101,
    rule_gl201,
    rule_gl502,
    schema_errors,
    write_log,
)

from gleak_sarif.baseline import apply_baseline
from gleak_sarif.errors import ConfigError
from gleak_sarif.model import BaselineState, ScanResult
from gleak_sarif.report.sarif import build_sarif, render_sarif

SHIFT = "// A new header comment.\n// Another one.\n"


def scan(root: Path, *, shifted: bool, fixed: bool, new: bool, reworded: bool) -> ScanResult:
    """What the engine would report for the repository in one of its states."""
    fetch = GoFile(root / "fetch.go", LEAK_GO)
    poll = GoFile(root / "poll" / "poll.go", (SHIFT if shifted else "") + LEAK_GO.replace("leaky", "poll"))
    gone_text = LEAK_GO if not fixed else LEAK_GO.replace("time.NewTicker(time.Second)", "time.NewTimer(0)")
    gone = GoFile(root / "gone.go", gone_text)
    findings = [gl201_finding(fetch), gl502_finding(poll)]
    if reworded:
        findings[0].message = "The goroutine leaks: its send on ch blocks forever once ctx is done."
    if not fixed:
        findings.append(gl502_finding(gone))
    if new:
        findings.append(gl101_finding(fetch))
    return ScanResult(
        findings=findings, rules=[rule_gl101(), rule_gl201(), rule_gl502()], source_root=str(root)
    )


def write_baseline(root: Path, tmp_path: Path) -> Path:
    old = scan(root, shifted=False, fixed=False, new=False, reworded=False)
    path = tmp_path / "baseline.sarif"
    path.write_text(
        render_sarif(old, category="gleak", source_root=None, tool_version="0.1.0"), encoding="utf-8"
    )
    return path


def test_states_and_absent_findings(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    baseline = write_baseline(root, tmp_path)
    old_log = json.loads(baseline.read_text())
    old_gone = next(r for r in old_log["runs"][0]["results"] if "gone.go" in json.dumps(r["locations"]))

    now = scan(root, shifted=True, fixed=True, new=True, reworded=False)
    absent = apply_baseline(now, str(baseline))
    states = {(f.rule_id, f.primary.path.rsplit("/", 1)[-1]): f.baseline_state for f in now.findings}
    assert states == {
        ("GL201", "fetch.go"): BaselineState.unchanged,
        ("GL502", "poll.go"): BaselineState.updated,  # same fingerprint, moved down two lines
        ("GL101", "fetch.go"): BaselineState.new,
    }
    assert len(absent) == 1
    gone = absent[0]
    assert (gone.rule_id, gone.rule_name, gone.baseline_state) == (
        "GL502",
        "ticker-not-stopped",
        BaselineState.absent,
    )
    assert gone.primary.path == str((root / "gone.go").resolve())

    # The absent result is written as it was in the baseline: fingerprints, region, message.
    now.findings.extend(absent)
    log = build_sarif(now, category="gleak", source_root=None, tool_version="0.1.0")
    written = next(r for r in log["runs"][0]["results"] if r.get("baselineState") == "absent")
    assert written["partialFingerprints"] == old_gone["partialFingerprints"]
    assert (
        written["locations"][0]["physicalLocation"]["region"]
        == old_gone["locations"][0]["physicalLocation"]["region"]
    )
    assert written["message"] == old_gone["message"]
    assert "gleak.baseline" not in json.dumps(written)
    assert [r.get("baselineState") for r in log["runs"][0]["results"]].count("unchanged") == 1
    assert schema_errors(log) == []


def test_reworded_message_is_updated(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    baseline = write_baseline(root, tmp_path)
    now = scan(root, shifted=False, fixed=False, new=False, reworded=True)
    assert apply_baseline(now, str(baseline)) == []
    assert [f.baseline_state for f in now.findings] == [
        BaselineState.updated,
        BaselineState.unchanged,
        BaselineState.unchanged,
    ]


def test_baselined_sarif_passes_the_multitool(tmp_path: Path, validate: Any) -> None:
    root = tmp_path / "repo"
    baseline = write_baseline(root, tmp_path)
    now = scan(root, shifted=True, fixed=True, new=True, reworded=True)
    now.findings.extend(apply_baseline(now, str(baseline)))
    log = build_sarif(now, category="gleak", source_root=None, tool_version="0.1.0")
    assert {r["baselineState"] for r in log["runs"][0]["results"]} == {"new", "updated", "absent"}
    report = validate(write_log(tmp_path, log))
    assert report.errors == [] and report.warnings == []
    assert set(report.rule_ids("notes")) <= EXPECTED_NOTES


def test_baseline_of_a_baseline_skips_its_absent_results(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    baseline = write_baseline(root, tmp_path)
    now = scan(root, shifted=False, fixed=True, new=False, reworded=False)
    now.findings.extend(apply_baseline(now, str(baseline)))
    second = tmp_path / "second.sarif"
    second.write_text(render_sarif(now, category="gleak", source_root=None, tool_version="0.1.0"))
    again = scan(root, shifted=False, fixed=True, new=False, reworded=False)
    assert apply_baseline(again, str(second)) == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "file not found"),
        ("{not json", "not valid JSON"),
        ('{"version": "2.1.0"}', "not a SARIF log"),
        ('{"version": "2.0.0", "runs": []}', "SARIF version '2.0.0' is not supported"),
        (
            '{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "golangci-lint"}}}]}',
            "no run of gleak-sarif",
        ),
        (
            '{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "gleak-sarif"}}, "results": '
            '[{"ruleId": "GL201", "message": {"text": "m"}}]}]}',
            "has no partialFingerprints.gleakFingerprint/v1",
        ),
    ],
)
def test_invalid_baseline_is_a_config_error(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "old.sarif"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError) as err:
        apply_baseline(ScanResult(source_root=str(tmp_path)), str(path))
    assert message in str(err.value)
    assert str(path) in str(err.value)
    assert err.value.exit_code == 2


def test_absent_results_can_be_left_out_for_github(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    baseline = write_baseline(root, tmp_path)
    now = scan(root, shifted=False, fixed=True, new=False, reworded=False)
    now.findings.extend(apply_baseline(now, str(baseline)))
    with_absent = build_sarif(now, category="gleak", source_root=None, tool_version="0.1.0")
    without = build_sarif(now, category="gleak", source_root=None, tool_version="0.1.0", include_absent=False)
    assert [r["baselineState"] for r in with_absent["runs"][0]["results"]].count("absent") == 1
    assert "absent" not in {r["baselineState"] for r in without["runs"][0]["results"]}
    assert len(without["runs"][0]["results"]) == len(with_absent["runs"][0]["results"]) - 1
