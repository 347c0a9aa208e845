"""The batched line hash (report/fingerprint.py) against a per-character oracle of GitHub's algorithm.

`reference_line_hashes` below is the algorithm as codeql-action's fingerprints.ts states it, one character
at a time (this project's first implementation, kept here as the oracle). The fast version must agree on
every text: CR/LF mixes, spaces and tabs, Latin-1, BMP and astral characters, lone surrogates, long files,
lines near the end (the sentinel), and when only a prefix of the lines is hashed on demand.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from gleak_sarif.linehash import LineHashCache, line_hashes
from gleak_sarif.report.fingerprint import enclosing_declaration, strip_line_comment
from gleak_sarif.report.sources import SourceFile

REPO = Path(__file__).resolve().parent.parent

_BLOCK, _MOD, _MASK = 100, 37, (1 << 64) - 1
_FIRST_MOD = pow(_MOD, _BLOCK, 1 << 64)
_EOF, _TAB, _SPACE, _LF, _CR = 65535, 9, 32, 10, 13


def _utf16_units(text: str) -> Iterator[int]:
    for ch in text:
        cp = ord(ch)
        if cp > 0xFFFF:
            cp -= 0x10000
            yield 0xD800 + (cp >> 10)
            yield 0xDC00 + (cp & 0x3FF)
        else:
            yield cp


def reference_line_hashes(text: str) -> list[str]:
    """GitHub's rolling hash, one UTF-16 unit at a time."""
    window = [0] * _BLOCK
    line_numbers = [-1] * _BLOCK
    out: dict[int, str] = {}
    counts: dict[int, int] = {}
    hash_raw = index = line_number = 0
    line_start, prev_cr = True, False

    def output() -> None:
        counts[hash_raw] = counts.get(hash_raw, 0) + 1
        out[line_numbers[index]] = f"{hash_raw:x}:{counts[hash_raw]}"
        line_numbers[index] = -1

    def process(current: int) -> None:
        nonlocal hash_raw, index, line_number, line_start, prev_cr
        if current in (_SPACE, _TAB) or (prev_cr and current == _LF):
            prev_cr = False
            return
        prev_cr = current == _CR
        if prev_cr:
            current = _LF
        if line_numbers[index] != -1:
            output()
        if line_start:
            line_start = False
            line_number += 1
            line_numbers[index] = line_number
        if current == _LF:
            line_start = True
        begin = window[index]
        window[index] = current
        hash_raw = (_MOD * hash_raw + current - _FIRST_MOD * begin) & _MASK
        index = (index + 1) % _BLOCK

    for unit in _utf16_units(text):
        process(unit)
    process(_EOF)
    for _ in range(_BLOCK):
        if line_numbers[index] != -1:
            output()
        begin = window[index]
        window[index] = 0
        hash_raw = (_MOD * hash_raw - _FIRST_MOD * begin) & _MASK
        index = (index + 1) % _BLOCK
    return [out[i] for i in range(1, line_number + 1)]


_CHARS = list("ab{}()x;:= \t\r\n\r\n") + ["é", "ÿ", "π", "→", "\ufeff", "😀", "\U0001d50a", "\ud83d", "\udc00"]


@settings(max_examples=300)
@given(st.text(alphabet=st.sampled_from(_CHARS), max_size=700))
def test_matches_the_per_character_algorithm(text: str) -> None:
    assert line_hashes(text) == reference_line_hashes(text)


@settings(max_examples=60)
@given(
    st.lists(st.sampled_from(["\tgo f(x)\n", "}\n", "\n", "  \r\n", "x := \"ü\"\r", "// 😀\n", "a" * 150 + "\n"]),
         max_size=400),
    st.lists(st.integers(min_value=-2, max_value=420), max_size=12),
)
def test_on_demand_prefixes_give_the_same_hashes(parts: list[str], lines: list[int]) -> None:
    text = "".join(parts)
    expected = reference_line_hashes(text)
    source = SourceFile(text.encode("utf-8", errors="surrogatepass"))
    cache = LineHashCache()
    for line in [*lines, *sorted(lines)]:  # out of order first, then in report order
        want = expected[line - 1] if 1 <= line <= len(expected) else None
        assert cache.get(source, line) == want


def test_repeated_windows_count_occurrences_across_batches() -> None:
    text = "Lorem ipsum dolor sit amet.\n" * 1000  # more lines than one on-demand batch
    expected = reference_line_hashes(text)
    assert expected[699] == "a7f2ff13bc495cf2:700"
    cache = LineHashCache()
    source = SourceFile(text.encode())
    assert [cache.get(source, n) for n in (3, 300, 700, 1001)] == [expected[n - 1] for n in (3, 300, 700, 1001)]


def test_real_go_files_and_declarations() -> None:
    paths = sorted((REPO / "fixtures").rglob("*.go"))[:40]
    assert paths
    for path in paths:
        data = path.read_bytes()
        text = data.decode("utf-8", errors="replace")
        assert line_hashes(text) == reference_line_hashes(text), path
        source = SourceFile(data)
        for line in range(1, source.line_count + 1):
            # the first line at or above `line` that starts with an ASCII letter, read the slow way
            header = next((source.line(n) for n in range(line, 0, -1) if source.line(n)[:1].isalpha()), b"")
            text_ = strip_line_comment(header.decode("utf-8", errors="replace"))
            assert enclosing_declaration(source, line) == " ".join(text_.split("{", 1)[0].split())


def test_a_file_asked_again_after_many_others_hashes_the_same() -> None:
    texts = [f"package p{i}\n\nfunc F() {{}}\n" * (i + 1) for i in range(12)]
    sources = [SourceFile(t.encode()) for t in texts]
    cache = LineHashCache()
    for _ in range(2):  # the second round finds most files evicted
        for text, source in zip(texts, sources, strict=True):
            expected = reference_line_hashes(text)
            assert [cache.get(source, n) for n in range(1, len(expected) + 2)] == [*expected, None]


def test_the_scanner_sets_the_hash_the_reference_gives() -> None:
    """Findings carry their line hash from the scan (Finding.line_hash): the SARIF writer trusts it."""
    from gleak_sarif.config import ScanOptions
    from gleak_sarif.engine import Engine

    result = Engine(ScanOptions(select=["ALL"], use_cache=False, jobs=1)).scan([str(REPO / "fixtures" / "GL201")])
    assert len(result.findings) > 3
    for finding in result.findings:
        text = Path(finding.primary.path).read_bytes().decode("utf-8", errors="replace")
        assert finding.line_hash == reference_line_hashes(text)[finding.primary.start_line - 1]
