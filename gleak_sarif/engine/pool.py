"""The worker processes of a parallel scan: forked from the parent, fed one chunk at a time, and replaced by a
fresh fork when a chunk left one holding more memory than `WORKER_MEMORY_BUDGET`.

Why not `concurrent.futures.ProcessPoolExecutor`: a worker's resident memory only grows. The allocators keep
what a heavy folder freed (pymalloc's part-used arenas, glibc's heap: `malloc_trim` gave nothing back), so a
GOROOT/src worker arrived at `runtime/` already holding ~450 MB from the ~5,000 files before it, and the two
workers' high-water marks together set the scan's peak (~1.0 GB at `-j2`, issue 20's bar; docs/performance.md
"Memory"). The executor cannot replace one worker with the fork start method (`max_tasks_per_child` refuses
it, since it would fork from a thread) and cannot replace a worker by its memory at all. Here the parent forks
every worker itself, from the main thread; each worker sends a chunk's results with its resident memory, and
one over the budget is ended (unless a waiting chunk shares a folder with the chunk it finished: `Pool.run`)
and the next chunk goes to a fresh fork of the parent, which holds only the compiled rules. What a fresh worker
loses is its caches (other folders' package models: chunks are mostly whole folders).

A worker that dies (a crash in native code, `os._exit`) costs only its chunk: the others go on, and the caller
scans that chunk's files again one per process to name the culprit (engine/scan.py).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any, Generic, TypeVar

from gleak_sarif import interrupts

T = TypeVar("T")

# Resident memory a worker may keep between chunks. GOROOT/src at -j2 (default rules): a worker's memory climbs
# chunk after chunk to ~270 MB, then the chunks of `cmd/compile/internal/ssa` (2-4 MB generated files: a
# tree costs ~36x its source) took both workers past 400 MB at once (898 MB with the parent at a 320 MB
# budget); a fresh worker takes one of `runtime/`'s two chunks (290 files) to ~260 MB.
WORKER_MEMORY_BUDGET = 256 * 1024 * 1024


def resident_bytes() -> int:
    """This process's resident memory now (Linux /proc), or its high-water mark where there is no /proc."""
    try:
        with open("/proc/self/statm", "rb") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        import resource
        import sys

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024  # bytes on macOS, KiB elsewhere


class WorkerError(Exception):
    """A chunk raised in its worker (a bug, not bad input: the scan fails as it would in one process)."""


@dataclass(eq=False)
class _Worker:
    process: Any  # multiprocessing's fork Process
    conn: Connection
    chunk: int = -1  # the index of the chunk it is running (or ran last)


def _serve(conn: Connection, task: Callable[[Any], Any]) -> None:
    """A worker's loop: run each chunk the parent sends and send back its result with this process's resident
    memory (the parent decides whether this worker goes on); None ends it."""
    try:
        while True:
            chunk = conn.recv()
            if chunk is None:
                return
            try:
                result = task(chunk)
            except Exception:  # a bug: the parent raises it, with the worker's traceback
                import traceback

                conn.send(("error", traceback.format_exc()))
                return
            conn.send(("done", result, resident_bytes()))
    except (KeyboardInterrupt, EOFError, BrokenPipeError):
        return  # Ctrl-C to the process group, or the parent gone: the parent reports it, quietly here


class Pool(Generic[T]):
    """Run ``task`` on chunks in up to ``jobs`` forked workers. `run` returns each chunk's result by index and
    the indexes of the chunks whose worker died. Workers inherit the parent's state at the fork (the scan's
    context: nothing is pickled but the chunks and the results). Leaving the ``with`` block by an exception
    (Ctrl-C, SIGTERM made an exception by the CLI) kills the workers at once."""

    def __init__(self, jobs: int, task: Callable[[Any], T], budget: int | None = None) -> None:
        self.jobs = jobs
        self.task = task
        self.budget = WORKER_MEMORY_BUDGET if budget is None else budget
        self.recycled = 0  # workers ended for their memory and replaced by a fresh fork
        self._workers: list[_Worker] = []
        self._context = multiprocessing.get_context("fork")

    def __enter__(self) -> Pool[T]:
        return self

    def __exit__(self, kind: object, value: object, traceback: object) -> None:
        if kind is None:
            for worker in self._workers:
                with contextlib.suppress(OSError):
                    worker.conn.send(None)
        else:
            for worker in self._workers:
                with contextlib.suppress(Exception):
                    worker.process.terminate()
        for worker in self._workers:
            worker.process.join()
            worker.conn.close()
        self._workers = []

    def _fork(self) -> _Worker:
        mine, theirs = self._context.Pipe(duplex=True)
        process = self._context.Process(target=_serve, args=(theirs, self.task), daemon=True)
        # a Ctrl-C raised in an at-fork callback (logging's) is ignored by CPython and the scan went on: held
        # over the fork and raised after it (interrupts.py)
        with interrupts.held():
            process.start()
        theirs.close()  # the worker's end lives in the worker only: its death reads as EOF here
        worker = _Worker(process, mine)
        self._workers.append(worker)
        return worker

    def _retire(self, worker: _Worker, stop: bool = False) -> None:
        if stop:
            with contextlib.suppress(OSError):
                worker.conn.send(None)
        worker.process.join()
        worker.conn.close()
        self._workers.remove(worker)

    def run(self, chunks: Sequence[list[str]]) -> tuple[dict[int, T], list[int]]:
        """``chunks``: lists of file paths, taken in order. A worker over the memory budget after a chunk
        goes on only with a waiting chunk that shares a folder with the one it finished (taken out of turn:
        its package caches serve that chunk; on nats-server, one package cut into 15 chunks, a fresh worker
        would build the package's model again for each); otherwise it ends and a fresh fork takes the next
        chunk. Results are by chunk index, so the order of work does not change the output."""
        results: dict[int, T] = {}
        died: list[int] = []
        pending = deque(range(len(chunks)))
        busy: dict[Connection, _Worker] = {}
        folders = [{os.path.dirname(path) for path in chunk} for chunk in chunks]

        def give(worker: _Worker) -> None:
            worker.chunk = pending.popleft()
            worker.conn.send(chunks[worker.chunk])
            busy[worker.conn] = worker

        for _ in range(min(self.jobs, len(chunks))):
            give(self._fork())
        interrupts.check()  # the start-up is over: a Ctrl-C held over a fork stops the scan here
        while busy:
            for conn in _ready(list(busy)):
                worker = busy.pop(conn)
                try:
                    message = conn.recv()
                except (EOFError, OSError):  # the worker died in this chunk
                    died.append(worker.chunk)
                    self._retire(worker)
                    if pending:
                        give(self._fork())
                    continue
                if message[0] == "error":
                    raise WorkerError(f"a scan worker failed:\n{message[1]}")
                results[worker.chunk] = message[1]
                if not pending:
                    continue
                if message[2] > self.budget:
                    # a chunk of a folder it has just read, if one waits; else a fresh worker
                    same = next((i for i in pending if folders[worker.chunk] & folders[i]), None)
                    if same is not None:
                        pending.remove(same)
                        pending.appendleft(same)
                    else:
                        self.recycled += 1
                        self._retire(worker, stop=True)
                        worker = self._fork()
                give(worker)
        return results, died


def _ready(conns: list[Connection]) -> Iterator[Connection]:
    ready = wait(conns)
    yield from (conn for conn in conns if conn in ready)
