"""`--new-from-rev REV` / `--new-from-merge-base REV`: the lines changed since a git revision.

Same meaning as golangci-lint's flags: a finding is reported only when its line was added or changed in
the work tree (committed, staged or not) since REV (or since the merge base of REV and HEAD); files git
does not track yet (and does not ignore) count as changed throughout. Read with `git diff -U0` (renamed
files keep their old lines as unchanged).
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field

from gleak_sarif.errors import UsageError
from gleak_sarif.model import Finding

_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")
_ESCAPES = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13, '"': 34, "\\": 92}


@dataclass
class ChangedLines:
    """Absolute path -> changed line numbers (1-based); files in ``whole`` changed throughout."""

    lines: dict[str, set[int]] = field(default_factory=dict)
    whole: set[str] = field(default_factory=set)

    def covers(self, finding: Finding) -> bool:
        path = os.path.realpath(finding.primary.path)
        return path in self.whole or finding.primary.start_line in self.lines.get(path, ())


def _git(args: list[str], cwd: str, flag: str) -> str:
    try:
        done = subprocess.run(["git", "-c", "core.quotePath=false", *args], cwd=cwd, capture_output=True,
                              timeout=300, check=False)
    except FileNotFoundError:
        raise UsageError(f"{flag} needs git, which is not installed") from None
    except subprocess.TimeoutExpired:
        raise UsageError(f"{flag}: git {args[0]} took longer than 300 s") from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise UsageError(f"{flag}: git {args[0]} failed: {message[0] if message else done.returncode}",
                         hint="REV must name a commit of the repository around the scanned paths")
    return done.stdout.decode("utf-8", "surrogateescape")


def _unquote(path: str) -> str:
    """git's C-style quoting of unusual paths (`"a\\tb.go"`, octal bytes for the rest)."""
    if not (path.startswith('"') and path.endswith('"')):
        return path
    raw = bytearray()
    body = path[1:-1]
    index = 0
    while index < len(body):
        char = body[index]
        if char != "\\":
            raw.extend(char.encode("utf-8", "surrogateescape"))
            index += 1
        elif body[index + 1 : index + 4].isdigit():
            raw.append(int(body[index + 1 : index + 4], 8))
            index += 4
        else:
            raw.append(_ESCAPES.get(body[index + 1 : index + 2], ord(body[index + 1 : index + 2] or "\\")))
            index += 2
    return raw.decode("utf-8", "surrogateescape")


def parse_diff(text: str, top: str) -> ChangedLines:
    """The added lines of a `git diff -U0` patch whose paths are relative to ``top``."""
    changed = ChangedLines()
    current: set[int] | None = None
    for line in text.splitlines():
        if line.startswith("+++ "):
            name = line[4:].rstrip("\t")
            name = _unquote(name)
            if name == "/dev/null":
                current = None
                continue
            path = os.path.realpath(os.path.join(top, name[2:] if name.startswith("b/") else name))
            current = changed.lines.setdefault(path, set())
            continue
        hunk = _HUNK.match(line)
        if hunk is not None and current is not None:
            start = int(hunk.group(1))
            count = int(hunk.group(2)) if hunk.group(2) is not None else 1
            current.update(range(start, start + count))
    return changed


def changed_since(rev: str, *, merge_base: bool, near: str) -> ChangedLines:
    """The lines changed in the work tree around ``near`` (a scanned path) since ``rev``."""
    flag = "--new-from-merge-base" if merge_base else "--new-from-rev"
    if rev.startswith("-"):
        raise UsageError(f"{flag}: {rev!r} is not a revision")
    start = os.path.abspath(near)
    folder = start if os.path.isdir(start) else os.path.dirname(start)
    top = _git(["rev-parse", "--show-toplevel"], folder, flag).strip()
    base = rev
    if merge_base:
        base = _git(["merge-base", rev, "HEAD"], top, flag).strip()
    _git(["rev-parse", "--verify", "--quiet", "--end-of-options", f"{base}^{{commit}}"], top, flag)
    patch = _git(["diff", "--no-color", "--no-ext-diff", "--find-renames", "-U0", "--end-of-options", base,
                  "--"], top, flag)
    changed = parse_diff(patch, top)
    untracked = _git(["ls-files", "-z", "--others", "--exclude-standard"], top, flag)
    changed.whole.update(os.path.realpath(os.path.join(top, name)) for name in untracked.split("\0") if name)
    return changed
