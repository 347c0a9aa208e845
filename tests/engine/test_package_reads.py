"""A warm scan after an edit re-evaluates only the files whose package reads changed (gopackage/reads.py,
issue 20 item 2): a file B whose findings rest on the edited file A is scanned again, one whose reads did
not change is served from the cache; either way the results equal a scan without the cache."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from gleak_sarif.config import ScanOptions
from gleak_sarif.engine import Engine
from tests.engine.test_parallel_shapes import _write
from tests.helpers import write
from tests.test_cache import LEAK, PACKAGE_RULES, TICK_RULE

Row = tuple[str, str, int, int, str]


class Scans:
    """Scans of one folder with the cache (recording the files the engine scans) and without it."""

    def __init__(self, root: Path, **options: Any) -> None:
        self.root = root
        self.options = options
        self.engine = Engine(ScanOptions(cache_dir=str(root / ".cache"), jobs=1, **options))
        self.scanned: list[str] = []
        real = self.engine.scan_files

        def recording(files: list[str], progress: object = None, **kwargs: Any) -> object:
            self.scanned.extend(os.path.basename(f) for f in files)
            return real(files, **kwargs)

        self.engine.scan_files = recording  # type: ignore[method-assign,assignment]

    def warm(self) -> list[Row]:
        self.scanned = []
        return _rows(self.engine.scan([str(self.root / "src")]))

    def cold(self) -> list[Row]:
        engine = Engine(ScanOptions(use_cache=False, jobs=1, **self.options))
        return _rows(engine.scan([str(self.root / "src")]))


def _rows(result: Any) -> list[Row]:
    return sorted((f.rule_id, os.path.basename(f.primary.path), f.primary.start_line, f.primary.start_column,
                   f.message) for f in result.findings)


def test_calls_rule_edit_that_matters_and_one_that_does_not(tmp_path: Path) -> None:
    root = tmp_path / "project"
    write(root / "src" / "leak.go", LEAK)
    write(root / "src" / "caller.go", "package p\n\nfunc Use() { Flush() }\n")
    flush = write(root / "src" / "flush.go", "package p\n\nfunc Flush() {}\n")
    rules = tmp_path / "rules"
    write(rules / "TST001.yml", TICK_RULE)
    write(rules / "TST002.yml", PACKAGE_RULES)
    scans = Scans(root, rules=[str(rules)], builtin_rules=False)
    assert scans.warm() == scans.cold()
    # an edit B's rules do not see (a comment; the `calls:` rule's token check on flush.go is still "no")
    flush.write_text(flush.read_text() + "// a comment\n")
    assert scans.warm() == scans.cold()
    assert scans.scanned == ["flush.go"]
    # an edit that gives caller.go (B) a finding: B is scanned again
    flush.write_text("package p\n\nimport \"sync\"\n\nvar mu sync.Mutex\n\nfunc Flush() { mu.Lock(); mu.Unlock() }\n")
    after = scans.warm()
    assert "caller.go" in scans.scanned
    assert after == scans.cold()
    assert ("TST002", "caller.go") in {(rule, name) for rule, name, *_ in after}


def _package(folder: Path) -> list[str]:
    return [_write(folder, f"f{i:02d}.go", "big", range(i * 3, i * 3 + 3), 24) for i in range(8)]


# lock rules that read the package model only (no `calls:`, which parses a sibling's whole text)
MODEL_RULES = ["GL406", "GL408", "GL409", "GL410", "GL412", "GL415"]


def test_model_rules_edit_that_matters_and_one_that_does_not(tmp_path: Path) -> None:
    root = tmp_path / "project"
    files = [Path(p) for p in _package(root / "src")]
    scans = Scans(root, select=MODEL_RULES)
    first = scans.warm()
    assert first == scans.cold()
    assert len({row[0] for row in first}) >= 2, first
    edited = files[3]
    original = edited.read_text()
    # a comment at the end: the package model sees the same summary of f03.go, nothing else is evaluated
    edited.write_text(original + "\n// edited\n")
    assert scans.warm() == first
    assert scans.scanned == [edited.name]
    # f03.go's methods stop locking: other files' lock findings through calls into them change (the
    # package model's summary of f03.go changes, so every file whose record holds it is evaluated again)
    edited.write_text(original.replace("s.mu.Lock()", "s.mu.TryLock()"))
    after = scans.warm()
    assert after == scans.cold()
    changed = {row[1] for row in set(after) ^ set(first)} - {edited.name}
    assert changed, "the edit changes findings in other files"
    assert changed <= set(scans.scanned), (changed, scans.scanned)


def test_every_rule_after_a_comment_edit_equals_a_cold_scan(tmp_path: Path) -> None:
    """Every rule (`calls:` ones parse a sibling's whole text: its bytes are a read, so the edited file's
    readers are evaluated again): the warm results equal a scan without the cache."""
    root = tmp_path / "project"
    files = [Path(p) for p in _package(root / "src")]
    scans = Scans(root, select=["ALL"])
    first = scans.warm()
    assert first == scans.cold()
    files[3].write_text(files[3].read_text() + "\n// edited\n")
    assert scans.warm() == first


# a `calls:` rule whose R climbs to the file (`inside` with `stopBy: end`): it may see the whole sibling
WIDE_CALLS_RULE = PACKAGE_RULES.replace("TST002", "TST003").replace(
    "    has: {pattern: $M.Lock()}\n",
    "    has: {pattern: $M.Lock()}\n    inside: {kind: source_file, stopBy: end}\n")

FLUSH = """\
package p

import "sync"

var mu sync.Mutex

func Flush() { mu.Lock(); mu.Unlock() }

func Other() int { return 1 }
"""


def test_calls_answer_rests_on_the_callee_declaration_not_the_whole_sibling(tmp_path: Path) -> None:
    """A `calls:` answer about a sibling A is recorded as the text of A's declarations of the callee (and
    A's imports and types), not A's whole bytes: an edit of another function of A serves B from the cache,
    an edit of the callee that changes B's finding evaluates B again (results equal a cold scan)."""
    root = tmp_path / "project"
    write(root / "src" / "caller.go", "package p\n\nfunc Use() { Flush() }\n")
    flush = write(root / "src" / "flush.go", FLUSH)
    rules = tmp_path / "rules"
    write(rules / "TST002.yml", PACKAGE_RULES)
    scans = Scans(root, rules=[str(rules)], builtin_rules=False)
    first = scans.warm()
    assert first == scans.cold()
    assert ("TST002", "caller.go") in {(rule, name) for rule, name, *_ in first}
    # another function of flush.go changes (and the file's token check still holds): caller.go is not evaluated
    flush.write_text(FLUSH.replace("return 1", "return 2 + len(\"Lock\")"))
    assert scans.warm() == first
    assert scans.scanned == ["flush.go"]
    # Flush stops locking: caller.go is evaluated again and loses its finding
    flush.write_text(FLUSH.replace("mu.Lock(); mu.Unlock()", "mu.TryLock(); mu.Unlock(); _ = \"Lock()\""))
    after = scans.warm()
    assert "caller.go" in scans.scanned
    assert after == scans.cold()
    assert ("TST002", "caller.go") not in {(rule, name) for rule, name, *_ in after}
    # and locking again (the callee's text changes back): the finding returns
    flush.write_text(FLUSH)
    assert scans.warm() == first
    assert "caller.go" in scans.scanned


def test_calls_rule_that_may_look_beyond_the_callee_reads_the_whole_sibling(tmp_path: Path) -> None:
    """R climbs to the file: its answer may rest on any of A's text, so any edit of A evaluates B again."""
    root = tmp_path / "project"
    write(root / "src" / "caller.go", "package p\n\nfunc Use() { Flush() }\n")
    flush = write(root / "src" / "flush.go", FLUSH)
    rules = tmp_path / "rules"
    write(rules / "TST003.yml", WIDE_CALLS_RULE)
    scans = Scans(root, rules=[str(rules)], builtin_rules=False)
    first = scans.warm()
    assert first == scans.cold()
    assert ("TST003", "caller.go") in {(rule, name) for rule, name, *_ in first}
    flush.write_text(FLUSH.replace("return 1", "return 2 + len(\"Lock\")"))
    assert scans.warm() == first
    assert sorted(scans.scanned) == ["caller.go", "flush.go"]
