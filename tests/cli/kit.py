"""Helpers for the CLI tests: run the real `gleak-sarif` command, read its JSON findings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


def run_cli(*args: str, cwd: Path | None = None, stdin: bytes | None = None,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    # colour switches of the caller's terminal must not leak into tests of colour, nor an outer git
    # process's variables (a test run from a git hook) into tests of git work trees
    full_env = {k: v for k, v in os.environ.items()
                if k not in ("FORCE_COLOR", "NO_COLOR") and not k.startswith("GIT_")}
    full_env.update(env or {})
    done = subprocess.run([sys.executable, "-m", "gleak_sarif", *args], input=stdin, capture_output=True,
                          cwd=cwd or REPO, timeout=300, env=full_env)
    return subprocess.CompletedProcess(done.args, done.returncode, done.stdout.decode("utf-8", "replace"),
                                       done.stderr.decode("utf-8", "replace"))


def scan_json(*args: str, cwd: Path | None = None) -> list[dict[str, Any]]:
    """The findings of `scan --format json ARGS` (exit 0 or 1 expected)."""
    done = run_cli("scan", "--format", "json", "--no-cache", *args, cwd=cwd)
    assert done.returncode in (0, 1), done.stderr
    findings: list[dict[str, Any]] = json.loads(done.stdout)["findings"]
    return findings
