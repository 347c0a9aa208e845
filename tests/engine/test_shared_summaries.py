"""The package model's sibling summaries shared between workers and scans (gopackage/shared.py, issue 20):
a warm re-run extracts only what changed, `-j2` without a cache shares through a private folder that is
gone afterwards, and an entry this user's gleak-sarif did not sign is never unpickled."""

from __future__ import annotations

import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

import pytest

from gleak_sarif.config import ScanOptions
from gleak_sarif.engine import Engine
from gleak_sarif.engine import scan as engine_scan
from gleak_sarif.gopackage import shared as shared_module
from gleak_sarif.gopackage import store
from gleak_sarif.gopackage.shared import FOLDER, SharedSummaries
from gleak_sarif.gopackage.summary import FileSummary, FunctionSummary, Site
from gleak_sarif.usercache import sign
from tests.engine.test_parallel_shapes import _write


def _summary() -> FileSummary:
    site = Site("/x/a.go", 3, 1, 10, 20, "func f()")
    return FileSummary("/x/a.go", "p", functions=[FunctionSummary(("", "f"), "/x/a.go", 10, 20, site)],
                       globals={"g"}, digest=b"d")


class _Spy:
    """A file object that notes that someone read it (the unpickler)."""

    def __init__(self, handle: Any, seen: list[bytes]) -> None:
        self.handle, self.seen = handle, seen

    def read(self, size: int = -1) -> bytes:
        self.seen.append(b"read")
        return bytes(self.handle.read(size))

    def readline(self) -> bytes:
        self.seen.append(b"read")
        return bytes(self.handle.readline())

    def readinto(self, buffer: Any) -> int:
        self.seen.append(b"read")
        return int(self.handle.readinto(buffer))


def test_store_round_trip_and_unsigned_entries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mine = SharedSummaries(str(tmp_path / FOLDER), b"k" * 32, "salt")
    key = mine.key("/x/a.go", "p", b"names", b"content")
    assert mine.get(key) is None
    mine.put(key, _summary())
    assert mine.get(key) == _summary()
    assert mine.key("/x/a.go", "p", b"names", b"other") != key  # content-addressed
    assert SharedSummaries(str(tmp_path / FOLDER), b"k" * 32, "other salt").key("/x/a.go", "p", b"names",
                                                                                  b"content") != key
    # another user's key (a folder planted in the scanned tree): a miss, the bytes never reach pickle
    theirs = SharedSummaries(str(tmp_path / FOLDER), b"o" * 32, "salt")
    loads: list[bytes] = []
    monkeypatch.setattr(shared_module, "_Unpickler", lambda handle: pickle.Unpickler(
        _Spy(handle, loads)))
    assert theirs.get(key) is None and loads == []
    entry = Path(mine._path(key))
    data = entry.read_bytes()
    entry.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))  # damaged
    assert mine.get(key) is None and loads == []
    entry.unlink()
    entry.symlink_to(tmp_path / "elsewhere")  # a link is never followed
    (tmp_path / "elsewhere").write_bytes(data)
    assert mine.get(key) is None
    entry.unlink()
    mine.put(key, _summary())
    assert mine.get(key) == _summary() and loads
    assert not [p for p in Path(mine.directory).rglob("*.tmp")]  # written through a renamed temporary file


def test_a_signed_entry_builds_summary_classes_only(tmp_path: Path) -> None:
    """Even an entry signed with the right key (a stolen key) cannot make the unpickler build anything but
    the summary classes."""
    mine = SharedSummaries(str(tmp_path / FOLDER), b"k" * 32, "salt")
    key = mine.key("/x/a.go", "p", b"names", b"content")
    body = pickle.dumps(os.system, protocol=pickle.HIGHEST_PROTOCOL)
    entry = Path(mine._path(key))
    entry.parent.mkdir(parents=True)
    entry.write_bytes(sign(key.encode() + b"\0" + body, b"k" * 32) + body)
    assert mine.get(key) is None


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    extracted: list[str] = []
    real = store.summarize

    def counting(queries: Any, path: str, *args: Any, **kwargs: Any) -> FileSummary:
        extracted.append(os.path.basename(path))
        return real(queries, path, *args, **kwargs)

    monkeypatch.setattr(store, "summarize", counting)
    return extracted


def _package(folder: Path) -> list[str]:
    return [_write(folder, f"f{i:02d}.go", "big", range(i * 3, i * 3 + 3), 24) for i in range(8)]


def _scan(files: list[str], jobs: int, cache: Path | None) -> list[tuple[str, str, int, int, str]]:
    engine = Engine(ScanOptions(select=["ALL"], jobs=jobs, use_cache=cache is not None,
                                cache_dir=str(cache) if cache is not None else None))
    result = engine.scan(files)
    return sorted((f.rule_id, f.primary.path, f.primary.start_line, f.primary.start_column, f.message)
                  for f in result.findings)


def test_warm_run_extracts_only_the_edited_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = _package(tmp_path / "big")
    expected = _scan(files, 1, None)
    assert len({f[0] for f in expected}) >= 4, expected
    extracted = _counting(monkeypatch)
    cache = tmp_path / "cache"
    assert _scan(files, 1, cache) == expected
    assert len(set(extracted)) == len(files)  # every file summarized once (own tree or sibling)
    assert list((cache / FOLDER).rglob("*"))
    edited = Path(files[3])
    edited.write_text(edited.read_text() + "\n// edited\n")
    extracted.clear()
    assert _scan(files, 1, cache) == expected
    # the edited file's siblings are scanned again with the package rules; their summaries come from the
    # store, only the edited file's text is summarized again
    assert set(extracted) == {edited.name}, extracted
    # `cache clean` removes the store with the database (only what gleak-sarif made)
    (cache / FOLDER / "notes.txt").write_text("not ours")
    assert shared_module.remove(str(cache)) >= len(files)
    assert [p.name for p in (cache / FOLDER).iterdir()] == ["notes.txt"]


def test_parallel_scan_without_cache_shares_then_removes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine_scan, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(engine_scan, "PARALLEL_MIN_FILES", 2)
    monkeypatch.setattr(engine_scan, "MIN_CHUNK_BYTES", 2048)
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    files = _package(tmp_path / "big")
    serial = _scan(files, 1, None)
    made: list[str] = []
    real = SharedSummaries.for_one_scan.__func__  # type: ignore[attr-defined]

    def recording(cls: type[SharedSummaries], salt: str) -> SharedSummaries:
        made.append((shared := real(cls, salt)).directory)
        return shared

    monkeypatch.setattr(SharedSummaries, "for_one_scan", classmethod(recording))
    assert _scan(files, 2, None) == serial
    assert len(made) == 1 and made[0].startswith(str(temp))
    assert not os.path.exists(made[0])  # the private folder dies with the scan


def test_claims(tmp_path: Path) -> None:
    """One extraction per key: a second claimer waits for the entry; a dead owner's claim is taken over."""
    import subprocess
    import threading

    mine = SharedSummaries(str(tmp_path / FOLDER), b"k" * 32, "salt")
    key = mine.key("/x/a.go", "p", b"names", b"content")
    assert mine.claim(key)
    assert not mine.claim(key)  # held (by this process here: what another worker sees)
    writer = threading.Timer(0.2, lambda: (mine.put(key, _summary()), mine.release(key)))
    writer.start()
    assert mine.wait(key) == _summary()
    writer.join()
    # a claim whose process is gone: taken over at once, and then held by the taker
    other = mine.key("/x/b.go", "p", b"names", b"content")
    child = subprocess.Popen(["true"])
    child.wait()
    claim = Path(mine._path(other) + ".claim")
    claim.parent.mkdir(parents=True, exist_ok=True)
    claim.write_text(str(child.pid))
    assert mine.wait(other) is None
    assert claim.read_text() == str(os.getpid())


def test_a_killed_scans_private_folder_is_removed_by_the_next_scan(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """SIGKILL runs no cleanup: the next scan without a cache removes the private folders of scans whose
    process is gone (and only those: a live pid's, a recent one, a link, another name stay)."""
    import subprocess

    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    child = subprocess.Popen(["true"])
    child.wait()  # its pid is now a process that is gone
    old = os.path.getmtime(temp) - 2 * shared_module.STALE_SECONDS
    folders = {
        "dead": f"{shared_module.SCAN_PREFIX}{child.pid}-abc",
        "dead-recent": f"{shared_module.SCAN_PREFIX}{child.pid}-def",
        "live": f"{shared_module.SCAN_PREFIX}{os.getppid()}-ghi",
        "other-name": "gleak-summaries-xyz",
    }
    for kind, name in folders.items():
        (temp / name / "ab").mkdir(parents=True)
        (temp / name / "ab" / "entry").write_bytes(b"x")
        if kind != "dead-recent":
            os.utime(temp / name, (old, old))
    target = tmp_path / "elsewhere"
    target.mkdir()
    (temp / f"{shared_module.SCAN_PREFIX}{child.pid}-lnk").symlink_to(target)
    shared = SharedSummaries.for_one_scan("salt")
    try:
        left = sorted(p.name for p in temp.iterdir())
        assert folders["dead"] not in left
        assert {folders["dead-recent"], folders["live"], folders["other-name"],
                f"{shared_module.SCAN_PREFIX}{child.pid}-lnk", os.path.basename(shared.directory)} == set(left)
        assert os.path.basename(shared.directory).startswith(f"{shared_module.SCAN_PREFIX}{os.getpid()}-")
        assert target.is_dir()
    finally:
        shared.close()
