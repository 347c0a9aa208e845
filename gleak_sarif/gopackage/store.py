"""PackageModels: the package indexes, file summaries and models of one scan (the scan context holds it)."""

from __future__ import annotations

import bisect
import hashlib
import os
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from tree_sitter import Node

from gleak_sarif import clock as file_clock
from gleak_sarif.gopackage.extract import Queries, summarize
from gleak_sarif.gopackage.folders import MAX_SIBLING_BYTES, PACKAGE_LINE, Folders, Listing, read_sibling
from gleak_sarif.gopackage.index import PackageIndex, content_digest, paths_digest
from gleak_sarif.gopackage.model import PackageModel
from gleak_sarif.gopackage.reads import Check, PackageReads, Validator, index_files
from gleak_sarif.gopackage.shared import SharedSummaries
from gleak_sarif.gopackage.summary import FileSummary
from gleak_sarif.gosource import Imports, file_imports, parser, too_wide, utf8_safe

MAX_FILE_BYTES = MAX_SIBLING_BYTES  # larger siblings are not read
# Package indexes and models kept per process. A folder may have many package views (one per set of platform
# files: GOROOT's runtime has 143), each with its own index and model; 64 models held ~30,000 function copies
# and most of a worker's 1.2 GB on GOROOT/src. A worker takes its files one view after the other
# (Folders.view_order), so a view's files find its model kept and the views done are not asked again: a few
# are enough (the views of the siblings whose `calls:` questions a file asks besides its own). One past these
# budgets is built again if asked (its siblings' summaries come from the summary LRU or the shared store).
MAX_INDEXES = 8
MAX_MODELS = 8
MAX_MODEL_FUNCTIONS = 10_000  # and by weight: their functions in all
MAX_FILE_SUMMARIES = 256
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
    types: object | None = None  # its declared-type resolver (gleak_sarif/facts/type_of.py), made on first use


class PackageModels:
    """The package models of one scan: package indexes, file summaries read from disk, models (each an
    LRU). The evaluated file's own text (maybe unsaved) always comes from its tree."""

    def __init__(self, folders: Folders, reads: PackageReads | None = None) -> None:
        self.folders = folders
        self.reads = reads  # where reads of sibling files are noted for the scan cache (gopackage/reads.py)
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
        started = file_clock.now()
        index = PackageIndex()
        stats = {entry[0]: entry for entry in listing}

        def read(sibling: str) -> bytes | None:  # through the scan's store: the folder's indexes share the bytes
            entry = stats.get(sibling)
            return self.folders.read(*entry) if entry is not None else read_sibling(sibling)

        for sibling, data in index_files(listing, path, package, read, source):
            index.add(sibling, data)
        tests = path.endswith("_test.go")
        if self.reads is not None:
            index.watch(self.reads, path, tests, package)
            self.reads.note(path, ("listing", path, "1" if tests else "0",
                                   paths_digest([p for p, _, _ in listing])))
        self._indexes[key] = index
        while len(self._indexes) > MAX_INDEXES:
            self._indexes.popitem(last=False)
        self.package_seconds += file_clock.now() - started
        return index

    def _build(self, add: Callable[[], None]) -> None:
        """Add loaded summaries to a model (``add``), counted as package time: with the summaries read for it
        (counted inside, and not twice), the package's build, not the asking file's work."""
        started, counted = file_clock.now(), self.package_seconds
        try:
            add()
        finally:
            self.package_seconds = counted + (file_clock.now() - started)

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
            known = index.holds[tokens] = bool(index.paths_with(tuple(sorted(tokens))))
        return known

    def declares(self, file: ModelFile, name: str, method: bool, token: bytes = b"") -> bool:
        """Does a `.go` file of the package declare a function (or a method) ``name``, in a file holding
        ``token``? A byte-level check that spares building the model for calls of other packages'
        methods (`buf.Reset()`, `wg.Wait()`)."""
        index = self.index(file.path, file.package, file.source)
        paths = index.methods.get(name, []) if method else index.functions.get(("", name), [])
        if method and name in index.func_fields:
            return True  # a function-valued field: what it holds may be declared anywhere (gopackage/dispatch)
        return any(index.has(path, (token,)) for path in paths)

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
        started = file_clock.now()
        summary: FileSummary | None = None
        data = read_sibling(path) or b""
        found = PACKAGE_LINE.search(data)
        if data and len(data) <= MAX_FILE_BYTES and b"\0" not in data and found is not None and \
                found.group(1).decode() == package:
            summary = self._summarize(path, utf8_safe(data)[0], None, package, False, names)
        self._summaries[key] = summary
        while len(self._summaries) > MAX_FILE_SUMMARIES:
            self._summaries.popitem(last=False)
        self.package_seconds += file_clock.now() - started
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

            origin = (path, "1" if path.endswith("_test.go") else "0", package)
            reads = self.reads
            names_hex = self._names_digest(names).hex()

            def loader(sibling: str) -> FileSummary | None:
                if sibling not in index.files or sibling not in stats:
                    return None
                found = self._from_disk(sibling, package, *stats[sibling], names)
                if reads is not None:
                    reads.note(path, ("summary", *origin, sibling, names_hex, found.digest.hex()) if found is not None
                               else ("bytes", sibling, content_digest(read_sibling(sibling) or b"")))
                return found

            model = PackageModel([], index=index, loader=loader)
            model.build = self._build
            self._models[key] = model
            weight = sum(len(kept.functions) for kept in self._models.values())
            while len(self._models) > 1 and (len(self._models) > MAX_MODELS or weight > MAX_MODEL_FUNCTIONS):
                _, dropped = self._models.popitem(last=False)
                weight -= len(dropped.functions)
        if path not in model.loaded:  # this file's own text (maybe unsaved), from its tree: no second parse
            own = self.summary(file)
            model.add(own)
            if self.reads is not None:
                names = self.index(path, file.package, file.source).names()
                self.reads.note(path, ("summary", path, "1" if path.endswith("_test.go") else "0", file.package,
                                       path, self._names_digest(names).hex(), own.digest.hex()))
        file.model = model
        return model


def summaries_then_and_now(validator: Validator, shared: SharedSummaries | None) -> Callable[
        [Check], tuple[FileSummary | None, FileSummary | None]]:
    """For a `summary` check whose file changed (gopackage/reads.py): the summary it recorded (from the shared
    store) and the one the file's text gives now (extracted, and stored for the scan that follows)."""
    models = PackageModels(Folders())
    models.shared = shared

    def answer(check: Check) -> tuple[FileSummary | None, FileSummary | None]:
        _, asker, tests, package, path, names_hex, digest_hex = check
        files = validator.package_files(asker, tests, package)
        if files is None or shared is None:
            return None, None
        index = PackageIndex()
        for sibling, data in files:
            index.add(sibling, data)
        names = index.names()
        if _names_digest(names).hex() != names_hex:
            return None, None  # another package view (the skeleton check says so too)
        then = shared.get(shared.key(path, package, bytes.fromhex(names_hex), bytes.fromhex(digest_hex)))
        text = dict(files).get(path)
        if then is None or text is None or b"\0" in text:
            return then, None
        return then, models._summarize(path, utf8_safe(text)[0], None, package, False, names)

    return answer


def _imports_of(root: Node, source: bytes) -> set[str]:
    return set(file_imports(source, root).by_name)
