"""`--format github`: GitHub Actions workflow commands (`::error file=...,line=...::message`)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from gleak_sarif.model import (
    BaselineState,
    Finding,
    Notification,
    NotificationKind,
    ScanResult,
    Severity,
    Span,
    Suppression,
)
from gleak_sarif.report.github import render_github
from tests.integrations.kit import REPO, clean_env, gleak_bin

# The runner's grammar: ::<level> k=v,k=v::<data>; properties escape % \r \n : , and data % \r \n.
LINE = re.compile(
    r"^::(?P<level>error|warning|notice) file=(?P<file>[^,:]+),line=(?P<line>\d+),endLine=(?P<end>\d+),"
    r"col=(?P<col>\d+),endColumn=(?P<endcol>\d+),title=(?P<title>[^:]+)::(?P<message>[^\r\n]+)$"
)


def _scan(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run([gleak_bin(), "scan", "--quiet", *args], cwd=cwd, env=clean_env(),
                          capture_output=True, text=True, timeout=300)


def test_example_annotations_match_the_json_findings() -> None:
    github = _scan("fixtures/example", "--format", "github")
    as_json = _scan("fixtures/example", "--format", "json")
    assert github.returncode == 1 == as_json.returncode, github.stderr  # the format does not change the code
    findings = json.loads(as_json.stdout)["findings"]
    lines = github.stdout.strip().splitlines()
    assert len(lines) == len(findings) >= 4
    level = {"error": "error", "warning": "warning", "note": "notice"}
    for line, finding in zip(lines, findings, strict=True):
        match = LINE.match(line)
        assert match, line
        assert match["level"] == level[finding["severity"]]
        assert match["file"] == "fixtures/example/server.go"
        assert int(match["line"]) == finding["primary"]["start_line"]
        assert int(match["col"]) == finding["primary"]["start_column"]
        assert int(match["endcol"]) == finding["primary"]["end_column"]
        assert match["title"] == f"{finding['rule_id']} {finding['rule_name']}"
        assert match["message"] == finding["message"]
    assert lines[0].startswith("::warning file=fixtures/example/server.go,line=35,endLine=35,col=2,")


def test_paths_are_relative_to_the_repository_root_from_any_folder() -> None:
    done = _scan("example/server.go", "--format", "github", cwd=REPO / "fixtures")
    assert done.returncode == 1
    assert all(line.startswith(("::error file=fixtures/example/server.go,", "::warning file=fixtures/example/"))
               for line in done.stdout.strip().splitlines()), done.stdout


def test_source_root_option_sets_the_annotation_root(tmp_path: Path) -> None:
    done = _scan(str(REPO / "fixtures" / "example"), "--format", "github", "--source-root",
                 str(REPO / "fixtures"))
    assert "::warning file=example/server.go,line=35," in done.stdout


def _span(path: str, line: int = 3) -> Span:
    return Span(path=path, start_byte=0, end_byte=1, start_line=line, start_column=2, end_line=line + 1,
                end_column=5)


def _finding(**kw: object) -> Finding:
    base: dict[str, object] = {"rule_id": "GL201", "rule_name": "send-abandoned-by-select",
                               "severity": Severity.error, "message": "m", "primary": _span("a.go")}
    base.update(kw)
    return Finding.model_validate(base)


def test_escaping_levels_suppression_and_baseline(tmp_path: Path) -> None:
    result = ScanResult(
        source_root=str(tmp_path),
        findings=[
            _finding(message="100% sure:\nline two, really", primary=_span(str(tmp_path / "d,ir" / "a:b.go"))),
            _finding(rule_id="GL506", rule_name="cmd-start-without-wait", severity=Severity.warning),
            _finding(rule_id="GL103", rule_name="fire-and-forget", severity=Severity.note),
            _finding(suppression=Suppression(directive="//nolint:gleak")),
            _finding(baseline_state=BaselineState.absent),
            _finding(baseline_state=BaselineState.unchanged, message="old"),
            _finding(baseline_state=BaselineState.new, message="new one"),
        ],
        notifications=[
            Notification(kind=NotificationKind.parse_error, message="syntax error", path="b.go", line=7),
            Notification(kind=NotificationKind.config, message="no path"),
        ],
    )
    lines = render_github(result).splitlines()
    assert lines == [
        "::error file=d%2Cir/a%3Ab.go,line=3,endLine=4,col=2,endColumn=5,"
        "title=GL201 send-abandoned-by-select::100%25 sure:%0Aline two, really",
        "::warning file=a.go,line=3,endLine=4,col=2,endColumn=5,title=GL506 cmd-start-without-wait::m",
        "::notice file=a.go,line=3,endLine=4,col=2,endColumn=5,title=GL103 fire-and-forget::m",
        # suppressed and absent findings are not annotated; baseline ones say so in the title
        "::error file=a.go,line=3,endLine=4,col=2,endColumn=5,title=GL201 send-abandoned-by-select "
        "(in baseline)::old",
        "::error file=a.go,line=3,endLine=4,col=2,endColumn=5,title=GL201 send-abandoned-by-select::new one",
        "::warning file=b.go,line=7::syntax error",
        "::warning::no path",
    ]
