"""GitHub's `primaryLocationLineHash`, computed while a file's bytes are at hand (the scanner sets it on
each finding; the SARIF writer computes it for findings without one).

It is what GitHub's upload action computes when a result has none (codeql-action's `fingerprints.ts`). We
compute it ourselves so that API uploads (which skip that step) and `upload-sarif` agree. Algorithm, as
facts: for every line, a rolling polynomial hash (multiplier 37, arithmetic wrapping at 64 bits) over the
next 100 characters that are not a space or a tab, starting at that line's first character and running on
into the following lines; line endings CR, LF and CRLF all count as one LF; after the last character comes a
sentinel 65535, then zeros. Characters are UTF-16 code units of the file decoded as UTF-8. The value is the
unsigned hash in lower-case hex without leading zeros, then `:n` where n is how many times that hash value
has been output so far in the file (1-based).
"""

from __future__ import annotations

import re
import struct
from bisect import bisect_left
from collections.abc import Sequence
from itertools import accumulate
from typing import Protocol

from gleak_sarif.model import Finding


class Decoded(Protocol):
    """A source file as the line hash reads it (report/sources.SourceFile)."""

    @property
    def text(self) -> str: ...


_BLOCK = 100
_MOD = 37
_MASK = (1 << 64) - 1
_EOF = 65535
# Many lines at once with big integers instead of a Python loop over every character: the windows of the
# lines are cut from the unit stream (one slice per line), and for each of the 100 positions k the k-th
# units of all windows are packed into one integer, one slot per line, and added in times 37**(99-k) mod
# 2**64. A slot sums 100 products below 2**16 * 2**64 (2**8 * 2**64 for one-byte units), so it stays
# below 2**87 (2**79) and never carries into its neighbour; its low 64 bits are the line's hash.
# tests/test_fingerprint_fast.py checks it against GitHub's per-character loop.
_WEIGHTS = [pow(_MOD, _BLOCK - 1 - k, 1 << 64) for k in range(_BLOCK)]
_SLOT = {1: 10, 2: 11}  # bytes per slot, by bytes per unit
_SLOT_HASH = {1: struct.Struct(">2xQ"), 2: struct.Struct(">3xQ")}  # a slot's low 64 bits
_MIN_BATCH = 256  # lines hashed at least per batch (LineHashCache)
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


def _window_values(units: bytes, width: int, starts: list[int]) -> list[int]:
    """sum(unit[a + k] * 37**(99 - k) for k < 100) mod 2**64 for every start a (``units`` zero-padded)."""
    span = width * _BLOCK
    slot = _SLOT[width]
    windows = b"".join([units[width * a : width * a + span] for a in starts])
    packed = bytearray(slot * len(starts))
    total = 0
    for k, weight in enumerate(_WEIGHTS):
        if width == 1:
            packed[slot - 1 :: slot] = windows[k::span]
        else:
            packed[slot - 2 :: slot] = windows[2 * k :: span]  # high byte of unit k of every window
            packed[slot - 1 :: slot] = windows[2 * k + 1 :: span]
        total += int.from_bytes(packed, "big") * weight
    return [v for (v,) in _SLOT_HASH[width].iter_unpack(total.to_bytes(slot * len(starts), "big"))]


class _LineHasher:
    """GitHub's line hashes of one text, computed on demand up to the last line asked for.

    The hashed stream: GitHub's loop drops spaces and tabs and reads CR LF, CR and LF alike as one LF (an
    LF right after a CR is skipped; a space between them ends the pair, hence CR LF first), then comes the
    sentinel 65535, then zeros. A line starts at the first unit after an LF (the file at unit 0), which
    may be the next LF or the sentinel; its hash is that of the 100 units from there (the value GitHub's
    rolling hash holds when it outputs the line). `:n` counts equal hashes among the lines up to this one,
    so lines are hashed in order, but never past the last one asked for.
    """

    def __init__(self, text: str) -> None:
        stream = text.replace("\r\n", "\n").replace("\r", "\n").replace(" ", "").replace("\t", "")
        try:
            units, self._width = stream.encode("latin-1"), 1
        except UnicodeEncodeError:  # UTF-16 code units; lone surrogates as JavaScript sees them
            units, self._width = stream.encode("utf-16-be", errors="surrogatepass"), 2
        self._end = len(units) // self._width  # the sentinel's unit (added per line: see upto)
        self._units = units + bytes(self._width * _BLOCK)
        # a character above U+FFFF is two units: string positions after it shift by one
        astral = self._width == 2 and len(units) != 2 * len(stream)
        self._astral = [m.start() for m in _ASTRAL.finditer(stream)] if astral else []
        # string position where each line starts: after each LF
        self._starts = list(accumulate((len(part) + 1 for part in stream.split("\n")[:-1]), initial=0))
        self._counts: dict[int, int] = {}
        self.hashes: list[str] = []

    @property
    def line_count(self) -> int:
        return len(self._starts)

    def upto(self, line: int) -> list[str]:
        """Hash the lines up to 1-based ``line`` (or all there are); returns every hash so far."""
        starts = self._starts[len(self.hashes) : max(line, 0)]
        if not starts:
            return self.hashes
        if self._astral:
            starts = [a + bisect_left(self._astral, a) for a in starts]
        counts, out, end = self._counts, self.hashes, self._end
        for a, value in zip(starts, _window_values(self._units, self._width, starts), strict=True):
            if end - a < _BLOCK:  # the sentinel falls in this line's window
                value = (value + _EOF * _WEIGHTS[end - a]) & _MASK
            n = counts[value] = counts.get(value, 0) + 1
            out.append(f"{value:x}:{n}")
        return out


def line_hashes(text: str) -> list[str]:
    """GitHub's rolling line hash for every line of ``text``; element i is for line i + 1.

    The value is the unsigned 64-bit hash in hex, then `:n`, how many lines up to this one have that hash.
    """
    hasher = _LineHasher(text)
    return hasher.upto(hasher.line_count)


def set_line_hashes(data: bytes, findings: Sequence[Finding]) -> None:
    """Give each finding placed in the file whose bytes are ``data`` its primary line's hash (see
    Finding.line_hash)."""
    if not findings:
        return
    hasher = _LineHasher(data.decode("utf-8", errors="replace"))
    hashes = hasher.upto(max(f.primary.start_line for f in findings))
    for finding in findings:
        line = finding.primary.start_line
        finding.line_hash = hashes[line - 1] if 1 <= line <= len(hashes) else None


def primary_location_line_hash(source: Decoded, line: int) -> str | None:
    """The `primaryLocationLineHash` of 1-based ``line`` in ``source`` (None when out of range)."""
    return LineHashCache().get(source, line)


class LineHashCache:
    """Hashes each file once, and only up to the last line asked for.

    Holds the hashers of the few files asked for last (findings come sorted by path): a hasher keeps its
    file's unit stream, and a run with findings in hundreds of files would otherwise keep all of them.
    A file asked for again after that is hashed again, with the same result.
    """

    _KEEP = 8

    def __init__(self) -> None:
        self._by_id: dict[int, tuple[Decoded, _LineHasher]] = {}

    def get(self, source: Decoded, line: int) -> str | None:
        entry = self._by_id.pop(id(source), None)
        if entry is None or entry[0] is not source:
            entry = (source, _LineHasher(source.text))
            while len(self._by_id) >= self._KEEP:
                del self._by_id[next(iter(self._by_id))]
        self._by_id[id(source)] = entry  # most recent last
        if line < 1:
            return None
        hasher = entry[1]
        hashes = hasher.hashes
        if line > len(hashes):
            # Findings come in line order: doubling keeps the batches few (each costs 100 big-int steps)
            # while hashing at most twice the lines up to the last finding.
            hashes = hasher.upto(max(line, 2 * len(hashes), _MIN_BATCH))
        return hashes[line - 1] if line <= len(hashes) else None
