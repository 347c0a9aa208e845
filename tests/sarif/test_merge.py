"""merge_sarif: sharded runs into one run that GitHub accepts."""

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

from gleak_sarif.errors import ConfigError
from gleak_sarif.model import Notification, NotificationKind, ScanResult
from gleak_sarif.report.merge import merge_sarif
from gleak_sarif.report.sarif import SarifLimits, build_sarif, dumps


def shard(
    root: Path, out: Path, *, files: list[str], rules: list[Any], start: str, end: str, **kw: Any
) -> Path:
    findings = []
    for name in files:
        go = GoFile(root / name, LEAK_GO)
        ids = {r.id for r in rules}
        if "GL201" in ids:
            findings.append(gl201_finding(go))
        if "GL502" in ids:
            findings.append(gl502_finding(go))
        if "GL101" in ids:
            findings.append(gl101_finding(go))
    result = ScanResult(
        findings=findings,
        rules=rules,
        notifications=[Notification(kind=NotificationKind.parse_error, message=f"{out.name}: broken.go")],
        files_scanned=len(files),
        start_time=start,
        end_time=end,
        source_root=str(root),
    )
    log = build_sarif(
        result,
        category=kw.get("category", "gleak"),
        source_root=None,
        tool_version=kw.get("version", "0.1.0"),
    )
    if "tool" in kw:
        log["runs"][0]["tool"]["driver"]["name"] = kw["tool"]
    out.write_text(dumps(log), encoding="utf-8")
    return out


def two_shards(tmp_path: Path, **kw_b: Any) -> tuple[Path, Path]:
    root = tmp_path / "repo"
    a = shard(
        root,
        tmp_path / "a.sarif",
        files=["svc/a.go", "shared/s.go"],
        rules=[rule_gl201(), rule_gl502()],
        start="2026-11-27T03:00:05Z",
        end="2026-11-27T03:00:09Z",
    )
    b = shard(
        root,
        tmp_path / "b.sarif",
        files=["shared/s.go", "web/b.go"],  # shared/s.go scanned by both shards
        rules=[rule_gl101(), rule_gl502()],
        start="2026-11-27T03:00:01Z",
        end="2026-11-27T03:00:07Z",
        **kw_b,
    )
    return a, b


def test_merge_into_one_run(tmp_path: Path) -> None:
    a, b = two_shards(tmp_path)
    merged = merge_sarif([str(a), str(b)])
    assert merged["version"] == "2.1.0" and len(merged["runs"]) == 1
    run = merged["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == ["GL201", "GL502", "GL101"]
    for res in run["results"]:
        assert rules[res["ruleIndex"]]["id"] == res["ruleId"]
        for loc in [*res["locations"], *res.get("relatedLocations", [])]:
            art = loc["physicalLocation"]["artifactLocation"]
            assert run["artifacts"][art["index"]]["location"]["uri"] == art["uri"]
    uris = [a["location"]["uri"] for a in run["artifacts"]]
    assert sorted(uris) == ["shared/s.go", "svc/a.go", "web/b.go"]
    keys = [
        (r["ruleId"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"])
        for r in run["results"]
    ]
    # GL502 on shared/s.go came from both shards: once. 2 + 2 from a, GL101 x2 + GL502 on web from b.
    assert len(keys) == len(set(keys)) == 7
    inv = run["invocations"][0]
    assert inv["startTimeUtc"] == "2026-11-27T03:00:01.000Z"
    assert inv["endTimeUtc"] == "2026-11-27T03:00:09.000Z"
    assert inv["executionSuccessful"] is True
    assert len(inv["toolExecutionNotifications"]) == 2
    assert inv["properties"]["filesScanned"] == 4
    assert run["automationDetails"] == {"id": "gleak/"}
    assert run["originalUriBaseIds"]["SRCROOT"]["uri"].endswith("/repo/")
    assert run["columnKind"] == "utf16CodeUnits"
    assert schema_errors(merged) == []


def test_merged_log_passes_the_multitool(tmp_path: Path, validate: Any) -> None:
    a, b = two_shards(tmp_path)
    report = validate(write_log(tmp_path, merge_sarif([str(a), str(b)]), "merged.sarif"))
    assert report.errors == [] and report.warnings == []
    assert set(report.rule_ids("notes")) <= EXPECTED_NOTES


def test_merging_a_log_with_itself_changes_nothing_but_notes(tmp_path: Path) -> None:
    a, _ = two_shards(tmp_path)
    once = merge_sarif([str(a)])
    twice = merge_sarif([str(a), str(a)])
    assert twice["runs"][0]["results"] == once["runs"][0]["results"]
    assert twice["runs"][0]["tool"] == once["runs"][0]["tool"]


def test_merge_limit_is_reported(tmp_path: Path) -> None:
    a, b = two_shards(tmp_path)
    run = merge_sarif([str(a), str(b)], limits=SarifLimits(results=3))["runs"][0]
    assert len(run["results"]) == 3
    assert [r["level"] for r in run["results"]].count("error") == 2  # both GL201 errors survive
    note = run["invocations"][0]["toolExecutionNotifications"][-1]
    assert (
        note["descriptor"]["id"] == "limit"
        and "4 of 7 merged results were left out" in note["message"]["text"]
    )


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"tool": "golangci-lint"}, "different tools"),
        ({"version": "0.2.0"}, "different tool versions"),
        ({"category": "other"}, "different categories"),
    ],
)
def test_incompatible_logs_are_refused(tmp_path: Path, kw: dict[str, Any], message: str) -> None:
    a, b = two_shards(tmp_path, **kw)
    with pytest.raises(ConfigError, match=message):
        merge_sarif([str(a), str(b)])


def test_different_source_roots_are_refused(tmp_path: Path) -> None:
    a, _ = two_shards(tmp_path / "one")
    b, _ = two_shards(tmp_path / "two")
    with pytest.raises(ConfigError, match="different source roots"):
        merge_sarif([str(a), str(b)])


def test_bad_inputs(tmp_path: Path) -> None:
    bad = tmp_path / "bad.sarif"
    bad.write_text("{")
    with pytest.raises(ConfigError, match="not valid JSON"):
        merge_sarif([str(bad)])
    bad.write_text(json.dumps({"version": "2.1.0"}))
    with pytest.raises(ConfigError, match="not a SARIF log"):
        merge_sarif([str(bad)])
    with pytest.raises(ConfigError, match="cannot read"):
        merge_sarif([str(tmp_path / "missing.sarif")])
    with pytest.raises(ConfigError, match="no input files"):
        merge_sarif([])
