"""Scan one file: read, prefilter, parse, evaluate, suppress. Runs in the main process or a worker."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from tree_sitter import Node, Tree

from gleak_sarif import clock as file_clock
from gleak_sarif.engine.context import ScanContext
from gleak_sarif.engine.evaluate import FileClock, FileEvaluator, FileTimeoutError
from gleak_sarif.gopackage.store import PACKAGE_LIMIT_FACTOR, PackageModels
from gleak_sarif.gosource import parser, too_wide, utf8_safe
from gleak_sarif.linehash import set_line_hashes
from gleak_sarif.model import Finding, Notification, NotificationKind, Severity
from gleak_sarif.suppress import apply_suppressions

_GENERATED = re.compile(rb"^// Code generated .* DO NOT EDIT\.\r?$", re.M)


@dataclass
class FileResult:
    path: str
    findings: list[Finding] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)
    parsed: bool = False
    skipped: bool = False
    cached: bool = False  # taken from the scan cache
    # what the scan read of the file's folder (gopackage/reads.py; when the context records reads): the
    # checks its package entry in the scan cache is valid under
    reads: list[list[str]] | None = None
    # the rules that did not run to the end because the file hit the per-file limit (the one that overran it
    # and those after it); None when no rule was cut off. The scan cache stores the other rules' results and
    # runs these again on the next scan (engine/scan.py)
    unfinished: list[str] | None = None


def is_generated(source: bytes) -> bool:
    """The Go convention: the marker line appears before the package clause (checked in the head)."""
    head = source[:16384]
    package_at = head.find(b"\npackage ")
    if package_at >= 0:
        head = head[:package_at]
    return _GENERATED.search(head) is not None


def _first_error_line(root: Node) -> int:
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type == "ERROR" or node.is_missing:
            return int(node.start_point[0]) + 1
        if node.has_error:
            stack.extend(reversed(node.children))
    return 1


_PARSE_CHUNK = 16 * 1024


def _parse(source: bytes, deadline: float) -> Tree:
    """Parse within the per-file deadline. The binding has no parse timeout, but an exception raised in
    the read callback aborts the parse, so a pathological file (a 2-million-element literal takes
    minutes) is cut off instead of stalling the scan or a worker."""
    if len(source) <= _PARSE_CHUNK:
        return parser().parse(source)

    def read(offset: int, _point: object) -> bytes:
        if file_clock.now() > deadline:
            raise FileTimeoutError
        return source[offset : offset + _PARSE_CHUNK]

    try:
        tree = parser().parse(read)
    except FileTimeoutError:
        parser().reset()  # the shared parser must not resume the aborted parse on the next file
        raise
    # A tree parsed through a callback keeps no source: query text predicates (#eq?, #match?) would call
    # `read` again for every check (the combined query ran 7x slower). Re-parsing the bytes with the old
    # tree and no edits reuses every node (~2% of a parse) and gives a tree that holds its source.
    return parser().parse(source, old_tree=tree)


class PackageClock(FileClock):
    """A file's clock stands still while its package is read (the package index and the sibling files'
    summaries the model loads; PackageModels.package_seconds): that is the package's work, which the first
    file to ask for the model would pay for alone (on a big package, past the per-file limit: its findings
    were lost). Up to ``limit`` seconds per file; past that the time counts again, and a timeout says so."""

    def __init__(self, models: PackageModels, limit: float) -> None:
        self.models = models
        self.seen = models.package_seconds
        self.limit = limit
        self.granted = 0.0  # seconds the deadline moved
        self.capped = False  # the package took more than ``limit``

    def paused(self, evaluator: FileEvaluator) -> bool:
        grown = self.models.package_seconds - self.seen
        self.seen = self.models.package_seconds
        grant = min(grown, self.limit - self.granted)
        self.capped = self.capped or grant < grown
        if grant > 0 and evaluator.deadline is not None:
            self.granted += grant
            evaluator.deadline += grant
        return evaluator.deadline is not None and file_clock.now() <= evaluator.deadline


def scan_source(context: ScanContext, path: str, source: bytes, go_version: tuple[int, int] | None,
                only: frozenset[str] | None = None) -> FileResult:
    """``only``: run just these rules (the scan cache holds the others' results for this file)."""
    pack, options = context.pack, context.options
    result = FileResult(path)
    if b"\0" in source:  # Go source never contains NUL: a binary file named *.go
        result.skipped = True
        result.notifications.append(Notification(
            kind=NotificationKind.read_error, path=path, message="not Go source (binary content); skipped"))
        return result
    if not options.include_generated and is_generated(source):
        result.skipped = True
        return result
    active = [rule for rule in pack.rules if (only is None or rule.meta.id in only)
              and all(token in source for token in rule.tokens)
              and context.package_may_match(rule, path, source)]
    if not active:
        result.skipped = True
        return result
    original = source
    source, bad_line = utf8_safe(source)
    if bad_line is not None:
        result.notifications.append(Notification(
            kind=NotificationKind.read_error, path=path, line=bad_line,
            message="invalid UTF-8 (Go source must be UTF-8); invalid bytes read as `_`, findings in this file "
                    "may be incomplete"))
    deadline = file_clock.now() + options.file_timeout_seconds
    tree = _parse(source, deadline)
    root = tree.root_node
    result.parsed = True
    if root.has_error:
        result.notifications.append(Notification(
            kind=NotificationKind.parse_error, level=Severity.warning, path=path, line=_first_error_line(root),
            message="syntax error (or syntax newer than tree-sitter-go 0.25); findings in this file may be "
                    "incomplete"))
    wide = too_wide(root)
    if wide is not None:
        # the queries could not be interrupted by the deadline: say so as a timeout, which it would become
        result.notifications.append(Notification(
            kind=NotificationKind.timeout, level=Severity.warning, path=path, line=wide.line,
            message=wide.message()))
        return result
    evaluator = FileEvaluator(pack, path, path, source, root, go_version, deadline=deadline,
                              questions=context.file_questions())
    clock = evaluator.clock = PackageClock(context.models, PACKAGE_LIMIT_FACTOR * options.file_timeout_seconds)
    evaluator.collect()
    for position, rule in enumerate(active):
        if not evaluator.rule_applies(rule):
            continue
        try:
            result.findings.extend(evaluator.run_rule(rule))
        except FileTimeoutError:
            # keep what the rules before it found; say which rule ran out of time and what was not run
            left = [r.meta.id for r in active[position + 1 :]]
            result.unfinished = [rule.meta.id, *left]
            result.notifications.append(Notification(
                kind=NotificationKind.timeout, level=Severity.warning, path=path,
                message=f"rule {rule.meta.id} took the file past the per-file limit of "
                        f"{options.file_timeout_seconds:g} s; findings of "
                        + (f"{rule.meta.id} and {len(left)} later rules ({', '.join(left)})" if left
                           else rule.meta.id)
                        + " are missing for this file" + _package_time(clock)))
            break
    if result.findings:
        apply_suppressions(source, root, result.findings,
                           {r.meta.id: frozenset(r.meta.equivalent_linters) for r in active if r.meta.equivalent_linters})
        # the SARIF writer would read and hash the file again (a `model:` binding may place one elsewhere)
        set_line_hashes(original, [f for f in result.findings if f.primary.path == path])
        _stamp_fixes(original, path, result.findings)
    return result


def _package_time(clock: PackageClock) -> str:
    """What a timeout message says about the package's share of the time (not counted, up to a limit)."""
    if clock.capped:
        return (f" (reading the file's package took more than {clock.limit:g} s, the package limit; "
                "the time past it counted)")
    if clock.granted >= 1:
        return f" ({clock.granted:.0f} s of reading the file's package not counted)"
    return ""


def _stamp_fixes(source: bytes, path: str, findings: list[Finding]) -> None:
    """Record which bytes each fix was computed on, so `--fix` never edits a file that changed since."""
    digest: str | None = None
    for finding in findings:
        for edit in finding.fix.edits if finding.fix is not None else []:
            if edit.path == path:
                digest = digest or hashlib.sha256(source).hexdigest()
                edit.file_sha256 = digest


def scan_path(context: ScanContext, path: str, only: frozenset[str] | None = None) -> FileResult:
    options = context.options
    try:
        with open(path, "rb") as handle:
            source = handle.read(options.max_file_bytes + 1)
    except OSError as err:
        result = FileResult(path)
        result.notifications.append(Notification(kind=NotificationKind.read_error, path=path,
                                                 message=f"cannot read: {err.strerror or err}"))
        return result
    if len(source) > options.max_file_bytes:
        result = FileResult(path, skipped=True)
        result.notifications.append(Notification(
            kind=NotificationKind.read_error, path=path,
            message=f"larger than {options.max_file_bytes // (1024 * 1024)} MiB; skipped (raise the limit "
                    "with --max-file-size)"))
        return result
    try:
        return scan_source(context, path, source, context.folders.go_version(path), only)
    except FileTimeoutError:
        result = FileResult(path)
        result.notifications.append(Notification(
            kind=NotificationKind.timeout, path=path,
            message=f"parsing and rule evaluation took longer than {options.file_timeout_seconds:g} s; file "
                    "skipped"))
        return result
