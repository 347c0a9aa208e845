"""Progress of a scan counted per finished file, whatever process scanned it and however work was split.

A worker notes each file it finishes (`FilesDone.note`); the parent, while it waits for the workers,
reads how many have finished since it last looked (`FilesDone.take`). The count travels through a pipe
made before the workers are forked, one byte per file (writes of one byte are atomic), so it does not
depend on chunks or on when a worker hands its results back: a 100-file package scanned in one chunk
shows each file as it finishes instead of `0/?` until the whole chunk is done.
"""

from __future__ import annotations

import os


class FilesDone:
    """A count of finished files shared by a parent and its forked workers."""

    def __init__(self) -> None:
        self._read, self._write = os.pipe()
        os.set_blocking(self._read, False)
        # a full pipe (a parent not reading) drops counts instead of stalling a worker
        os.set_blocking(self._write, False)

    def note(self) -> None:
        """One file finished (called in any process forked after this object was made)."""
        try:
            os.write(self._write, b".")
        except OSError:
            pass  # progress is a display: never fail or stall a scan over it

    def take(self) -> int:
        """How many files finished since the last call (never blocks)."""
        count = 0
        while True:
            try:
                chunk = os.read(self._read, 65536)
            except BlockingIOError:
                return count
            if not chunk:
                return count
            count += len(chunk)

    def close(self) -> None:
        for fd in (self._read, self._write):
            try:
                os.close(fd)
            except OSError:
                pass
