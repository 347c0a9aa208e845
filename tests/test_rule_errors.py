"""A broken rule file is rejected with the file, the line and a hint (exit 2), never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import RULE_HEADER, write

GOOD_RULE = "rule:\n  pattern: f($X)\n"


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gleak_sarif", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=120)


def scan_with_rule(tmp_path: Path, text: str) -> subprocess.CompletedProcess[str]:
    rule = write(tmp_path / "bad.yml", text)
    src = write(tmp_path / "a.go", "package p\n\nfunc f(int) {}\n\nfunc g() { f(1) }\n")
    return run_cli("scan", "--no-builtin-rules", "--rules", str(rule), str(src))


CASES = [
    # (rule text, expected line, words the message must contain)
    (RULE_HEADER + "rule:\n  pattern: f($X\n", 8, ["not valid Go"]),
    (RULE_HEADER + "rule:\n  patern: f($X)\n", 8, ["unknown key", "patern", "did you mean 'pattern'"]),
    (RULE_HEADER + "rule:\n  query: '((call_expression) @c (#frobnicate? @c))'\n", 8,
     ["unknown or unsupported query predicate #frobnicate?"]),
    (RULE_HEADER + "rule:\n  query: '((call_expresion) @c)'\n", 8, ["does not compile"]),
    (RULE_HEADER + "rule:\n  kind: go_stmt\n", 8, ["unknown node kind"]),
    (RULE_HEADER.replace('message: "matched"', 'message: "uses $NOPE"') + GOOD_RULE, 5,
     ["$NOPE", "never binds"]),
    (RULE_HEADER + "rule:\n  all:\n    - pattern: f($X)\n    - not:\n        pattern: g($Y)\n"
     "    - pattern: f($Y)\n", 10, ["$Y", "before"]),
    (RULE_HEADER + "utils:\n  a: {matches: b}\n  b: {matches: a}\nrule:\n  matches: a\n", None,
     ["cycle in utils"]),
    (RULE_HEADER + "rule:\n  inside:\n    kind: go_statement\n", 7, ["no pattern, kind or query"]),
    (RULE_HEADER.replace("severity: warning", "severity: fatal") + GOOD_RULE, 3, ["severity"]),
    (RULE_HEADER + "equivalent-linters: [govet, gleak]\n" + GOOD_RULE, 7, ["'gleak' is not another linter"]),
    ("a: &a [1,2]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
     "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
     "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
     "h: [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n", None, ["too many YAML aliases"]),
    ("id: [unclosed\n", 2, ["invalid YAML"]),
    ("!!python/object/apply:os.system ['echo pwned']\n", 1, ["invalid YAML"]),
]


@pytest.mark.parametrize(("text", "line", "words"), CASES)
def test_bad_rule_is_a_clear_error(tmp_path: Path, text: str, line: int | None, words: list[str]) -> None:
    done = scan_with_rule(tmp_path, text)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    where = f"bad.yml:{line}:" if line else "bad.yml"
    assert where in done.stderr, done.stderr
    for word in words:
        assert word in done.stderr, done.stderr
    assert "pwned" not in done.stdout


def test_duplicate_rule_ids(tmp_path: Path) -> None:
    one = write(tmp_path / "rules" / "a.yml", RULE_HEADER + GOOD_RULE)
    write(tmp_path / "rules" / "b.yml", RULE_HEADER + GOOD_RULE)
    src = write(tmp_path / "a.go", "package p\n")
    done = run_cli("scan", "--no-builtin-rules", "--rules", str(one.parent), str(src))
    assert done.returncode == 2
    assert "duplicate rule id TST001" in done.stderr


def test_huge_rule_file(tmp_path: Path) -> None:
    done = scan_with_rule(tmp_path, RULE_HEADER + GOOD_RULE + "# " + "x" * (2 * 1024 * 1024) + "\n")
    assert done.returncode == 2
    assert "larger than" in done.stderr
