"""Scan cache: re-runs only parse files whose content (or package) changed.

An entry is keyed by the file's content hash, its path, the content hashes of its directory's other `.go`
files (rules may look into same-package functions), its go.mod version and the rule pack's fingerprint (engine
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

from gleak_sarif.gosource import go_version_for
from gleak_sarif.model import Finding, Notification

CACHE_DIR_NAME = ".gleak-cache"
SCHEMA = 1


def cache_dir_for(source_root: str, configured: str | None = None) -> str:
    return configured or os.path.join(source_root, CACHE_DIR_NAME)


class ScanCache:
    def __init__(self, directory: str, salt: str) -> None:
        self.directory = directory
        self.salt = salt
        self._db: sqlite3.Connection | None = None
        self._dir_memo: dict[str, str] = {}
        self._digests: dict[str, bytes | None] = {}  # absolute path -> content hash (each file read once)
        self.hits = 0
        self.misses = 0

    def _connect(self) -> sqlite3.Connection | None:
        if self._db is not None:
            return self._db
        database = os.path.join(self.directory, f"scan-v{SCHEMA}.sqlite3")
        for attempt in range(2):
            try:
                os.makedirs(self.directory, exist_ok=True)
                ignore = os.path.join(self.directory, ".gitignore")
                if not os.path.exists(ignore):
                    with open(ignore, "w", encoding="utf-8") as handle:
                        handle.write("# created by gleak-sarif\n*\n")
                self._db = sqlite3.connect(database, timeout=30)
                self._db.execute("CREATE TABLE IF NOT EXISTS entries (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
                return self._db
            except sqlite3.DatabaseError:
                # not a database (damaged, truncated): start a new one instead of running uncached forever
                self.close()
                if attempt == 0:
                    with contextlib.suppress(OSError):
                        os.unlink(database)
            except (OSError, sqlite3.Error):
                break  # a read-only checkout: scan without a cache rather than fail
        self.close()
        return None

    def _digest(self, path: str) -> bytes | None:
        absolute = os.path.abspath(path)
        if absolute not in self._digests:
            try:
                with open(absolute, "rb") as handle:
                    self._digests[absolute] = hashlib.blake2b(handle.read(), digest_size=20).digest()
            except OSError:
                self._digests[absolute] = None
        return self._digests[absolute]

    def _dir_signature(self, directory: str) -> str:
        """The contents of the folder's other `.go` files (hashed, not size and mtime: a same-size edit
        within one clock tick, `cp -p` or tar keep those)."""
        cached = self._dir_memo.get(directory)
        if cached is not None:
            return cached
        digest = hashlib.blake2b(digest_size=16)
        try:
            with os.scandir(directory) as entries:
                names = sorted(e.name for e in entries if e.name.endswith(".go") and e.is_file())
        except OSError:
            names = []
        for name in names:
            content = self._digest(os.path.join(directory, name))
            digest.update(name.encode() + b"\0" + (content or b"unreadable") + b"\n")
        self._dir_memo[directory] = digest.hexdigest()
        return self._dir_memo[directory]

    def key(self, path: str) -> str | None:
        content = self._digest(path)
        if content is None:
            return None
        directory = os.path.dirname(os.path.abspath(path))
        # the go.mod version gates rules (go-version) and their severity (severity-by-go-version)
        version = go_version_for(path)
        digest = hashlib.blake2b(content, digest_size=20)
        digest.update(f"\0{self.salt}\0{path}\0{version}\0{self._dir_signature(directory)}".encode())
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
