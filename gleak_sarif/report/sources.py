"""Byte positions (tree-sitter, go/token) to SARIF positions (UTF-16 code units), per source file.

The model keeps 1-based *byte* columns. SARIF has no byte column unit: GitHub reads columns as UTF-16 code
units (`run.columnKind: utf16CodeUnits`), so every column is converted by decoding the line prefix. Files
that cannot be read (deleted since the scan, permissions) fall back to the byte column, which is exact for
ASCII lines.
"""

from __future__ import annotations

import os
from bisect import bisect_right
from itertools import accumulate


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units (characters above U+FFFF count twice)."""
    return len(text.encode("utf-16-le", errors="surrogatepass")) // 2


def byte_col_to_utf16(line: bytes, byte_col: int) -> int:
    """Convert a 1-based byte column within ``line`` to a 1-based UTF-16 column.

    Invalid UTF-8 counts one code unit per replacement character, as a UTF-8 reader (GitHub's) would show it.
    A column past the end of the line is extended by the extra bytes (an end column may point one past the
    last character).
    """
    if byte_col <= 1:
        return 1
    if line.isascii():
        return byte_col  # one byte, one code unit (also past the end of the line)
    cut = byte_col - 1
    extra = max(0, cut - len(line))
    prefix = line[:cut].decode("utf-8", errors="replace")
    return utf16_len(prefix) + extra + 1


class SourceFile:
    """The bytes of one file and the offsets where its lines start."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        # go/token and tree-sitter both count lines by '\n' only. (accumulate runs in C: a Python loop over
        # every line of every file with a finding was ~0.3 s of a GOROOT/src SARIF report)
        self.line_starts = list(accumulate((len(line) + 1 for line in data.split(b"\n")[:-1]), initial=0))
        self._text: str | None = None

    @property
    def line_count(self) -> int:
        return len(self.line_starts)

    def line(self, line_no: int) -> bytes:
        """The bytes of 1-based line ``line_no`` without its line terminator ('' when out of range)."""
        if line_no < 1 or line_no > len(self.line_starts):
            return b""
        start = self.line_starts[line_no - 1]
        end = self.line_starts[line_no] - 1 if line_no < len(self.line_starts) else len(self.data)
        raw = self.data[start:end]
        return raw[:-1] if raw.endswith(b"\r") else raw

    def utf16_column(self, line_no: int, byte_col: int) -> int:
        return byte_col_to_utf16(self.line(line_no), byte_col)

    def line_end_utf16(self, line_no: int) -> int:
        """The exclusive UTF-16 end column of a whole line (one past its last character)."""
        return utf16_len(self.line(line_no).decode("utf-8", errors="replace")) + 1

    def offset_to_position(self, offset: int) -> tuple[int, int]:
        """0-based byte offset to (1-based line, 1-based UTF-16 column)."""
        offset = max(0, min(offset, len(self.data)))
        idx = bisect_right(self.line_starts, offset) - 1
        line_no = idx + 1
        byte_col = offset - self.line_starts[idx] + 1
        return line_no, self.utf16_column(line_no, byte_col)

    @property
    def text(self) -> str:
        """The whole file decoded as UTF-8 (invalid bytes replaced), for hashing."""
        if self._text is None:
            self._text = self.data.decode("utf-8", errors="replace")
        return self._text


class SourceCache:
    """Reads each file at most once per report."""

    def __init__(self) -> None:
        self._files: dict[str, SourceFile | None] = {}

    def get(self, path: str) -> SourceFile | None:
        key = os.path.abspath(path)
        if key not in self._files:
            try:
                with open(key, "rb") as fh:
                    self._files[key] = SourceFile(fh.read())
            except (OSError, ValueError):  # ValueError: a NUL byte in a path taken from a dump
                self._files[key] = None
        return self._files[key]

    def put(self, path: str, data: bytes) -> None:
        """Register content for a path (tests, or a caller that already holds the bytes)."""
        self._files[os.path.abspath(path)] = SourceFile(data)
