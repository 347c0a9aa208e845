"""Helpers for tests/runtime (a uniquely named module: several test folders have a conftest.py).

Real goroutine dumps are made at test time by real Go programs.

Every dump comes from ``testdata/leakprog`` (a program that leaks on purpose), ``testdata/goleaknew`` /
``testdata/goleakold`` (go test with goleak v1.3.0 / v1.2.1) or ``fixtures/runtime/service``, built with
the Go toolchain on this machine. "N minutes" headers come from a ``-tags faketime`` build: the real
runtime with a fake clock, so a 3-minute wait takes milliseconds. Go missing: skip locally, fail in CI.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
TESTDATA = HERE / "testdata"
LEAKPROG = TESTDATA / "leakprog"
VALIDATOR_DEFAULT = REPO / ".cache/sarif-multitool/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool"


def need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        msg = f"{tool} is not installed"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    return path


def run(cmd: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None, check: bool = True,
        timeout: float = 300) -> subprocess.CompletedProcess[str]:
    full_env = dict(os.environ, GOFLAGS="-buildvcs=false", **(env or {}))
    proc = subprocess.run(cmd, cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def leak_line(path: Path, marker: str) -> int:
    """1-based line of the ``// LEAK: <marker>`` comment."""
    for i, line in enumerate(path.read_text().splitlines(), 1):
        if f"// LEAK: {marker}" in line:
            return i
    raise AssertionError(f"no '// LEAK: {marker}' in {path}")


@dataclass
class Dumps:
    dir: Path
    debug2: Path  # labels (tracebacklabels=1) + tracebackancestors=2
    debug1: Path
    debug1_trimpath: Path
    leak_debug1: Path  # GOEXPERIMENT=goroutineleakprofile, -trimpath
    leak_debug2: Path
    minutes_trimpath: Path  # faketime build, -wait 3m, -trimpath
    panic_system: Path  # GOTRACEBACK=system panic: gp=/m= headers, runtime frames, fp/sp/pc
    many_before: Path
    many_after: Path  # 40 more goroutines at the startMany go statement
    many_before_debug1: Path
    many_after_debug1: Path




@dataclass
class Validation:
    errors: list[str]
    warnings: list[str]
