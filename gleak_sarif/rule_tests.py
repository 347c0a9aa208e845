"""`gleak-sarif rules test`: run rules over their fixtures, like `semgrep --test` / `ast-grep test`, pinning
the line, the message and the fix of every finding (as ruff's snapshots do).

Layout: `<fixtures>/<RULE_ID>/...` holds Go files. A line that must be reported ends with a comment
`// want "GL201"` (several IDs: `// want "GL201" "GL202"`); the finding's primary location must start on
that line. A quoted string after an ID that is not itself a rule ID is a regular expression (Python, search)
the finding's message must match: `// want "GL201" "unbuffered channel results"`. Every other line of the
folder must stay silent for that rule. Each rule is checked only on its own folder (other rules are not run
there), so fixtures stay independent.

Fix goldens: when the rule's findings in `x.go` carry fixes, `x.go.fixed` (beside it; not a `.go` file, so
the fixture package still builds) must hold `x.go` with all of them applied (gleak_sarif/fix.py, as `scan
--fix` applies them); a golden without fixes, or fixes without a golden, fail. `rules test --update-fixes`
writes the goldens from the current fixes (review the change before committing it).

Results per rule: ok, missing (a `want` line without a finding), noisy (a finding on a line without a
`want`), message (a finding whose message does not match its `want`), fix (a golden that differs, is
missing or has no fix), or no-fixtures.
"""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass, field

from gleak_sarif.config import ScanOptions
from gleak_sarif.model import Finding

_WANT = re.compile(r"//\s*want\s+((?:\"(?:[^\"\\]|\\.)*\"\s*)+)")
_QUOTED = re.compile(r"\"((?:[^\"\\]|\\.)*)\"")
_RULE_ID = re.compile(r"^[A-Z]{2,5}[0-9]{3,4}$")
FIXED_SUFFIX = ".fixed"  # x.go -> x.go.fixed


@dataclass
class RuleOutcome:
    rule_id: str
    expected: int = 0
    missing: list[str] = field(default_factory=list)  # "path:line"
    noisy: list[str] = field(default_factory=list)
    wrong_message: list[str] = field(default_factory=list)  # "path:line: got ..., want /regex/"
    wrong_fix: list[str] = field(default_factory=list)  # "path: why" (with a short diff)
    no_fixtures: bool = False
    positive_files: int = 0
    clean_files: int = 0
    messages_pinned: int = 0
    fixes_pinned: int = 0  # goldens compared
    updated: list[str] = field(default_factory=list)  # goldens written (--update-fixes)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.noisy or self.wrong_message or self.wrong_fix or self.no_fixtures)


@dataclass
class FixtureReport:
    outcomes: list[RuleOutcome] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(o.ok for o in self.outcomes)


@dataclass
class Wants:
    """The `want` comments of one rule in one fixture folder."""

    lines: set[tuple[str, int]] = field(default_factory=set)  # (absolute path, line)
    messages: dict[tuple[str, int], list[str]] = field(default_factory=dict)  # message regexes per line
    positive_files: int = 0
    clean_files: int = 0


def parse_want(comment_args: str) -> list[tuple[str, str | None]]:
    """The (rule ID, message regex or None) pairs of a `want` comment's quoted strings."""
    out: list[tuple[str, str | None]] = []
    for text in _QUOTED.findall(comment_args):
        value = text.replace('\\"', '"')
        if _RULE_ID.match(value):
            out.append((value, None))
        elif out and out[-1][1] is None:
            out[-1] = (out[-1][0], value)
        # a string before any ID, or a second regex for one ID: not a want (left for the reader to see)
    return out


def read_wants(folder: str, rule_id: str) -> Wants:
    wants = Wants()
    for dirpath, _, filenames in os.walk(folder):
        for name in sorted(filenames):
            if not name.endswith(".go"):
                continue
            path = os.path.abspath(os.path.join(dirpath, name))
            has_want = False
            with open(path, encoding="utf-8") as handle:
                for number, line in enumerate(handle, start=1):
                    match = _WANT.search(line)
                    if match is None:
                        continue
                    for wanted, regex in parse_want(match.group(1)):
                        if wanted != rule_id:
                            continue
                        wants.lines.add((path, number))
                        if regex is not None:
                            wants.messages.setdefault((path, number), []).append(regex)
                        has_want = True
            if has_want:
                wants.positive_files += 1
            else:
                wants.clean_files += 1
    return wants


def _check_messages(outcome: RuleOutcome, wants: Wants, findings: list[Finding]) -> None:
    by_line: dict[tuple[str, int], list[str]] = {}
    for finding in findings:
        by_line.setdefault((os.path.abspath(finding.primary.path), finding.primary.start_line), []).append(
            finding.message)
    for where, regexes in sorted(wants.messages.items()):
        got = by_line.get(where)
        if got is None:
            continue  # reported as missing
        for regex in regexes:
            outcome.messages_pinned += 1
            try:
                pattern = re.compile(regex)
            except re.error as err:
                outcome.wrong_message.append(f"{os.path.relpath(where[0])}:{where[1]}: bad regex /{regex}/: {err}")
                continue
            if not any(pattern.search(message) for message in got):
                outcome.wrong_message.append(f"{os.path.relpath(where[0])}:{where[1]}: got {got[0]!r}, "
                                             f"want /{regex}/")


def _short_diff(want: bytes, got: bytes, path: str) -> str:
    lines = difflib.unified_diff(want.decode("utf-8", "replace").splitlines(),
                                 got.decode("utf-8", "replace").splitlines(),
                                 f"{path}{FIXED_SUFFIX} (golden)", f"{path} with the fixes", lineterm="", n=1)
    return "\n".join(f"      {line}" for line in list(lines)[:24])


def _check_fixes(outcome: RuleOutcome, folder: str, findings: list[Finding], update: bool) -> None:
    from gleak_sarif.fix import apply_to_source, fixable

    by_file: dict[str, list[Finding]] = {}
    for finding in fixable(findings):
        assert finding.fix is not None
        by_file.setdefault(os.path.abspath(finding.fix.edits[0].path), []).append(finding)
    goldens = {os.path.abspath(os.path.join(d, n))[: -len(FIXED_SUFFIX)]
               for d, _, names in os.walk(folder) for n in names if n.endswith(".go" + FIXED_SUFFIX)}
    for path in sorted(set(by_file) | goldens):
        shown = os.path.relpath(path)
        golden = path + FIXED_SUFFIX
        if not os.path.exists(path):
            if update:
                os.unlink(golden)
                outcome.updated.append(f"{os.path.relpath(golden)} (removed: no fixture)")
            else:
                outcome.wrong_fix.append(f"{shown}{FIXED_SUFFIX}: a golden without its fixture")
            continue
        with open(path, "rb") as handle:
            source = handle.read()
        fixed = apply_to_source(path, source, by_file[path]).fixed if path in by_file else None
        if update:
            if fixed is not None:
                with open(golden, "wb") as handle:
                    handle.write(fixed)
                outcome.updated.append(os.path.relpath(golden))
            elif os.path.exists(golden):
                os.unlink(golden)
                outcome.updated.append(f"{os.path.relpath(golden)} (removed: no fix)")
            continue
        if fixed is None:
            outcome.wrong_fix.append(f"{shown}: {os.path.basename(golden)} exists but the rule offers no fix "
                                     "here (rules test --update-fixes removes it)")
            continue
        if path not in goldens:
            outcome.wrong_fix.append(f"{shown}: the rule offers fixes here but {os.path.basename(golden)} is "
                                     "missing (write it with rules test --update-fixes, then review it)")
            continue
        outcome.fixes_pinned += 1
        with open(golden, "rb") as handle:
            want = handle.read()
        if want != fixed:
            outcome.wrong_fix.append(f"{shown}: the fixes differ from {os.path.basename(golden)}:\n"
                                     + _short_diff(want, fixed, shown))


def run_fixtures(fixtures: str, rules: list[str], *, builtin: bool = True,
                 only: list[str] | None = None, update_fixes: bool = False) -> FixtureReport:
    from gleak_sarif.engine import Engine
    from gleak_sarif.rules.loader import load_pack

    pack = load_pack(rules, builtin=builtin, select=["ALL"])
    report = FixtureReport()
    for rule in pack.rules:
        rule_id = rule.meta.id
        if only and rule_id not in only:
            continue
        outcome = RuleOutcome(rule_id)
        report.outcomes.append(outcome)
        folder = os.path.join(fixtures, rule_id)
        if not os.path.isdir(folder):
            outcome.no_fixtures = True
            continue
        wants = read_wants(folder, rule_id)
        outcome.positive_files, outcome.clean_files = wants.positive_files, wants.clean_files
        outcome.expected = len(wants.lines)
        engine = Engine(ScanOptions(rules=rules, builtin_rules=builtin, select=[rule_id], jobs=1,
                                    include_testdata=True, use_cache=False))
        result = engine.scan([folder])
        reported = [f for f in result.findings if f.rule_id == rule_id and f.suppression is None]
        got = {(os.path.abspath(f.primary.path), f.primary.start_line) for f in reported}
        outcome.missing = sorted(f"{os.path.relpath(p)}:{n}" for p, n in wants.lines - got)
        outcome.noisy = sorted(f"{os.path.relpath(p)}:{n}" for p, n in got - wants.lines)
        _check_messages(outcome, wants, reported)
        _check_fixes(outcome, folder, reported, update_fixes)
    return report


def format_report(report: FixtureReport) -> str:
    lines = []
    for outcome in report.outcomes:
        if outcome.no_fixtures:
            lines.append(f"{outcome.rule_id}: NO FIXTURES")
            continue
        status = "ok" if outcome.ok else "FAIL"
        pinned = [f"{n} {what}" for n, what in ((outcome.messages_pinned, "messages"),
                                                 (outcome.fixes_pinned, "fix goldens")) if n]
        lines.append(f"{outcome.rule_id}: {status} ({outcome.expected} expected, "
                     f"{outcome.positive_files} leaking files, {outcome.clean_files} clean files"
                     + "".join(f", {p}" for p in pinned) + ")")
        lines.extend(f"  missing: {where}" for where in outcome.missing)
        lines.extend(f"  noisy:   {where}" for where in outcome.noisy)
        lines.extend(f"  message: {what}" for what in outcome.wrong_message)
        lines.extend(f"  fix:     {what}" for what in outcome.wrong_fix)
        lines.extend(f"  wrote:   {what}" for what in outcome.updated)
    passed = sum(1 for o in report.outcomes if o.ok)
    lines.append(f"{passed} passed, {len(report.outcomes) - passed} failed")
    return "\n".join(lines)
