"""PackageModels: the package indexes, file summaries and models of one scan (the scan context holds it)."""

from __future__ import annotations

import bisect
import hashlib
import os
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from tree_sitter import Node

from gleak_sarif.gopackage.extract import Queries, summarize
from gleak_sarif.gopackage.folders import MAX_SIBLING_BYTES, PACKAGE_LINE, Folders, Listing, read_sibling
from gleak_sarif.gopackage.index import PackageIndex
from gleak_sarif.gopackage.model import PackageModel
from gleak_sarif.gopackage.shared import SharedSummaries
from gleak_sarif.gopackage.summary import FileSummary
from gleak_sarif.gosource import Imports, file_imports, parser, too_wide, utf8_safe

MAX_FILE_BYTES = MAX_SIBLING_BYTES  # larger siblings are not read
MAX_MODELS = 64
MAX_FILE_SUMMARIES = 2048
# Reading the package (its index, its sibling files' summaries) is the package's work, not the evaluated
# file's: it stops the file's clock (engine/worker.py), up to this many times the per-file limit per file.
PACKAGE_LIMIT_FACTOR = 10


def _digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest()


def _names_digest(names: frozenset[str] | None) -> bytes:
    """A summary depends on the package's call names (calls of other names are left out)."""
    if names is None:
        return b"locks-only"
    return hashlib.blake2b("\n".join(sorted(names)).encode(), digest_size=16).digest()


def _package_key(listing: Listing | None, path: str, package: str) -> tuple[tuple[object, ...], Listing]:
    directory = os.path.dirname(path)
    tests = path.endswith("_test.go")
    files = (listing if package else None) or [(path, 0, 0)]
    return (directory, package, tests, tuple(files)), files


@dataclass
class ModelFile:
    """One evaluated file as the package model sees it, with what was built for it so far (its summaries,
    its one-file lock view, its package's model, the functions that lock)."""

    path: str  # absolute
    package: str
    source: bytes
    root: Node
    imports: Imports
    summaries: dict[bool, FileSummary] = field(default_factory=dict)  # locks_only -> summary
    local: PackageModel | None = None
    model: PackageModel | None = None
    locking: list[tuple[int, int]] | None = None


class PackageModels:
    """The package models of one scan: package indexes, file summaries read from disk, models (each an
    LRU). The evaluated file's own text (maybe unsaved) always comes from its tree."""

    def __init__(self, folders: Folders) -> None:
        self.folders = folders
        self.queries = Queries()
        self._indexes: OrderedDict[tuple[object, ...], PackageIndex] = OrderedDict()
        self._summaries: OrderedDict[tuple[str, int, int, int], FileSummary | None] = OrderedDict()
        self._models: OrderedDict[tuple[object, ...], PackageModel] = OrderedDict()
        # seconds spent reading packages (indexes, sibling summaries) in this process: a file's deadline
        # moves by what this grew while the file ran (package work done for it)
        self.package_seconds = 0.0
        # summaries shared with the scan's other workers and later scans (gopackage/shared.py); set by the scan
        self.shared: SharedSummaries | None = None
        self._names_digests: dict[int, tuple[frozenset[str], bytes]] = {}

    def _key(self, path: str, package: str) -> tuple[tuple[object, ...], Listing]:
        listing = self.folders.listing_for(path, path.endswith("_test.go")) if package else None
        return _package_key(listing, path, package)

    def index(self, path: str, package: str, source: bytes) -> PackageIndex:
        key, listing = self._key(path, package)
        index = self._indexes.get(key)
        if index is not None and index.files.get(path, source) == source:
            self._indexes.move_to_end(key)
            return index
        started = time.monotonic()
        index = PackageIndex()
        wanted = package.encode()
        for sibling, _, _ in listing:
            if sibling == path:
                index.add(path, source)
                continue
            data = read_sibling(sibling)
            if data is None:
                continue
            found = PACKAGE_LINE.search(data)
            if found is not None and found.group(1) == wanted and len(data) <= MAX_FILE_BYTES:
                index.add(sibling, data)
        self._indexes[key] = index
        while len(self._indexes) > MAX_MODELS:
            self._indexes.popitem(last=False)
        self.package_seconds += time.monotonic() - started
        return index

    def may_hold(self, path: str, package: str, source: bytes, tokens: frozenset[bytes]) -> bool:
        """Might a file of the package hold every one of ``tokens``? (the worker's prefilter for rules whose
        `model:` facts need, e.g., a `go` statement somewhere in the package)."""
        if all(token in source for token in tokens):
            return True
        index = self.index(os.path.abspath(path), package, source)
        # once per package and token set: every file of the package asks (was a search of every file's bytes
        # for every file, quadratic in the package's size)
        known = index.holds.get(tokens)
        if known is None:
            known = index.holds[tokens] = any(all(token in data for token in tokens) for data in index.files.values())
        return known

    def declares(self, file: ModelFile, name: str, method: bool, token: bytes = b"") -> bool:
        """Does a `.go` file of the package declare a function (or a method) ``name``, in a file holding
        ``token``? A byte-level check that spares building the model for calls of other packages'
        methods (`buf.Reset()`, `wg.Wait()`)."""
        index = self.index(file.path, file.package, file.source)
        paths = index.methods.get(name, []) if method else index.functions.get(("", name), [])
        if method and name in index.func_fields:
            return True  # a function-valued field: what it holds may be declared anywhere (gopackage/dispatch)
        return any(token in index.files[path] for path in paths)

    def _names_digest(self, names: frozenset[str] | None) -> bytes:
        if names is None:
            return _names_digest(None)
        known = self._names_digests.get(id(names))
        if known is None or known[0] is not names:
            if len(self._names_digests) > MAX_MODELS:
                self._names_digests.clear()
            known = self._names_digests[id(names)] = (names, _names_digest(names))
        return known[1]

    def _summarize(self, path: str, source: bytes, root: Node | None, package: str, locks_only: bool,
                   names: frozenset[str] | None, imports: set[str] | None = None) -> FileSummary | None:
        """``source``'s summary: from the shared store when one holds it, else extracted (``root``, or a parse
        of ``source`` when None) and stored there. None: the file is too wide to query."""
        digest = _digest(source)
        shared = self.shared
        key = shared.key(path, package, self._names_digest(names), digest) if shared is not None else ""
        if shared is not None:
            found = shared.get(key)
            if found is None and not shared.claim(key):
                found = shared.wait(key)  # another worker is extracting it right now
            if found is not None:
                return found
        try:
            if root is None:
                root = parser().parse(source).root_node
                if too_wide(root) is not None:  # its queries would take minutes: reported when it is scanned
                    return None
            summary = summarize(self.queries, path, source, root, package,
                                imports if imports is not None else _imports_of(root, source), locks_only, names)
            summary.digest = digest
            if shared is not None:
                shared.put(key, summary)
        finally:
            if shared is not None:
                shared.release(key)
        return summary

    def _from_disk(self, path: str, package: str, mtime: int, size: int, names: frozenset[str]) -> FileSummary | None:
        key = (path, mtime, size, hash(names))
        if key in self._summaries:
            self._summaries.move_to_end(key)
            return self._summaries[key]
        started = time.monotonic()
        summary: FileSummary | None = None
        data = read_sibling(path) or b""
        found = PACKAGE_LINE.search(data)
        if data and len(data) <= MAX_FILE_BYTES and b"\0" not in data and found is not None and \
                found.group(1).decode() == package:
            summary = self._summarize(path, utf8_safe(data)[0], None, package, False, names)
        self._summaries[key] = summary
        while len(self._summaries) > MAX_FILE_SUMMARIES:
            self._summaries.popitem(last=False)
        self.package_seconds += time.monotonic() - started
        return summary

    def summary(self, file: ModelFile, locks_only: bool = False) -> FileSummary:
        cached = file.summaries.get(locks_only)
        if cached is None:
            names = None if locks_only else self.index(file.path, file.package, file.source).names()
            made = self._summarize(file.path, file.source, file.root, file.package, locks_only, names,
                                   set(file.imports.by_name))
            assert made is not None  # from the file's own tree: never dropped
            cached = file.summaries[locks_only] = made
        return cached

    def in_locking_function(self, file: ModelFile, start: int) -> bool:
        """Cheap: does a function around ``start`` take a lock itself? (byte ranges from the one-file view)"""
        ranges = file.locking
        if ranges is None:
            local = self.file_model(file)
            ranges = file.locking = sorted((f.start, f.end) for f in local.functions
                                           if any(op.kind == "lock" for op in f.ops))
        position = bisect.bisect_right(ranges, (start, 1 << 62))
        return any(first <= start < end for first, end in ranges[:position])

    def file_model(self, file: ModelFile) -> PackageModel:
        """The evaluated file alone, without call effects: locks held, operations by position."""
        if file.local is None:
            file.local = PackageModel([self.summary(file, locks_only=True)])
        return file.local

    def model(self, file: ModelFile) -> PackageModel:
        """The model of the evaluated file's package: its own text (maybe unsaved) plus its siblings on disk,
        read as questions need them. Shared by the package's files while the folder and texts stay the same."""
        if file.model is not None:
            return file.model
        path = file.path
        key, listing = self._key(path, file.package)
        digest = _digest(file.source)
        model = self._models.get(key)
        if model is not None and model.digests.get(path, digest) == digest:
            self._models.move_to_end(key)
        else:
            index = self.index(path, file.package, file.source)
            names = index.names()
            stats = {p: (mtime, size) for p, mtime, size in listing}
            package = file.package

            def loader(sibling: str) -> FileSummary | None:
                if sibling not in index.files or sibling not in stats:
                    return None
                return self._from_disk(sibling, package, *stats[sibling], names)

            model = PackageModel([], index=index, loader=loader)
            self._models[key] = model
            while len(self._models) > MAX_MODELS:
                self._models.popitem(last=False)
        if path not in model.loaded:  # this file's own text (maybe unsaved), from its tree: no second parse
            model.add(self.summary(file))
        file.model = model
        return model


def _imports_of(root: Node, source: bytes) -> set[str]:
    return set(file_imports(source, root).by_name)
