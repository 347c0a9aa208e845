"""`scan --shard K/N`: one of N deterministic parts of the scanned packages, for a CI matrix of N jobs.

A package is a folder (Go's rule: the `.go` files of one directory), and a folder belongs to shard
``1 + int(sha256(its path relative to the source root)) % N``. The choice depends on nothing but the folder's own
path, so adding, removing or editing files elsewhere never moves a package to another shard, and every job
of a matrix computes the same split without talking to the others. Whole folders go to one shard because the
rules that read a package (`calls:`, `model:`) read its other files anyway: the findings of a file are the
same whichever shard scans it, so the shards' SARIF merged (`gleak-sarif merge`) equals one unsharded run.
"""

from __future__ import annotations

import hashlib
import os
import re

from gleak_sarif.errors import UsageError

_SPEC = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")
MAX_SHARDS = 1000


def parse_shard(text: str) -> tuple[int, int]:
    """`K/N` (1 <= K <= N) as (K, N); UsageError otherwise."""
    found = _SPEC.match(text)
    if found is None:
        raise UsageError(f"--shard {text!r}: expected K/N, e.g. 1/3", hint="K counts from 1 to N")
    k, n = int(found.group(1)), int(found.group(2))
    if not 1 <= n <= MAX_SHARDS:
        raise UsageError(f"--shard {text}: N must be between 1 and {MAX_SHARDS}")
    if not 1 <= k <= n:
        raise UsageError(f"--shard {text}: K must be between 1 and N ({n})", hint="shards are 1/N ... N/N")
    return k, n


def shard_of(folder: str, count: int) -> int:
    """The shard (1-based) of a package folder given relative to the source root with `/` separators."""
    digest = hashlib.sha256(folder.encode("utf-8", "surrogateescape")).digest()
    return 1 + int.from_bytes(digest[:8], "big") % count


def folder_key(path: str, source_root: str) -> str:
    """A file's package folder, relative to the source root (`.` for the root itself), `/` separators: the
    same string on every machine that checked out the repository, wherever it was checked out."""
    folder = os.path.dirname(os.path.abspath(path))
    rel = os.path.relpath(folder, source_root) if _inside(folder, source_root) else folder
    return rel.replace(os.sep, "/")


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def in_shard(files: list[str], shard: tuple[int, int], source_root: str) -> list[str]:
    """The files of ``files`` whose package folder belongs to ``shard`` (order kept)."""
    k, n = shard
    if n == 1:
        return list(files)
    root = os.path.abspath(source_root)
    chosen: dict[str, bool] = {}
    out = []
    for path in files:
        folder = folder_key(path, root)
        keep = chosen.get(folder)
        if keep is None:
            keep = chosen[folder] = shard_of(folder, n) == k
        if keep:
            out.append(path)
    return out
