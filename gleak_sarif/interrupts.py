"""Ctrl-C at any moment of a command: exit 130, "interrupted", no traceback (README "Exit codes").

Python raises KeyboardInterrupt wherever the main thread is when SIGINT arrives. Under load, where a scan's
start-up takes seconds, Ctrl-C there ended otherwise: in an import before the CLI's handlers exist (a
traceback, death by SIGINT); in tree-sitter's `Query()`, which compiles each `#match?` regex by calling
Python and reports the KeyboardInterrupt as `QueryError: ... regular expression error`, or in pydantic-core
building a model's validator during a lazy import (`SchemaError`): internal errors, exit 3; inside code that
exec() runs from a string (dataclasses' methods), which CPython then treats as unhandled and ends the process
by SIGINT after the CLI printed "interrupted"; and inside an at-fork callback (logging's) while the worker
pool forks, where CPython ignores exceptions: lost, the scan went on (exit 1, the report replaced). So:

- the CLI's own imports run with Ctrl-C *held* (recorded, raised once `watch()` is called in the CLI's
  `try`), and so do every query compilation (`held()`, gosource.compile_query) and the forks of the
  worker pool (engine/scan.py);
- from `watch()` on, Ctrl-C raises KeyboardInterrupt as usual and is remembered: the CLI reports an error
  that follows it as the interruption it is (`interrupted()`), the engine stops once its workers are
  started if one was lost (`check()`), and `handled()` clears CPython's mark before the CLI exits 130.

Before Python runs any of this (the interpreter's own start-up) nothing can be done: a Ctrl-C there exits 1
("Could not import runpy module") or dies by SIGINT.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any, ClassVar


class _State:
    held: ClassVar[list[int]] = []  # SIGINTs that arrived while held, not raised yet
    interrupted = False  # a SIGINT arrived since watch()


def _hold(signum: int, frame: FrameType | None) -> None:
    _State.held.append(signum)


def _raise(signum: int, frame: FrameType | None) -> None:
    _State.interrupted = True
    raise KeyboardInterrupt


def _holdable() -> Any:
    """The current SIGINT handler when it is Python's own or ours (an embedding program's handler, or an
    ignored SIGINT, is left alone), and this is the main thread (where handlers are set and run); else None."""
    if threading.current_thread() is not threading.main_thread():
        return None
    handler = signal.getsignal(signal.SIGINT)
    return handler if handler in (signal.default_int_handler, _raise) else None


def hold() -> None:
    """From here until watch(), Ctrl-C is recorded instead of raised (the CLI's imports)."""
    if _holdable() is not None:
        signal.signal(signal.SIGINT, _hold)


def watch() -> None:
    """Ctrl-C raises KeyboardInterrupt and is remembered from here on; one held meanwhile is raised now."""
    _State.interrupted = False
    if signal.getsignal(signal.SIGINT) is _hold or _holdable() is not None:
        signal.signal(signal.SIGINT, _raise)
    if _State.held:
        _State.held.clear()
        _raise(signal.SIGINT, None)


def unwatch() -> None:
    """Back to Python's own Ctrl-C handler (the CLI's `finally`: a test may call the CLI in process)."""
    if signal.getsignal(signal.SIGINT) in (_raise, _hold):
        signal.signal(signal.SIGINT, signal.default_int_handler)
    _State.held.clear()
    _State.interrupted = False


def interrupted() -> bool:
    """Did Ctrl-C arrive since watch()?"""
    return _State.interrupted


def check() -> None:
    """Raise KeyboardInterrupt if a Ctrl-C came and was lost (swallowed where CPython ignores exceptions: a
    `__del__`, a weakref or at-fork callback): the engine asks once its workers run."""
    if _State.interrupted:
        raise KeyboardInterrupt


def handled() -> None:
    """Call before exiting 130: CPython marks a KeyboardInterrupt raised inside code that exec() or eval()
    runs from a string (dataclasses make their methods so, during the engine's lazy imports) as unhandled,
    and then ends the process by SIGINT (-2) even though the CLI caught it. A string exec that completes
    clears the mark (CPython's run_eval_code_obj resets it first)."""
    exec("None")


@contextlib.contextmanager
def held() -> Iterator[None]:
    """Ctrl-C waits for the end of the block, then raises there. Where Ctrl-C is not Python's or ours, in
    another thread, or inside another held block, the block runs as it is."""
    previous = _holdable()
    if previous is None:
        yield
        return
    signal.signal(signal.SIGINT, _hold)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if _State.held:
            _State.held.clear()
            previous(signal.SIGINT, None)  # raises KeyboardInterrupt (and remembers it, when ours)
