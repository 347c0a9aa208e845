"""A file cut off by the per-file limit keeps the results of the rules that finished in the scan cache
(issue 20): they used to be stored nowhere, so every warm run scanned such a file again from scratch. The
rules that did not finish are marked missing in its entries and run again (alone) by the next scan, which
reports the timeout again if they overrun again, and never claims their results."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from gleak_sarif import clock as file_clock
from gleak_sarif.config import ScanOptions
from gleak_sarif.engine import Engine
from gleak_sarif.engine.cache import CACHE_DIR_NAME
from gleak_sarif.engine.scan import scan_from_cache
from gleak_sarif.model import NotificationKind, ScanResult
from tests.reliability.test_deadline import many_deep

RULES = ["GL102", "GL103", "GL406"]  # GL102 fast; GL103 slow on many_deep; GL406 reads the package


def _options(root: Path, timeout: float, rules: list[str] = RULES, cache: bool = True) -> ScanOptions:
    return ScanOptions(select=rules, jobs=1, use_cache=cache, cache_dir=str(root / CACHE_DIR_NAME),
                       config_path=None, file_timeout_seconds=timeout)


class Recorder:
    """An engine whose calls to the scanner are recorded: which files, and which rules for each."""

    def __init__(self, options: ScanOptions) -> None:
        self.engine = Engine(options)
        self.calls: list[tuple[list[str], dict[str, frozenset[str]]]] = []
        real = self.engine.scan_files

        def recording(files: list[str], progress: object = None, **kwargs: Any) -> object:
            partial = kwargs.get("partial") or {}
            self.calls.append(([os.path.basename(f) for f in files],
                               {os.path.basename(p): rules for p, rules in partial.items()}))
            return real(files, **kwargs)

        self.engine.scan_files = recording  # type: ignore[method-assign,assignment]

    def scan(self, root: Path) -> ScanResult:
        self.calls = []
        return self.engine.scan([str(root / "src")])


def _timeouts(result: ScanResult) -> list[str]:
    return [n.message for n in result.notifications if n.kind is NotificationKind.timeout]


def _findings(result: ScanResult) -> list[dict[str, Any]]:
    return [f.model_dump() for f in result.findings]


def test_a_timed_out_file_keeps_its_finished_rules_in_the_cache(tmp_path: Path) -> None:
    root = tmp_path / "project"
    (root / "src").mkdir(parents=True)
    (root / "src" / "go.mod").write_text("module example.com/p\n\ngo 1.22\n")
    (root / "src" / "deep.go").write_bytes(many_deep(400))
    # The limit from this machine's speed now (as tests/reliability/test_deadline.py): GL102 alone takes
    # `alone` seconds with the parse; GL103 about twelve times that (0.3 s and 3.9 s of CPU here), so 3x
    # stops GL103 and not GL102. Measured in CPU time, the limit's clock (gleak_sarif/clock.py; the scan
    # runs in this thread): with `alone` in wall time, the full suite at load ~7 set a 6 s limit and GL103
    # finished within it.
    quick = Engine(_options(root, 600.0, ["GL102"], cache=False))
    quick.scan([str(root / "src")])  # compiles the rule's query: not part of the file's time
    started = file_clock.now()
    quick.scan([str(root / "src")])
    alone = file_clock.now() - started
    limit = max(1.0, round(3 * alone))

    cut = Recorder(_options(root, limit))
    first = cut.scan(root)
    assert cut.calls == [(["deep.go"], {})]  # a cold scan of every rule
    assert _timeouts(first) == [f"rule GL103 took the file past the per-file limit of {limit:g} s; findings of "
                                "GL103 and 1 later rules (GL406) are missing for this file"]
    assert [f.rule_id for f in first.findings] == ["GL102"]
    # some results are missing: the cache cannot answer the scan alone
    assert scan_from_cache(_options(root, limit), [str(root / "src")]) is None

    # A warm run at the same limit: only the cut rules run (GL102's finding comes from the cache), and the
    # timeout is reported again: GL103's and GL406's results are not claimed.
    second = cut.scan(root)
    assert cut.calls == [(["deep.go"], {"deep.go": frozenset({"GL103", "GL406"})})]
    assert _findings(second) == _findings(first)
    assert _timeouts(second) == _timeouts(first)

    # With time enough, the cut rules finish: the result is a cold scan's, and from then on the cache holds
    # the whole file (nothing is scanned, and the cache-only path answers).
    reference = Engine(_options(root, 600.0, cache=False)).scan([str(root / "src")])
    assert {f.rule_id for f in reference.findings} >= {"GL102", "GL103", "GL406"}
    patient = Recorder(_options(root, 600.0))
    third = patient.scan(root)
    assert patient.calls == [(["deep.go"], {"deep.go": frozenset({"GL103", "GL406"})})]
    assert _timeouts(third) == []
    assert _findings(third) == _findings(reference)
    fourth = patient.scan(root)
    assert patient.calls == [([], {})]
    assert _findings(fourth) == _findings(reference) and _timeouts(fourth) == []
    cached = scan_from_cache(_options(root, 600.0), [str(root / "src")])
    assert cached is not None and _findings(cached) == _findings(reference)


def test_a_file_edited_after_a_timeout_is_scanned_whole(tmp_path: Path) -> None:
    """The entries of a cut-off file belong to its old text: an edit rescans every rule."""
    root = tmp_path / "project"
    (root / "src").mkdir(parents=True)
    source = root / "src" / "deep.go"
    source.write_bytes(many_deep(400))
    recorder = Recorder(_options(root, 0.2))
    first = recorder.scan(root)
    assert _timeouts(first)  # cut somewhere at half a second (at the parse on a slow machine: nothing stored)
    source.write_bytes(many_deep(3))
    second = recorder.scan(root)
    assert recorder.calls == [(["deep.go"], {})]
    assert _timeouts(second) == []
    reference = Engine(_options(root, 600.0, cache=False)).scan([str(root / "src")])
    assert _findings(second) == _findings(reference)
