"""Progress of a scan counted per finished file, whatever process scanned it and however work was split.

A worker notes each file it finishes (`FilesDone.note`); in the parent, a `Watcher` thread reads how
many have finished (`FilesDone.take`) and calls the progress callback. The count travels through a pipe
made before the workers are forked, one byte per file (writes of one byte are atomic), so it does not
depend on chunks or on when a worker hands its results back: a 100-file package scanned in one chunk
shows each file as it finishes instead of `0/?` until the whole chunk is done.

The watcher is a thread so that the main thread waits for the pool exactly as it would without a
display: Ctrl-C (delivered to the main thread only) then interrupts one blocking wait, as before, and
never lands in the middle of a polling loop's lock handling.
"""

from __future__ import annotations

import os
import select
import threading
from collections.abc import Callable


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

    def fileno(self) -> int:
        """The read end, readable when a file has finished (for select)."""
        return self._read

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


class Watcher:
    """Calls ``progress(done, total)`` from a background thread as workers note finished files."""

    def __init__(self, counter: FilesDone, progress: Callable[[int, int], None], total: int,
                 interval: float = 0.2) -> None:
        self._counter = counter
        self._progress = progress
        self._total = total
        self._interval = interval
        self._stop = threading.Event()
        self.done = 0
        self._thread = threading.Thread(target=self._run, name="gleak-progress", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                select.select([self._counter], [], [], self._interval)
            except (OSError, ValueError):
                return  # the pipe was closed under us: the scan is over
            self._report()

    def _report(self) -> None:
        finished = self._counter.take()
        if finished:
            self.done = min(self.done + finished, self._total)
            self._progress(self.done, self._total)

    def stop(self) -> None:
        """Stop the thread (before the counter is closed) and report what finished meanwhile."""
        self._stop.set()
        self._thread.join()
        self._report()
