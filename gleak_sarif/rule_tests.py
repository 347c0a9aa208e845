"""`gleak-sarif rules test`: run rules over their fixtures, like `semgrep --test` / `ast-grep test`.

Layout: `<fixtures>/<RULE_ID>/...` holds Go files. A line that must be reported ends with a comment
`// want "GL201"` (several IDs: `// want "GL201" "GL202"`); the finding's primary location must start on
that line. Every other line of the folder must stay silent for that rule. Each rule is checked only on its
own folder (other rules are not run there), so fixtures stay independent.

Results per rule: ok, missing (a `want` line without a finding), noisy (a finding on a line without a
`want`), or no-fixtures.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from gleak_sarif.config import ScanOptions

_WANT = re.compile(r"//\s*want\s+((?:\"[A-Z]+[0-9]+\"\s*)+)")
_IDS = re.compile(r"\"([A-Z]+[0-9]+)\"")


@dataclass
class RuleOutcome:
    rule_id: str
    expected: int = 0
    missing: list[str] = field(default_factory=list)  # "path:line"
    noisy: list[str] = field(default_factory=list)
    no_fixtures: bool = False
    positive_files: int = 0
    clean_files: int = 0

    @property
    def ok(self) -> bool:
        return not self.missing and not self.noisy and not self.no_fixtures


@dataclass
class FixtureReport:
    outcomes: list[RuleOutcome] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(o.ok for o in self.outcomes)


def expected_lines(folder: str, rule_id: str) -> tuple[set[tuple[str, int]], int, int]:
    """(want locations, files with a want, files without) for ``rule_id`` under ``folder``."""
    wants: set[tuple[str, int]] = set()
    positive = clean = 0
    for dirpath, _, filenames in os.walk(folder):
        for name in sorted(filenames):
            if not name.endswith(".go"):
                continue
            path = os.path.join(dirpath, name)
            has_want = False
            with open(path, encoding="utf-8") as handle:
                for number, line in enumerate(handle, start=1):
                    match = _WANT.search(line)
                    if match and rule_id in _IDS.findall(match.group(1)):
                        wants.add((os.path.abspath(path), number))
                        has_want = True
            if has_want:
                positive += 1
            else:
                clean += 1
    return wants, positive, clean


def run_fixtures(fixtures: str, rules: list[str], *, builtin: bool = True,
                 only: list[str] | None = None) -> FixtureReport:
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
        wants, outcome.positive_files, outcome.clean_files = expected_lines(folder, rule_id)
        outcome.expected = len(wants)
        engine = Engine(ScanOptions(rules=rules, builtin_rules=builtin, select=[rule_id], jobs=1,
                                    include_testdata=True, use_cache=False))
        result = engine.scan([folder])
        got = {(os.path.abspath(f.primary.path), f.primary.start_line) for f in result.findings
               if f.rule_id == rule_id and f.suppression is None}
        outcome.missing = sorted(f"{os.path.relpath(p)}:{n}" for p, n in wants - got)
        outcome.noisy = sorted(f"{os.path.relpath(p)}:{n}" for p, n in got - wants)
    return report


def format_report(report: FixtureReport) -> str:
    lines = []
    for outcome in report.outcomes:
        if outcome.no_fixtures:
            lines.append(f"{outcome.rule_id}: NO FIXTURES")
            continue
        status = "ok" if outcome.ok else "FAIL"
        lines.append(f"{outcome.rule_id}: {status} ({outcome.expected} expected, "
                     f"{outcome.positive_files} leaking files, {outcome.clean_files} clean files)")
        lines.extend(f"  missing: {where}" for where in outcome.missing)
        lines.extend(f"  noisy:   {where}" for where in outcome.noisy)
    passed = sum(1 for o in report.outcomes if o.ok)
    lines.append(f"{passed} passed, {len(report.outcomes) - passed} failed")
    return "\n".join(lines)
