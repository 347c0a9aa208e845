"""primaryLocationLineHash against the published vectors of GitHub's upload action, and gleakFingerprint/v1."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sarifkit import LEAK_GO, GoFile, gl201_finding, gl502_finding

from gleak_sarif.linehash import line_hashes, primary_location_line_hash
from gleak_sarif.report.fingerprint import enclosing_declaration, gleak_fingerprints, strip_line_comment
from gleak_sarif.report.sources import SourceCache, SourceFile

# The expected values published in github/codeql-action src/fingerprints.test.ts (facts, not code).
GREETINGS = [
    "e9496ae3ebfced30:1",
    "fb7c023a8b9ccb3f:1",
    "ce8ba1a563dcdaca:1",
    "e20e36e16fcb0cc8:1",
    "b3edc88f2938467e:1",
    "c8e28b0b4002a3a0:1",
    "c129715d7a2bc9a3:1",
]
GITHUB_VECTORS = [
    ("", ["c129715d7a2bc9a3:1"]),
    (
        " a\nb\n  \t\tc\n d",
        ["271789c17abda88f:1", "54703d4cd895b18:1", "180aee12dab6264:1", "a23a3dc5e078b07b:1"],
    ),
    (
        " hello; \t\nworld!!!\n\n\n  \t\tGreetings\n End",
        [
            "8b7cf3e952e7aeb2:1",
            "b1ae1287ec4718d9:1",
            "bff680108adb0fcc:1",
            "c6805c5e1288b612:1",
            "b86d3392aea1be30:1",
            "e6ceba753e1a442:1",
        ],
    ),
    (" hello; \t\nworld!!!\n\n\n  \t\tGreetings\n End\n", GREETINGS),
    (" hello; \t\nworld!!!\r\r\r  \t\tGreetings\r End\r", GREETINGS),
    (" hello; \t\r\nworld!!!\r\n\r\n\r\n  \t\tGreetings\r\n End\r\n", GREETINGS),
    (" hello; \t\nworld!!!\r\n\n\r  \t\tGreetings\r End\r\n", GREETINGS),
    (
        "Lorem ipsum dolor sit amet.\n" * 10,
        [
            "a7f2ff13bc495cf2:1",
            "a7f2ff13bc495cf2:2",
            "a7f2ff13bc495cf2:3",
            "a7f2ff13bc495cf2:4",
            "a7f2ff13bc495cf2:5",
            "a7f2ff13bc495cf2:6",
            "a7f2ff1481e87703:1",
            "a9cf91f7bbf1862b:1",
            "55ec222b86bcae53:1",
            "cc97dc7b1d7d8f7b:1",
            "c129715d7a2bc9a3:1",
        ],
    ),
]


@pytest.mark.parametrize(("text", "expected"), GITHUB_VECTORS)
def test_line_hash_matches_github_vectors(text: str, expected: list[str]) -> None:
    assert line_hashes(text) == expected


@given(st.text(alphabet=st.sampled_from(list("ab \t\r\né😀{}")), max_size=300))
def test_one_hash_per_line_like_github(text: str) -> None:
    # GitHub's test asserts one callback per element of text.split(/\r\n|\r|\n/).
    import re

    assert len(line_hashes(text)) == len(re.split(r"\r\n|\r|\n", text))


def test_primary_location_line_hash_reads_bytes_as_utf8() -> None:
    src = SourceFile(b" hello; \t\nworld!!!\n\n\n  \t\tGreetings\n End\n")
    assert primary_location_line_hash(src, 5) == "b3edc88f2938467e:1"
    assert primary_location_line_hash(src, 99) is None
    # Astral characters hash as two UTF-16 code units, as JavaScript's charCodeAt sees them.
    emoji = SourceFile("x😀\n".encode())
    assert primary_location_line_hash(emoji, 1) == line_hashes("x\ud83d\ude00\n")[0]


def test_strip_line_comment_respects_literals() -> None:
    assert strip_line_comment("go f() //nolint:gleak") == "go f() "
    assert strip_line_comment('u := "http://x" // c') == 'u := "http://x" '
    assert strip_line_comment("r := '/' // c") == "r := '/' "
    assert strip_line_comment("s := `a // b` // c") == "s := `a // b` "
    assert strip_line_comment('s := "a\\"//" + b') == 's := "a\\"//" + b'


def test_enclosing_declaration() -> None:
    src = SourceFile(LEAK_GO.encode())
    go_line = LEAK_GO.splitlines().index('\tlabel := "café 😀"; go func() { ch <- slow(q + label) }()') + 1
    assert enclosing_declaration(src, go_line) == "func Fetch(ctx context.Context, q string) (string, error)"
    assert enclosing_declaration(src, 1) == "package leaky"


def _prints(tmp_path: Path, text: str, name: str = "fetch.go") -> list[str]:
    go = GoFile(tmp_path / name, text)
    findings = [gl201_finding(go), gl502_finding(go)]
    return gleak_fingerprints(findings, str(tmp_path), SourceCache())


def test_gleak_fingerprint_survives_line_shifts_and_reindent(tmp_path: Path) -> None:
    before = _prints(tmp_path / "a", LEAK_GO)
    shifted = LEAK_GO.replace("import (", "// Added a comment.\n\n// And another.\nimport (")
    assert _prints(tmp_path / "b", shifted) == before
    reindented = LEAK_GO.replace('\tlabel := "café 😀"; go func()', '\t\t  label :=  "café 😀";  go func()')
    assert _prints(tmp_path / "c", reindented) == before
    # Adding a suppression comment to the line keeps the identity (the baseline sees "unchanged").
    commented = LEAK_GO.replace("slow(q + label) }()", "slow(q + label) }() //gleak:ignore GL201 ok")
    assert _prints(tmp_path / "d", commented)[0] == before[0]


def test_gleak_fingerprint_changes_with_the_code_the_function_or_the_file(tmp_path: Path) -> None:
    before = _prints(tmp_path / "a", LEAK_GO)
    assert _prints(tmp_path / "b", LEAK_GO.replace("slow(q + label)", "slow(label)"))[0] != before[0]
    assert _prints(tmp_path / "c", LEAK_GO.replace("func Fetch(", "func FetchAll("))[0] != before[0]
    assert _prints(tmp_path / "d", LEAK_GO, name="other.go")[0] != before[0]
    assert before[0] != before[1]


def test_identical_findings_get_occurrence_numbers_in_report_order(tmp_path: Path) -> None:
    text = LEAK_GO.replace(
        '\tlabel := "café 😀"; go func() { ch <- slow(q + label) }()',
        '\tlabel := "café 😀"; go func() { ch <- slow(q + label) }()\n'
        '\tlabel := "café 😀"; go func() { ch <- slow(q + label) }()',
    )
    go = GoFile(tmp_path / "x.go", text)
    first = gl201_finding(go)
    second = first.model_copy(update={"primary": go.span("go func()", nth=2, to_eol=True)})
    prints = gleak_fingerprints([second, first], str(tmp_path))
    assert prints[1].endswith(":1") and prints[0].endswith(":2")
    assert prints[0].split(":")[0] == prints[1].split(":")[0]


@given(st.text(max_size=40), st.text(max_size=10))
def test_utf16_columns_match_python_utf16(prefix: str, rest: str) -> None:
    from gleak_sarif.report.sources import byte_col_to_utf16

    line = (prefix + rest).replace("\n", " ").replace("\r", " ")
    cut = len(prefix.replace("\n", " ").replace("\r", " ").encode())
    assert (
        byte_col_to_utf16(line.encode(), cut + 1)
        == len(line.encode()[:cut].decode().encode("utf-16-le")) // 2 + 1
    )
