"""Apply the fixes findings carry: `scan --fix` (in place) and `scan --diff` (a unified diff, no change).

A fix is a set of byte-range edits computed on the bytes the scan read (each edit carries their sha256).
Per file: fixes are taken in a stable order (position, then rule ID); a fix identical to one already taken
(GL201 and GL202 both buffering one `make`) counts as applied once; a fix that overlaps one already taken
is left for the next round (the caller scans again and retries). A file whose bytes are not the scanned
ones any more (edited since the scan, or while fixing) is left alone. Files are replaced atomically: a
temporary file in the same folder, then a rename over the original (its permission bits kept; a symlink's
target is the file replaced, the link stays).
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import os
import stat
import tempfile
from dataclasses import dataclass, field

from gleak_sarif.model import Finding

Edit = tuple[int, int, str]  # (start byte, end byte, new text)


@dataclass
class FilePlan:
    """The fixes for one file and the bytes they give."""

    path: str
    original: bytes
    fixed: bytes = b""
    applied: list[Finding] = field(default_factory=list)
    overlapping: list[Finding] = field(default_factory=list)  # left for another round

    @property
    def changed(self) -> bool:
        return self.fixed != self.original


@dataclass
class FixPlan:
    files: list[FilePlan] = field(default_factory=list)
    # (path, why): files with fixes that were not touched (changed since the scan, unreadable)
    refused: list[tuple[str, str]] = field(default_factory=list)

    @property
    def applied(self) -> int:
        return sum(len(f.applied) for f in self.files)

    @property
    def overlapping(self) -> int:
        return sum(len(f.overlapping) for f in self.files)


def fixable(findings: list[Finding]) -> list[Finding]:
    """Findings whose fix `--fix` may apply: reported (not suppressed), edits in one file."""
    out = []
    for finding in findings:
        fix = finding.fix
        if fix is None or not fix.edits or finding.suppression is not None:
            continue
        if len({edit.path for edit in fix.edits}) == 1:
            out.append(finding)
    return out


def _edits(finding: Finding) -> list[Edit]:
    assert finding.fix is not None
    return sorted((e.start_byte, e.end_byte, e.new_text) for e in finding.fix.edits)


def _overlaps(a: Edit, b: Edit) -> bool:
    if a[0] == a[1] and b[0] == b[1]:
        return a[0] == b[0]  # two insertions at one place: their order would be a guess
    if a[0] == a[1] or b[0] == b[1]:  # an insertion conflicts only strictly inside the other's range
        point, (start, end) = (a[0], b[:2]) if a[0] == a[1] else (b[0], a[:2])
        return start < point < end
    return a[0] < b[1] and b[0] < a[1]


def apply_to_source(path: str, source: bytes, findings: list[Finding]) -> FilePlan:
    """The fixes of ``findings`` (all for ``path``) applied to ``source``, in a stable order."""
    plan = FilePlan(path=path, original=source)
    taken: list[Edit] = []
    ordered = sorted(findings, key=lambda f: (_edits(f), f.rule_id, f.primary.start_byte))
    for finding in ordered:
        edits = _edits(finding)
        if any(e[1] > len(source) or e[0] > e[1] for e in edits):
            plan.overlapping.append(finding)  # cannot happen on the scanned bytes; never write past the end
            continue
        if all(edit in taken for edit in edits):
            plan.applied.append(finding)  # the same edit as a fix already taken: applied once
            continue
        if any(_overlaps(edit, other) for edit in edits for other in taken):
            plan.overlapping.append(finding)
            continue
        taken.extend(edits)
        plan.applied.append(finding)
    fixed = source
    for start, end, text in sorted(taken, reverse=True):
        fixed = fixed[:start] + text.encode("utf-8") + fixed[end:]
    plan.fixed = fixed
    return plan


def _scanned_digest(findings: list[Finding]) -> str | None:
    digests = {e.file_sha256 for f in findings if f.fix is not None for e in f.fix.edits}
    return digests.pop() if len(digests) == 1 else None


def plan_fixes(findings: list[Finding]) -> FixPlan:
    """Read every file that has fixes and compute its fixed bytes (nothing is written)."""
    by_path: dict[str, list[Finding]] = {}
    for finding in fixable(findings):
        assert finding.fix is not None
        by_path.setdefault(finding.fix.edits[0].path, []).append(finding)
    plan = FixPlan()
    for path in sorted(by_path):
        group = by_path[path]
        wanted = _scanned_digest(group)
        try:
            with open(path, "rb") as handle:
                source = handle.read()
        except OSError as err:
            plan.refused.append((path, f"cannot read: {err.strerror or err}"))
            continue
        if wanted is None:  # findings from a cache written before fixes carried their file's hash
            plan.refused.append((path, "the scan kept no record of the bytes it read; not fixed (run with "
                                       "--no-cache)"))
            continue
        if hashlib.sha256(source).hexdigest() != wanted:
            plan.refused.append((path, "changed since it was scanned; not fixed (scan again)"))
            continue
        plan.files.append(apply_to_source(path, source, group))
    return plan


def unified_diff(plan: FixPlan) -> str:
    """The plan as a unified diff (`a/` and `b/` prefixes: `git apply` and `patch -p1` take it)."""
    out: list[str] = []
    for file_plan in plan.files:
        if not file_plan.changed:
            continue
        before = file_plan.original.decode("utf-8", "surrogateescape").splitlines(keepends=True)
        after = file_plan.fixed.decode("utf-8", "surrogateescape").splitlines(keepends=True)
        for line in difflib.unified_diff(before, after, f"a/{file_plan.path}", f"b/{file_plan.path}"):
            out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(out)


def write_plan(plan: FixPlan) -> None:
    """Write every changed file atomically; a file that changed since it was read is refused instead."""
    kept = []
    for file_plan in plan.files:
        if not file_plan.changed:
            kept.append(file_plan)
            continue
        why = _replace_if_unchanged(file_plan.path, file_plan.original, file_plan.fixed)
        if why is None:
            kept.append(file_plan)
        else:
            plan.refused.append((file_plan.path, why))
    plan.files = kept


def _replace_if_unchanged(path: str, original: bytes, fixed: bytes) -> str | None:
    """Replace ``path``'s bytes ``original`` with ``fixed``; the reason when it was not done."""
    target = os.path.realpath(path)  # a symlink stays a symlink: its target gets the fixed bytes
    try:
        info = os.stat(target)
    except OSError as err:
        return f"cannot read: {err.strerror or err}"
    if not stat.S_ISREG(info.st_mode):
        return "not a regular file; not fixed"
    handle, temp = tempfile.mkstemp(prefix=".gleak-fix-", suffix=".tmp", dir=os.path.dirname(target))
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(fixed)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temp, stat.S_IMODE(info.st_mode))
        # last check right before the rename: the bytes are still the ones the fixes were computed on
        with open(target, "rb") as current:
            if current.read() != original:
                os.unlink(temp)
                return "changed while fixing; not fixed (scan again)"
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    return None

