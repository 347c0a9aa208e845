"""A scan: the Engine loads the rules once; each scan discovers the files, answers what it can from the scan
cache, scans the rest (one ScanContext per scan; in worker processes when the scan is large) and collects
the results. `scan_from_cache` answers a scan the cache holds entirely without loading any rule."""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from gleak_sarif import interrupts
from gleak_sarif.config import ScanOptions
from gleak_sarif.engine.cache import (
    FileHashes,
    ScanCache,
    cache_dir_for,
    inputs_salt,
    record_digest,
    summaries_salt,
)
from gleak_sarif.engine.discover import Discovery, discover, display_path, find_source_root
from gleak_sarif.engine.progress import FilesDone, Watcher
from gleak_sarif.errors import ConfigError
from gleak_sarif.model import Finding, Notification, NotificationKind, RuleMeta, ScanResult, Severity

# The rule compiler, the evaluator and the process pool are imported where they are used: a scan that the
# cache answers entirely (`scan_from_cache`) needs none of them, and they are most of the start-up time.
if TYPE_CHECKING:
    from gleak_sarif.engine.context import ScanContext
    from gleak_sarif.engine.worker import FileResult
    from gleak_sarif.gopackage.shared import SharedSummaries

# Below this much source, a process pool costs more than it saves.
PARALLEL_MIN_BYTES = 2 * 1024 * 1024
PARALLEL_MIN_FILES = 16
MIN_CHUNK_BYTES = 64 * 1024  # a pool task below this costs more in dispatch than it balances

# (the scan's context, files to scan with some rules only -> those rules): inherited by forked workers
_WORKER_STATE: tuple[ScanContext, Mapping[str, frozenset[str]]] | None = None
# where workers note each finished file for the parent's progress display (None: nobody is watching)
_FILES_DONE: FilesDone | None = None

# (files done, files total); during a parallel scan it is called from a background thread
Progress = Callable[[int, int], None]


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def scan_path(context: ScanContext, path: str, only: frozenset[str] | None = None) -> FileResult:
    """`worker.scan_path`, imported on first use."""
    from gleak_sarif.engine.worker import scan_path as scan

    return scan(context, path, only)


def _scan_chunk(paths: list[str]) -> list[FileResult]:
    assert _WORKER_STATE is not None, "worker started without a scan context"
    context, partial = _WORKER_STATE
    out = []
    for path in context.folders.view_order(paths):  # a package view's files together (gopackage/folders.py)
        out.append(scan_path(context, path, partial.get(path)))
        if _FILES_DONE is not None:
            _FILES_DONE.note()
    return _with_reads(context, out)


def _with_reads(context: ScanContext, results: list[FileResult]) -> list[FileResult]:
    """Give each result its folder's record of reads as it stands now, after the files scanned so far: in a
    process the folder's reads only grow, so this holds every read its file's rules made (and those of the
    files before and after it here, on which it may rest through the shared package model). One record
    (list) per folder: pickled once per chunk."""
    if context.reads is None:
        return results
    records: dict[str, list[list[str]]] = {}
    for result in results:
        directory = os.path.dirname(os.path.abspath(result.path))
        if directory not in records:
            records[directory] = context.reads.record(result.path)
        result.reads = records[directory]
    return results


def _chunks(paths: list[str], jobs: int) -> list[list[str]]:
    """The pool's work units, largest first (the last ones to finish are then small, so the workers end
    together).

    A package (folder) small against the scan stays whole in one chunk: rules that read the package
    (`calls:`, the package model) build what they need of it once per worker, and its files reuse that.
    A larger package is cut into chunks of about ``target`` bytes that any worker can take: each worker
    that takes one builds the package's model once more, the price of keeping every core busy when one
    package is most of the scan (nats-server: one package, 95% of its bytes, used to run on one core)."""
    folders: dict[str, list[tuple[int, str]]] = {}
    for path in paths:
        try:
            size = os.path.getsize(path)
        except OSError:
            size = 0
        folders.setdefault(os.path.dirname(path), []).append((size, path))
    total = sum(size for files in folders.values() for size, _ in files) or 1
    target = max(total // (jobs * 8), MIN_CHUNK_BYTES)
    chunks: list[tuple[int, list[str]]] = []
    current: list[str] = []
    current_size = 0
    for size, files in sorted(((sum(size for size, _ in files), sorted(files, reverse=True))
                               for files in folders.values()), key=lambda group: group[0], reverse=True):
        if size > target:  # cut: each file (largest first) to the lightest of the package's chunks
            parts: list[tuple[int, list[str]]] = [(0, []) for _ in range(-(-size // target))]
            for file_size, path in files:
                lightest = min(range(len(parts)), key=lambda i: parts[i][0])
                parts[lightest] = (parts[lightest][0] + file_size, [*parts[lightest][1], path])
            chunks.extend(part for part in parts if part[1])
            continue
        current.extend(path for _, path in files)
        current_size += size
        if current_size >= target:
            chunks.append((current_size, current))
            current, current_size = [], 0
    if current:
        chunks.append((current_size, current))
    chunks.sort(key=lambda chunk: chunk[0], reverse=True)
    return [paths for _, paths in chunks]


@dataclass
class ScanMemo:
    """What the cache-only attempt (`scan_from_cache`) learnt, for the `Engine.scan` of the same paths that
    follows it in one command: the discovered files and their content hashes (GOROOT/src: ~1 s that a
    warm run did twice)."""

    paths: list[str]
    found: Discovery | None = None
    hashes: FileHashes = field(default_factory=FileHashes)


class Engine:
    def __init__(self, options: ScanOptions | None = None) -> None:
        from gleak_sarif.rules.loader import load_pack

        self.options = options or ScanOptions()
        self.pack = load_pack(
            self.options.rules,
            builtin=self.options.builtin_rules,
            select=self.options.select,
            ignore=self.options.ignore,
            config_path=self.options.config_path,
        )
        for rule in self.pack.rules:
            override = self.options.severity_overrides.get(rule.meta.id)
            if override is not None:
                rule.meta.severity = override
                rule.severity_by_version = []  # the user's severity wins over the go.mod-based one
                rule.meta.severity_in_tests = None  # and over the test-file one
            if self.options.strict_tests:
                rule.meta.severity_in_tests = None  # test files at the rule's own level

    @property
    def rules(self) -> list[RuleMeta]:
        return [rule.meta for rule in self.pack.rules]

    @property
    def fingerprint(self) -> str:
        """What can change this engine's results: the rule pack (engine version, rule files, enabled
        rules), the options that change a file's findings (severity overrides among them) and the config
        file's bytes (resources, excludes). Caches keyed on it (golangci-lint's, CI's) go stale with it."""
        import hashlib

        digest = hashlib.sha256(self.pack.fingerprint.encode() + b"\0")
        digest.update(json.dumps(_salted_options(self.options), sort_keys=True, default=str).encode() + b"\0")
        if self.options.config_path:
            try:
                with open(self.options.config_path, "rb") as handle:
                    digest.update(handle.read())
            except OSError:
                digest.update(b"unreadable config")
        return digest.hexdigest()[:16]

    def jobs(self) -> int:
        return self.options.jobs if self.options.jobs > 0 else (os.cpu_count() or 1)

    def scan(self, paths: Sequence[str], progress: Progress | None = None, memo: ScanMemo | None = None) -> ScanResult:
        started = _now()
        if memo is not None and memo.paths != list(paths):
            memo = None
        found = memo.found if memo is not None and memo.found is not None else discover(list(paths) or ["."],
                                                                                         self.options)
        source_root = find_source_root(list(paths) or ["."])
        results = self._scan_cached(found.files, list(paths) or ["."], progress,
                                    memo.hashes if memo is not None else None)
        findings: list[Finding] = []
        notifications: list[Notification] = []
        skipped = 0
        for file_result in results:
            findings.extend(file_result.findings)
            notifications.extend(file_result.notifications)
            skipped += file_result.skipped or file_result.cached
        return _result(found, source_root, findings, notifications, skipped, self.rules, started, self.options)

    def scan_source(self, path: str, source: bytes) -> ScanResult:
        """Scan ``source`` as the file ``path`` (an editor's unsaved text, standard input): the findings
        name ``path``; rules that read the package read its siblings from ``path``'s folder on disk."""
        from gleak_sarif.engine.context import ScanContext
        from gleak_sarif.engine.evaluate import FileTimeoutError
        from gleak_sarif.engine.worker import FileResult, scan_source
        from gleak_sarif.gosource import go_version_for
        from gleak_sarif.rules.query import prepare_pack

        started = _now()
        shown = display_path(path)
        prepare_pack(self.pack, [source])
        if len(source) > self.options.max_file_bytes:
            result = FileResult(shown, skipped=True)
            result.notifications.append(Notification(
                kind=NotificationKind.read_error, path=shown,
                message=f"larger than {self.options.max_file_bytes // (1024 * 1024)} MiB; skipped"))
        else:
            try:
                result = scan_source(ScanContext(self.pack, self.options), shown, source, go_version_for(shown))
            except FileTimeoutError:
                result = FileResult(shown)
                result.notifications.append(Notification(
                    kind=NotificationKind.timeout, path=shown,
                    message=f"parsing and rule evaluation took longer than "
                            f"{self.options.file_timeout_seconds:g} s; file skipped"))
        found = Discovery(files=[shown])
        return _result(found, find_source_root([path]), result.findings, result.notifications,
                       int(result.skipped), self.rules, started, self.options)

    def _cache_salt(self) -> str:
        return cache_salt(self.options) or self.fingerprint + json.dumps(_salted_options(self.options),
                                                                         sort_keys=True, default=str)

    def _package_rules(self) -> frozenset[str]:
        """Rules that read other files of the package (`calls:`, `model:`)."""
        from gleak_sarif.rules.compiled import rule_reads_package

        return frozenset(rule.meta.id for rule in self.pack.rules if rule_reads_package(rule))

    def _scan_cached(self, files: list[str], paths: list[str], progress: Progress | None,
                     hashes: FileHashes | None = None) -> list[FileResult]:
        """Two entries per file: results of the rules that read only the file (keyed by its content) and
        of the rules that read its package (keyed by its content, valid while its record of what they read
        of the package still holds: gopackage/reads.py). After an edit, the edited file is scanned again,
        and those siblings whose record fails, with the package rules only. A file cut off by the per-file
        limit stores the results of the rules that finished, its entries marking the others missing: the
        next scan runs those alone (and reports the timeout again if they overrun again)."""
        from gleak_sarif.engine.worker import FileResult

        if not self.options.use_cache or not files:
            return self.scan_files(files, progress)
        cache = ScanCache(cache_dir_for(paths, self.options.cache_dir), self._cache_salt(), hashes)
        try:
            package_rules = self._package_rules()
            own_rules = frozenset(rule.meta.id for rule in self.pack.rules) - package_rules
            own_keys = {path: cache.key(path) for path in files}
            package_keys = {path: cache.key(path, package=True) for path in files}
            hits = cache.get_many([k for k in (*own_keys.values(), *package_keys.values()) if k is not None])
            valid = _valid_package_entries(cache, [k for k in package_keys.values() if k is not None and k in hits],
                                           extract=True)
            results: list[FileResult] = []
            misses: list[str] = []
            # files with part of their results cached -> the rules to run: the package rules when only the
            # file's own entry holds, and the rules an entry lacks (cut off by the per-file limit last time)
            partial: dict[str, frozenset[str]] = {}
            for path in files:
                own, package = own_keys[path], package_keys[path]
                own_hit = own is not None and own in hits
                package_hit = package is not None and package in valid
                todo = (cache.missing_of.get(own, frozenset()) if own is not None and own_hit else own_rules) | \
                    (cache.missing_of.get(package, frozenset()) if package is not None and package_hit
                     else package_rules)
                if not todo and own is not None and package is not None:
                    findings = hits[own][0] + hits[package][0]
                    results.append(FileResult(path, findings=findings, notifications=hits[own][1], cached=True))
                    continue
                if own_hit or package_hit:
                    partial[path] = todo
                misses.append(path)
            fresh = self.scan_files(misses, progress, partial=partial, cache_dir=cache.directory)
            transient = (NotificationKind.timeout, NotificationKind.worker_crash, NotificationKind.read_error)
            entries: list[tuple[str, list[Finding], list[Notification]]] = []
            records: dict[str, list[list[str]]] = {}  # digest -> record
            record_of: dict[str, str] = {}  # package entry key -> its record's digest
            missing: dict[str, list[str]] = {}  # entry key -> the rules it lacks (cut off by the per-file limit)
            digests: dict[int, str] = {}  # one digest per record list (shared by a chunk's files)
            for result in fresh:
                own, package = own_keys.get(result.path), package_keys.get(result.path)
                own_hit = own is not None and own in hits
                package_hit = package is not None and package in valid
                passing = [n for n in result.notifications if n.kind in transient]
                # a rule cut off by the per-file limit (a timeout naming it and the rules after it) leaves the
                # other rules' results whole: those are stored, and the cut ones marked missing (run again by
                # the next scan); any other transient problem (a parse cut off, a crash, a read error) stores
                # nothing
                storable = own is not None and package is not None and (not passing or (
                    result.unfinished is not None and all(n.kind is NotificationKind.timeout for n in passing)))
                unfinished = frozenset(result.unfinished or ())
                own_findings = [f for f in result.findings if f.rule_id not in package_rules]
                package_findings = [f for f in result.findings if f.rule_id in package_rules]
                if own is not None and own_hit:
                    # the file's own results come from the cache (its parse notifications repeat the cached
                    # ones; a transient one is kept, uncached)
                    own_findings = hits[own][0] + own_findings
                    result.notifications = hits[own][1] + passing
                if package is not None and package_hit:
                    package_findings = hits[package][0] + package_findings
                if own_hit or package_hit:
                    result.findings = own_findings + package_findings
                if not storable or own is None or package is None:
                    continue
                if not own_hit or own in cache.missing_of:
                    entries.append((own, own_findings, [n for n in result.notifications if n.kind not in transient]))
                    missing[own] = sorted(unfinished & own_rules)
                if (not package_hit or package in cache.missing_of) and result.reads is not None:
                    record = result.reads
                    if package_hit:  # the cached findings rest on the old record, the new ones on this one
                        old = cache.get_records([cache.records_of.get(package, "")]).get(
                            cache.records_of.get(package, ""))
                        if old is None:
                            continue
                        seen = {tuple(check) for check in old}
                        record = old + [check for check in result.reads if tuple(check) not in seen]
                    digest = digests.get(id(record))
                    if digest is None:
                        digest = digests[id(record)] = record_digest(record)
                        records[digest] = record
                    record_of[package] = digest
                    entries.append((package, package_findings, []))
                    missing[package] = sorted(unfinished & package_rules)
            cache.put_records(records)
            cache.put_many(entries, record_of, missing)
            cache.touch([k for k in hits if k in own_keys.values() or k in valid],
                        [cache.records_of[k] for k in valid if k in cache.records_of])
            cache.put_rules(self.rules)  # lets the next all-hit scan answer without loading rules
            return results + fresh
        finally:
            cache.close()

    def scan_files(self, files: list[str], progress: Progress | None = None, *,
                   partial: Mapping[str, frozenset[str]] | None = None,
                   cache_dir: str | None = None) -> list[FileResult]:
        """Scan ``files``; those in ``partial`` with the rules it gives them alone. ``cache_dir``: the scan
        cache's folder, where the package model's sibling summaries are shared with later scans."""
        partial = partial if partial is not None else {}
        total_bytes = 0
        for path in files:
            try:
                total_bytes += os.path.getsize(path)
            except OSError:
                pass
        from gleak_sarif.engine.context import ScanContext
        from gleak_sarif.rules.query import prepare_pack

        context = ScanContext(self.pack, self.options)  # this scan's listings, callees and package models
        jobs = min(self.jobs(), max(1, len(files)))
        if progress is not None:
            progress(0, len(files))  # the total is known now: `0/N`, not `0/?`, while the first file runs
        serial = jobs == 1 or len(files) < PARALLEL_MIN_FILES or total_bytes < PARALLEL_MIN_BYTES
        context.models.shared = _shared_summaries(cache_dir, serial)
        if cache_dir is not None:
            context.record_reads()
        try:
            if serial:
                prepare_pack(self.pack, self._sources(files) if total_bytes < PARALLEL_MIN_BYTES else None)
                out = []
                for index, path in enumerate(context.folders.view_order(files)):
                    out.append(scan_path(context, path, partial.get(path)))
                    if progress is not None:
                        progress(index + 1, len(files))
                return _with_reads(context, out)
            return self._scan_parallel(context, files, jobs, progress, partial)
        finally:
            if context.models.shared is not None:
                context.models.shared.close()

    def _scan_parallel(self, context: ScanContext, files: list[str], jobs: int, progress: Progress | None,
                       partial: Mapping[str, frozenset[str]]) -> list[FileResult]:
        from gleak_sarif.engine.pool import Pool
        from gleak_sarif.rules.query import prepare_pack

        global _WORKER_STATE, _FILES_DONE
        prepare_pack(self.pack)  # before the fork: every worker inherits the compiled query
        if not _AT_FORK:
            os.register_at_fork(after_in_child=_worker_signals)
            _AT_FORK.append(True)
        _WORKER_STATE = (context, partial)  # inherited by forked workers: no pickling
        # files as they finish in any worker, not chunk by chunk (one package can be one chunk)
        _FILES_DONE = FilesDone() if progress is not None else None
        watcher = Watcher(_FILES_DONE, progress, len(files)) if progress and _FILES_DONE else None
        results: list[FileResult] = []
        pending = _chunks(files, jobs)
        try:
            # workers forked by the pool, a fresh one when a chunk left one over its memory budget (pool.py)
            with Pool(jobs, _scan_chunk) as pool:
                done, died = pool.run(pending)
            for index in sorted(done):
                results.extend(done[index])
            # A worker died in these chunks (e.g. a crash in native code). Scan their files again one per
            # process so that the culprit is named and every other file still gets scanned.
            for path in (p for index in sorted(died) for p in pending[index]):
                results.append(self._scan_isolated(path))
        finally:
            _WORKER_STATE = None
            if watcher is not None:
                watcher.stop()
            if _FILES_DONE is not None:
                _FILES_DONE.close()
            _FILES_DONE = None
        if progress is not None:
            progress(len(files), len(files))
        return results

    def _sources(self, files: list[str]) -> list[bytes]:
        """The files of a small scan, read for prepare_pack's prefilter (the OS caches them)."""
        sources = []
        for path in files:
            try:
                with open(path, "rb") as handle:
                    sources.append(handle.read(self.options.max_file_bytes + 1))
            except OSError:
                continue
        return sources

    def _scan_isolated(self, path: str) -> FileResult:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        from gleak_sarif.engine.worker import FileResult

        fork = multiprocessing.get_context("fork")
        try:
            with ProcessPoolExecutor(max_workers=1, mp_context=fork, initializer=_worker_signals) as pool, \
                    _stopping_workers(pool):
                with interrupts.held():  # the submit forks the worker (see _scan_parallel)
                    future = pool.submit(_scan_chunk, [path])
                return future.result(timeout=self.options.file_timeout_seconds * 2)[0]
        except Exception as err:  # the worker crashed or hung on this file: report it, go on
            failed = FileResult(path)
            failed.notifications.append(Notification(
                kind=NotificationKind.worker_crash, level=Severity.error, path=path,
                message=f"the scanner crashed on this file ({type(err).__name__}); file skipped"))
            return failed


def _valid_package_entries(cache: ScanCache, keys: list[str], extract: bool) -> set[str]:
    """The package entries among ``keys`` (read by `cache.get_many`) whose record of reads still holds on
    disk (gopackage/reads.py). ``extract``: a sibling whose text changed is summarized again to see whether
    the package model sees it the same (else such a record fails)."""
    from gleak_sarif.gopackage.reads import Validator

    records = cache.get_records(cache.records_of[k] for k in keys if k in cache.records_of)
    validator = Validator(None)
    if extract:
        from gleak_sarif.gopackage.shared import SharedSummaries
        from gleak_sarif.gopackage.store import summaries_then_and_now
        from gleak_sarif.usercache import machine_key

        secret = machine_key()
        shared = SharedSummaries.in_cache(cache.directory, secret, summaries_salt()) if secret is not None else None
        validator.summaries = summaries_then_and_now(validator, shared)
    return {key for key in keys if validator.holds(records.get(cache.records_of.get(key, "")))}


def _shared_summaries(cache_dir: str | None, serial: bool) -> SharedSummaries | None:
    """Where the package model's sibling summaries are shared (gopackage/shared.py): the scan cache's
    folder; without a cache, a private folder for this scan's workers (a serial scan keeps them in memory)."""
    from gleak_sarif.gopackage.shared import SharedSummaries
    from gleak_sarif.usercache import machine_key

    salt = summaries_salt()
    secret = machine_key() if cache_dir is not None else None
    if cache_dir is not None and secret is not None:
        shared = SharedSummaries.in_cache(cache_dir, secret, salt)
        if shared is not None:
            return shared
    return None if serial else SharedSummaries.for_one_scan(salt)


def _worker_signals() -> None:
    """In a worker, right after the fork (os.register_at_fork: the pool's initializer runs later, and a
    worker the parent stopped in between raised the parent's Terminated and printed a traceback): SIGTERM
    ends it at once; Ctrl-C raises as Python's default does (the fork happened while the parent held it)."""
    import signal

    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    interrupts.unwatch()


_AT_FORK: list[bool] = []  # _worker_signals is registered to run in forked children (once per process)


@contextlib.contextmanager
def _stopping_workers(pool: Any) -> Iterator[None]:
    """On Ctrl-C or SIGTERM (the CLI turns it into an exception) stop the workers now: leaving the pool
    normally would wait for each to finish its chunk, and a parent killed meanwhile left them running."""
    try:
        yield
    except BaseException:
        # Python 3.11's executor thread, seeing the killed workers, sets an error on futures that
        # cancel_futures (or pool.map's cleanup) already cancelled and prints InvalidStateError from its
        # thread: a traceback on a clean Ctrl-C. That error alone is expected here and not shown.
        previous_hook = threading.excepthook
        threading.excepthook = _quiet_cancelled_futures(previous_hook)
        for process in list(getattr(pool, "_processes", {}).values()):
            with contextlib.suppress(Exception):
                process.terminate()
        pool.shutdown(wait=False, cancel_futures=True)
        raise


def _quiet_cancelled_futures(
        previous: Callable[[threading.ExceptHookArgs], Any]) -> Callable[[threading.ExceptHookArgs], Any]:
    from concurrent.futures import InvalidStateError

    def hook(args: threading.ExceptHookArgs) -> Any:
        if args.exc_type is InvalidStateError:
            return None
        return previous(args)

    return hook


def _salted_options(options: ScanOptions) -> dict[str, Any]:
    """The options that change a file's results (besides the rules and the config file)."""
    return options.model_dump(include={
        "include_generated", "max_file_bytes", "severity_overrides", "strict_tests", "select", "ignore"})


def cache_salt(options: ScanOptions) -> str | None:
    """The scan cache's salt for ``options``, computed from the rule files' bytes without compiling them
    (None when a rule path cannot be read: the rule loader reports that)."""
    from gleak_sarif.rules.loader import builtin_rules_dir, rule_files

    try:
        paths = rule_files([builtin_rules_dir()] if options.builtin_rules else []) + rule_files(options.rules)
    except ConfigError:
        return None
    return inputs_salt([str(p) for p in paths], options.config_path, _salted_options(options))


def scan_from_cache(options: ScanOptions, paths: Sequence[str], memo: ScanMemo | None = None) -> ScanResult | None:
    """The scan's result when the cache holds every file and the rule set (an earlier scan with the same
    rules, config and options stored it), without loading or compiling any rule; None otherwise, and then
    `Engine(options).scan(paths, memo=memo)` gives the result (reusing what this attempt read, in ``memo``).
    The result is the one `Engine.scan` gives."""
    if not options.use_cache:
        return None
    salt = cache_salt(options)
    if salt is None:
        return None
    started = _now()
    source_root = find_source_root(list(paths) or ["."])
    if memo is not None and memo.paths != list(paths):
        memo = None
    cache = ScanCache(cache_dir_for(list(paths) or ["."], options.cache_dir), salt,
                      memo.hashes if memo is not None else None)
    try:
        rules = cache.get_rules()
        if rules is None:  # also means: these rules loaded without error before
            return None
        found = discover(list(paths) or ["."], options)
        if memo is not None:
            memo.found = found
        if not found.files:
            return None
        keys = [(cache.key(path), cache.key(path, package=True)) for path in found.files]
        wanted = [k for pair in keys for k in pair if k is not None]
        if len(wanted) < 2 * len(keys) or not cache.holds_all(wanted):
            return None
        hits = cache.get_many(wanted)
        if any(k not in hits or k in cache.missing_of for k in wanted):  # a miss, or rules cut off last time
            return None
        package_keys = [package for _, package in keys if package is not None]
        # every file is unchanged: a record fails only when the folder changed otherwise (a sibling outside
        # the scanned paths edited, a file added): the full scan then checks what that changed
        if len(_valid_package_entries(cache, package_keys, extract=False)) < len(package_keys):
            return None
        findings: list[Finding] = []
        notifications: list[Notification] = []
        for own, package in keys:
            assert own is not None and package is not None
            findings.extend(hits[own][0] + hits[package][0])
            notifications.extend(hits[own][1])
        cache.touch(list(hits), [cache.records_of[k] for k in package_keys if k in cache.records_of])
        return _result(found, source_root, findings, notifications, len(found.files), rules, started, options)
    finally:
        cache.close()


def _result(found: Discovery, source_root: str, findings: list[Finding], notifications: list[Notification],
            skipped: int, rules: list[RuleMeta], started: str, options: ScanOptions) -> ScanResult:
    if options.per_file_ignores:  # after the cache: its entries stay valid whatever the ignores
        findings = [f for f in findings if not options.ignored_here(f.rule_id, f.primary.path)]
    findings.sort(key=Finding.sort_key)
    return ScanResult(
        findings=findings,
        notifications=[*found.notifications, *notifications],
        rules=rules,
        files_scanned=len(found.files),
        files_skipped=skipped,
        start_time=started,
        end_time=_now(),
        source_root=source_root,
    )


def all_rule_metas(extra: Iterable[str] = ()) -> list[RuleMeta]:
    """Every rule (enabled or not), for `rules list`, `explain` and docs."""
    from gleak_sarif.rules.loader import load_pack

    pack = load_pack(list(extra), select=["ALL"])
    return [rule.meta for rule in pack.rules]
