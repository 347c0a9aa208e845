"""The user cache directory and the key that binds cached data to it.

Caches are read on the next run as if they were gleak-sarif's own results, so a planted entry could hide
findings (an empty result for a leaking file) or, for a pickled rule pack, run code. Everything cached is
signed with a random key kept in the user cache directory (`$XDG_CACHE_HOME/gleak-sarif/key`, else
`~/.cache/...`), made on first use, readable by the user only. A cache folder committed to the scanned
repository cannot carry valid signatures: the key is not in the repository. (The GitHub Action saves and
restores `~/.cache/gleak-sarif` with actions/cache, key included, so its cache stays usable across runners;
that cache is written by the workflow's own runs, not by the scanned code.)
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import hmac
import os
import secrets

KEY_BYTES = 32
MAC_BYTES = 16


def user_cache_dir() -> str:
    """`$XDG_CACHE_HOME/gleak-sarif`, else `~/.cache/gleak-sarif` (golangci-lint's choice too)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "gleak-sarif")


def scan_cache_dir(root: str) -> str:
    """The scan cache of a project whose own folder cannot hold it, keyed by the project's absolute root."""
    digest = hashlib.sha256(os.path.abspath(root).encode("utf-8", "surrogateescape")).hexdigest()[:24]
    return os.path.join(user_cache_dir(), "scan", digest)


@functools.cache
def _key(directory: str) -> bytes | None:
    path = os.path.join(directory, "key")
    with contextlib.suppress(OSError):
        with open(path, "rb") as handle:
            data = handle.read(KEY_BYTES + 1)
        if len(data) == KEY_BYTES:
            return data
    # first use (or a damaged key): make one; O_EXCL so two processes starting at once agree on one key
    with contextlib.suppress(OSError):
        os.makedirs(directory, mode=0o700, exist_ok=True)
        temp = f"{path}.{os.getpid()}.tmp"
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_bytes(KEY_BYTES))
        try:
            os.link(temp, path)  # fails if another process made the key meanwhile: theirs wins
        except FileExistsError:
            with contextlib.suppress(OSError):
                if os.path.getsize(path) != KEY_BYTES:  # a damaged key: replace it
                    os.replace(temp, path)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(temp)
        with open(path, "rb") as handle:
            data = handle.read(KEY_BYTES + 1)
        if len(data) == KEY_BYTES:
            return data
    return None  # no writable cache directory: nothing can be signed, so nothing cached is trusted


def machine_key() -> bytes | None:
    """This user's key (None when the cache directory cannot hold one: then caches are not used)."""
    return _key(user_cache_dir())


def sign(data: bytes, key: bytes) -> bytes:
    return hashlib.blake2b(data, key=key, digest_size=MAC_BYTES).digest()


def verify(data: bytes, mac: bytes, key: bytes) -> bool:
    return hmac.compare_digest(sign(data, key), mac)
