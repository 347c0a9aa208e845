"""The scan cache (gleak_sarif/engine/cache.py): what is rescanned, what invalidates, damage, `cache clean`.

Which files a scan really parses is read by recording the file list the engine hands to its scanner
(`Engine.scan_files`); the scan itself runs for real.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from gleak_sarif.config import ScanOptions
from gleak_sarif.engine import Engine
from gleak_sarif.engine.cache import CACHE_DIR_NAME, KEEP_RUNS, PRUNE_EVERY, SCHEMA, ScanCache
from gleak_sarif.engine.scan import ScanMemo, scan_from_cache
from gleak_sarif.model import ScanResult
from tests.helpers import RULE_HEADER, write

TICK_RULE = RULE_HEADER + "rule:\n  pattern: time.Tick($D)\n"
LEAK = """\
package p

import "time"

func Poll() {
	for range time.Tick(time.Second) {
	}
}
"""
CLEAN = """\
package p

func Add(a, b int) int { return a + b }
"""


class Recorder:
    """An engine whose scanned files are recorded, on a project in ``root`` with its cache there."""

    def __init__(self, root: Path, rule: Path) -> None:
        self.root = root
        self.engine = Engine(ScanOptions(rules=[str(rule)], builtin_rules=False, jobs=1,
                                         cache_dir=str(root / CACHE_DIR_NAME)))
        self.scanned: list[str] = []
        real = self.engine.scan_files

        self.partial: list[str] = []

        def recording(files: list[str], progress: object = None, **kwargs: Any) -> object:
            self.scanned.extend(os.path.basename(f) for f in files)
            self.partial.extend(os.path.basename(f) for f in kwargs.get("partial", ()))
            return real(files, **kwargs)

        self.engine.scan_files = recording  # type: ignore[method-assign,assignment]

    def scan(self) -> ScanResult:
        self.scanned = []
        self.partial = []
        return self.engine.scan([str(self.root / "src")])


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "project"
    write(root / "src" / "leak.go", LEAK)
    write(root / "src" / "clean.go", CLEAN)
    write(root / "other" / "other.go", CLEAN.replace("Add", "Sub"))
    rule = write(tmp_path / "rules" / "TST001.yml", TICK_RULE)
    return root, rule


def test_second_scan_parses_nothing_and_gives_the_same_findings(project: tuple[Path, Path]) -> None:
    root, rule = project
    recorder = Recorder(root, rule)
    first = recorder.scan()
    assert sorted(recorder.scanned) == ["clean.go", "leak.go"]
    second = recorder.scan()
    assert recorder.scanned == []
    assert [f.model_dump() for f in second.findings] == [f.model_dump() for f in first.findings]
    assert len(second.findings) == 1 and second.findings[0].primary.start_line == 6
    assert (root / CACHE_DIR_NAME / ".gitignore").is_file()


def test_a_changed_file_is_rescanned_and_an_unchanged_folder_is_not(project: tuple[Path, Path]) -> None:
    root, rule = project
    recorder = Recorder(root, rule)
    recorder.engine.scan([str(root)])
    (root / "src" / "leak.go").write_text(LEAK.replace("time.Tick(time.Second)", "make(chan int)"))
    recorder.scanned = []
    result = recorder.engine.scan([str(root)])
    # the changed file only: its siblings' rules read nothing of the package (a one-file rule), so what
    # they read (nothing) did not change (gopackage/reads.py); not other/ either
    assert sorted(recorder.scanned) == ["leak.go"]
    assert result.findings == []


def test_a_sibling_change_invalidates_even_with_the_same_size_and_mtime(tmp_path: Path) -> None:
    root = tmp_path / "project"
    write(root / "src" / "caller.go", "package p\n\nfunc Use() { Flush() }\n")
    sibling = write(root / "src" / "flush.go", "package p\n\nfunc Flush() { x.Look() }\n")
    rules = write(tmp_path / "rules" / "TST002.yml", PACKAGE_RULES)
    recorder = Recorder(root, rules)
    assert recorder.scan().findings == []
    before = sibling.stat()
    sibling.write_text("package p\n\nfunc Flush() { x.Lock() }\n")  # same size
    os.utime(sibling, ns=(before.st_atime_ns, before.st_mtime_ns))  # as `cp -p`, tar or a fast edit leave it
    result = recorder.scan()
    assert "caller.go" in recorder.scanned
    assert [(f.rule_id, os.path.basename(f.primary.path)) for f in result.findings] == [("TST002", "caller.go")]


def test_a_rule_change_invalidates(project: tuple[Path, Path]) -> None:
    root, rule = project
    Recorder(root, rule).scan()
    rule.write_text(TICK_RULE.replace('message: "matched"', 'message: "ticker leaks"'))
    recorder = Recorder(root, rule)
    result = recorder.scan()
    assert sorted(recorder.scanned) == ["clean.go", "leak.go"]
    assert [f.message for f in result.findings] == ["ticker leaks"]


def test_a_go_mod_version_change_invalidates(tmp_path: Path, project: tuple[Path, Path]) -> None:
    root, _ = project
    rule = write(tmp_path / "rules" / "TST002.yml",
                 RULE_HEADER.replace("TST001", "TST002") + 'go-version: "<1.23"\nrule:\n  pattern: time.Tick($D)\n')
    write(root / "go.mod", "module example.com/p\n\ngo 1.21\n")
    assert len(Recorder(root, rule).scan().findings) == 1
    (root / "go.mod").write_text("module example.com/p\n\ngo 1.24\n")
    recorder = Recorder(root, rule)
    assert recorder.scan().findings == []
    assert "leak.go" in recorder.scanned


def test_no_cache_writes_nothing(project: tuple[Path, Path]) -> None:
    root, rule = project
    engine = Engine(ScanOptions(rules=[str(rule)], builtin_rules=False, jobs=1, use_cache=False,
                                cache_dir=str(root / CACHE_DIR_NAME)))
    assert len(engine.scan([str(root / "src")]).findings) == 1
    assert not (root / CACHE_DIR_NAME).exists()


def test_a_damaged_cache_file_is_ignored_and_replaced(project: tuple[Path, Path]) -> None:
    root, rule = project
    Recorder(root, rule).scan()
    [database] = (root / CACHE_DIR_NAME).glob("*.sqlite3")
    database.write_bytes(b"this is not a database\0" * 100)
    recorder = Recorder(root, rule)
    assert len(recorder.scan().findings) == 1
    assert sorted(recorder.scanned) == ["clean.go", "leak.go"]
    recorder.scan()
    assert recorder.scanned == [], "the damaged file is replaced by a working cache"


def test_a_damaged_entry_is_ignored(project: tuple[Path, Path]) -> None:
    root, rule = project
    Recorder(root, rule).scan()
    [database] = (root / CACHE_DIR_NAME).glob("*.sqlite3")
    with sqlite3.connect(database) as db:
        db.execute("UPDATE entries SET value = ?", ('{"findings": [{"rule_id": 12}]',))
    db.close()
    recorder = Recorder(root, rule)
    result = recorder.scan()
    assert len(result.findings) == 1 and result.findings[0].rule_id == "TST001"
    assert sorted(recorder.scanned) == ["clean.go", "leak.go"]


def test_cache_clean_removes_the_cache(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    write(root / "leak.go", LEAK)
    command = [sys.executable, "-m", "gleak_sarif"]
    scan = subprocess.run([*command, "scan", "-q", "--select", "GL501", str(root)], cwd=tmp_path,
                          capture_output=True, text=True)
    assert scan.returncode in (0, 1), scan.stderr
    assert (root / CACHE_DIR_NAME).is_dir()
    clean = subprocess.run([*command, "cache", "clean", str(root)], cwd=tmp_path, capture_output=True, text=True)
    assert clean.returncode == 0, clean.stderr
    assert "removed" in clean.stdout
    assert not (root / CACHE_DIR_NAME).exists()
    again = subprocess.run([*command, "cache", "clean", str(root)], cwd=tmp_path, capture_output=True, text=True)
    assert again.returncode == 0 and "no cache" in again.stdout


def test_a_callee_rule_sees_a_sibling_that_gains_the_callee_in_the_same_process(tmp_path: Path) -> None:
    """Files whose folder has no file with the callee rule's tokens are skipped unparsed; in a
    long-running engine (the golangci-lint bridge) a sibling edited to hold them is noticed."""
    rule = write(tmp_path / "rules" / "TST003.yml", RULE_HEADER.replace("TST001", "TST003") + textwrap.dedent("""\
        rule:
          kind: call_expression
          calls:
            has:
              pattern: make(chan int)
              stopBy: end
        """))
    caller = write(tmp_path / "src" / "use.go", "package p\n\nfunc use() {\n\tfeed()\n}\n")
    sibling = write(tmp_path / "src" / "feed.go", "package p\n\nfunc feed() {}\n")
    engine = Engine(ScanOptions(rules=[str(rule)], builtin_rules=False, jobs=1, use_cache=False))
    assert engine.scan([str(caller)]).findings == []
    sibling.write_text("package p\n\nfunc feed() {\n\tc := make(chan int)\n\t_ = c\n}\n")
    assert [f.primary.start_line for f in engine.scan([str(caller)]).findings] == [4]


def _comparable(result: ScanResult) -> dict[str, object]:
    data = result.model_dump(mode="json")
    del data["start_time"], data["end_time"]
    return data


def test_an_all_hit_scan_answers_from_the_cache_alone(project: tuple[Path, Path]) -> None:
    """`scan_from_cache` (the CLI's first try) gives what `Engine.scan` gives, without loading any rule,
    and only when every file and the rule set are in the cache."""
    root, rule = project
    options = ScanOptions(rules=[str(rule)], builtin_rules=False, jobs=1, cache_dir=str(root / CACHE_DIR_NAME))
    paths = [str(root / "src")]
    assert scan_from_cache(options, paths) is None, "nothing cached yet"
    Engine(options).scan(paths)
    cached = scan_from_cache(options, paths)
    engine_result = Engine(options).scan(paths)  # a warm run too (files_skipped counts cached files)
    assert cached is not None
    assert _comparable(cached) == _comparable(engine_result)
    assert len(cached.findings) == 1 and [r.id for r in cached.rules] == ["TST001"]
    # other options, a changed file, a changed rule: not answered from the cache
    assert scan_from_cache(options.model_copy(update={"ignore": ["TST9"]}), paths) is None
    assert scan_from_cache(options.model_copy(update={"use_cache": False}), paths) is None
    (root / "src" / "clean.go").write_text(CLEAN + "\n// edited\n")
    assert scan_from_cache(options, paths) is None
    Engine(options).scan(paths)
    assert scan_from_cache(options, paths) is not None
    rule.write_text(TICK_RULE.replace('message: "matched"', 'message: "changed"'))
    assert scan_from_cache(options, paths) is None


def test_a_miss_hands_its_discovery_and_hashes_to_the_scan(project: tuple[Path, Path]) -> None:
    """After a cache-only miss, `Engine.scan(..., memo=...)` reuses the files found and hashed (a warm run
    of GOROOT/src did both twice) and gives what a scan without the memo gives."""
    root, rule = project
    options = ScanOptions(rules=[str(rule)], builtin_rules=False, jobs=1, cache_dir=str(root / CACHE_DIR_NAME))
    paths = [str(root / "src")]
    Engine(options).scan(paths)
    (root / "src" / "clean.go").write_text(CLEAN + "\n// edited\n")
    memo = ScanMemo(paths)
    assert scan_from_cache(options, paths, memo) is None
    assert memo.found is not None and len(memo.hashes.files) == len(memo.found.files) >= 2

    hashed: list[str] = []
    real = ScanCache._digest

    def counting(self: ScanCache, absolute: str) -> bytes | None:
        if absolute not in self._digests:
            hashed.append(absolute)
        return real(self, absolute)

    ScanCache._digest = counting  # type: ignore[method-assign]
    try:
        with_memo = Engine(options).scan(paths, memo=memo)
        assert hashed == [], "files hashed again"
        (root / "src" / "clean.go").write_text(CLEAN + "\n// edited again\n")
        without = Engine(options).scan(paths)
        assert hashed, "a scan without the memo hashes the files"
    finally:
        ScanCache._digest = real  # type: ignore[method-assign]
    assert _comparable(with_memo)["findings"] == _comparable(without)["findings"]
    assert with_memo.files_scanned == without.files_scanned
    # a memo made for other paths is ignored
    other = ScanMemo([str(root)])
    other.found = memo.found
    assert Engine(options).scan(paths, memo=other).files_scanned == without.files_scanned


def test_the_cli_gives_the_same_report_from_the_cache(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    write(root / "leak.go", LEAK)
    # --fail-level note: GL501 is a note since the levels by evidence (bench/levels.py); exit 1 = findings
    command = [sys.executable, "-m", "gleak_sarif", "scan", "--select", "GL501", "--fail-level", "note", "-f", "sarif",
               str(root)]
    runs = [subprocess.run(command, cwd=tmp_path, capture_output=True, text=True) for _ in range(2)]
    assert [r.returncode for r in runs] == [1, 1], runs[0].stderr
    import json

    def stable(text: str) -> object:
        log = json.loads(text)
        for run in log["runs"]:
            run.pop("invocations", None)
        return log

    assert stable(runs[1].stdout) == stable(runs[0].stdout)
    assert "GL501" in runs[1].stdout


def _run_numbers(database: Path) -> dict[str, int]:
    with sqlite3.connect(database) as db:
        rows = dict(db.execute("SELECT key, run FROM entries").fetchall())
    db.close()
    return rows


def test_entries_unused_for_many_runs_are_pruned(tmp_path: Path) -> None:
    directory = tmp_path / CACHE_DIR_NAME
    (directory / "scan-v1.sqlite3").parent.mkdir(parents=True)
    (directory / "scan-v1.sqlite3").write_bytes(b"an earlier schema's file")
    bulky = [(f"old-{i}", [], []) for i in range(3000)]  # e.g. every file of an old checkout
    first = ScanCache(str(directory), salt="old rules")  # run 1
    first.put_many(bulky)
    first.put_rules([])
    first.close()
    size_with_bulk = (directory / f"scan-v{SCHEMA}.sqlite3").stat().st_size
    for run in range(2, 3 * PRUNE_EVERY + 1):
        cache = ScanCache(str(directory), salt="s")
        cache.put_many([(f"run-{run}", [], [])] + ([("kept", [], [])] if run == 2 else []))
        cache.touch(["kept"])
        cache.close()
    assert not (directory / "scan-v1.sqlite3").exists(), "files of an earlier schema are deleted"
    database = directory / f"scan-v{SCHEMA}.sqlite3"
    rows = _run_numbers(database)
    last = 3 * PRUNE_EVERY
    # pruned at run 30 (every PRUNE_EVERY runs): only rows used in the last KEEP_RUNS runs survive
    assert not any(key.startswith("old-") for key in rows)
    assert sorted(k for k in rows if k.startswith("run-")) == sorted(
        f"run-{n}" for n in range(last - KEEP_RUNS + 1, last + 1))
    assert "kept" in rows, "an entry used now and then stays"
    assert database.stat().st_size < size_with_bulk / 2, "the freed space is given back (VACUUM)"
    with sqlite3.connect(database) as db:
        assert db.execute("SELECT COUNT(*) FROM rule_sets").fetchone()[0] == 0
    db.close()


def test_a_read_only_session_does_not_count_as_a_run(tmp_path: Path) -> None:
    directory = tmp_path / CACHE_DIR_NAME
    first = ScanCache(str(directory), salt="s")
    first.put_many([("a", [], [])])
    first.close()
    for _ in range(3 * PRUNE_EVERY):  # e.g. cache-only attempts that found a changed file
        reader = ScanCache(str(directory), salt="s")
        assert reader.get_rules() is None and set(reader.get_many(["a", "b"])) == {"a"}
        reader.close()
    assert _run_numbers(directory / f"scan-v{SCHEMA}.sqlite3") == {"a": 1}


PACKAGE_RULES = """\
id: TST002
name: calls-a-locker
severity: warning
precision: high
message: "calls a function that locks"
docs: {what: "w.", why: "y.", example: "e"}
rule:
  kind: call_expression
  calls:
    has: {pattern: $M.Lock()}
"""


def test_an_edit_rescans_siblings_with_package_rules_only(tmp_path: Path) -> None:
    """The edited file is scanned again; its siblings run only the rules that read the package, and keep
    their own rules' cached findings. Results equal a scan without the cache."""
    root = tmp_path / "project"
    write(root / "src" / "leak.go", LEAK)
    write(root / "src" / "caller.go", "package p\n\nfunc Use() { Flush() }\n")
    flush = write(root / "src" / "flush.go", "package p\n\nfunc Flush() {}\n")
    rules = tmp_path / "rules"
    write(rules / "TST001.yml", TICK_RULE)
    write(rules / "TST002.yml", PACKAGE_RULES)
    recorder = Recorder(root, rules)
    first = recorder.scan()
    assert sorted(f.rule_id for f in first.findings) == ["TST001"]
    flush.write_text("package p\n\nimport \"sync\"\n\nvar mu sync.Mutex\n\nfunc Flush() { mu.Lock(); mu.Unlock() }\n")
    second = recorder.scan()
    assert sorted(recorder.scanned) == ["caller.go", "flush.go", "leak.go"]
    assert sorted(recorder.partial) == ["caller.go", "leak.go"]
    assert sorted((f.rule_id, os.path.basename(f.primary.path)) for f in second.findings) == [
        ("TST001", "leak.go"), ("TST002", "caller.go")]
    fresh = Engine(ScanOptions(rules=[str(rules)], builtin_rules=False, jobs=1, use_cache=False)).scan(
        [str(root / "src")])
    assert [f.model_dump() for f in second.findings] == [f.model_dump() for f in fresh.findings]
    third = recorder.scan()
    assert recorder.scanned == []
    assert [f.model_dump() for f in third.findings] == [f.model_dump() for f in fresh.findings]



def test_the_code_signature_covers_the_package_model_and_its_facts() -> None:
    """An edited package model (gopackage/) or fact (facts/) changes results: cached ones must not be reused."""
    from gleak_sarif.engine import cache

    package = Path(cache.__file__).resolve().parent.parent
    assert {"engine", "rules", "gopackage", "facts"} <= set(cache.CODE_FOLDERS)
    assert all(any((package / folder).glob("*.py")) for folder in cache.CODE_FOLDERS)
