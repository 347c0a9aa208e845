"""A Go package's folder as the rules that read beyond their file see it: its `.go` files (listed once per
scan), their bytes and their package clause.

Every file of a folder asks for its folder's listing (callee index, package model, token pre-checks), and
stat-ing every sibling for every file was quadratic in the folder's size (a fifth of GL207's time on
GOROOT/src). A `Folders` belongs to one scan (the scan context): a listing is read once per scan, and again
within it only when the folder's own mtime changes (a file added, removed or renamed); the next scan starts
with a new `Folders`, so it sees siblings edited in place.
"""

from __future__ import annotations

import os
import re
from collections import OrderedDict

from gleak_sarif.gopackage.buildtags import Platforms, compatible, platforms
from gleak_sarif.gosource import go_version_for

MAX_SIBLING_FILES = 500  # a directory with more .go files is scanned file by file (no package scope)
MAX_SIBLING_BYTES = 2 * 1024 * 1024  # larger siblings are not read
MAX_LISTINGS = 1024  # folder listings kept per scan
MAX_PLATFORMS = 65536  # files whose build constraints are kept per scan
# Sibling bytes kept per scan (`Folders.read`): every package index of a folder holds its files' bytes, and a
# folder with many platform variants has as many indexes (GOROOT's runtime: 143 package views, up to 64
# indexes of ~2 MB each held 150 MB of copies of the same bytes); reading through one store shares them.
MAX_READ_BYTES = 32 * 1024 * 1024

PACKAGE_LINE = re.compile(rb"^package[ \t]+([A-Za-z_][A-Za-z0-9_]*)", re.M)

Listing = list[tuple[str, int, int]]  # (absolute path, mtime ns, size), sorted


def read_sibling(path: str) -> bytes | None:
    """A sibling file's bytes, at most one byte past MAX_SIBLING_BYTES (the caller can tell it is too
    large); None when it cannot be read."""
    try:
        with open(path, "rb") as handle:
            return handle.read(MAX_SIBLING_BYTES + 1)
    except OSError:
        return None


def package_clause(source: bytes) -> str:
    found = PACKAGE_LINE.search(source)
    return found.group(1).decode() if found else ""


def _read_listing(directory: str, tests: bool) -> Listing | None:
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return None
    files = []
    prefix = os.path.join(os.path.abspath(directory), "")  # once, not abspath+join per entry (hot: big dirs)
    for entry in entries:
        name = entry.name
        if not name.endswith(".go") or (not tests and name.endswith("_test.go")):
            continue
        path = prefix + name
        try:
            info = entry.stat()
        except OSError:
            continue
        if entry.is_file() and info.st_size <= MAX_SIBLING_BYTES:
            files.append((path, info.st_mtime_ns, info.st_size))
    if len(files) > MAX_SIBLING_FILES:
        return None
    return sorted(files)


class Folders:
    """Folder listings of one scan, and each folder's nearest go.mod."""

    def __init__(self) -> None:
        self._listings: dict[tuple[str, bool], tuple[int, Listing | None]] = {}
        self._gomods: dict[str, str | None] = {}
        self._platforms: dict[tuple[str, int, int], Platforms] = {}
        self._bytes: OrderedDict[tuple[str, int, int], bytes | None] = OrderedDict()  # LRU, MAX_READ_BYTES
        self._bytes_total = 0

    def read(self, path: str, mtime: int, size: int) -> bytes | None:
        """``read_sibling(path)`` for the listing entry (path, mtime, size): one bytes object per file version
        in this scan while the store's budget holds it, so that the package indexes of one folder share it."""
        key = (path, mtime, size)
        if key in self._bytes:
            self._bytes.move_to_end(key)
            return self._bytes[key]
        data = read_sibling(path)
        self._bytes[key] = data
        self._bytes_total += len(data or b"")
        while self._bytes_total > MAX_READ_BYTES and len(self._bytes) > 1:
            _, dropped = self._bytes.popitem(last=False)
            self._bytes_total -= len(dropped or b"")
        return data

    def go_version(self, path: str) -> tuple[int, int] | None:
        """The `go` directive of the go.mod that governs ``path`` (gosource.go_version_for, looked up once
        per folder in this scan)."""
        return go_version_for(path, self._gomods)

    def listing(self, directory: str, tests: bool) -> Listing | None:
        """The folder's `.go` files (test files when ``tests``) as (path, mtime, size), sorted; None when the
        folder cannot be read or has too many files."""
        try:
            folder_mtime = os.stat(directory).st_mtime_ns
        except OSError:
            return None
        key = (directory, tests)
        memo = self._listings.get(key)
        if memo is not None and memo[0] == folder_mtime:
            return memo[1]
        listing = _read_listing(directory, tests)
        self._listings[key] = (folder_mtime, listing)
        while len(self._listings) > MAX_LISTINGS:
            del self._listings[next(iter(self._listings))]
        return listing

    def platforms(self, path: str, mtime: int, size: int) -> Platforms:
        """The platforms that build the file (gopackage/buildtags), read once per file version in this scan."""
        key = (path, mtime, size)
        if key not in self._platforms:
            data = self.read(path, mtime, size) or b""
            if len(self._platforms) >= MAX_PLATFORMS:
                self._platforms.clear()
            self._platforms[key] = platforms(os.path.basename(path), data)
        return self._platforms[key]

    def view_order(self, paths: list[str]) -> list[str]:
        """``paths`` with each folder's files grouped by package view (test or not, package clause, the
        platforms that build them), folders and files otherwise in the given order.

        A file's package view is its folder's files a build compiles with it (`listing_for`); files of one
        view share its index and model (gopackage/store.py), and files built for the same platforms have the
        same view. GOROOT's runtime/ has 143 views: in size order they alternated, and each worker kept many
        models (and rebuilt dropped ones); grouped, a view's files run one after the other and the models
        of the views done are not asked again by this run of files."""
        keys: dict[str, tuple[int, bool, str, tuple[tuple[str, str], ...]]] = {}
        folders: dict[str, int] = {}
        count: dict[str, int] = {}
        entries: dict[tuple[str, bool], dict[str, tuple[str, int, int]]] = {}
        absolute = {path: os.path.abspath(path) for path in paths}
        for path in paths:
            directory = os.path.dirname(absolute[path])
            count[directory] = count.get(directory, 0) + 1
        for path in paths:
            directory = os.path.dirname(absolute[path])
            tests = path.endswith("_test.go")
            rank = folders.setdefault(directory, len(folders))
            if count[directory] == 1:  # nothing to group (a pre-commit run's few files): no reads
                keys[path] = (rank, False, "", ())
                continue
            if (directory, tests) not in entries:
                entries[(directory, tests)] = {e[0]: e for e in self.listing(directory, tests) or []}
            entry = entries[(directory, tests)].get(absolute[path])
            if entry is None:  # not a sibling anyone reads (too large, unreadable): its own view
                keys[path] = (rank, tests, "", ())
                continue
            data = self.read(*entry) or b""
            built = self.platforms(*entry)
            keys[path] = (rank, tests, package_clause(data), () if built is None else tuple(sorted(built)))
        return sorted(paths, key=keys.__getitem__)  # stable: the given order within a view

    def listing_for(self, path: str, tests: bool) -> Listing | None:
        """The folder listing of ``path`` without the files no build can compile together with it (a unix-only
        file does not call into a windows-only one). ``path`` itself is judged by its entry in the listing
        (its text on disk); a file not on disk is not constrained."""
        listing = self.listing(os.path.dirname(path), tests)
        if listing is None:
            return None
        own = next((entry for entry in listing if entry[0] == path), None)
        here = self.platforms(*own) if own is not None else None
        if here is None:
            return listing
        return [entry for entry in listing if entry[0] == path or compatible(here, self.platforms(*entry))]
