"""The per-file clock stands still while the file's package is read (issue 20): the first file of a big
package used to pay for every sibling summary the package model loaded, and lost its findings to the
per-file limit. engine/worker.PackageClock moves the deadline by the package time, up to a limit."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from gleak_sarif import clock as file_clock
from gleak_sarif.config import ScanOptions
from gleak_sarif.engine.context import ScanContext
from gleak_sarif.engine.evaluate import FileEvaluator, FileTimeoutError
from gleak_sarif.engine.worker import PackageClock, scan_source
from gleak_sarif.gopackage.folders import Folders
from gleak_sarif.gopackage.store import PackageModels
from gleak_sarif.gosource import parser
from gleak_sarif.rules.loader import load_pack
from gleak_sarif.rules.query import prepare_pack

SOURCE = b"package p\n\nfunc f() {}\n"


def _evaluator() -> FileEvaluator:
    """An evaluator whose deadline passed a second ago."""
    evaluator = FileEvaluator(load_pack(select=["GL201"]), "a.go", "a.go", SOURCE,
                              parser().parse(SOURCE).root_node, None, deadline=0.0)
    evaluator.deadline = file_clock.now() - 1.0
    return evaluator


def test_package_time_moves_the_deadline_up_to_the_limit() -> None:
    models = PackageModels(Folders())
    evaluator = _evaluator()
    clock = evaluator.clock = PackageClock(models, limit=8.0)
    assert not clock.paused(evaluator)  # no package work since the file started: the deadline holds
    with pytest.raises(FileTimeoutError):
        for _ in range(2048):
            evaluator.tick()
    before = evaluator.deadline
    assert before is not None
    models.package_seconds += 5.0  # what _from_disk / index add while the file waits for its package
    assert clock.paused(evaluator)
    assert evaluator.deadline == pytest.approx(before + 5.0)
    assert clock.granted == pytest.approx(5.0) and not clock.capped
    for _ in range(2048):
        evaluator.tick()  # no timeout now
    models.package_seconds += 5.0  # only 3 s of the limit are left
    clock.paused(evaluator)
    assert evaluator.deadline == pytest.approx(before + 8.0)
    assert clock.capped
    models.package_seconds += 100.0
    evaluator.deadline = file_clock.now() - 1.0
    assert not clock.paused(evaluator)  # past the limit the package's time counts


def test_reading_the_package_is_counted_in_package_seconds(tmp_path: Path) -> None:
    """The counter the clock reads grows when the model reads a sibling (a real scan of a 2-file package)."""
    (tmp_path / "go.mod").write_text("module example.com/p\n\ngo 1.22\n")
    (tmp_path / "a.go").write_text("package p\n\nfunc run(ch chan int) {\n\tgo send(ch)\n\t<-ch\n}\n")
    (tmp_path / "b.go").write_text("package p\n\nfunc send(ch chan int) {\n\tch <- 1\n}\n")
    context = ScanContext(load_pack(select=["ALL"]), ScanOptions(jobs=1, use_cache=False, config_path=None))
    path = str(tmp_path / "a.go")
    scan_source(context, path, (tmp_path / "a.go").read_bytes(), None)
    assert context.models.package_seconds > 0.0


def test_adding_a_loaded_sibling_to_the_model_is_package_time() -> None:
    """The model's build (adding a loaded sibling's summary: names resolved, locks held per operation) is
    the package's work too; a nested load (a summary read while adding another) is counted once."""
    models = PackageModels(Folders())
    started = file_clock.now()
    models._build(lambda: models._build(_work))
    elapsed = file_clock.now() - started
    assert 0.05 <= models.package_seconds <= elapsed


def _work() -> None:
    """50 ms of this thread's CPU time (the per-file clock's time: gleak_sarif/clock.py)."""
    until = file_clock.now() + 0.05
    while file_clock.now() < until:
        pass


def test_a_real_scan_adds_siblings_through_the_timed_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A lock taken again through a call into a sibling file (GL408): the sibling's summary is loaded into
    the model through PackageModels._build, and the time counts as package time."""
    (tmp_path / "go.mod").write_text("module example.com/p\n\ngo 1.22\n")
    (tmp_path / "a.go").write_text("package p\n\nimport \"sync\"\n\nvar mu sync.Mutex\n\n"
                                   "func run() {\n\tmu.Lock()\n\thelper()\n\tmu.Unlock()\n}\n")
    (tmp_path / "b.go").write_text("package p\n\nfunc helper() {\n\tmu.Lock()\n\tmu.Unlock()\n}\n")
    built: list[float] = []
    real = PackageModels._build

    def recording(self: PackageModels, add: Callable[[], None]) -> None:
        before = self.package_seconds
        real(self, add)
        built.append(self.package_seconds - before)

    monkeypatch.setattr(PackageModels, "_build", recording)
    pack = load_pack(select=["GL408"])
    prepare_pack(pack)
    context = ScanContext(pack, ScanOptions(jobs=1, use_cache=False, config_path=None))
    path = str(tmp_path / "a.go")
    result = scan_source(context, path, (tmp_path / "a.go").read_bytes(), None)
    assert [f.rule_id for f in result.findings] == ["GL408"]
    assert len(built) == 1 and built[0] > 0.0  # b.go's summary, added once
