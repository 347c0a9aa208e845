"""Scan progress counts files as they finish, whatever the package shape (issue 17 item 5): one big
package is one chunk of the worker pool, and its progress used to stay at `0/?` until the whole chunk
came back."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gleak_sarif.config import ScanOptions
from gleak_sarif.engine import Engine
from gleak_sarif.engine import scan as engine_scan
from gleak_sarif.engine.progress import FilesDone

FILE = """\
package big

import "time"

// Wait{n} never stops its timer.
func Wait{n}(d time.Duration, done chan struct{{}}) {{
	t := time.NewTimer(d)
	select {{
	case <-t.C:
	case <-done:
	}}
}}
"""


def _package(root: Path, count: int) -> list[str]:
    folder = root / "big"
    folder.mkdir()
    paths = []
    for n in range(count):
        path = folder / f"f{n:03d}.go"
        path.write_text(FILE.format(n=n))
        paths.append(str(path))
    return paths


@pytest.mark.parametrize("jobs", [1, 2])
def test_one_package_reports_each_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int) -> None:
    files = _package(tmp_path, 24)
    # the worker pool for a small tree, so that the test runs the parallel path in seconds
    monkeypatch.setattr(engine_scan, "PARALLEL_MIN_BYTES", 0)
    engine = Engine(ScanOptions(select=["GL503"], jobs=jobs, use_cache=False))
    assert len(engine_scan._chunks(files, 2)) == 1, "one package is one chunk: the shape that showed 0/?"
    calls: list[tuple[int, int]] = []
    slow = engine_scan.scan_path

    def scan_path(*args: object, **kwargs: object) -> object:
        import time

        time.sleep(0.05)  # long enough for the parent to look at the count between files
        return slow(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(engine_scan, "scan_path", scan_path)
    results = engine.scan_files(files, progress=lambda done, total: calls.append((done, total)))
    assert sorted(r.path for r in results) == sorted(files)
    assert sum(len(r.findings) for r in results) == 24
    assert calls[0] == (0, 24), "the total is shown before the first file finishes"
    assert calls[-1] == (24, 24)
    assert all(total == 24 for _, total in calls)
    done = [d for d, _ in calls]
    assert done == sorted(done), "progress never goes back"
    assert len(set(done)) >= 6, f"files shown as they finish, not all at the end: {calls}"


def test_results_do_not_depend_on_timing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = _package(tmp_path, 20)
    (tmp_path / "other").mkdir()
    for n in range(20):
        (tmp_path / "other" / f"g{n}.go").write_text(FILE.format(n=n).replace("package big", "package other"))
    files += sorted(str(p) for p in (tmp_path / "other").glob("*.go"))
    monkeypatch.setattr(engine_scan, "PARALLEL_MIN_BYTES", 0)
    engine = Engine(ScanOptions(select=["GL503"], jobs=2, use_cache=False))
    first = [r.path for r in engine.scan_files(files, progress=lambda *_: None)]
    second = [r.path for r in engine.scan_files(files)]
    assert first == second == [p for chunk in engine_scan._chunks(files, 2) for p in chunk]


def test_files_done_counts_across_a_fork() -> None:
    counter = FilesDone()
    try:
        pid = os.fork()
        if pid == 0:  # the child notes three files, as a worker does
            for _ in range(3):
                counter.note()
            os._exit(0)
        os.waitpid(pid, 0)
        counter.note()
        assert counter.take() == 4
        assert counter.take() == 0, "take() returns only what finished since the last call"
    finally:
        counter.close()
    counter.note()  # closed: a late worker note is ignored, never an error
