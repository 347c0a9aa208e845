"""Levels by evidence (issue 16, session 8): every rule's level follows its first-seen verdicts, by one policy.

    .venv/bin/python bench/levels.py                 # per rule: authored level, evidence, policy level, on/off
    .venv/bin/python bench/levels.py --write         # also write bench/triage/corpus/levels-policy.tsv
    .venv/bin/python bench/levels.py --check         # exit 1 when a rule's YAML or the TSV differs from the policy
    .venv/bin/python bench/levels.py --apply         # set the rules' severity / severity-in-tests / enabled lines
    .venv/bin/python bench/levels.py --leakbench R.json   # what the policy costs on a leakbench --json result

Evidence per rule: the first-seen verdicts of bench/precision_report.py (FIRST_SEEN_SETS, read with its own
functions), split by file kind (`*_test.go` / other files). n = tp + fp (unsure not counted), p = tp / n, and
q = tp / (tp + fp still reported): precision without the false shapes a general fix removed since.

The policy (docs/precision.md, "Levels by evidence"; thresholds: precision_report.BARS and MIN_JUDGED here):
1. other files: from other-file verdicts when n_other >= MIN_JUDGED, else from all the rule's verdicts pooled;
   test files: from test-file verdicts when n_test >= MIN_JUDGED, else the other-files level.
2. a level from (tp, fp), never above the authored level: n >= MIN_JUDGED: error needs p >= 90%, warning
   p >= 75%, else note; fewer judged: the authored level, one lower when fp > tp; no verdict: authored.
3. `severity` = the other-files level, `severity-in-tests` = the test-files level when lower (a higher test
   level cannot be expressed and stays at the other-files level).
4. a rule at note is on by default only when q >= 50% (pooled; no fp still reported meets it); turning a rule
   off needs n >= MIN_JUDGED, except a rule with fp > tp and no true finding. A rule off before stays off.

The authored level (the rule's level and default state before this policy, session 8's start) is data:
bench/triage/corpus/authored.tsv. It is what "never above" and "one lower" refer to, so that applying the
policy twice gives the same levels (a rule added later gets its row there when it is added).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import precision_report as pr  # bench/ is not a package: its folder is on sys.path above

if TYPE_CHECKING:
    from gleak_sarif.model import RuleMeta

MIN_JUDGED = pr.MIN_JUDGED  # fewer judged findings: "too few" (the authored level, one lower when fp > tp)
AUTHORED = pr.CORPUS / "authored.tsv"
POLICY_TSV = pr.CORPUS / "levels-policy.tsv"
POLICY_COLUMNS = ["rule", "authored", "other files tp / fp / left", "test files tp / fp / left", "p other",
                  "p test", "q", "basis other", "basis test", "level", "level in tests", "default", "changed"]
LEVELS = pr.LEVEL_ORDER  # note < warning < error


@dataclass(frozen=True)
class Counts:
    tp: int = 0
    fp: int = 0
    left: int = 0  # fps still reported

    @property
    def n(self) -> int:
        return self.tp + self.fp

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.tp + other.tp, self.fp + other.fp, self.left + other.left)


@dataclass(frozen=True)
class Decision:
    rule: str
    authored: str
    authored_in_tests: str
    authored_on: bool
    other: Counts
    test: Counts
    level: str
    level_in_tests: str  # the test-file level as reported: never above `level`
    on: bool
    basis_other: str
    basis_test: str
    test_level_higher: bool  # the test-file evidence gave a higher level than can be expressed

    @property
    def pooled(self) -> Counts:
        return self.other + self.test

    @property
    def changed(self) -> bool:
        return (self.level, self.level_in_tests, self.on) != (self.authored, self.authored_in_tests, self.authored_on)


def _p(c: Counts) -> float | None:
    return c.tp / c.n if c.n else None


def _q(c: Counts) -> float | None:
    return c.tp / (c.tp + c.left) if c.tp + c.left else None


def lower(level: str) -> str:
    return LEVELS[max(0, LEVELS.index(level) - 1)]


def cap(level: str, authored: str) -> str:
    return level if LEVELS.index(level) <= LEVELS.index(authored) else authored


def level_from(c: Counts, authored: str) -> tuple[str, str]:
    """Rule 2: the level (tp, fp) supports, never above the authored one, and why."""
    if c.n == 0:
        return authored, "no verdict"
    if c.n < MIN_JUDGED:
        return (lower(authored), "too few, fp > tp") if c.fp > c.tp else (authored, "too few")
    p = c.tp / c.n
    level = "error" if p >= pr.BARS["error"] else "warning" if p >= pr.BARS["warning"] else "note"
    return cap(level, authored), f"p {p:.0%}"


def decide(rule: str, authored: str, authored_in_tests: str, authored_on: bool, other: Counts,
           test: Counts) -> Decision:
    """Rules 1 to 4 for one rule. The authored test-file level is not an input: the policy decides it from
    the evidence (capped by the authored level), it only tells what changed."""
    if other.n >= MIN_JUDGED:
        level, basis_other = level_from(other, authored)
        basis_other = "other files, " + basis_other
    else:
        level, basis_other = level_from(other + test, authored)
        basis_other = "pooled, " + basis_other
    if test.n >= MIN_JUDGED:
        test_level, basis_test = level_from(test, authored)
        basis_test = "test files, " + basis_test
    else:
        test_level, basis_test = level, "as other files"
    higher = LEVELS.index(test_level) > LEVELS.index(level)
    in_tests = cap(test_level, level)
    pooled = other + test
    on = authored_on
    if on and level == "note":
        q = _q(pooled)
        below = q is not None and q < pr.BARS["note"]
        if below and (pooled.n >= MIN_JUDGED or (pooled.tp == 0 and pooled.fp > pooled.tp)):
            on = False
    return Decision(rule, authored, authored_in_tests, authored_on, other, test, level, in_tests, on, basis_other,
                    basis_test, higher)


def authored_levels(path: Path = AUTHORED) -> dict[str, tuple[str, str, bool]]:
    return {row["rule"]: (row["severity"], row["severity in tests"], row["default"] == "on")
            for row in pr.read_tsv(path)}


def evidence(metas: dict[str, RuleMeta]) -> dict[str, tuple[Counts, Counts]]:
    """(other files, test files) first-seen counts per rule, read the way the precision report reads them."""
    mods = pr.read_tsv(pr.REPO / "bench" / "corpus.tsv")
    seen, latest = pr.first_seen(metas, mods)
    first, left = pr.first_seen_by(lambda key: (key[0], pr.file_kind(key[2])), seen, latest, pr.verdicts())
    out: dict[str, tuple[Counts, Counts]] = {}
    for rule in metas:
        kinds = []
        for kind in ("other files", "test files"):
            tally = first.get((rule, kind), pr.Tally())
            kinds.append(Counts(tally.tp, tally.fp, left.get((rule, kind), 0)))
        out[rule] = (kinds[0], kinds[1])
    return out


def decisions(metas: dict[str, RuleMeta]) -> dict[str, Decision]:
    authored = authored_levels()
    missing = sorted(set(metas) - set(authored))
    if missing:
        raise SystemExit(f"no authored level in {AUTHORED.relative_to(pr.REPO)} for {', '.join(missing)}: add the "
                         "rule's level and default state as written before the policy")
    ev = evidence(metas)
    return {rule: decide(rule, *authored[rule], *ev[rule]) for rule in sorted(metas)}


def _state(level: str, in_tests: str, on: bool) -> str:
    return level + (f" ({in_tests} in tests)" if in_tests != level else "") + (", on" if on else ", off")


def _cell(c: Counts) -> str:
    return f"{c.tp} / {c.fp} / {c.left}"


def policy_rows(found: dict[str, Decision]) -> list[dict[str, str]]:
    return [{"rule": d.rule, "authored": _state(d.authored, d.authored_in_tests, d.authored_on),
             "other files tp / fp / left": _cell(d.other), "test files tp / fp / left": _cell(d.test),
             "p other": pr.pct(_p(d.other)), "p test": pr.pct(_p(d.test)), "q": pr.pct(_q(d.pooled)),
             "basis other": d.basis_other, "basis test": d.basis_test + (" (higher: not expressible)"
                                                                          if d.test_level_higher else ""),
             "level": d.level, "level in tests": d.level_in_tests, "default": "on" if d.on else "off",
             "changed": "yes" if d.changed else ""} for d in found.values()]


def write_tsv(path: Path, rows: list[dict[str, str]]) -> None:
    tmp = path.with_suffix(".tsv.tmp")
    with tmp.open("w", encoding="utf-8", newline="") as handle:
        handle.write("\t".join(POLICY_COLUMNS) + "\n")
        for row in rows:
            handle.write("\t".join(row[c] for c in POLICY_COLUMNS) + "\n")
    tmp.replace(path)


def yaml_state(meta: RuleMeta) -> tuple[str, str, bool]:
    in_tests = meta.severity_in_tests.value if meta.severity_in_tests is not None else meta.severity.value
    return meta.severity.value, in_tests, meta.enabled_by_default


def drift(metas: dict[str, RuleMeta], found: dict[str, Decision]) -> list[str]:
    out = []
    for rule, d in found.items():
        have = yaml_state(metas[rule])
        want = (d.level, d.level_in_tests, d.on)
        if have != want:
            out.append(f"{rule}: rule YAML says {have[0]}, {have[1]} in tests, {'on' if have[2] else 'off'}; "
                       f"the policy says {want[0]}, {want[1]} in tests, {'on' if want[2] else 'off'}")
    return out


SEVERITY_LINE = re.compile(r"^severity: *\w+.*$", re.MULTILINE)
IN_TESTS_LINE = re.compile(r"^severity-in-tests: *\w+.*\n", re.MULTILINE)
ENABLED_LINE = re.compile(r"^enabled: *\w+.*\n", re.MULTILINE)
WHY = "# bench/levels.py (levels by evidence): docs/precision.md"


def apply(meta: RuleMeta, d: Decision) -> bool:
    """Rewrite the rule file's severity, severity-in-tests and enabled lines to the decision; True if changed."""
    if meta.source_path is None:
        raise SystemExit(f"{meta.id}: no rule file to apply the policy to")
    path = Path(meta.source_path)
    text = path.read_text(encoding="utf-8")
    if yaml_state(meta) == (d.level, d.level_in_tests, d.on):
        return False
    if len(SEVERITY_LINE.findall(text)) != 1:
        raise SystemExit(f"{path}: expected one top-level `severity:` line")
    new = IN_TESTS_LINE.sub("", ENABLED_LINE.sub("", text))
    lines = [f"severity: {d.level}  {WHY}"]
    if d.level_in_tests != d.level:
        lines.append(f"severity-in-tests: {d.level_in_tests}  {WHY}")
    if not d.on:
        lines.append(f"enabled: false  {WHY}" if d.authored_on else "enabled: false")
    new = SEVERITY_LINE.sub(lambda _: "\n".join(lines), new, count=1)
    tmp = path.with_suffix(".yml.tmp")
    tmp.write_text(new, encoding="utf-8")
    tmp.replace(path)
    return True


def leakbench_cost(result: dict[str, Any], found: dict[str, Decision]) -> dict[str, tuple[int, int]]:
    """Per changed rule: (groups it hit at error/warning that no finding hits at error/warning any more, groups
    it hit that no default finding hits any more). The leakbench programs are not test files, so `level`
    applies; a group keeps a hit when another rule still reports it at that level."""
    cost: dict[str, list[int]] = {}
    for case in result["cases"]:
        for group in case["groups"]:
            ew = {h["rule"] for h in group["hits"]}
            notes = {h["rule"] for h in group["note_hits"]}

            def after_ew(rule: str) -> bool:
                d = found.get(rule)
                return d is None or (d.on and d.level != "note")

            def after_any(rule: str) -> bool:
                d = found.get(rule)
                return d is None or d.on

            still_ew = any(after_ew(r) for r in ew)
            still_any = any(after_any(r) for r in ew | notes)
            for rule in ew | notes:
                d = found.get(rule)
                if d is None or not d.changed:
                    continue
                c = cost.setdefault(rule, [0, 0])
                c[0] += rule in ew and not still_ew
                c[1] += not still_any
    for rule, d in found.items():
        if d.changed:
            cost.setdefault(rule, [0, 0])
    return {rule: (c[0], c[1]) for rule, c in sorted(cost.items())}


def leakbench_after(result: dict[str, Any], found: dict[str, Decision]) -> tuple[int, int, int, int, int]:
    """Groups, hit at error/warning before, hit by any default finding before, and the same two after the
    policy (predicted from the result's hits: the same findings at their new levels)."""
    counts = [0, 0, 0, 0, 0]
    for case in result["cases"]:
        for group in case["groups"]:
            ew = {h["rule"] for h in group["hits"]}
            every = ew | {h["rule"] for h in group["note_hits"]}
            counts[0] += 1
            counts[1] += bool(ew)
            counts[2] += bool(every)
            counts[3] += any(r not in found or (found[r].on and found[r].level != "note") for r in ew)
            counts[4] += any(r not in found or found[r].on for r in every)
    return counts[0], counts[1], counts[2], counts[3], counts[4]


def render(found: dict[str, Decision]) -> str:
    out = [f"{'rule':6} {'authored':13} {'other tp/fp/left':16} {'p':>5} {'test tp/fp/left':15} {'p':>5} "
           f"{'q':>5}  {'level':8} {'in tests':8} {'default':7} basis"]
    for d in found.values():
        out.append(f"{d.rule:6} {d.authored + (', on' if d.authored_on else ', off'):13} {_cell(d.other):16} "
                   f"{pr.pct(_p(d.other)):>5} {_cell(d.test):15} {pr.pct(_p(d.test)):>5} {pr.pct(_q(d.pooled)):>5}"
                   f"  {d.level:8} {d.level_in_tests:8} {'on' if d.on else 'off':7} {d.basis_other}; "
                   f"{d.basis_test}{' (test level higher: not expressible)' if d.test_level_higher else ''}"
                   f"{'  CHANGED' if d.changed else ''}")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--write", action="store_true", help=f"write {POLICY_TSV.relative_to(pr.REPO)}")
    ap.add_argument("--check", action="store_true", help="exit 1 when a rule YAML or the TSV differs from the policy")
    ap.add_argument("--apply", action="store_true", help="rewrite the rule files' level lines to the policy")
    ap.add_argument("--leakbench", metavar="JSON", help="a leakbench --json result: groups each change costs")
    args = ap.parse_args(argv)
    from gleak_sarif.engine.scan import all_rule_metas

    metas = {m.id: m for m in all_rule_metas()}
    found = decisions(metas)
    if args.check:
        problems = drift(metas, found)
        if not POLICY_TSV.exists() or pr.read_tsv(POLICY_TSV) != policy_rows(found):
            problems.append(f"{POLICY_TSV.relative_to(pr.REPO)} is out of date: run bench/levels.py --write")
        for line in problems:
            print(f"levels: {line}", file=sys.stderr)
        return 1 if problems else 0
    sys.stdout.write(render(found))
    if args.apply:
        changed = [rule for rule, d in found.items() if apply(metas[rule], d)]
        print(f"applied to {len(changed)} rule files: {', '.join(changed) or 'none'}")
    if args.write:
        write_tsv(POLICY_TSV, policy_rows(found))
    if args.leakbench:
        result = json.loads(Path(args.leakbench).read_text(encoding="utf-8"))
        for rule, (ew, lost) in leakbench_cost(result, found).items():
            print(f"{rule}: {ew} leakbench groups lost at error/warning, {lost} lost everywhere")
        groups, ew_before, any_before, ew_after, any_after = leakbench_after(result, found)
        print(f"leakbench (predicted from {args.leakbench}'s findings): {groups} groups; at error/warning "
              f"{ew_before} -> {ew_after}; by any default finding {any_before} -> {any_after}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
