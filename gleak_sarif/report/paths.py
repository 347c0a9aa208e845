"""Paths in reports: the source root, paths relative to it, and the URIs SARIF gives files."""

from __future__ import annotations

import os
from urllib.parse import quote


def resolve_root(source_root: str | None) -> str:
    """The absolute, symlink-resolved source root (the working directory when none is given)."""
    return os.path.realpath(source_root or os.getcwd())


def _realpath(path: str) -> str:
    try:
        return os.path.realpath(path)
    except ValueError:  # a NUL byte (a path read from a goroutine dump): no such file, keep it as written
        return os.path.abspath(path)


def relative_path(path: str, root: str) -> str | None:
    """``path`` relative to ``root`` in POSIX form, or None when it lies outside ``root``.

    Both are resolved through symlinks first: GitHub resolves paths inside the checkout, and a path that
    differs between runs would close and reopen every alert. A link in the root to a file outside it is
    reported under the link's own path.
    """
    for candidate in (_realpath(path), os.path.abspath(path)):
        # the resolved path first; a link inside the root to a file outside it (`--follow-symlinks`) is
        # reported under its own path in the tree, not under the outside target's absolute path
        try:
            rel = os.path.relpath(candidate, root)
        except ValueError:  # another drive on Windows
            continue
        if rel == os.curdir or rel.startswith(os.pardir + os.sep) or rel == os.pardir or os.path.isabs(rel):
            continue
        return rel.replace(os.sep, "/")
    return None


def path_uri(path: str, root: str) -> tuple[str, bool]:
    """(URI, is_relative) for a file: a percent-encoded relative URI, or an absolute ``file://`` URI."""
    rel = relative_path(path, root)
    if rel is not None:
        return _quote(rel), True
    real = _realpath(path).replace(os.sep, "/")
    if not real.startswith("/"):
        real = "/" + real
    return "file://" + _quote(real), False


def _quote(path: str) -> str:
    """Percent-encode a path's bytes (RFC 3986, as SARIF asks): a name that is not UTF-8 (read with
    surrogateescape) becomes `%FF`, not an error."""
    return quote(os.fsencode(path), safe="/")


def root_uri(root: str) -> str:
    """``file:///abs/root/`` (SARIF requires originalUriBaseIds entries to end with a slash)."""
    p = root.replace(os.sep, "/")
    if not p.startswith("/"):
        p = "/" + p
    if not p.endswith("/"):
        p += "/"
    return "file://" + _quote(p)
