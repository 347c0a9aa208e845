"""`severity-in-tests`: a rule's level for findings whose primary location is in a `_test.go` file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gleak_sarif.bridge.server import PROTOCOL_VERSION, Server
from gleak_sarif.config import ScanOptions
from gleak_sarif.docs import rule_help_markdown, rules_lines, rules_markdown
from gleak_sarif.engine import Engine
from gleak_sarif.errors import ConfigError
from gleak_sarif.model import Finding, Severity
from gleak_sarif.options import Flags, resolve
from gleak_sarif.rules.loader import load_pack
from tests.helpers import write

REPO = Path(__file__).resolve().parents[2]
RULE = """\
id: TST001
name: test-rule
severity: {severity}
severity-in-tests: {in_tests}
precision: high
message: "timer made here"
docs: {{what: "w.", why: "y.", example: "e"}}
{extra}rule: {{pattern: time.NewTimer($D)}}
"""
SOURCE = """\
package p

import "time"

func f() {{ time.NewTimer(time.Second) }}
"""


def _rule(tmp_path: Path, severity: str = "warning", in_tests: str = "note", extra: str = "") -> Path:
    path = tmp_path / "rules" / "TST001.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(RULE.format(severity=severity, in_tests=in_tests, extra=extra), encoding="utf-8")
    return path


def _module(tmp_path: Path, go_line: str | None = None) -> Path:
    src = tmp_path / "src"
    write(src / "p.go", SOURCE.format())
    write(src / "p_test.go", SOURCE.format().replace("func f()", "func g()"))
    write(src / "p_test_helper.go", SOURCE.format().replace("func f()", "func h()"))  # not a test file
    if go_line is not None:
        write(src / "go.mod", f"module m\n\n{go_line}\n")
    return src


def _levels(findings: list[Finding]) -> dict[str, tuple[str, dict[str, object]]]:
    return {Path(f.primary.path).name: (f.severity.value, f.properties) for f in findings}


def _scan(tmp_path: Path, rule: Path, **options: object) -> list[Finding]:
    engine = Engine(ScanOptions(rules=[str(rule)], builtin_rules=False, jobs=1, use_cache=False,
                                **options))  # type: ignore[arg-type]
    return engine.scan([str(tmp_path / "src")]).findings


LOWERED = {"severityReason": "test file", "severityOutsideTests": "warning"}


def test_test_files_get_the_lower_level_and_say_why(tmp_path: Path) -> None:
    _module(tmp_path)
    assert _levels(_scan(tmp_path, _rule(tmp_path))) == {
        "p.go": ("warning", {}),
        "p_test.go": ("note", LOWERED),
        "p_test_helper.go": ("warning", {}),  # only `_test.go` files are test files
    }


def test_equal_to_severity_changes_nothing(tmp_path: Path) -> None:
    _module(tmp_path)
    levels = _levels(_scan(tmp_path, _rule(tmp_path, in_tests="warning")))
    assert levels["p_test.go"] == ("warning", {})


def test_higher_than_severity_is_a_loader_error_naming_file_and_line(tmp_path: Path) -> None:
    rule = _rule(tmp_path, severity="note", in_tests="warning")
    with pytest.raises(ConfigError) as caught:
        load_pack([str(rule)], builtin=False, select=["ALL"])
    assert caught.value.path is not None and caught.value.path.endswith("TST001.yml")
    assert caught.value.line == 4  # the `severity-in-tests:` line
    assert "severity-in-tests (warning) is higher than the rule's severity (note)" in str(caught.value)


def test_unknown_level_is_a_schema_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="severity-in-tests"):
        load_pack([str(_rule(tmp_path, in_tests="info"))], builtin=False, select=["ALL"])


VERSIONED = 'severity-by-go-version:\n  - {go-version: ">=1.23", severity: note}\n  - {go-version: "<1.21", severity: error}\n'


@pytest.mark.parametrize(
    ("go_line", "other", "test"),
    [
        # no row holds: `severity` (warning) outside tests, capped to note in tests
        ("go 1.22", ("warning", {}), ("note", LOWERED)),
        # a row lowers to note: the cap changes nothing, so no reason is given
        ("go 1.24", ("note", {}), ("note", {})),
        # a row raises to error: in tests the cap still applies, and says what it lowered
        ("go 1.20", ("error", {}), ("note", {**LOWERED, "severityOutsideTests": "error"})),
    ],
)
def test_a_cap_on_the_go_version_level(tmp_path: Path, go_line: str, other: tuple[str, dict[str, object]],
                                       test: tuple[str, dict[str, object]]) -> None:
    """`severity-in-tests` caps whatever `severity`/`severity-by-go-version` decide for the file."""
    _module(tmp_path, go_line)
    levels = _levels(_scan(tmp_path, _rule(tmp_path, extra=VERSIONED)))
    assert (levels["p.go"], levels["p_test.go"]) == (other, test)


def test_strict_tests_keeps_the_rules_level(tmp_path: Path) -> None:
    _module(tmp_path)
    levels = _levels(_scan(tmp_path, _rule(tmp_path), strict_tests=True))
    assert levels["p_test.go"] == ("warning", {})


def test_user_severity_wins_in_tests_too(tmp_path: Path) -> None:
    _module(tmp_path)
    levels = _levels(_scan(tmp_path, _rule(tmp_path), severity_overrides={"TST001": Severity.error}))
    assert levels["p_test.go"] == ("error", {}) and levels["p.go"] == ("error", {})


def test_strict_tests_from_config_and_flag(tmp_path: Path) -> None:
    write(tmp_path / ".gleak.yml", "strict-tests: true\n")
    assert resolve(Flags(), search_from=str(tmp_path)).strict_tests is True
    assert resolve(Flags(strict_tests=False), search_from=str(tmp_path)).strict_tests is False
    write(tmp_path / ".gleak.yml", "tests: true\n")
    assert resolve(Flags(), search_from=str(tmp_path)).strict_tests is False
    assert resolve(Flags(strict_tests=True), search_from=str(tmp_path)).strict_tests is True


def _cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gleak_sarif", "scan", "src", "--no-builtin-rules",
                           "--rules", str(tmp_path / "rules"), "--select", "TST001", *args],
                          capture_output=True, text=True, cwd=tmp_path, timeout=300)


def test_cli_outputs_and_fail_level(tmp_path: Path) -> None:
    """SARIF, JSON and text show the lowered level, SARIF/JSON say why, the fingerprints do not change,
    and `--fail-level` sees the lowered level; `--strict-tests` brings the rule's own level back."""
    _module(tmp_path)
    _rule(tmp_path)
    (tmp_path / "src" / "p.go").unlink()
    (tmp_path / "src" / "p_test_helper.go").unlink()
    write(tmp_path / ".gleak.yml", "{}\n")
    lowered = _cli(tmp_path, "--format", "sarif")
    assert lowered.returncode == 0, lowered.stderr  # a note does not fail at the default fail level
    strict = _cli(tmp_path, "--format", "sarif", "--strict-tests")
    assert strict.returncode == 1, strict.stderr
    (low,) = json.loads(lowered.stdout)["runs"][0]["results"]
    (high,) = json.loads(strict.stdout)["runs"][0]["results"]
    assert (low["level"], high["level"]) == ("note", "warning")
    assert low["properties"] == LOWERED and "properties" not in high
    assert low["partialFingerprints"] == high["partialFingerprints"]
    (descriptor,) = json.loads(lowered.stdout)["runs"][0]["tool"]["driver"]["rules"]
    assert descriptor["properties"]["severityInTests"] == "note"
    assert _cli(tmp_path, "--fail-level", "note").returncode == 1
    as_json = json.loads(_cli(tmp_path, "--format", "json").stdout)
    assert [(f["severity"], f["properties"]) for f in as_json["findings"]] == [("note", LOWERED)]
    assert as_json["rules"] == [{"id": "TST001", "name": "test-rule", "severity": "warning",
                                 "severity_in_tests": "note"}]
    text = _cli(tmp_path, "--format", "text").stdout
    assert "[test-rule] note" in text, text
    write(tmp_path / ".gleak.yml", "strict-tests: true\n")
    assert _cli(tmp_path, "--format", "text").returncode == 1


def test_bridge_reports_the_lowered_level(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The golangci-lint bridge: the level in the message text is the lowered one, and the plugin's fail
    level (only findings at or above it are reported) sees it."""
    _module(tmp_path)
    write(tmp_path / ".gleak.yml", "{}\n")
    monkeypatch.chdir(tmp_path)
    rule = _rule(tmp_path)

    def scan(**fields: object) -> list[str]:
        request = {"protocol": PROTOCOL_VERSION, "id": 1, "method": "scan", "select": ["TST001"],
                   "files": [str(tmp_path / "src" / "p_test.go")], "rules": [str(rule)], **fields}
        answer = Server().handle_line(json.dumps(request).encode())
        assert answer["ok"] is True, answer
        return [f["message"] for f in answer["findings"]]

    assert scan() == []
    assert scan(fail_level="note") == ["TST001 note: timer made here"]
    write(tmp_path / ".gleak.yml", "strict-tests: true\n")
    assert scan() == ["TST001 warning: timer made here"]


def test_rules_list_and_docs_show_the_test_level(tmp_path: Path) -> None:
    (rule,) = load_pack([str(_rule(tmp_path))], builtin=False, select=["ALL"]).rules
    meta = rule.meta
    assert meta.severity_in_tests is Severity.note
    assert "TST001  test-rule  warning, note in tests" in rules_lines([meta])
    assert "| test-rule | warning, note in tests |" in rules_markdown([meta])
    assert rule_help_markdown(meta).startswith("**TST001 test-rule** (warning, note in tests, precision high)")


def test_builtin_rules_with_the_field_are_documented() -> None:
    """Every shipped rule that sets the field shows it in docs/rules.md (generated, checked current elsewhere)."""
    metas = [r.meta for r in load_pack([], select=["ALL"]).rules]
    text = (REPO / "docs" / "rules.md").read_text(encoding="utf-8")
    for meta in metas:
        if meta.severity_in_tests is not None and meta.severity_in_tests != meta.severity:
            assert f"| {meta.name} | {meta.severity.value}, {meta.severity_in_tests.value} in tests |" in text
