"""Scan cache: re-runs only parse files whose content (or package) changed.

A file has two entries, both keyed by its content hash, path and go.mod version and the salt: one holds
the results of the rules that read only the file; the other those of the rules that read its package
(`calls:`, `model:`), and its key also holds the content hashes of the folder's other `.go` files. The
salt is everything else that can change results (`inputs_salt`: the engine's code, every rule file's
bytes, the project config and the options that change results). The store is one SQLite file, written by
the main process only, in `.gleak-cache/` at the root of the git work tree (it ignores itself for git);
in the user cache directory (keyed by the project's absolute root) when the scanned folder is in no
work tree (a module in GOMODCACHE, an unpacked archive), the root is not writable, or its `.gleak-cache`
is not one this user's gleak-sarif made: a symbolic link, or a folder tracked by git (committed in a pull
request). Every entry and rule set is signed with this user's key (usercache.py): a forged or copied
entry reads as a miss, so a planted cache cannot hide findings. Only files the cache creates are ever
deleted.

Next to the entries it keeps, per salt, the metadata of the enabled rules, so that a scan whose every file
hits the cache answers without loading the rule pack (`Engine` is not needed then; see api.py).

Pruning: every scan that uses the cache is a numbered run; entries and rule sets record the last run that
used them. Rows unused for `KEEP_RUNS` runs are deleted (old file versions, rule sets or options no longer
used), and the file is compacted (VACUUM) when more than half of it is free pages.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import hmac
import json
import os
import re
import sqlite3
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from gleak_sarif.errors import UsageError
from gleak_sarif.gopackage import shared
from gleak_sarif.gosource import go_version_for
from gleak_sarif.model import Finding, Notification, RuleMeta
from gleak_sarif.usercache import machine_key, scan_cache_dir, sign, verify
from gleak_sarif.vcs import tracked_by_git, work_tree_root

CACHE_DIR_NAME = ".gleak-cache"
SCHEMA = 4  # 4: entries and rule sets carry a MAC
_OURS = re.compile(r"^(scan-v[0-9]+\.sqlite3(-journal|-wal|-shm)?|\.gitignore|owner)$")  # what the cache creates
_GITIGNORE = "# created by gleak-sarif\n*\n"
KEEP_RUNS = 20  # an entry not used by the last KEEP_RUNS runs is deleted
PRUNE_EVERY = 10  # runs between two prunings (the delete scans the table)
_CHUNK = 500  # keys per SELECT/UPDATE (SQLite's default variable limit is 999)


def cache_dir_for(paths: Sequence[str], configured: str | None = None) -> str:
    """Where the scan cache of a scan of ``paths`` lives (see the module doc): ``configured``, else
    `.gleak-cache` at the root of the first path's git work tree when that one can be trusted, else a
    folder of the user cache directory keyed by the root (the work tree, or the first path's folder)."""
    if configured:
        return configured
    start = _strip_dots(paths[0]) if paths else "."
    repo = work_tree_root(start)
    if repo is not None and _in_tree_usable(repo):
        return os.path.join(repo, CACHE_DIR_NAME)
    if repo is None:
        repo = start if os.path.isdir(start) else os.path.dirname(os.path.abspath(start))
    return scan_cache_dir(repo)


def _strip_dots(path: str) -> str:
    from gleak_sarif.engine.discover import _strip_dots as strip

    return strip(path)


def _owner_mark(directory: str, key: bytes) -> bytes | None:
    """A signature of this folder's identity (path, device, inode): a cache folder this user's gleak-sarif
    made carries it in `owner`; one checked out from a repository cannot (the key is not there)."""
    try:
        info = os.lstat(directory)
    except OSError:
        return None
    identity = f"{os.path.realpath(directory)}\0{info.st_dev}\0{info.st_ino}".encode("utf-8", "surrogateescape")
    return sign(identity, key)


def _marked(directory: str, key: bytes) -> bool:
    mark = _owner_mark(directory, key)
    stored = _read_nofollow(os.path.join(directory, "owner"), 64)
    return mark is not None and stored is not None and hmac.compare_digest(stored, mark)


def _read_nofollow(path: str, limit: int) -> bytes | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as handle:
        return handle.read(limit)


def _create_nofollow(path: str, data: bytes) -> None:
    """Write a new file of the cache's own (never through a link, never over an existing file)."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)


def _in_tree_usable(repo: str) -> bool:
    if not os.access(repo, os.W_OK):
        return False  # a read-only checkout: use the user cache directory
    folder = os.path.join(repo, CACHE_DIR_NAME)
    if not os.path.lexists(folder):
        return True
    if os.path.islink(folder) or not os.path.isdir(folder):
        return False
    key = machine_key()
    if key is not None and _marked(folder, key):
        return True  # made here by this user (checked without running git)
    return not tracked_by_git(folder)


# the package root, the engine, the rule compiler, and the package model with its `model:` facts (which
# decide results as much as the engine does)
CODE_FOLDERS = ("", "engine", "rules", "gopackage", "facts")


def _code_signature() -> str:
    """A digest of the engine's code (CODE_FOLDERS): an edited engine in a source checkout must not reuse
    results of the old one (the version alone does not change). Content, not mtimes: a
    `git stash`/`checkout` round trip keeps the cache (~1 ms for ~0.7 MB)."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    digest = hashlib.blake2b(digest_size=16)
    for folder in CODE_FOLDERS:
        for path in sorted(glob.glob(os.path.join(package, folder, "*.py"))):
            with contextlib.suppress(OSError), open(path, "rb") as handle:
                digest.update(f"{folder}/{os.path.basename(path)}\0".encode() + handle.read())
    return digest.hexdigest()


def summaries_salt() -> str:
    """What a package-model summary depends on besides its file and package names: the engine's version
    and code (gopackage/shared.py)."""
    from gleak_sarif import __version__

    return f"{__version__}\0{_code_signature()}"


def inputs_salt(rule_paths: Sequence[str], config_path: str | None, options: dict[str, Any]) -> str | None:
    """A digest of everything besides the file (and its package) that decides a file's results, computed
    without compiling any rule: the engine version and code, every rule file (path and bytes), the project
    config's bytes (its tables feed rule templates) and ``options``. None when a file cannot be read (the
    rule loader then reports it)."""
    from gleak_sarif import __version__

    digest = hashlib.blake2b(digest_size=20)
    digest.update(f"{__version__}\0{_code_signature()}\0".encode())
    try:
        for path in [*rule_paths, *([config_path] if config_path else [])]:
            with open(path, "rb") as handle:
                digest.update(os.fsencode(path) + b"\0" + handle.read() + b"\0")
    except OSError:
        return None
    digest.update(json.dumps(options, sort_keys=True, default=str).encode())
    return digest.hexdigest()


def _rows(db: sqlite3.Connection, columns: str, keys: list[str]) -> Iterator[tuple[Any, ...]]:
    """The entries rows of these keys, selected in chunks under SQLite's variable limit."""
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start : start + _CHUNK]
        marks = ",".join("?" * len(chunk))
        yield from db.execute(f"SELECT {columns} FROM entries WHERE key IN ({marks})", chunk)


@dataclass
class FileHashes:
    """Content hashes of files and folders, read once per run (shared by the cache-only attempt and the
    scan that follows it in the same command; never kept across runs, where files change)."""

    files: dict[str, bytes | None] = field(default_factory=dict)  # absolute path -> content hash
    folders: dict[str, str] = field(default_factory=dict)  # absolute folder -> its .go files' hash
    versions: dict[str, tuple[int, int] | None] = field(default_factory=dict)  # folder -> go.mod `go`


class ScanCache:
    def __init__(self, directory: str, salt: str, hashes: FileHashes | None = None) -> None:
        self.directory = directory
        self.salt = salt
        self._db: sqlite3.Connection | None = None
        self._key: bytes | None = None  # this user's signing key (set on connect)
        self._run = 0  # this run's number (set on connect)
        self._claimed = False
        hashes = hashes if hashes is not None else FileHashes()
        self._versions = hashes.versions
        self._digests = hashes.files  # each file read once
        self.hits = 0
        self.misses = 0
        self.records_of: dict[str, str] = {}  # package entry key -> its record's digest (set by get_many)
        # entry key -> the rules whose results it lacks: they did not finish within the per-file limit when
        # it was stored (set by get_many; absent: the entry is complete). A scan runs them again.
        self.missing_of: dict[str, frozenset[str]] = {}

    def _connect(self) -> sqlite3.Connection | None:
        if self._db is not None:
            return self._db
        database = os.path.join(self.directory, f"scan-v{SCHEMA}.sqlite3")
        self._key = machine_key()
        if self._key is None:
            return None  # nothing could be verified: scan without a cache
        for attempt in range(2):
            try:
                os.makedirs(self.directory, exist_ok=True)
                if os.path.islink(self.directory) or os.path.islink(database):
                    break  # never read or write a cache reached through a link
                _create_nofollow(os.path.join(self.directory, ".gitignore"), _GITIGNORE.encode())
                if not _marked(self.directory, self._key):
                    mark = _owner_mark(self.directory, self._key)
                    with contextlib.suppress(OSError):
                        os.unlink(os.path.join(self.directory, "owner"))  # a stale mark (folder moved)
                    if mark is not None:
                        _create_nofollow(os.path.join(self.directory, "owner"), mark)
                self._db = sqlite3.connect(database, timeout=30)
                # No fsync per commit (~15 ms each here, several per run): a process crash cannot corrupt
                # the file (the rollback journal is still written); an OS crash might, and a damaged
                # file is deleted and rebuilt (below).
                self._db.execute("PRAGMA synchronous = OFF")
                self._start_run(self._db)
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

    def _start_run(self, db: sqlite3.Connection) -> None:
        with db:
            db.execute("CREATE TABLE IF NOT EXISTS entries "
                       "(key TEXT PRIMARY KEY, value TEXT NOT NULL, mac BLOB NOT NULL, run INTEGER NOT NULL)")
            db.execute("CREATE INDEX IF NOT EXISTS entries_run ON entries (run)")
            db.execute("CREATE TABLE IF NOT EXISTS rule_sets "
                       "(salt TEXT PRIMARY KEY, rules TEXT NOT NULL, mac BLOB NOT NULL, run INTEGER NOT NULL)")
            db.execute("CREATE TABLE IF NOT EXISTS state (name TEXT PRIMARY KEY, value INTEGER NOT NULL)")
            # records of package reads (gopackage/reads.py), shared by the package entries that name them
            db.execute("CREATE TABLE IF NOT EXISTS records "
                       "(digest TEXT PRIMARY KEY, value BLOB NOT NULL, mac BLOB NOT NULL, run INTEGER NOT NULL)")
        row = db.execute("SELECT value FROM state WHERE name = 'run'").fetchone()
        self._run = (row[0] if row else 0) + 1
        _remove_ours(self.directory, keep=f"scan-v{SCHEMA}.sqlite3", only_databases=True)  # earlier schemas

    def _claim_run(self, db: sqlite3.Connection) -> None:
        """Count this run, at its first write (a session that only reads, like a cache-only attempt that
        found a miss, does not count)."""
        if self._claimed:
            return
        self._claimed = True
        with contextlib.suppress(sqlite3.Error):
            with db:
                db.execute("INSERT OR REPLACE INTO state (name, value) VALUES ('run', ?)", (self._run,))

    def prune(self, keep_runs: int = KEEP_RUNS) -> int:
        """Delete entries and rule sets no run used in the last ``keep_runs`` runs (this one included);
        compact the file when most of it is free. Returns the number of entries deleted."""
        db = self._connect()
        if db is None:
            return 0
        oldest = self._run - keep_runs + 1
        try:
            with db:
                deleted = db.execute("DELETE FROM entries WHERE run < ?", (oldest,)).rowcount
                db.execute("DELETE FROM rule_sets WHERE run < ?", (oldest,))
                db.execute("DELETE FROM records WHERE run < ?", (oldest,))
            free = db.execute("PRAGMA freelist_count").fetchone()[0]
            pages = db.execute("PRAGMA page_count").fetchone()[0]
            if free > 16 and free * 2 > pages:
                db.execute("VACUUM")
        except sqlite3.Error:
            return 0
        return int(deleted)

    def _digest(self, absolute: str) -> bytes | None:
        """The content hash of the file at ``absolute`` (an absolute, normalised path; read once per run)."""
        try:
            return self._digests[absolute]
        except KeyError:
            pass
        try:
            with open(absolute, "rb") as handle:
                content: bytes | None = hashlib.blake2b(handle.read(), digest_size=20).digest()
        except OSError:
            content = None
        self._digests[absolute] = content
        return content

    def key(self, path: str, package: bool = False) -> str | None:
        """The entry of the file's results from rules that read only the file, or (``package``) from
        rules that read its package too (`calls:`, `model:`): those also depend on what they read of the
        folder's other files, recorded with the entry (`records_of`, `get_records`) and checked on use."""
        absolute = os.path.abspath(path)
        content = self._digest(absolute)
        if content is None:
            return None
        # the go.mod version gates rules (go-version) and their severity (severity-by-go-version)
        directory = os.path.dirname(absolute)
        if directory in self._versions:
            version = self._versions[directory]
        else:
            version = self._versions[directory] = go_version_for(absolute)
        digest = hashlib.blake2b(content, digest_size=20)
        # the package entry's other inputs are its record of reads (gopackage/reads.py), checked on use
        kind = "package-reads" if package else "file"
        digest.update(f"\0{self.salt}\0{path}\0{version}\0{kind}".encode("utf-8", "surrogateescape"))
        return digest.hexdigest()

    def holds_all(self, keys: list[str]) -> bool:
        """Are all these entries stored? (Checked before decoding any: one edited file is a miss.)"""
        db = self._connect()
        if db is None:
            return False
        wanted = set(keys)
        try:
            for (key,) in _rows(db, "key", keys):
                wanted.discard(key)
        except sqlite3.Error:
            return False
        return not wanted

    def get_many(self, keys: Iterable[str]) -> dict[str, tuple[list[Finding], list[Notification]]]:
        db = self._connect()
        found: dict[str, tuple[list[Finding], list[Notification]]] = {}
        if db is None:
            return found
        assert self._key is not None
        try:
            for key, value, mac in _rows(db, "key, value, mac", list(keys)):
                if not isinstance(mac, bytes) or not verify(_signed(key, value), mac, self._key):
                    continue  # not written by this user's gleak-sarif: a miss, rescanned and overwritten
                data = json.loads(value)
                if isinstance(data.get("record"), str):
                    self.records_of[key] = data["record"]
                missing = data.get("missing")
                if isinstance(missing, list) and missing:
                    self.missing_of[key] = frozenset(str(rule) for rule in missing)
                found[key] = (
                    [Finding.model_validate(f) for f in data["findings"]],
                    [Notification.model_validate(n) for n in data["notifications"]],
                )
        except (sqlite3.Error, ValueError):
            return {}  # a damaged cache is ignored, then overwritten
        return found

    def touch(self, keys: list[str], records: Iterable[str] = ()) -> None:
        """Mark entries and this salt's rule set as used by this run (for pruning); rows touched in the
        last KEEP_RUNS/2 runs are left alone, so a warm run rewrites few rows."""
        db = self._connect()
        if db is None:
            return
        self._claim_run(db)
        recent = self._run - KEEP_RUNS // 2
        with contextlib.suppress(sqlite3.Error):
            with db:
                db.execute("UPDATE rule_sets SET run = ? WHERE salt = ? AND run < ?", (self._run, self.salt, recent))
                for start in range(0, len(keys), _CHUNK):
                    chunk = keys[start : start + _CHUNK]
                    marks = ",".join("?" * len(chunk))
                    db.execute(f"UPDATE entries SET run = ? WHERE run < ? AND key IN ({marks})",
                               [self._run, recent, *chunk])
                digests = sorted(set(records))
                for start in range(0, len(digests), _CHUNK):
                    chunk = digests[start : start + _CHUNK]
                    marks = ",".join("?" * len(chunk))
                    db.execute(f"UPDATE records SET run = ? WHERE run < ? AND digest IN ({marks})",
                               [self._run, recent, *chunk])

    def put_many(self, entries: Iterable[tuple[str, list[Finding], list[Notification]]],
                 records: dict[str, str] | None = None, missing: dict[str, list[str]] | None = None) -> None:
        """Store entries; ``records``: entry key -> the digest of its record of package reads (`put_records`);
        ``missing``: entry key -> the rules whose results the entry lacks (cut off by the per-file limit)."""
        db = self._connect()
        if db is None:
            return
        assert self._key is not None
        rows = []
        for key, findings, notes in entries:
            data: dict[str, Any] = {"findings": [f.model_dump(mode="json") for f in findings],
                                    "notifications": [n.model_dump(mode="json") for n in notes]}
            if records is not None and key in records:
                data["record"] = records[key]
            if missing is not None and missing.get(key):
                data["missing"] = sorted(missing[key])
            value = json.dumps(data)
            rows.append((key, value, sign(_signed(key, value), self._key), self._run))
        self._claim_run(db)
        with contextlib.suppress(sqlite3.Error):
            with db:
                db.executemany("INSERT OR REPLACE INTO entries (key, value, mac, run) VALUES (?, ?, ?, ?)", rows)

    def put_records(self, records: dict[str, list[list[str]]]) -> None:
        """Store records of package reads by digest (`record_digest`), compressed."""
        db = self._connect()
        if db is None or not records:
            return
        assert self._key is not None
        rows = []
        for digest, record in records.items():
            value = zlib.compress(json.dumps(record).encode("utf-8", "surrogateescape"), 6)
            rows.append((digest, value, sign(_signed(digest, "") + value, self._key), self._run))
        self._claim_run(db)
        with contextlib.suppress(sqlite3.Error):
            with db:
                db.executemany("INSERT OR REPLACE INTO records (digest, value, mac, run) VALUES (?, ?, ?, ?)", rows)

    def get_records(self, digests: Iterable[str]) -> dict[str, list[list[str]]]:
        """The records stored under these digests (this user's, undamaged)."""
        db = self._connect()
        found: dict[str, list[list[str]]] = {}
        wanted = sorted(set(digests))
        if db is None or not wanted:
            return found
        assert self._key is not None
        try:
            for start in range(0, len(wanted), _CHUNK):
                chunk = wanted[start : start + _CHUNK]
                marks = ",".join("?" * len(chunk))
                for digest, value, mac in db.execute(
                        f"SELECT digest, value, mac FROM records WHERE digest IN ({marks})", chunk):
                    if not isinstance(mac, bytes) or not isinstance(value, bytes) or \
                            not verify(_signed(digest, "") + value, mac, self._key):
                        continue
                    record = json.loads(zlib.decompress(value))
                    if record_digest(record) == digest:
                        found[digest] = record
        except (sqlite3.Error, ValueError, zlib.error):
            return {}
        return found

    def get_rules(self) -> list[RuleMeta] | None:
        """The enabled rules' metadata stored for this salt by an earlier scan (None when there is none)."""
        db = self._connect()
        if db is None:
            return None
        assert self._key is not None
        try:
            row = db.execute("SELECT rules, mac FROM rule_sets WHERE salt = ?", (self.salt,)).fetchone()
            if row is None or not isinstance(row[1], bytes) or not verify(_signed(self.salt, row[0]), row[1],
                                                                          self._key):
                return None
            return [RuleMeta.model_validate(m) for m in json.loads(row[0])]
        except (sqlite3.Error, ValueError):
            return None

    def put_rules(self, rules: list[RuleMeta]) -> None:
        """Store the enabled rules' metadata for this salt (the salt decides them: a stored set stays)."""
        db = self._connect()
        if db is None:
            return
        assert self._key is not None
        self._claim_run(db)
        with contextlib.suppress(sqlite3.Error):
            if self.get_rules() is None:  # none stored, or one this user did not sign
                text = json.dumps([m.model_dump(mode="json") for m in rules])
                with db:
                    db.execute("INSERT OR REPLACE INTO rule_sets (salt, rules, mac, run) VALUES (?, ?, ?, ?)",
                               (self.salt, text, sign(_signed(self.salt, text), self._key), self._run))

    def close(self) -> None:
        """Close the database; every PRUNE_EVERY counted runs, prune it first (after this run's writes)."""
        if self._db is not None and self._claimed and self._run % PRUNE_EVERY == 0:
            self.prune()
            shared.prune(self.directory)
        if self._db is not None:
            self._db.close()
            self._db = None


def record_digest(record: list[list[str]]) -> str:
    return hashlib.blake2b(json.dumps(record).encode("utf-8", "surrogateescape"), digest_size=20).hexdigest()


def _signed(key: str, value: str) -> bytes:
    """What an entry's MAC covers: its key too, so a valid entry cannot be moved to another file's key."""
    return f"{key}\0{value}".encode("utf-8", "surrogateescape")


def _remove_ours(directory: str, *, keep: str = "", only_databases: bool = False) -> tuple[int, list[str]]:
    """Delete the files the cache creates in ``directory`` (never through a link, never other files);
    returns (files deleted, names of other entries left there)."""
    removed, others = 0, []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return 0, []
    for entry in entries:
        name = entry.name
        ours = _OURS.match(name) is not None and not entry.is_symlink() and entry.is_file(follow_symlinks=False)
        if only_databases:
            ours = ours and name.startswith("scan-v") and not name.startswith(keep)
            if not ours:
                continue
        if not ours or (name == ".gitignore" and _read_nofollow(entry.path, 200) != _GITIGNORE.encode()):
            others.append(name)
            continue
        with contextlib.suppress(OSError):
            os.unlink(entry.path)
            removed += 1
    return removed, others


def clean_cache(path: str) -> str:
    """`cache clean PATH`: delete the scan cache of the project at PATH (the one a scan of PATH uses),
    only the files the cache made. A `.gleak-cache` that is not this user's (a link, a folder tracked by
    git) is left alone and named."""
    if not os.path.exists(path):
        raise UsageError(f"path does not exist: {path}")
    directory = cache_dir_for([path])
    lines = []
    repo = work_tree_root(path)
    in_tree = os.path.join(repo, CACHE_DIR_NAME) if repo is not None else None
    if in_tree is not None and in_tree != directory and os.path.lexists(in_tree):
        why = "a symbolic link" if os.path.islink(in_tree) else "not made by gleak-sarif here (tracked by git, " \
            "or the folder is read-only)"
        lines.append(f"left {in_tree} alone: it is {why}")
    if os.path.islink(directory):
        raise UsageError(f"{directory} is a symbolic link, not a cache folder of gleak-sarif; nothing removed")
    if not os.path.isdir(directory):
        lines.append(f"no cache at {directory}")
        return "\n".join(lines)
    removed = shared.remove(directory)
    removed_db, others = _remove_ours(directory)
    removed += removed_db
    if not others:
        with contextlib.suppress(OSError):
            os.rmdir(directory)
    if removed == 0 and others:
        lines.append(f"no cache at {directory} (it holds no file of gleak-sarif's; left alone)")
    elif others:
        lines.append(f"removed the cache files in {directory}; left {len(others)} other entries there")
    else:
        lines.append(f"removed {directory}")
    return "\n".join(lines)
