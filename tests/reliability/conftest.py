"""Shared fixtures and the hypothesis profiles of the reliability suite.

Profiles (choose with GLEAK_FUZZ_PROFILE): `ci` (default; a fixed, small number of examples per target,
derandomised so CI is reproducible) and `long` (many examples; scripts/fuzz is the time-boxed version).
Profiles are applied per test (settings(parent=...)), never loaded globally, so other suites keep theirs.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from hypothesis import HealthCheck, settings

REPO = Path(__file__).resolve().parents[2]

settings.register_profile(
    "ci",
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                           HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
settings.register_profile(
    "long",
    parent=settings.get_profile("ci"),
    max_examples=2000,
    derandomize=False,
)
PROFILE = settings.get_profile(os.environ.get("GLEAK_FUZZ_PROFILE", "ci"))


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 300,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`gleak-sarif ARGS` as a user runs it (a real process)."""
    return subprocess.run(
        [sys.executable, "-m", "gleak_sarif", *args],
        capture_output=True, text=True, cwd=cwd or REPO, timeout=timeout,
        env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
    )


def no_traceback(done: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in done.stderr, done.stderr
    assert "Traceback" not in done.stdout, done.stdout
