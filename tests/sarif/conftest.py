"""Fixtures for tests/sarif: the SARIF Multitool (an external tool: fails under CI=..., skips locally)."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from sarifkit import VALIDATOR_DEFAULT, ValidatorReport


def _validator_path() -> Path | None:
    env = os.environ.get("SARIF_MULTITOOL")
    candidate = Path(env) if env else VALIDATOR_DEFAULT
    return candidate if candidate.is_file() and os.access(candidate, os.X_OK) else None


@pytest.fixture(scope="session")
def multitool() -> Path:
    path = _validator_path()
    if path is None:
        msg = "SARIF Multitool not installed: run scripts/install-sarif-validator (or set SARIF_MULTITOOL)"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    return path


@pytest.fixture
def validate(multitool: Path, tmp_path: Path) -> Callable[[Path], ValidatorReport]:
    """Run `Sarif.Multitool validate --rule-kind "Gh;Sarif"` on a file; errors, warnings and notes."""
    counter = iter(range(10_000))

    def run(sarif_file: Path) -> ValidatorReport:
        out = tmp_path / f"validation-{next(counter)}.sarif"
        env = dict(os.environ, DOTNET_SYSTEM_GLOBALIZATION_INVARIANT="1", DOTNET_CLI_TELEMETRY_OPTOUT="1")
        proc = subprocess.run(
            [
                str(multitool),
                "validate",
                "--rule-kind",
                "Gh;Sarif",
                "--level",
                "Error;Warning;Note",
                "-o",
                str(out),
                str(sarif_file),
            ],
            capture_output=True,
            text=True,
            timeout=300,
            env=env,
        )
        assert out.is_file(), (
            f"validator wrote no log (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
        )
        log = json.loads(out.read_text(encoding="utf-8-sig"))
        report = ValidatorReport()
        for res in log["runs"][0].get("results", []):
            level = res.get("level", "warning")
            args = (res.get("message") or {}).get("arguments") or []
            text = f"{res.get('ruleId')}: {' | '.join(map(str, args))}"
            {"error": report.errors, "warning": report.warnings, "note": report.notes}[level].append(text)
        # The tool's own failures (unreadable input, JSON errors) are notifications, not results.
        for inv in log["runs"][0].get("invocations", []):
            for note in inv.get("toolExecutionNotifications", []) or []:
                if note.get("level", "warning") == "error":
                    report.errors.append(f"tool: {(note.get('message') or {}).get('text')}")
        return report

    return run
