"""Find the Go files to scan under the paths a user gives (`./...` style paths accepted)."""

from __future__ import annotations

import fnmatch
import os
import stat
import subprocess
from dataclasses import dataclass, field

from gleak_sarif.config import ScanOptions
from gleak_sarif.errors import UsageError
from gleak_sarif.model import Notification, NotificationKind
from gleak_sarif.vcs import work_tree_root


@dataclass
class Discovery:
    files: list[str] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)


def _strip_dots(path: str) -> str:
    """`./...` -> `.`, `pkg/...` -> `pkg`: Go's recursive package syntax; directories are always recursive."""
    if path == "...":
        return "."
    if path.endswith("/..."):
        return path[:-4] or "/"
    return path


def display_path(path: str) -> str:
    """Relative to the working directory when inside it (posix separators), else absolute."""
    absolute = os.path.abspath(path)
    cwd = os.getcwd()
    if absolute == cwd or absolute.startswith(cwd.rstrip(os.sep) + os.sep):
        return os.path.relpath(absolute, cwd).replace(os.sep, "/")
    return absolute.replace(os.sep, "/")


def _excluded(rel: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(rel, p) or fnmatch.fnmatchcase(rel, p.rstrip("/") + "/*") for p in patterns)


def git_ignored(folder: str) -> set[str] | None:
    """Paths under ``folder`` that git ignores (.gitignore files, .git/info/exclude, the global excludes
    file), relative to it with `/` separators, folders ending in `/`; None outside a git work tree (or
    without git). Like ruff, a tracked file that an ignore pattern matches counts as ignored too."""
    try:
        # --cached with --others: tracked files that a pattern matches, and untracked ignored files and
        # folders (a folder once, as `dir/`), in one call
        done = subprocess.run(["git", "-c", "core.quotePath=false", "ls-files", "-z", "--ignored", "--exclude-standard",
                               "--others", "--cached", "--directory", "--", "."],
                              cwd=folder, capture_output=True, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None  # not a git work tree
    return {name for name in done.stdout.decode("utf-8", "surrogateescape").split("\0") if name}


def _in(ignored: set[str] | None, root: str, full: str, *, folder: bool = False) -> bool:
    if not ignored:
        return False
    rel = os.path.relpath(full, root).replace(os.sep, "/")
    return (rel + "/" if folder else rel) in ignored


def discover(paths: list[str], options: ScanOptions) -> Discovery:
    found = Discovery()
    seen: set[str] = set()

    def add(path: str) -> None:
        shown = display_path(path)
        if shown in seen or _excluded(shown, options.exclude):
            return
        if not options.include_tests and shown.endswith("_test.go"):
            return
        seen.add(shown)
        found.files.append(shown)

    def skip_dir(name: str) -> bool:
        if name.startswith(".") and not options.include_hidden:
            return True
        if name.startswith("_"):
            return True  # the go tool ignores these too
        if name == "vendor" and not options.include_vendor:
            return True
        return name == "testdata" and not options.include_testdata

    for raw in paths:
        path = _strip_dots(raw)
        try:
            info = os.stat(path)
        except FileNotFoundError:
            raise UsageError(f"path does not exist: {raw}", hint="pass Go files or directories, e.g. ./...") from None
        except OSError as err:
            found.notifications.append(Notification(kind=NotificationKind.read_error, path=raw,
                                                    message=f"cannot read: {err.strerror}"))
            continue
        if stat.S_ISREG(info.st_mode):
            add(path)  # named explicitly: scanned even if it is not *.go or sits in vendor/
            continue
        if not stat.S_ISDIR(info.st_mode):
            found.notifications.append(Notification(kind=NotificationKind.read_error, path=display_path(path),
                                                    message="not a regular file or directory; skipped"))
            continue

        def on_error(err: OSError, root: str = path) -> None:
            found.notifications.append(Notification(
                kind=NotificationKind.read_error, path=display_path(err.filename or root),
                message=f"cannot list directory: {err.strerror}"))

        ignored = git_ignored(path) if options.respect_gitignore else None
        tree = os.path.realpath(work_tree_root(path) or path)  # what a link may point into
        # followlinks=False: a symlinked directory is not entered, so symlink loops cannot trap the walk
        for dirpath, dirnames, filenames in os.walk(path, onerror=on_error):
            dirnames[:] = sorted(d for d in dirnames
                                 if not skip_dir(d) and not _in(ignored, path, os.path.join(dirpath, d), folder=True))
            for name in sorted(filenames):
                if not name.endswith(".go"):
                    continue
                if name.startswith(".") and not options.include_hidden:
                    continue
                full = os.path.join(dirpath, name)
                if _in(ignored, path, full):
                    continue
                try:
                    mode = os.stat(full).st_mode
                except OSError as err:
                    found.notifications.append(Notification(
                        kind=NotificationKind.read_error, path=display_path(full),
                        message=f"cannot read: {err.strerror or 'broken symlink'}"))
                    continue
                if not stat.S_ISREG(mode):
                    found.notifications.append(Notification(
                        kind=NotificationKind.read_error, path=display_path(full),
                        message="not a regular file; skipped"))
                    continue
                if not options.follow_symlinks and os.path.islink(full) and not _inside(full, tree):
                    # a pull request can add `x.go -> /somewhere/else.go`: its code and path would reach
                    # the report (SARIF snippets are uploaded)
                    found.notifications.append(Notification(
                        kind=NotificationKind.read_error, path=display_path(full),
                        message="symbolic link to a file outside the scanned tree; skipped "
                                "(--follow-symlinks scans it)"))
                    continue
                add(full)
    if options.shard is not None:
        from gleak_sarif.engine.shard import in_shard

        found.files = in_shard(found.files, options.shard, find_source_root(paths))
    return found


def _inside(link: str, tree: str) -> bool:
    target = os.path.realpath(link)
    return target == tree or target.startswith(tree.rstrip(os.sep) + os.sep)


def find_source_root(paths: list[str]) -> str:
    """The repository root above the first path (a folder with .git), else the working directory."""
    start = os.path.abspath(_strip_dots(paths[0]) if paths else ".")
    if os.path.isfile(start):
        start = os.path.dirname(start)
    current = start
    while True:
        if os.path.exists(os.path.join(current, ".git")):
            return current
        parent = os.path.dirname(current)
        if parent == current:
            return os.getcwd()
        current = parent
