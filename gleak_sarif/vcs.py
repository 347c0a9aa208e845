"""What git says about a path: the work tree it is in, and whether it is tracked.

The scanned tree may come from a stranger's pull request, so anything committed in it (a cache folder, a
symbolic link where a report will be written) is untrusted. These answers decide where gleak-sarif reads
and writes its own files; they never change what is scanned.
"""

from __future__ import annotations

import os
import shutil
import subprocess


def work_tree_root(path: str) -> str | None:
    """The folder holding `.git` at or above ``path`` (a folder, or a file's folder), or None."""
    current = os.path.abspath(path)
    if not os.path.isdir(current):
        current = os.path.dirname(current)
    while True:
        if os.path.lexists(os.path.join(current, ".git")):
            return current
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current = parent


def tracked_by_git(path: str) -> bool:
    """Does git track ``path`` (a file or link), or anything under it (a folder)? Outside a work tree:
    False. When git cannot answer inside a work tree (not installed, a broken repository): True, since
    the caller then must not trust the path."""
    absolute = os.path.abspath(path)
    root = work_tree_root(os.path.dirname(absolute))
    if root is None:
        return False
    git = shutil.which("git")
    if git is None:
        return True
    try:
        done = subprocess.run(
            [git, "-C", root, "ls-files", "-z", "--", os.path.relpath(absolute, root)],
            capture_output=True, timeout=30, check=False,
            env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"},  # reading must not take the index lock
        )
    except (OSError, subprocess.SubprocessError):
        return True
    if done.returncode != 0:
        return True  # "not a git repository" (a stray .git), "dubious ownership": cannot tell
    return bool(done.stdout)
