"""Rule and config mistakes beyond tests/test_rule_errors.py: exit 2, `file:line:`, a hint, no traceback,
and nothing from a rule or config is ever executed (safe YAML only)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import RULE_HEADER
from tests.reliability.conftest import no_traceback, run_cli
from tests.test_rule_errors import CASES as RULE_ERROR_CASES

GOOD_RULE = "rule:\n  pattern: f($X)\n"
SOURCE = "package p\n\nfunc f(int) {}\n\nfunc g() { f(1) }\n"
MARKER = "gleak-pwned"
EXEC_TAGS = [
    f"!!python/object/apply:subprocess.check_call [['touch', '{MARKER}']]\n",
    "!!python/object:os.system {}\n",
    "x: !!python/name:os.system\n",
    f"x: !!python/object/new:subprocess.Popen [['touch', '{MARKER}']]\n",
]

RULE_CASES = [
    # (rule file text, expected line, words in the message)
    (RULE_HEADER + "tags: 5\n" + GOOD_RULE, 7, ["tags"]),
    (RULE_HEADER + "rule: [1, 2]\n", 7, ["rule"]),
    (RULE_HEADER + "enabled: maybe\n" + GOOD_RULE, 7, ["enabled"]),
    (RULE_HEADER + "rule:\n  pattern: f($X)\n  inside: {kind: go_statement, stopby: end}\n", 9,
     ["unknown key 'stopby'", "did you mean 'stopBy'"]),
    (RULE_HEADER + "primary: $NOPE\n" + GOOD_RULE, 7, ["$NOPE"]),
    (RULE_HEADER + "related:\n  - {capture: $Y, message: m}\n" + GOOD_RULE, 8, ["$Y"]),
    (RULE_HEADER + "fix: {description: d, target: $X, replace: 'g($Z)'}\n" + GOOD_RULE, 7, ["$Z"]),
    (RULE_HEADER + "constraints: {Q: {regex: x}}\n" + GOOD_RULE, 7, ["$Q"]),
    (RULE_HEADER + "rule:\n  matches: nothing\n", 8, ["names no util"]),
    (RULE_HEADER + "rule:\n  query: '(call_expression) @a (go_statement) @b'\n", 8, ["exactly one pattern"]),
    (RULE_HEADER + "rule:\n  pattern: f($X)\n  pattern: g($X)\n", 9, ["duplicate key"]),
    (RULE_HEADER + "rule:\n  pattern: 'f($X); g($X)'\n", 8, ["several statements"]),
    (RULE_HEADER + "constraints: {X: {regex: '('}}\n" + GOOD_RULE, 7, ["regex"]),
    (RULE_HEADER + "go-version: '>=banana'\n" + GOOD_RULE, 7, ["go-version"]),
]


def _scan(tmp_path: Path, rule: str | None = None, config: str | None = None) -> tuple[int, str, str]:
    (tmp_path / "a.go").write_text(SOURCE)
    args = ["scan", "--no-cache", str(tmp_path / "a.go")]
    if rule is not None:
        (tmp_path / "bad.yml").write_bytes(rule.encode("utf-8", "surrogateescape"))
        args += ["--no-builtin-rules", "--rules", str(tmp_path / "bad.yml")]
    if config is not None:
        (tmp_path / ".gleak.yml").write_text(config)
    done = run_cli(*args, cwd=tmp_path)
    no_traceback(done)
    return done.returncode, done.stdout, done.stderr


def _assert_clear(code: int, stderr: str, where: str, words: list[str]) -> None:
    assert code == 2, stderr
    assert where in stderr, stderr
    assert "hint:" in stderr, stderr
    for word in words:
        assert word in stderr, stderr


@pytest.mark.parametrize(("text", "line", "words"), RULE_CASES)
def test_bad_rule(tmp_path: Path, text: str, line: int, words: list[str]) -> None:
    code, _, err = _scan(tmp_path, rule=text)
    _assert_clear(code, err, f"bad.yml:{line}:", words)


def test_rule_file_not_utf8(tmp_path: Path) -> None:
    code, _, err = _scan(tmp_path, rule=RULE_HEADER.replace("matched", "caf\udce9") + GOOD_RULE)
    assert code == 2 and "bad.yml" in err and "UTF-8" in err, err


@pytest.mark.parametrize("tag", EXEC_TAGS)
def test_rule_file_cannot_run_code(tmp_path: Path, tag: str) -> None:
    code, _, err = _scan(tmp_path, rule=tag)
    _assert_clear(code, err, "bad.yml:1:", ["invalid YAML"])
    assert not (tmp_path / MARKER).exists()


CONFIG_CASES = [
    ("colour: red\n", 1, ["unknown key 'colour'"]),
    ("select: 5\n", 1, ["select"]),
    ("severity: {GL201: fatal}\n", 1, ["severity"]),
    ("resources:\n  - {constructor: 'not a call', release: [Close]}\n", 2, ["constructor"]),
    ("resources:\n  - {constructor: net.Listen, release: []}\n", 2, ["release"]),
    ("select: [GL2\n", 2, ["invalid YAML"]),
    ("- just\n- a list\n", 1, ["mapping"]),
    # a 5,000-digit number: Python refuses to convert it (ValueError); it was exit 3 (issue 22 item 14)
    ("severity:\n  GL201: " + "9" * 5000 + "\n", 2, ["integer is too long"]),
    ("exclude: [" + "9" * 5000 + "]\n", 1, ["integer is too long"]),
]


@pytest.mark.parametrize(("text", "line", "words"), CONFIG_CASES)
def test_bad_config(tmp_path: Path, text: str, line: int, words: list[str]) -> None:
    code, _, err = _scan(tmp_path, config=text)
    _assert_clear(code, err, f".gleak.yml:{line}:", words)


@pytest.mark.parametrize("tag", EXEC_TAGS)
def test_config_cannot_run_code(tmp_path: Path, tag: str) -> None:
    code, _, err = _scan(tmp_path, config=tag)
    _assert_clear(code, err, ".gleak.yml:1:", ["invalid YAML"])
    assert not (tmp_path / MARKER).exists()


def test_config_yaml_bomb(tmp_path: Path) -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for index in range(1, 9):
        prev, name = chr(ord("a") + index - 1), chr(ord("a") + index)
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    code, _, err = _scan(tmp_path, config="\n".join(lines) + "\n")
    _assert_clear(code, err, ".gleak.yml:1:", ["too many YAML aliases"])


def test_config_names_missing_rule_folder(tmp_path: Path) -> None:
    code, _, err = _scan(tmp_path, config="rules: [no-such-folder]\n")
    assert code == 2, err
    assert "no-such-folder" in err and "hint:" in err, err


def test_explicit_config_missing(tmp_path: Path) -> None:
    (tmp_path / "a.go").write_text(SOURCE)
    done = run_cli("scan", "--config", str(tmp_path / "nope.yml"), str(tmp_path / "a.go"), cwd=tmp_path)
    no_traceback(done)
    assert done.returncode == 2 and "nope.yml" in done.stderr


@pytest.mark.parametrize(("text", "line", "words"), RULE_ERROR_CASES)
def test_existing_rule_error_cases_have_a_hint(tmp_path: Path, text: str, line: int | None,
                                               words: list[str]) -> None:
    """tests/test_rule_errors.py checks file, line and wording; every one of its cases also gets a hint."""
    code, _, err = _scan(tmp_path, rule=text)
    _assert_clear(code, err, f"bad.yml:{line}:" if line else "bad.yml", words)
