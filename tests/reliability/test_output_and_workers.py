"""Nothing lost: atomic output under errors and Ctrl-C, documented exit codes, and worker processes that
crash or stall on one file."""

from __future__ import annotations

import ctypes
import faulthandler
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import gleak_sarif.engine.scan as engine_scan
from gleak_sarif import cli
from gleak_sarif.config import ScanOptions
from gleak_sarif.engine import Engine
from gleak_sarif.model import NotificationKind
from tests.reliability.conftest import REPO

EXAMPLE = (REPO / "fixtures" / "example" / "server.go").read_bytes()
OLD = '{"old": "report"}\n'


def _main(monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    """Run `gleak-sarif ARGS` in this process (so monkeypatches apply); return the exit status."""
    monkeypatch.setattr(sys, "argv", ["gleak-sarif", *args])
    with pytest.raises(SystemExit) as done:
        cli.main()
    return int(done.value.code or 0)


def _temp_files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith(".gleak-"))


@pytest.fixture()
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / ".gleak.yml").write_text("{}\n")  # pins config discovery here
    (tmp_path / "leak.go").write_bytes(EXAMPLE)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "report.sarif").write_text(OLD)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _boom(*_: Any, **__: Any) -> Any:
    raise RuntimeError("injected failure")


def _interrupt(*_: Any, **__: Any) -> Any:
    raise KeyboardInterrupt


@pytest.mark.parametrize(
    ("target", "replacement", "code"),
    [
        ("gleak_sarif.report.sarif.render_sarif", _boom, 3),  # rendering fails
        ("os.fsync", _boom, 3),  # writing fails half way (disk full, I/O error)
        ("os.replace", _boom, 3),  # the rename fails
        ("os.fsync", _interrupt, 130),  # Ctrl-C while writing
    ],
)
def test_failed_write_keeps_the_old_report(project: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str], target: str,
                                           replacement: Callable[..., Any], code: int) -> None:
    monkeypatch.setattr(target, replacement)
    status = _main(monkeypatch, "scan", "leak.go", "--no-cache", "--format", "sarif", "-o", "out/report.sarif")
    err = capsys.readouterr().err
    assert status == code, err
    assert "Traceback" not in err
    assert (project / "out" / "report.sarif").read_text() == OLD
    assert _temp_files(project / "out") == []


def test_exit_codes(project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """0 clean, 1 findings, 2 usage/config error, 3 internal error (README "Exit codes")."""
    (project / "clean.go").write_text("package p\n\nfunc f() {}\n")
    assert _main(monkeypatch, "scan", "clean.go", "--no-cache") == 0
    assert _main(monkeypatch, "scan", "leak.go", "--no-cache") == 1
    assert _main(monkeypatch, "scan", "leak.go", "--no-cache", "--fail-level", "none") == 0
    assert _main(monkeypatch, "scan", "missing.go") == 2
    assert _main(monkeypatch, "scan", "leak.go", "--select", "NOPE") == 2
    assert _main(monkeypatch, "scan", "leak.go", "--format", "yaml") == 2
    monkeypatch.setattr(Engine, "scan", _boom)
    assert _main(monkeypatch, "scan", "leak.go", "--no-cache") == 3
    err = capsys.readouterr().err
    assert "internal error: RuntimeError: injected failure" in err and "GLEAK_DEBUG" in err
    assert "Traceback" not in err
    readme = (REPO / "README.md").read_text()
    for text in ("`0`", "`1`", "`2`", "`3` internal error"):
        assert text in readme


def _big_tree(root: Path, files: int) -> None:
    seeds = sorted((REPO / "fixtures").rglob("*.go"))
    for index in range(files):
        seed = seeds[index % len(seeds)].read_bytes() + b"\n// " + b"pad " * 400 + b"\n"  # > 2 MB: workers
        (root / f"pkg{index // 50}").mkdir(exist_ok=True)
        (root / f"pkg{index // 50}" / f"f{index}.go").write_bytes(seed)


def _start_scan(root: Path, out: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "gleak_sarif", "scan", ".", "--no-cache", "--no-config", "-j", "2",
         "--format", "sarif", "-o", str(out)],
        cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


def _wait_until(ready: Callable[[], bool], proc: subprocess.Popen[str], what: str) -> None:
    """Readiness, not a sleep: the interpreter's own start-up (before any gleak-sarif code runs) took
    seconds under load, and a SIGINT there ends Python with "Could not import runpy module" (exit 1)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None and not ready():
        time.sleep(0.05)
    if not ready():
        os.killpg(proc.pid, signal.SIGKILL)
        raise AssertionError(f"{what} never happened (exit {proc.poll()})")


def _handles_sigterm(pid: int) -> bool:
    """The CLI's main() is running: it installs the SIGTERM handler first (/proc's caught-signals mask)."""
    try:
        status = Path("/proc", str(pid), "status").read_text()
    except OSError:
        return False
    caught = next((line.split()[1] for line in status.splitlines() if line.startswith("SigCgt:")), "0")
    return bool(int(caught, 16) & (1 << (signal.SIGTERM - 1)))


def _stopped_by_ctrl_c(proc: subprocess.Popen[str], out: Path, root: Path) -> None:
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise AssertionError("the scan did not stop within 60 s of Ctrl-C") from None
    assert proc.returncode == 130, err
    assert "Traceback" not in err, err
    assert "interrupted" in err
    assert out.read_text() == OLD
    assert _temp_files(root) == []


@pytest.mark.parametrize("group", [False, True], ids=["pid", "process-group"])
def test_ctrl_c_during_a_real_scan(tmp_path: Path, group: bool) -> None:
    """SIGINT to a running `gleak-sarif scan` (to the process, or to its group as a terminal does): exit
    130, no traceback (workers included), the old report intact, no temp file left."""
    _big_tree(tmp_path, 1500)
    out = tmp_path / "report.sarif"
    out.write_text(OLD)
    proc = _start_scan(tmp_path, out)
    _wait_until(lambda: len(_group(proc.pid)) >= 3, proc, "the workers' start")  # the main process and 2 workers
    if group:
        os.killpg(proc.pid, signal.SIGINT)
    else:
        proc.send_signal(signal.SIGINT)
    _stopped_by_ctrl_c(proc, out, tmp_path)


def test_ctrl_c_during_the_scans_start_up(tmp_path: Path) -> None:
    """SIGINT at points of a scan's start-up (the engine's lazy imports, rule compilation, the combined query,
    the pool's start): each exits 130. Seen before: `QueryError: ... regular expression error` and pydantic's
    `SchemaError` (exit 3: the libraries turned the KeyboardInterrupt into errors of their own), and death
    by SIGINT after "interrupted" (CPython marks a KeyboardInterrupt raised inside exec() of a string, as
    dataclasses do, as unhandled)."""
    _big_tree(tmp_path, 1500)
    out = tmp_path / "report.sarif"
    out.write_text(OLD)
    for delay in (0.0, 0.1, 0.2, 0.35, 0.5, 0.8, 1.2):
        proc = _start_scan(tmp_path, out)
        _wait_until(lambda: _handles_sigterm(proc.pid), proc, "the CLI's start")  # noqa: B023 (used at once)
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        _stopped_by_ctrl_c(proc, out, tmp_path)


def test_an_error_a_library_makes_of_ctrl_c_is_an_interruption(project: Path, monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    """A KeyboardInterrupt that a library turns into an error of its own (tree-sitter's QueryError, pydantic's
    SchemaError) exits 130 "interrupted", not 3 "internal error"."""

    def converted(*_: Any, **__: Any) -> Any:
        try:
            signal.raise_signal(signal.SIGINT)
        except KeyboardInterrupt:
            raise RuntimeError("regular expression error") from None

    monkeypatch.setattr(Engine, "scan", converted)
    status = _main(monkeypatch, "scan", "leak.go", "--no-cache", "--format", "sarif", "-o", "out/report.sarif")
    err = capsys.readouterr().err
    assert status == 130, err
    assert "interrupted" in err and "internal error" not in err
    assert (project / "out" / "report.sarif").read_text() == OLD
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the CLI gave Python's handler back


def test_sigterm_stops_the_workers(tmp_path: Path) -> None:
    """SIGTERM to the main process alone (CI cancelling a job): exit 143 with no traceback, the old report
    intact, and no worker left behind (they used to finish their chunk and stay alive)."""
    _big_tree(tmp_path, 1500)
    out = tmp_path / "report.sarif"
    out.write_text(OLD)
    proc = subprocess.Popen(
        [sys.executable, "-m", "gleak_sarif", "scan", ".", "--no-cache", "--no-config", "-j", "2",
         "--format", "sarif", "-o", str(out)],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(_group(proc.pid)) < 3:  # the main process and 2 workers
        time.sleep(0.2)
    assert len(_group(proc.pid)) >= 3, "the workers never started"
    proc.send_signal(signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise AssertionError("the scan did not stop within 60 s of SIGTERM") from None
    assert proc.returncode == 143, err
    assert "Traceback" not in err, err
    assert "terminated" in err
    deadline = time.monotonic() + 10
    while _group(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = _group(proc.pid)
    if left:
        os.killpg(proc.pid, signal.SIGKILL)
    assert left == [], f"workers still running after the main process exited: {left}"
    assert out.read_text() == OLD
    assert _temp_files(tmp_path) == []


def _group(pgid: int) -> list[int]:
    """Live (not zombie) processes of a process group, from /proc."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path("/proc", entry, "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            found.append(int(entry))
    return found


# ---- worker processes ---------------------------------------------------------------------------------


def _parallel_tree(root: Path, count: int = 20) -> list[str]:
    """Enough files and bytes for Engine.scan_files to use worker processes."""
    padding = b"\n/*\n" + b"x" * (120 * 1024) + b"\n*/\n"
    names = []
    for index in range(count):
        name = f"f{index:02}.go"
        (root / name).write_bytes(EXAMPLE + padding)
        names.append(name)
    return names


def _findings_by_file(result: Any) -> dict[str, list[tuple[str, int]]]:
    out: dict[str, list[tuple[str, int]]] = {}
    for f in result.findings:
        out.setdefault(f.primary.path, []).append((f.rule_id, f.primary.start_line))
    return {k: sorted(v) for k, v in out.items()}


def _segfault() -> None:
    faulthandler.disable()  # pytest's handler would print the crashed worker's stack into the CI log
    ctypes.string_at(0)


@pytest.mark.parametrize("how", ["exit", "segfault"])
def test_worker_crash_is_reported_and_the_scan_finishes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        how: str) -> None:
    names = _parallel_tree(tmp_path)
    culprit = names[7]
    real = engine_scan.scan_path  # type: ignore[attr-defined]

    def crashing(context: Any, path: str, only: Any = None) -> Any:
        if path.endswith(culprit) and os.getpid() != parent:  # only inside forked workers
            if how == "exit":
                os._exit(1)
            _segfault()
        return real(context, path, only)

    parent = os.getpid()
    monkeypatch.setattr(engine_scan, "scan_path", crashing)
    monkeypatch.chdir(tmp_path)
    engine = Engine(ScanOptions(jobs=2, use_cache=False, config_path=None))
    result = engine.scan(["."])
    crashes = [n for n in result.notifications if n.kind is NotificationKind.worker_crash]
    assert [n.path for n in crashes] == [culprit], result.notifications
    by_file = _findings_by_file(result)
    want = by_file[names[0]]
    assert want, "the example has findings"
    assert set(by_file) == set(names) - {culprit}
    assert all(by_file[name] == want for name in names if name != culprit)


@pytest.mark.parametrize("jobs", [1, 2])
def test_slow_file_times_out_and_the_scan_finishes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   jobs: int) -> None:
    """A file whose parse takes many seconds (a 10,000,000-element literal: ~22 s to parse here) hits
    file_timeout_seconds.

    The limit is 5 s or, on a slow machine, 2x the CPU time the ordinary files took in a whole scan: 40x an ordinary
    file's time, which they must never reach, while the slow file (about 170 times an ordinary file's work)
    still does. (With 4x and half the literal the margin was 80 against 100: under load, where the two scans
    see different loads, the slow file sometimes finished in time and no timeout came.) The scan then
    finishes: its CPU time stays within twice the ordinary scan's plus twice the limit (a wall-clock bound of
    120 s failed at load 24, and the load changes between the two scans; CPU time does not grow with it)."""
    names = _parallel_tree(tmp_path)
    monkeypatch.chdir(tmp_path)
    cpu_started = _cpu_seconds()
    Engine(ScanOptions(jobs=jobs, use_cache=False, config_path=None)).scan(["."])
    ordinary_cpu = _cpu_seconds() - cpu_started
    # in CPU time, the limit's clock (gleak_sarif/clock.py): a wall-clock measure grows with the load
    limit = float(max(5, round(2 * ordinary_cpu)))
    # the example first, so the prefilter lets rules run on it whatever they look for
    # 20,000 rows of 500 (20 MB, under the 20 MiB file limit): slow to parse, but no node too wide to query
    # (a row has 1,002 children, the literal 40,001: far below gosource.MAX_WIDTH_COST;
    # test_too_wide_file_is_not_queried has the wide case); the parse stops at the limit: the size costs no time
    rows = b"{" + b"1," * 500 + b"},"
    (tmp_path / "slow.go").write_bytes(EXAMPLE + b"\nvar x = [][]int{" + rows * 20_000 + b"}\n")
    engine = Engine(ScanOptions(jobs=jobs, use_cache=False, config_path=None, file_timeout_seconds=limit))
    cpu_started = _cpu_seconds()
    result = engine.scan(["."])
    cpu = _cpu_seconds() - cpu_started
    timeouts = [n for n in result.notifications if n.kind is NotificationKind.timeout]
    assert [n.path for n in timeouts] == ["slow.go"], result.notifications
    # the parse ("took longer than") or a rule after it ("the per-file limit of") ran out of time
    assert f"than {limit:g} s" in timeouts[0].message or f"limit of {limit:g} s" in timeouts[0].message
    # every other file keeps its findings; slow.go keeps those of the rules that finished (when the parse fit
    # in the limit and a rule after it ran out of time)
    assert set(names) <= set(_findings_by_file(result)) <= set(names) | {"slow.go"}
    assert cpu < 2 * ordinary_cpu + 2 * limit, (cpu, ordinary_cpu, limit)


def _cpu_seconds() -> float:
    """CPU time of this process and of its children that ended (a scan's worker pool is shut down, so
    waited for, before the scan returns)."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


@pytest.mark.parametrize("jobs", [1, 2])
def test_too_wide_file_is_not_queried(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int) -> None:
    """A flat literal of 700k elements parses in about a second, but every tree-sitter query over it would take
    seconds (quadratic in a node's children) beyond the deadline's reach: the file is reported, not queried,
    and the package's other files (whose package model reads it) keep their findings."""
    names = _parallel_tree(tmp_path)
    (tmp_path / "wide.go").write_bytes(EXAMPLE + b"\nvar x = []int{" + b"1," * 700_000 + b"}\n")
    monkeypatch.chdir(tmp_path)
    started = time.monotonic()
    result = Engine(ScanOptions(jobs=jobs, use_cache=False, config_path=None)).scan(["."])
    elapsed = time.monotonic() - started
    timeouts = [n for n in result.notifications if n.kind is NotificationKind.timeout]
    assert [(n.path, n.line) for n in timeouts] == [("wide.go", EXAMPLE.count(b"\n") + 2)], result.notifications
    assert "has 1,400,002" in timeouts[0].message and "rules not run" in timeouts[0].message
    by_file = _findings_by_file(result)
    assert set(by_file) == set(names)
    assert all(by_file[name] == by_file[names[0]] for name in names)
    assert elapsed < 120  # queried, the file alone took minutes


def test_cli_reports_worker_notifications_in_sarif(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """A crash notification reaches SARIF toolExecutionNotifications; exit stays 1 (findings), not 3."""
    names = _parallel_tree(tmp_path)
    real = engine_scan.scan_path  # type: ignore[attr-defined]
    parent = os.getpid()

    def crashing(context: Any, path: str, only: Any = None) -> Any:
        if path.endswith(names[3]) and os.getpid() != parent:
            os._exit(7)
        return real(context, path, only)

    monkeypatch.setattr(engine_scan, "scan_path", crashing)
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".gleak.yml").write_text("{}\n")
    status = _main(monkeypatch, "scan", ".", "--no-cache", "-j", "2", "--sarif-output", "out.sarif")
    assert status == 1, capsys.readouterr().err
    log = json.loads((tmp_path / "out.sarif").read_text())
    notes = log["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    crash = [n for n in notes if n["descriptor"]["id"] == "worker-crash"]
    assert len(crash) == 1
    assert crash[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == names[3]
