"""Sibling summaries shared between the workers of a scan and between scans (content-addressed, on disk).

A big package's files ask for nearly every sibling's summary (gopackage/store.py), and every process used to
extract them again: each `-j2` worker that took a chunk of nats-server's one package parsed and summarized
the whole package once more (`-j2` spent more CPU than `-j1`), and a warm re-run after a one-file edit
summarized every unchanged sibling again. A summary depends only on the file's bytes, its path, its package
clause, the package's call names (`PackageIndex.names()`) and the extractor's code, so it is stored under a
digest of exactly those: a changed sibling gets a new key, an unchanged one is read back (a pickle read costs
a few percent of a parse and extraction).

Where: `summaries-v1/` in the scan cache's folder (engine/cache.py decides which folder is ours, never the
scanned tree's own unless this user's gleak-sarif made it); with `--no-cache`, a parallel scan shares them
through a private temporary folder removed when the scan ends. Every entry is signed (usercache.py's key, or
a per-scan random key for the temporary folder) and verified before it is unpickled, by an unpickler that
builds the summary classes only: a planted or damaged file reads as a miss, never as code. Writes are atomic (a private temporary file renamed into place; two workers
writing the same key write the same bytes). A worker about to extract a summary first claims its key (an
`O_EXCL` file naming its process); another worker needing the same summary meanwhile waits for the entry
instead of extracting it again (two workers starting on one package ask for its big files at the same time),
and takes the claim over when its owner is gone or takes longer than `CLAIM_SECONDS`. Entries unused for `KEEP_SECONDS` are deleted when the scan cache
prunes (engine/cache.py).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import pickle
import shutil
import tempfile
import time
from typing import Any

from gleak_sarif.gopackage.summary import FileSummary
from gleak_sarif.usercache import MAC_BYTES, sign, verify

FOLDER = "summaries-v1"
KEEP_SECONDS = 14 * 24 * 3600  # an entry no scan read for this long is deleted when the cache prunes
TOUCH_SECONDS = 24 * 3600  # a read refreshes the entry's mtime when it is older than this (for pruning)
CLAIM_SECONDS = 60.0  # a claim older than this is taken over (its owner may be stuck on a huge file)
SCAN_PREFIX = "gleak-summaries-"  # + "<pid>-<random>": a scan's private folder (for_one_scan)
STALE_SECONDS = 600.0  # a dead scan's folder is removed once it is this old (see remove_stale_scan_folders)
_NAME_CHARS = frozenset("0123456789abcdef")


class SharedSummaries:
    """A folder of signed, pickled FileSummary objects keyed by `key()`. Every failure is a miss."""

    def __init__(self, directory: str, secret: bytes, salt: str, temporary: bool = False) -> None:
        self.directory = directory
        self.secret = secret
        self.salt = salt.encode()
        self.temporary = temporary  # a per-scan folder: removed by close()
        self.hits = 0
        self.misses = 0

    @classmethod
    def in_cache(cls, cache_dir: str, secret: bytes, salt: str) -> SharedSummaries | None:
        """The store inside the scan cache folder ``cache_dir`` (None when it cannot be made or is a link)."""
        directory = os.path.join(cache_dir, FOLDER)
        try:
            os.makedirs(directory, exist_ok=True)
        except OSError:
            return None
        if os.path.islink(cache_dir) or os.path.islink(directory) or not os.path.isdir(directory):
            return None
        return cls(directory, secret, salt)

    @classmethod
    def for_one_scan(cls, salt: str) -> SharedSummaries:
        """A private folder shared by this scan's workers only, with a key that dies with the scan. Its name
        carries the scan's pid, so that a later scan removes it when a SIGKILL left it behind."""
        import secrets

        remove_stale_scan_folders(tempfile.gettempdir())
        directory = tempfile.mkdtemp(prefix=f"{SCAN_PREFIX}{os.getpid()}-")
        return cls(directory, secrets.token_bytes(32), salt, temporary=True)

    def key(self, path: str, package: str, names_digest: bytes, content_digest: bytes) -> str:
        digest = hashlib.blake2b(self.salt, digest_size=20)
        digest.update(b"\0" + os.fsencode(path) + b"\0" + package.encode() + b"\0" + names_digest + content_digest)
        return digest.hexdigest()

    def _path(self, key: str) -> str:
        return os.path.join(self.directory, key[:2], key)

    def get(self, key: str) -> FileSummary | None:
        path = self._path(key)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            self.misses += 1
            return None
        try:
            with os.fdopen(fd, "rb") as handle:
                data = handle.read()
                mtime = os.fstat(handle.fileno()).st_mtime
        except OSError:
            self.misses += 1
            return None
        mac, body = data[:MAC_BYTES], data[MAC_BYTES:]
        if len(mac) != MAC_BYTES or not verify(key.encode() + b"\0" + body, mac, self.secret):
            self.misses += 1  # not written by this user's gleak-sarif (or damaged): never unpickled
            return None
        try:
            summary = _Unpickler(io.BytesIO(body)).load()
        except Exception:  # a signed entry of an incompatible layout: a miss, overwritten by the next put
            self.misses += 1
            return None
        if not isinstance(summary, FileSummary):
            self.misses += 1
            return None
        if not self.temporary and time.time() - mtime > TOUCH_SECONDS:
            with contextlib.suppress(OSError):
                os.utime(path)
        self.hits += 1
        return summary

    def claim(self, key: str) -> bool:
        """Take the job of extracting ``key``'s summary. False: another process holds the claim (then
        `wait`); True also when claims cannot be made (extract it anyway)."""
        folder = os.path.join(self.directory, key[:2])
        try:
            os.makedirs(folder, exist_ok=True)
            fd = os.open(self._path(key) + ".claim", os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        except FileExistsError:
            return False
        except OSError:
            return True
        with os.fdopen(fd, "w") as handle:
            handle.write(str(os.getpid()))
        return True

    def release(self, key: str) -> None:
        with contextlib.suppress(OSError):
            os.unlink(self._path(key) + ".claim")

    def wait(self, key: str) -> FileSummary | None:
        """The entry another process claimed, once it is written; None when the claim ends without one or
        goes stale (the caller then extracts it itself, holding the claim when it could take it)."""
        claim = self._path(key) + ".claim"
        pause = 0.005
        while True:
            time.sleep(pause)
            pause = min(pause * 2, 0.05)
            if os.path.exists(self._path(key)):
                found = self.get(key)
                if found is not None:
                    return found
            try:
                fd = os.open(claim, os.O_RDONLY | os.O_NOFOLLOW)
                with os.fdopen(fd) as handle:
                    made = os.fstat(handle.fileno()).st_mtime
                    owner = int(handle.read(32) or 0)
            except FileNotFoundError:  # released without an entry (a file too wide to query, an error)
                if self.claim(key):
                    return None
                continue
            except (OSError, ValueError):
                made, owner = time.time(), 0
            if time.time() - made > CLAIM_SECONDS or not _alive(owner):
                self.release(key)  # stale: take it over
                self.claim(key)
                return None

    def put(self, key: str, summary: FileSummary) -> None:
        try:
            body = pickle.dumps(summary, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:
            return
        data = sign(key.encode() + b"\0" + body, self.secret) + body
        folder = os.path.join(self.directory, key[:2])
        temp = os.path.join(folder, f".{key}.{os.getpid()}.tmp")
        with contextlib.suppress(OSError):
            os.makedirs(folder, exist_ok=True)
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                os.replace(temp, self._path(key))  # atomic: a reader sees the old entry, none, or this one
            finally:
                with contextlib.suppress(OSError):
                    os.unlink(temp)

    def close(self) -> None:
        if self.temporary:
            shutil.rmtree(self.directory, ignore_errors=True)


def prune(cache_dir: str, keep_seconds: float = KEEP_SECONDS) -> int:
    """Delete the entries of ``cache_dir``'s store that no scan read for ``keep_seconds`` (and leftover
    temporary files of killed writers); only names this module makes. Returns the number deleted."""
    directory = os.path.join(cache_dir, FOLDER)
    if os.path.islink(directory) or not os.path.isdir(directory):
        return 0
    oldest = time.time() - keep_seconds
    removed = 0
    with contextlib.suppress(OSError), os.scandir(directory) as folders:
        for folder in folders:
            if folder.is_symlink() or not folder.is_dir(follow_symlinks=False) or not _ours(folder.name, 2):
                continue
            with contextlib.suppress(OSError), os.scandir(folder.path) as entries:
                for entry in entries:
                    name = entry.name
                    temp = (name.startswith(".") and name.endswith(".tmp")) or \
                        (name.endswith(".claim") and _ours(name[:-6], 40))
                    if not (temp or _ours(name, 40)) or entry.is_symlink():
                        continue
                    with contextlib.suppress(OSError):
                        if entry.stat(follow_symlinks=False).st_mtime < (time.time() - 3600 if temp else oldest):
                            os.unlink(entry.path)
                            removed += 1
    return removed


def remove(cache_dir: str) -> int:
    """`cache clean`: delete the store's entries and folders (only names this module makes; never through a
    link). Returns the number of files deleted."""
    directory = os.path.join(cache_dir, FOLDER)
    if os.path.islink(directory) or not os.path.isdir(directory):
        return 0
    removed = prune(cache_dir, keep_seconds=-1e9)
    with contextlib.suppress(OSError), os.scandir(directory) as folders:
        for folder in folders:
            if _ours(folder.name, 2) and not folder.is_symlink():
                with contextlib.suppress(OSError):
                    os.rmdir(folder.path)
    with contextlib.suppress(OSError):
        os.rmdir(directory)
    return removed


class _Unpickler(pickle.Unpickler):
    """Builds summary classes and nothing else (a signed entry still cannot run code: as the rule packs,
    rules/loader.py)."""

    _ALLOWED = frozenset({"FileSummary", "FunctionSummary", "Site", "Ref", "Op"})

    def find_class(self, module: str, name: str) -> Any:
        if module != "gleak_sarif.gopackage.summary" or name not in self._ALLOWED:
            raise pickle.UnpicklingError(f"{module}.{name} is not part of a package summary")
        return super().find_class(module, name)


def remove_stale_scan_folders(temp_dir: str) -> int:
    """Remove the private folders of scans that were killed (SIGKILL runs no cleanup): only folders named as
    for_one_scan names them, owned by this user, not links, whose pid is not a running process and that were
    last changed STALE_SECONDS ago (a pid of another pid namespace sharing /tmp looks dead here: its scan is
    given that long). A reused pid keeps its folder: the next scan after that process ends takes it.
    Returns the number removed."""
    removed = 0
    now = time.time()
    with contextlib.suppress(OSError), os.scandir(temp_dir) as entries:
        for entry in entries:
            pid_text = entry.name[len(SCAN_PREFIX):].partition("-")[0]
            if not entry.name.startswith(SCAN_PREFIX) or not pid_text.isdigit() or int(pid_text) == os.getpid():
                continue
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if entry.is_symlink() or not entry.is_dir(follow_symlinks=False) or info.st_uid != os.getuid() or \
                    now - info.st_mtime < STALE_SECONDS or _alive(int(pid_text)):
                continue
            shutil.rmtree(entry.path, ignore_errors=True)
            removed += 1
    return removed


def _alive(pid: int) -> bool:
    if pid <= 0:
        return True  # being written: the next look reads it
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _ours(name: str, length: int) -> bool:
    return len(name) == length and set(name) <= _NAME_CHARS
