"""`gleak-sarif rules test` pins more than the line: `// want "ID" "message regex"` and `.go.fixed` goldens
for fixes (gleak_sarif/rule_tests.py), on a small rule of its own with real fixtures."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from gleak_sarif.rule_tests import format_report, parse_want, run_fixtures
from tests.helpers import write

RULE = """\
id: TST901
name: sleep-forever
severity: warning
precision: high
message: "$F sleeps for $D"
rule:
  pattern: $F.Sleep($D)
fix: {description: "sleep less", target: $D, replace: "0"}
docs: {what: "w.", why: "y.", example: "e"}
"""

LEAKY = """\
package p

import "time"

func A() {
	time.Sleep(5) // want "TST901" "time sleeps for 5"
}

func B() {
	time.Sleep(7) // want "TST901"
}
"""

CLEAN = """\
package p

func C() {}
"""


def _setup(tmp_path: Path) -> tuple[Path, Path]:
    rules = write(tmp_path / "rules" / "TST901.yml", RULE)
    folder = tmp_path / "fixtures" / "TST901"
    write(folder / "leaky.go", LEAKY)
    write(folder / "clean.go", CLEAN)
    return rules, tmp_path / "fixtures"


def _outcome(rules: Path, fixtures: Path, *, update: bool = False):  # type: ignore[no-untyped-def]
    report = run_fixtures(str(fixtures), [str(rules)], builtin=False, update_fixes=update)
    (outcome,) = report.outcomes
    return outcome, format_report(report)


def test_want_comments_name_rules_and_message_regexes() -> None:
    assert parse_want('"GL201"') == [("GL201", None)]
    assert parse_want('"GL201" "GL202"') == [("GL201", None), ("GL202", None)]
    assert parse_want(r'"GL201" "sends on \"ch\"" "GL202"') == [("GL201", 'sends on "ch"'), ("GL202", None)]


def test_messages_and_fix_goldens(tmp_path: Path) -> None:
    rules, fixtures = _setup(tmp_path)
    leaky = fixtures / "TST901" / "leaky.go"
    golden = fixtures / "TST901" / "leaky.go.fixed"

    # fixes without a golden fail, naming the way to write it
    outcome, text = _outcome(rules, fixtures)
    assert not outcome.ok and outcome.messages_pinned == 1 and outcome.wrong_message == []
    assert "leaky.go.fixed is missing" in text and "--update-fixes" in text

    # --update-fixes writes the file with every fix applied; then the check passes
    outcome, _ = _outcome(rules, fixtures, update=True)
    assert golden.read_text() == LEAKY.replace("Sleep(5)", "Sleep(0)").replace("Sleep(7)", "Sleep(0)")
    outcome, text = _outcome(rules, fixtures)
    assert outcome.ok and outcome.fixes_pinned == 1, text

    # a fix that changes is shown as a diff against the golden
    golden.write_text(golden.read_text().replace("Sleep(0) // want \"TST901\"\n", "Sleep(1) // want \"TST901\"\n"))
    outcome, text = _outcome(rules, fixtures)
    assert not outcome.ok and "differ from leaky.go.fixed" in text and "-\ttime.Sleep(1)" in text

    # a message that no longer matches its regex fails, with what was said
    leaky.write_text(LEAKY.replace('"time sleeps for 5"', '"time sleeps for 6"'))
    outcome, text = _outcome(rules, fixtures, update=True)
    assert outcome.wrong_message == [f"{os.path.relpath(leaky)}:6: got 'time sleeps for 5', want /time sleeps for 6/"], text

    # a golden for a file where the rule offers no fix fails; --update-fixes removes it
    leaky.write_text(LEAKY)
    write(fixtures / "TST901" / "clean.go.fixed", CLEAN)
    outcome, text = _outcome(rules, fixtures)
    assert "clean.go.fixed exists but the rule offers no fix here" in text
    _outcome(rules, fixtures, update=True)
    assert not (fixtures / "TST901" / "clean.go.fixed").exists()
    assert _outcome(rules, fixtures)[0].ok


def test_cli_writes_goldens_and_fails_on_a_wrong_message(tmp_path: Path) -> None:
    rules, fixtures = _setup(tmp_path)
    base = [sys.executable, "-m", "gleak_sarif", "rules", "test", str(fixtures), "--rules", str(rules),
            "--no-builtin-rules"]
    done = subprocess.run([*base, "--update-fixes"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "wrote:" in done.stdout and (fixtures / "TST901" / "leaky.go.fixed").exists()
    (fixtures / "TST901" / "leaky.go").write_text(LEAKY.replace('for 5"', 'for 9"'))
    done = subprocess.run(base, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1 and "message:" in done.stdout, done.stdout
