"""Scan cache: re-runs only parse files whose content (or package) changed.

An entry is keyed by the file's content hash, its path, a signature of its directory's other `.go` files
(rules may look into same-package functions), its go.mod version and the rule pack's fingerprint (engine
version + every rule file's bytes + the options that change results). The store is one SQLite file in
`.gleak-cache/` at the source root (it ignores itself for git), written by the main process only.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sqlite3
from collections.abc import Iterable

from gleak_sarif.model import Finding, Notification

CACHE_DIR_NAME = ".gleak-cache"
SCHEMA = 1


def cache_dir_for(source_root: str, configured: str | None = None) -> str:
    return configured or os.path.join(source_root, CACHE_DIR_NAME)


def _dir_signature(directory: str, memo: dict[str, str]) -> str:
    cached = memo.get(directory)
    if cached is not None:
        return cached
    digest = hashlib.blake2b(digest_size=16)
    try:
        with os.scandir(directory) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                if entry.name.endswith(".go") and entry.is_file():
                    info = entry.stat()
                    digest.update(f"{entry.name}\0{info.st_size}\0{info.st_mtime_ns}\n".encode())
    except OSError:
        pass
    memo[directory] = digest.hexdigest()
    return memo[directory]


class ScanCache:
    def __init__(self, directory: str, salt: str) -> None:
        self.directory = directory
        self.salt = salt
        self._db: sqlite3.Connection | None = None
        self._dir_memo: dict[str, str] = {}
        self.hits = 0
        self.misses = 0

    def _connect(self) -> sqlite3.Connection | None:
        if self._db is not None:
            return self._db
        try:
            os.makedirs(self.directory, exist_ok=True)
            ignore = os.path.join(self.directory, ".gitignore")
            if not os.path.exists(ignore):
                with open(ignore, "w", encoding="utf-8") as handle:
                    handle.write("# created by gleak-sarif\n*\n")
            self._db = sqlite3.connect(os.path.join(self.directory, f"scan-v{SCHEMA}.sqlite3"), timeout=30)
            self._db.execute("CREATE TABLE IF NOT EXISTS entries (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        except (OSError, sqlite3.Error):
            self._db = None  # a read-only checkout: scan without a cache rather than fail
        return self._db

    def key(self, path: str) -> str | None:
        try:
            with open(path, "rb") as handle:
                content = handle.read()
        except OSError:
            return None
        digest = hashlib.blake2b(content, digest_size=20)
        directory = os.path.dirname(os.path.abspath(path))
        digest.update(f"\0{self.salt}\0{path}\0{_dir_signature(directory, self._dir_memo)}".encode())
        return digest.hexdigest()

    def get_many(self, keys: Iterable[str]) -> dict[str, tuple[list[Finding], list[Notification]]]:
        db = self._connect()
        found: dict[str, tuple[list[Finding], list[Notification]]] = {}
        if db is None:
            return found
        wanted = list(keys)
        try:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                marks = ",".join("?" * len(chunk))
                for key, value in db.execute(f"SELECT key, value FROM entries WHERE key IN ({marks})", chunk):
                    data = json.loads(value)
                    found[key] = (
                        [Finding.model_validate(f) for f in data["findings"]],
                        [Notification.model_validate(n) for n in data["notifications"]],
                    )
        except (sqlite3.Error, ValueError):
            return {}  # a damaged cache is ignored, then overwritten
        return found

    def put_many(self, entries: Iterable[tuple[str, list[Finding], list[Notification]]]) -> None:
        db = self._connect()
        if db is None:
            return
        rows = [
            (key, json.dumps({"findings": [f.model_dump(mode="json") for f in findings],
                              "notifications": [n.model_dump(mode="json") for n in notes]}))
            for key, findings, notes in entries
        ]
        with contextlib.suppress(sqlite3.Error):
            with db:
                db.executemany("INSERT OR REPLACE INTO entries (key, value) VALUES (?, ?)", rows)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


def clean_cache(path: str) -> str:
    from gleak_sarif.engine.discover import find_source_root

    directory = os.path.join(find_source_root([path]), CACHE_DIR_NAME)
    if not os.path.isdir(directory):
        return f"no cache at {directory}"
    shutil.rmtree(directory)
    return f"removed {directory}"
