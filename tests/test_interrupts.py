"""Ctrl-C held where it cannot be taken (gleak_sarif/interrupts.py): the CLI's imports and tree-sitter's query
compilation, which turned a KeyboardInterrupt into `QueryError: ... regular expression error` (exit 3)."""

from __future__ import annotations

import os
import signal
import threading
import time
import traceback
from collections.abc import Iterator

import pytest

from gleak_sarif import interrupts
from gleak_sarif.gosource import compile_query


@pytest.fixture(autouse=True)
def _python_handler() -> Iterator[None]:
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler, "the tests need Python's own handler"
    yield
    interrupts.unwatch()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_held_ctrl_c_is_raised_at_the_end_of_the_block() -> None:
    ran = []
    with pytest.raises(KeyboardInterrupt), interrupts.held():
        signal.raise_signal(signal.SIGINT)
        ran.append("the rest of the block")
    assert ran == ["the rest of the block"]


def test_a_block_without_ctrl_c_runs_as_usual() -> None:
    with interrupts.held():
        value = 1
    assert value == 1


def test_ctrl_c_during_start_up_is_raised_by_watch_and_remembered() -> None:
    interrupts.hold()  # console_script, before the CLI's imports
    signal.raise_signal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        interrupts.watch()  # the CLI's `try`
    assert interrupts.interrupted()
    interrupts.watch()
    assert not interrupts.interrupted()
    with pytest.raises(KeyboardInterrupt):
        signal.raise_signal(signal.SIGINT)  # after watch(): raised where it lands, and remembered
    assert interrupts.interrupted()


def test_ctrl_c_while_a_query_compiles_is_a_keyboard_interrupt_not_a_query_error() -> None:
    """tree-sitter calls Python to compile each #match? regex; a KeyboardInterrupt raised there came back as
    QueryError. A timer thread sends SIGINT 20 ms into a compile of about half a second; on a machine so
    loaded that the signal comes after the compile, the attempt is repeated (a QueryError fails at once)."""
    text = "\n".join(f'((identifier) @x{i} (#match? @x{i} "^(a|b)+{i}[a-z]*$"))' for i in range(3000))
    for _ in range(5):
        timer = threading.Timer(0.02, os.kill, (os.getpid(), signal.SIGINT))
        timer.start()
        try:
            compile_query(text)
            time.sleep(5)  # a late signal lands here
            pytest.fail("the SIGINT was lost")
        except KeyboardInterrupt as err:
            frames = [frame.name for frame in traceback.extract_tb(err.__traceback__)]
        finally:
            timer.join()
        if "held" in frames:  # raised where the held block ended, after the compile
            return
    pytest.fail("the SIGINT never arrived during the compile in 5 attempts")
