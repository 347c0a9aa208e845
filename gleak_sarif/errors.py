"""Errors that reach the user as a message (never as a traceback)."""

from __future__ import annotations


class GleakError(Exception):
    """Base class. ``exit_code`` is what the CLI exits with."""

    exit_code = 3


class ConfigError(GleakError):
    """A rule file, config file or command-line value is wrong. Exit code 2.

    The message names the file and line when there is one, and says how to fix it.
    """

    exit_code = 2

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None, hint: str = "") -> None:
        self.path = path
        self.line = line
        self.hint = hint
        self.bare_message = message
        where = f"{path}:{line}: " if path and line else (f"{path}: " if path else "")
        text = f"{where}{message}"
        if hint:
            text += f"\n  hint: {hint}"
        super().__init__(text)


class UsageError(ConfigError):
    """A command-line mistake (missing path, bad option value). Exit code 2."""
