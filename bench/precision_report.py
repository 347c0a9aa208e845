"""Summarise the rule triage data (bench/triage/) into docs/precision.md.

    .venv/bin/python bench/precision_report.py            # print the report
    .venv/bin/python bench/precision_report.py --write    # also write docs/precision.md
    .venv/bin/python bench/precision_report.py --check    # exit 1 when docs/precision.md is out of date

Two data sets:
- the precision corpus (issue 16), bench/triage/corpus/: modules nobody tuned the rules on, fetched and
  scanned by bench/corpus.py. Each scan label (baseline, current, heldout-...) has <label>.counts.tsv (every
  finding counted) and <label>.sample.tsv (the findings sampled for reading); <ID>.tsv holds one verdict per
  judged finding, joined to a sample by corpus, path and line.
- the tuning corpus (GOROOT, grpc, etcd, nats-server), bench/triage/<ID>.tsv and <ID>.counts.tsv: the code
  the rules were written against, kept as it was.
Sampled precision = tp / (tp + fp); `unsure` rows are shown but not counted either way.
"""

from __future__ import annotations

import csv
import sys
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gleak_sarif.model import RuleMeta

REPO = Path(__file__).resolve().parent.parent
TRIAGE = REPO / "bench" / "triage"
CORPUS = TRIAGE / "corpus"
DOC = REPO / "docs" / "precision.md"
# Tuning corpus: a rule's declared precision class.
THRESHOLDS = {"very-high": 0.95, "high": 0.80, "medium": 0.60, "low": 0.0}
# Precision corpus (issue 16): the bar of the level a finding is reported at.
BARS = {"error": 0.90, "warning": 0.75, "note": 0.50}
LEVEL_ORDER = ["note", "warning", "error"]
VERDICTS = ("tp", "fp", "unsure")


def rule_state(meta: RuleMeta | None) -> str:
    """A rule's level and default state as the tables print it ("warning, on"); "removed" for a gone rule."""
    return f"{meta.severity.value}, {'on' if meta.enabled_by_default else 'off'}" if meta else "removed"


def read_tsv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


@dataclass
class Tally:
    findings: int = 0
    tp: int = 0
    fp: int = 0
    unsure: int = 0
    level: str = ""

    @property
    def judged(self) -> int:
        return self.tp + self.fp

    @property
    def precision(self) -> float | None:
        return self.tp / self.judged if self.judged else None

    def cells(self, lines: int) -> list[str]:
        rate = f"{self.findings * 100_000 / lines:.1f}" if lines else "-"
        return [str(self.findings), rate, f"{self.tp} / {self.fp} / {self.unsure}", pct(self.precision)]


def pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def verdicts() -> dict[tuple[str, str, str, int], str]:
    """(rule, corpus, path, line) -> verdict, over every <ID>.tsv of the precision corpus."""
    found = {}
    for path in sorted(CORPUS.glob("GL*.tsv")):
        rule = path.stem
        for row in read_tsv(path):
            found[(rule, row["corpus"], row["path"], int(row["line"]))] = row["verdict"].strip()
    return found


def tallies(label: str, judged: dict[tuple[str, str, str, int], str],
            key: str = "rule") -> dict[str, Tally]:
    """Tally per rule (key="rule") or per corpus (key="corpus") of one scan label."""
    out: dict[str, Tally] = defaultdict(Tally)
    for row in read_tsv(CORPUS / f"{label}.counts.tsv"):
        out[row[key]].findings += int(row["findings"])
    for row in read_tsv(CORPUS / f"{label}.sample.tsv"):
        tally = out[row[key]]
        verdict = judged.get((row["rule"], row["corpus"], row["path"], int(row["line"])), "todo")
        if verdict == "tp":
            tally.tp += 1
        elif verdict == "fp":
            tally.fp += 1
        elif verdict == "unsure":
            tally.unsure += 1
        else:
            raise SystemExit(f"{row['rule']} {row['corpus']} {row['path']}:{row['line']} of {label} "
                             f"is sampled but not judged (verdict {verdict!r})")
        if LEVEL_ORDER.index(row["severity"]) >= LEVEL_ORDER.index(tally.level or "note"):
            tally.level = row["severity"]
    return out


def labels() -> dict[str, str]:
    path = CORPUS / "scans.tsv"
    return {row["label"]: row["commit"] for row in read_tsv(path)} if path.exists() else {}


def corpus_section() -> list[str]:
    from gleak_sarif.engine.scan import all_rule_metas

    metas = {m.id: m for m in all_rule_metas()}
    mods = read_tsv(REPO / "bench" / "corpus.tsv")
    sizes = {row["corpus"]: row for row in read_tsv(CORPUS / "sizes.tsv")}
    notes = {row["rule"]: row["note"] for row in read_tsv(CORPUS / "notes.tsv")} \
        if (CORPUS / "notes.tsv").exists() else {}
    scans = labels()
    judged = verdicts()
    lines_of = {s: sum(int(sizes[m["name"]]["go_lines"]) for m in mods if m["set"] == s)
                for s in ("precision", "heldout", "fresh", "fresh2", "fresh3", "fresh4", "fresh5", "fresh6",
                          "fresh7", "fresh8")}
    out = [
        "## Precision corpus (issue 16): code the rules were not tuned on",
        "",
        "Modules fetched at pinned versions from the Go module proxy by `bench/corpus.py` (list:",
        "`bench/corpus.tsv`), scanned with the default rules (`gleak-sarif scan . --format json --no-config`,",
        "tests included, as a user runs it). Up to 30 findings per rule were sampled (the lowest hashes of",
        "rule, corpus, path and line: a finding that survives a rule change stays sampled) and each was read",
        "and judged: `tp` when the reported shape really can leak or block a goroutine (or, for the context",
        "and resource rules, really keeps what the message says alive), `fp` when it cannot, `unsure` when it",
        "depends on code outside what could be read. Verdicts and reasons: `bench/triage/corpus/<ID>.tsv`;",
        "samples: `bench/triage/corpus/<label>.sample.tsv`. Targets: error-level findings at least 90%",
        "precise, warning at least 75%, a note on by default at least 50%. The `heldout` modules are only",
        "scanned to re-check rules after they were tuned on the `precision` set; the `fresh` modules are a",
        "second, larger held-out set added after issue 15's recall rules landed, the `fresh2` modules a",
        "third one, judged before anyone tuned on it, the `fresh3` modules a fourth, added to re-check the",
        "tuning round done on `fresh2`, the `fresh4` modules a fifth, the untuned measurement of the fourth",
        "session, the `fresh5` modules a sixth, the untuned measurement of the fifth session, the `fresh6`",
        "modules a seventh, the untuned measurement of the sixth session, the `fresh7` modules an eighth, the",
        "untuned measurement of the seventh session, and the `fresh8` modules a ninth, the untuned measurement",
        "of the eighth session (see their sections below).",
        "",
        "Read the `current` column with care: the issue-16 fixes were written against these findings, so it",
        "is precision after tuning on this set (the fixes are general shapes, each with a fixture, but an",
        "upper bound all the same). The held-out set is the check, and it is weak: its modules gave the tuned",
        "rules no finding before or after, except GL103 (now off by default). Recall: the issue-16 rule",
        "changes leave the error/warning findings on the Go runtime's leak programs unchanged",
        "(`bench/leakbench.py`, same findings per rule with and without them).",
        "",
        "| corpus | set | module | style | files | lines of Go | of which tests |",
        "|---|---|---|---|---|---|---|",
    ]
    for m in mods:
        size = sizes[m["name"]]
        out.append(f"| {m['name']} | {m['set']} | {m['module']} {m['version']} | {m['style']} | {size['files']} | "
                   f"{int(size['go_lines']):,} | {int(size['test_lines']):,} |")
    out += ["", f"Lines of Go: precision set {lines_of['precision']:,}, held-out set {lines_of['heldout']:,}, "
                f"fresh set {lines_of['fresh']:,}, fresh2 set {lines_of['fresh2']:,}, "
                f"fresh3 set {lines_of['fresh3']:,}, fresh4 set {lines_of['fresh4']:,}, "
                f"fresh5 set {lines_of['fresh5']:,}, fresh6 set {lines_of['fresh6']:,}, "
                f"fresh7 set {lines_of['fresh7']:,}, fresh8 set {lines_of['fresh8']:,} "
                "(the files a default scan reads: no vendor/, testdata/, hidden or generated files).", ""]
    scan_line = ", ".join(f"`{label}` at {commit}" for label, commit in scans.items())
    out += [f"Scans (label and gleak-sarif commit): {scan_line}.", ""]

    before = tallies("baseline", judged)
    has_current = (CORPUS / "current.counts.tsv").exists()
    after = tallies("current", judged) if has_current else {}
    out += [
        "### Per rule, precision set",
        "",
        "Each scan cell: level of the sampled findings (a rule's level can depend on the module's Go version),",
        "findings, findings per 100k lines of Go, sampled tp / fp / unsure, precision, and whether it meets",
        "that level's bar (error 90%, warning 75%, note 50%). `now` is the rule's severity and default state.",
        "",
        "| rule | now | baseline | current | note |",
        "|---|---|---|---|---|",
    ]
    below = []
    for rule_id in sorted(set(before) | set(after)):
        meta = metas.get(rule_id)
        state = rule_state(meta)
        cells = []
        for tally, current in ((before.get(rule_id), False), (after.get(rule_id), True)):
            if current and meta is not None and not meta.enabled_by_default:
                cells.append("off by default")
                continue
            if tally is None or not tally.findings:
                cells.append("0")
                continue
            ok = tally.precision is not None and tally.precision >= BARS[tally.level]
            verdict = "n/a" if tally.precision is None else ("meets" if ok else "**below**")
            if (current or not has_current) and verdict == "**below**":
                below.append(rule_id)
            cells.append(" · ".join([tally.level, *tally.cells(lines_of["precision"]), verdict]))
        out.append(f"| {rule_id} | {state} | {cells[0]} | {cells[1] if has_current else '(not scanned yet)'} | "
                   f"{notes.get(rule_id, '')} |")
    which = "current" if has_current else "baseline"
    out += ["", f"Rules below their level's bar in the {which} scan: {', '.join(below) if below else 'none'}.", ""]

    scanned = ["baseline", "current"] if has_current else ["baseline"]
    per_corpus = {lab: tallies(lab, judged, key="corpus") for lab in scanned}
    out += [
        "### Per corpus",
        "",
        "Each cell: findings, findings per 100k lines, sampled tp / fp / unsure, precision (all levels together).",
        "",
        "| corpus | lines of Go | " + " | ".join(scanned) + " |",
        "|---|---|" + "---|" * len(scanned),
    ]
    for m in mods:
        if m["set"] != "precision":
            continue
        lines = int(sizes[m["name"]]["go_lines"])
        cells = [" · ".join(per_corpus[lab].get(m["name"], Tally()).cells(lines)) for lab in scanned]
        out.append(f"| {m['name']} | {lines:,} | " + " | ".join(cells) + " |")
    totals = []
    for lab in scanned:
        total = Tally()
        for t in per_corpus[lab].values():
            total.findings += t.findings
            total.tp, total.fp, total.unsure = total.tp + t.tp, total.fp + t.fp, total.unsure + t.unsure
        totals.append(" · ".join(total.cells(lines_of["precision"])))
    out += [f"| all | {lines_of['precision']:,} | " + " | ".join(totals) + " |", ""]

    held = sorted((lab for lab in labels() if lab.startswith("heldout-")), key=lambda lab: (lab != "heldout-baseline", lab))
    if held:
        what = {row["label"]: row["rules"] for row in read_tsv(CORPUS / "scans.tsv")}
        out += ["### Held-out set", "",
                "Scanned only to re-check the rules after they were tuned on the precision set. Labels: "
                + "; ".join(f"`{lab}` ({what.get(lab, '')})" for lab in held) + ". A label without a sample "
                "was counted, not read.", "",
                "| rule | " + " | ".join(held) + " |",
                "|---|" + "---|" * len(held)]
        tables = {}
        for lab in held:
            if (CORPUS / f"{lab}.sample.tsv").exists():
                tables[lab] = tallies(lab, judged)
            else:
                counted: dict[str, Tally] = defaultdict(Tally)
                for row in read_tsv(CORPUS / f"{lab}.counts.tsv"):
                    counted[row["rule"]].findings += int(row["findings"])
                tables[lab] = counted
        rules = sorted(set().union(*tables.values()))
        for rule_id in rules:
            cells = []
            for lab in held:
                tally = tables[lab].get(rule_id)
                if tally is None or not tally.findings:
                    cells.append("0")
                elif (CORPUS / f"{lab}.sample.tsv").exists():
                    cells.append(" · ".join(tally.cells(lines_of["heldout"])))
                else:
                    cells.append(f"{tally.findings} (not sampled)")
            out.append(f"| {rule_id} | " + " | ".join(cells) + " |")
        if not rules:
            out.append("| (no findings) |" + " |" * len(held))
        out.append("")
    return (out + levels_section(metas, mods, judged) + fresh_section(metas, mods, sizes, lines_of["fresh"], judged)
            + fresh_section(metas, mods, sizes, lines_of["fresh2"], judged, "fresh2")
            + fresh_section(metas, mods, sizes, lines_of["fresh3"], judged, "fresh3")
            + fresh_section(metas, mods, sizes, lines_of["fresh4"], judged, "fresh4")
            + fresh_section(metas, mods, sizes, lines_of["fresh5"], judged, "fresh5")
            + fresh_section(metas, mods, sizes, lines_of["fresh6"], judged, "fresh6")
            + fresh_section(metas, mods, sizes, lines_of["fresh7"], judged, "fresh7")
            + fresh_section(metas, mods, sizes, lines_of["fresh8"], judged, "fresh8")
            + tests_section(metas, judged))


def tests_section(metas: dict[str, RuleMeta], judged: dict[tuple[str, str, str, int], str]) -> list[str]:
    """Findings in *_test.go files, counted and sampled apart (bench/corpus.py sample --tests-only)."""
    sets = ["precision", "heldout", "fresh", "fresh2", "fresh3", "fresh4", "fresh5", "fresh6", "fresh7", "fresh8"]

    def order(lab: str) -> tuple[int, str]:
        # per set (the precision set's labels have no prefix), then in label order (tests4-1 before tests4-2)
        prefix = lab.split("-", 1)[0]
        return (sets.index(prefix) if prefix in sets else 0, lab)

    labs = sorted((lab for lab in labels() if (CORPUS / f"{lab}.tests.sample.tsv").exists()), key=order)
    if not labs:
        return []
    scans = labels()
    what = {row["label"]: row["rules"] for row in read_tsv(CORPUS / "scans.tsv")}
    out = [
        "### Test files (issue 15 section 4)",
        "",
        "The rules used to skip `*_test.go` files wholesale; they no longer do (exemptions are by shape: see",
        "docs/recall.md, \"Test files\"). These scans count and judge only the findings in test files, per set:",
        "; ".join(f"`{lab}` at {scans[lab]} ({what.get(lab, '')})" for lab in labs) + ". Each cell: level,",
        "findings in test files, tp / fp / unsure of the sampled ones (up to 30 per rule, notes 10 in the fresh",
        "sets), precision. A verdict whose reason says \"silent since\" is a finding the final rules no longer",
        "report (an exemption by shape written against it).",
        "",
        "| rule | now | " + " | ".join(labs) + " |",
        "|---|---|" + "---|" * len(labs),
    ]
    tables = {lab: tallies(f"{lab}.tests", judged) for lab in labs}
    for rule_id in sorted(set().union(*tables.values())):
        meta = metas.get(rule_id)
        state = rule_state(meta)
        cells = []
        for lab in labs:
            tally = tables[lab].get(rule_id)
            if tally is None or not tally.findings:
                cells.append("0")
                continue
            cells.append(" · ".join([tally.level, str(tally.findings), f"{tally.tp} / {tally.fp} / {tally.unsure}",
                                     pct(tally.precision)]))
        out.append(f"| {rule_id} | {state} | " + " | ".join(cells) + " |")
    out.append("")
    return out


FRESH_INTROS = {
    "fresh": ("Fresh held-out set", "picked after issue 15's recall rules landed", [
        "`fresh-main` and `fresh-untuned` are the held-out measurement: main's rules before anyone had read",
        "these findings (`fresh-untuned` adds the rules that landed meanwhile: GL212 lock-partner, GL217/GL218,",
        "GL222). `fresh-final` is main after the issue-16 fixes written against the false shapes of this set",
        "(notes column): precision after tuning on it, an upper bound like the precision set's `current`.",
        "`fresh-prec2` is main after the third session's fixes of the false shapes left in `fresh-end` (GL104,",
        "GL212 and GL406 narrowed, GL404 demoted to warning): tuned on this set too. `fresh-prec4-0` is main",
        "at the fourth session's start (cac8d3b), `fresh-prec4-1` re-runs the rules that session's prec4 round",
        "changed (`--select`, the level table's section above), after it.",
    ]),
    "fresh2": ("fresh2 (untuned)", "picked in the third session of 2026-12-07", [
        "`fresh2-base` is the held-out measurement: main's rules at the session's start, judged before anyone",
        "had read these findings. The session's issue-16 tuning round was then written against its false",
        "shapes (general fixes: GL102, GL201, GL213, GL214, GL217, GL408 through build constraints, GL414,",
        "GL104's counted accept loop; GL401, GL504 and GL507 demoted to note; notes column): `fresh2-prec3-1`",
        "is main after that round and `fresh2-end` main at the session's end. Both are precision after tuning",
        "on this set, an upper bound like `fresh-final`; `fresh3` is the held-out check of that round.",
        "`fresh2-prec4-0` is main at the fourth session's start (cac8d3b); `fresh2-prec4-1` re-runs the rules",
        "the prec4 round changed (`--select`) after that round, tuned on this set's false shapes (GL214, GL404).",
    ]),
    "fresh3": ("fresh3 (untuned)", "picked in the third session of 2026-12-07 to re-check the tuning round done on "
               "`fresh2`", [
        "Judged before anyone tuned on it: `fresh3-base` is main's rules when the set was added (before the",
        "`fresh2` tuning round landed), `fresh3-end` main at the session's end, after it. Nobody tunes on this",
        "set: the change between the two columns is how the rules tuned on `fresh2` (and the recall work of",
        "the session) fare on code nobody read while writing them. `fresh3-prec4-0` is main at the fourth",
        "session's start (cac8d3b), `fresh3-prec4-1` main after that session's prec4 round, which was tuned on",
        "this set's false shapes (GL211, GL301, GL402, GL505; GL401 off): precision after tuning from then on.",
    ]),
    "fresh4": ("fresh4 (untuned)", "picked in the fourth session of 2026-12-07 as its untuned measurement", [
        "Nobody but the helper who built it fetched, scanned or read this set, and no rule was tuned on it:",
        "`fresh4-base` is main when the set was added, before any rule change of that session landed;",
        "`fresh4-end...` is main after the session's rule changes (among them the removal of the rules'",
        "`*_test.go` exemptions, so findings in test files are measured untuned here: about half the lines are",
        "tests). `fresh4-base`, `-end1` and `-end2` are held-out precision; every finding new in an end scan was",
        "judged too. `fresh4-end3` is NOT untuned: it is main after the lead re-decided the levels with fresh4's",
        "verdicts (GL202 and GL221 from error to warning) and fixed the `go close(c)` shape GL218 showed here.",
    ]),
    "fresh5": ("fresh5 (untuned)", "picked in the fifth session of 2026-12-07 as its untuned measurement", [
        "Nobody but the helper who built it fetched, scanned or read this set, and no rule was tuned on it:",
        "`fresh5-base` is main at the session's start (1c26718), before any rule change of that session;",
        "`fresh5-end...` is main after the session's rule changes (prec5, locks5). Both are held-out precision",
        "of the levels decided with fresh4; every finding new in an end scan was judged too.",
    ]),
    "fresh6": ("fresh6 (untuned)", "picked in the sixth session of 2026-12-07 as its untuned measurement", [
        "Nobody but the helper who built it fetched, scanned or read this set, and no rule was tuned on it:",
        "`fresh6-base` is main at the session's start (59be860), before any rule change of that session;",
        "`fresh6-end...` is main after the session's rule changes (prec6, lib6; speed6 and index6 change the",
        "engine, not the rules). Both are held-out precision of the levels decided with fresh5; every finding",
        "new in an end scan was judged too. go-ethereum is about two thirds of the set's lines.",
    ]),
    "fresh7": ("fresh7 (untuned)", "picked in the seventh session of 2026-12-07 as its untuned measurement", [
        "Nobody but the helper who built it fetched, scanned or read this set, and no rule was tuned on it:",
        "`fresh7-base` is main at the session's start (3ba2feb), before any rule change of that session;",
        "`fresh7-end...` is main after the session's rule changes (prec7, tests7; speed7 and atoms7 change the",
        "engine, not the rules). Both are held-out precision of the levels decided with fresh6; every finding",
        "new in an end scan was judged too. No module is above a quarter of the set's lines (cometbft, the",
        "largest, is 23%). `fresh7-end2` (main 24157d0) is NOT untuned: GL304's shadowing and GL505's",
        "method-read changes that landed after `fresh7-end1` were written against this set's false shapes.",
    ]),
    "fresh8": ("fresh8 (untuned)", "picked in the eighth session (2026-12-08) as its untuned measurement", [
        "Nobody but the helper who built it fetched, scanned or read this set, and no rule was tuned on it:",
        "`fresh8-base` is main at the session's start (cc37cff), before any rule change of that session;",
        "`fresh8-end...` is main after the session's changes (levels8: the levels decided by evidence over the",
        "first-seen judgments of the nine earlier sets; types8: declared-type facts in rule conditions). The",
        "end scans are the held-out measurement of that level policy; every finding new in an end scan was",
        "judged too. No module is above a quarter of the set's lines (go-git, the largest, is 18%).",
    ]),
}


def _sampled_at_level(lab: str, level: str, judged: dict[tuple[str, str, str, int], str],
                      test_files: bool | None = None) -> Tally:
    """The sampled findings of a scan label reported at `level` (only test files / only other files when
    `test_files` is given) with their verdicts."""
    total = Tally(level=level)
    for row in read_tsv(CORPUS / f"{lab}.sample.tsv"):
        if row["severity"] != level or (test_files is not None and row["path"].endswith("_test.go") != test_files):
            continue
        total.findings += 1
        verdict = judged.get((row["rule"], row["corpus"], row["path"], int(row["line"])), "todo")
        total.tp += verdict == "tp"
        total.fp += verdict == "fp"
        total.unsure += verdict == "unsure"
    return total


def fresh_section(metas: dict[str, RuleMeta], mods: list[dict[str, str]], sizes: dict[str, dict[str, str]],
                  lines: int, judged: dict[tuple[str, str, str, int], str], which: str = "fresh") -> list[str]:
    """A fresh held-out set: every error and warning finding judged, notes sampled (10 per rule)."""
    # in the order the scans were made (scans.tsv)
    labs = [lab for lab in labels() if lab.startswith(f"{which}-") and (CORPUS / f"{lab}.sample.tsv").exists()]
    if not labs:
        return []
    scans = labels()
    notes = {row["rule"]: row["note"] for row in read_tsv(CORPUS / f"{which}-notes.tsv")} \
        if (CORPUS / f"{which}-notes.tsv").exists() else {}
    # the verdict line speaks for the last scan of every default rule (a `--select` scan re-checks a few)
    full = {row["label"] for row in read_tsv(CORPUS / "scans.tsv") if row["rules"].startswith("default rules")}
    last = ([lab for lab in labs if lab in full] or labs)[-1]
    title, picked, intro = FRESH_INTROS[which]
    out = [
        f"### {title}",
        "",
        f"{sum(m['set'] == which for m in mods)} modules ({lines:,} lines of Go) that no rule was tuned on, "
        f"{picked}",
        "and scanned with the default rules of main at the commit shown: "
        + "; ".join(f"`{lab}` at {scans[lab]}" for lab in labs) + ". Every error and warning finding was",
        "read and judged (up to 30 per rule), notes up to 10 per rule. Each cell: level, findings, findings per",
        "100k lines, tp / fp / unsure, precision, and whether it meets that level's bar.",
        "",
        *intro,
        "",
        "| rule | now | " + " | ".join(labs) + " | note |",
        "|---|---|" + "---|" * len(labs) + "---|",
    ]
    tables = {lab: tallies(lab, judged) for lab in labs}
    below = []
    for rule_id in sorted(set().union(*tables.values())):
        meta = metas.get(rule_id)
        state = rule_state(meta)
        cells = []
        for lab in labs:
            tally = tables[lab].get(rule_id)
            if tally is None or not tally.findings:
                cells.append("0")
                continue
            ok = tally.precision is not None and tally.precision >= BARS[tally.level]
            verdict = "n/a" if tally.precision is None else ("meets" if ok else "**below**")
            if lab == last and verdict == "**below**":
                below.append(rule_id)
            cells.append(" · ".join([tally.level, *tally.cells(lines), verdict]))
        out.append(f"| {rule_id} | {state} | " + " | ".join(cells) + f" | {notes.get(rule_id, '')} |")
    out += ["", f"Rules below their level's bar in `{last}`: {', '.join(below) if below else 'none'}.", ""]

    # each sampled finding at the level it was reported at (its effective level: a rule's `severity-in-tests`
    # in test files), not at its rule's highest level
    out += ["Per level (each sampled finding at the level it was reported at, `severity-in-tests` included): "
            "sampled findings, tp / fp / unsure, precision, bar:", "",
            "| level | " + " | ".join(labs) + " |", "|---|" + "---|" * len(labs)]
    for level in reversed(LEVEL_ORDER):
        cells = []
        for lab in labs:
            total = _sampled_at_level(lab, level, judged)
            ok = total.precision is not None and total.precision >= BARS[level]
            bar = "n/a" if total.precision is None else ("meets" if ok else "**below**")
            cells.append(" · ".join([str(total.findings), f"{total.tp} / {total.fp} / {total.unsure}",
                                     pct(total.precision), bar]))
        out.append(f"| {level} | " + " | ".join(cells) + " |")
    out.append("")

    out += test_split(mods, sizes, judged, labs, which)
    per_corpus = {lab: tallies(lab, judged, key="corpus") for lab in labs}
    out += ["Per corpus (all levels together):", "",
            "| corpus | module | style | lines of Go | of which tests | " + " | ".join(labs) + " |",
            "|---|---|---|---|---|" + "---|" * len(labs)]
    for m in mods:
        if m["set"] != which:
            continue
        size = int(sizes[m["name"]]["go_lines"])
        cells = [" · ".join(per_corpus[lab].get(m["name"], Tally()).cells(size)) for lab in labs]
        out.append(f"| {m['name']} | {m['module']} {m['version']} | {m['style']} | {size:,} | "
                   f"{int(sizes[m['name']]['test_lines']):,} | " + " | ".join(cells) + " |")
    out.append("")
    return out


def test_split(mods: list[dict[str, str]], sizes: dict[str, dict[str, str]],
               judged: dict[tuple[str, str, str, int], str], labs: list[str], which: str) -> list[str]:
    """Sampled findings per level in test files (`*_test.go`) and in the other files, each kind's rate per 100k
    of its own lines: whether the rules hold up in tests is measured, not assumed."""
    names = {m["name"] for m in mods if m["set"] == which}
    test_lines = sum(int(sizes[n]["test_lines"]) for n in names)
    kinds = {"test files": test_lines, "other files": sum(int(sizes[n]["go_lines"]) for n in names) - test_lines}
    out = ["Test files (`*_test.go`) and other files, per level: sampled findings (every error and warning, notes",
           "up to 10 per rule), per 100k lines of that kind of file "
           f"({kinds['test files']:,} lines in tests, {kinds['other files']:,} in other files).", "",
           "| level | files | " + " | ".join(labs) + " |", "|---|---|" + "---|" * len(labs)]
    for level in reversed(LEVEL_ORDER):
        for kind, lines in kinds.items():
            cells = []
            for lab in labs:
                total = _sampled_at_level(lab, level, judged, test_files=kind == "test files")
                cells.append(" · ".join(total.cells(lines)) if total.findings else "0")
            out.append(f"| {level} | {kind} | " + " | ".join(cells) + " |")
    return [*out, ""]


# The sets whose judgments count as first-seen for the level table. fresh4 joined after its untuned
# measurement (fourth session of 2026-12-07): the levels were then re-decided with it, so the next untuned
# set (fresh5 and later) is the measurement of these levels and stays out of it.
FIRST_SEEN_SETS = ("precision", "heldout", "fresh", "fresh2", "fresh3", "fresh4", "fresh5", "fresh6", "fresh7", "fresh8")


# Rules off by default when the scans before levels8's (session 8) ran: a "default rules" row of scans.tsv
# without an "off by default:" list ran every rule but these. Later default scans name the rules they left off
# (bench/corpus.py), so turning a rule off does not rewrite which scans ran it.
DEFAULT_OFF_BEFORE_LEVELS8 = frozenset({"GL101", "GL103", "GL209", "GL210", "GL302", "GL401"})
OFF_MARK = "off by default: "


def rules_run(rules: str, known: set[str]) -> set[str]:
    """The rules a scans.tsv row ran: a `--select` scan the rules it names, a default-rules scan every known rule
    but the ones off by default then."""
    if rules.startswith("default rules"):
        off = {part.strip() for part in rules.partition(OFF_MARK)[2].split(",") if part.strip().startswith("GL")} \
            if OFF_MARK in rules else set(DEFAULT_OFF_BEFORE_LEVELS8)
        return known - off
    # "--select GL206,GL210, --no-config"
    return {part.strip() for part in rules.removeprefix("--select ").split(",") if part.strip().startswith("GL")}


def set_of_label(label: str) -> str:
    return next((name for name in ("heldout", "fresh2", "fresh3", "fresh4", "fresh5", "fresh6", "fresh7", "fresh8",
                                   "fresh")
                 if label.startswith(f"{name}-")), "precision")


def first_seen(metas: dict[str, RuleMeta], mods: list[dict[str, str]]) -> tuple[
        dict[tuple[str, str, str, int], str], set[tuple[str, str, str, int]]]:
    """The first-seen findings of FIRST_SEEN_SETS ((rule, corpus, path, line) -> the label that first sampled
    it) and the findings the last scan running their rule on their set still samples (`still reported`)."""
    set_of = {m["name"]: m["set"] for m in mods}
    seen: dict[tuple[str, str, str, int], str] = {}
    # (set, rule) -> the last scan that ran the rule on the set
    last_run: dict[tuple[str, str], str] = {}
    for row in read_tsv(CORPUS / "scans.tsv"):
        label = row["label"]
        path = CORPUS / f"{label}.sample.tsv"
        if not path.exists():
            continue
        sample = read_tsv(path)
        scanned = set_of_label(label)
        for rule_id in rules_run(row["rules"], set(metas)):
            last_run[(scanned, rule_id)] = label
        for r in sample:
            if set_of.get(r["corpus"]) in FIRST_SEEN_SETS:
                seen.setdefault((r["rule"], r["corpus"], r["path"], int(r["line"])), label)
    latest: set[tuple[str, str, str, int]] = set()
    for label in set(last_run.values()):
        for r in read_tsv(CORPUS / f"{label}.sample.tsv"):
            if last_run.get((set_of.get(r["corpus"], ""), r["rule"])) == label:
                latest.add((r["rule"], r["corpus"], r["path"], int(r["line"])))
    return seen, latest


def levels_section(metas: dict[str, RuleMeta], mods: list[dict[str, str]],
                   judged: dict[tuple[str, str, str, int], str]) -> list[str]:
    """Per rule: the verdicts findings got the first time they were read, over every set before tuning.

    A finding is first seen in the first scan (scans.tsv order) whose sample holds it; verdicts are kept per
    finding, so its verdict is the one it got then. Every sampled finding of every scan is therefore a
    first-seen judgment, whatever was tuned later; `still reported` looks at the last scan that ran the rule on
    the finding's set (its sample), to tell the false shapes a general fix removed since from the ones left.
    """
    seen, latest = first_seen(metas, mods)
    decisions = {row["rule"]: row for row in read_tsv(CORPUS / "levels.tsv")} \
        if (CORPUS / "levels.tsv").exists() else {}
    first: dict[str, Tally] = defaultdict(Tally)
    left: dict[str, int] = defaultdict(int)
    for key in seen:
        verdict = judged.get(key, "todo")
        tally = first[key[0]]
        tally.findings += 1
        if verdict == "tp":
            tally.tp += 1
        elif verdict == "fp":
            tally.fp += 1
            left[key[0]] += key in latest
        elif verdict == "unsure":
            tally.unsure += 1
    out = [
        "## Levels, from first-seen judgments",
        "",
        "Each rule's level checked against the verdicts its findings got the first time they were read, before",
        "anyone tuned on them: every sampled finding of the sets " + ", ".join(f"`{s}`" for s in FIRST_SEEN_SETS),
        "(the first scan whose sample holds a finding is when it was first seen; a verdict is kept per finding).",
        "`fp still reported`: first-seen false findings that the last scan running the rule on their set still",
        "reports (the others were removed by a general shape fix with a fixture). Bars: error 90%, warning 75%,",
        "note on by default 50%, over rules with at least 3 judged findings; `bar` checks the rule's level now",
        "against the first-seen precision, then against `without fixed shapes` (tp / (tp + fp still",
        "reported)). An error rule below the bar on first-seen precision is demoted to warning (that costs no",
        "leakbench group: leakbench counts error and warning findings) unless every false shape of it is fixed",
        "and it has more true findings than false ones; a warning rule below it is fixed by shape where the fp",
        "is still reported, or demoted to note when that costs no leakbench group. `now` is the rule's",
        "severity and default state; `decision` is bench/triage/corpus/levels.tsv.",
        "",
        "| rule | now | first-seen tp / fp / unsure | precision | fp still reported | without fixed shapes | bar "
        "| decision |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for rule_id in sorted(set(first) | set(decisions)):
        meta = metas.get(rule_id)
        tally = first.get(rule_id, Tally())
        state = rule_state(meta)
        level = meta.severity.value if meta else "note"
        net = Tally(tp=tally.tp, fp=left.get(rule_id, 0))
        if tally.judged < 3:
            bar = "too few"
        else:
            bar = " / ".join("meets" if t.precision is not None and t.precision >= BARS[level] else "**below**"
                             for t in (tally, net))
        row = decisions.get(rule_id, {})
        out.append(f"| {rule_id} | {state} | {tally.tp} / {tally.fp} / {tally.unsure} | {pct(tally.precision)} | "
                   f"{net.fp} | {pct(net.precision)} | {bar} | {row.get('decision', '')} |")
    out.append("")
    return [*policy_section(seen, latest, judged), *out, *rules_by_file_kind(metas, seen, latest, judged, decisions),
            *levels_by_file_kind(metas, seen, latest, judged)]


def file_kind(path: str) -> str:
    return "test files" if path.endswith("_test.go") else "other files"


def effective_level(meta: RuleMeta, path: str) -> str:
    """The level a finding of the rule gets now in that file: `severity-in-tests` caps it in `*_test.go`."""
    level = meta.severity
    if meta.severity_in_tests is not None and path.endswith("_test.go") \
            and meta.severity_in_tests.rank < level.rank:
        level = meta.severity_in_tests
    return level.value


def first_seen_by(group_of: Callable[[tuple[str, str, str, int]], tuple[str, str] | None],
                  seen: dict[tuple[str, str, str, int], str], latest: set[tuple[str, str, str, int]],
                  judged: dict[tuple[str, str, str, int], str]) -> tuple[dict[tuple[str, str], Tally],
                                                                          dict[tuple[str, str], int]]:
    """First-seen verdicts summed per group (None: left out), and per group the fps still reported."""
    first: dict[tuple[str, str], Tally] = defaultdict(Tally)
    left: dict[tuple[str, str], int] = defaultdict(int)
    for key in seen:
        group = group_of(key)
        if group is None:
            continue
        verdict = judged.get(key, "todo")
        tally = first[group]
        tally.findings += 1
        if verdict == "tp":
            tally.tp += 1
        elif verdict == "fp":
            tally.fp += 1
            left[group] += key in latest
        elif verdict == "unsure":
            tally.unsure += 1
    return first, left


def rules_by_file_kind(metas: dict[str, RuleMeta], seen: dict[tuple[str, str, str, int], str],
                       latest: set[tuple[str, str, str, int]],
                       judged: dict[tuple[str, str, str, int], str],
                       decisions: dict[str, dict[str, str]]) -> list[str]:
    """The level table's first-seen verdicts per rule, test files (`*_test.go`) apart from the other files:
    the evidence a rule's `severity-in-tests` is decided on (bench/triage/corpus/levels.tsv)."""
    first, left = first_seen_by(lambda key: (key[0], file_kind(key[2])), seen, latest, judged)
    out = [
        "Per rule, test files (`*_test.go`) apart from the other files: the same first-seen verdicts. `now` is",
        "the rule's level (and its `severity-in-tests` level, \"note in tests\", where set). A rule on at",
        "warning (or error) whose test-file precision is below its level's bar while its other files' is",
        "clearly better reports test-file findings one level lower (an error rule only below 90% with at least",
        "5 judged test-file findings); not with fewer than 3 judged test-file findings (\"too few\").",
        "`in tests` is the decision (bench/triage/corpus/levels.tsv, column `in tests`).",
        "",
        "| rule | now | test files: tp / fp / unsure | precision | fp still reported | without fixed shapes "
        "| other files: tp / fp / unsure | precision | fp still reported | without fixed shapes | in tests |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for rule_id in sorted({rule for rule, _ in first}):
        meta = metas.get(rule_id)
        state = rule_state(meta)
        if meta is not None and meta.severity_in_tests is not None and meta.severity_in_tests != meta.severity:
            state += f", {meta.severity_in_tests.value} in tests"
        cells = []
        for kind in ("test files", "other files"):
            tally = first.get((rule_id, kind), Tally())
            net = Tally(tp=tally.tp, fp=left.get((rule_id, kind), 0))
            cells += [f"{tally.tp} / {tally.fp} / {tally.unsure}", pct(tally.precision), str(net.fp),
                      pct(net.precision)]
        decision = decisions.get(rule_id, {}).get("in tests") or ""
        out.append(f"| {rule_id} | {state} | " + " | ".join(cells) + f" | {decision} |")
    out.append("")
    return out


def levels_by_file_kind(metas: dict[str, RuleMeta], seen: dict[tuple[str, str, str, int], str],
                        latest: set[tuple[str, str, str, int]],
                        judged: dict[tuple[str, str, str, int], str]) -> list[str]:
    """The level table's first-seen findings summed per level now, test files (`*_test.go`) apart: with the
    rules' own levels, then with each finding's effective level (`severity-in-tests` in test files)."""

    def own(key: tuple[str, str, str, int]) -> tuple[str, str] | None:
        meta = metas.get(key[0])
        return (meta.severity.value, file_kind(key[2])) if meta and meta.enabled_by_default else None

    def effective(key: tuple[str, str, str, int]) -> tuple[str, str] | None:
        meta = metas.get(key[0])
        return (effective_level(meta, key[2]), file_kind(key[2])) if meta and meta.enabled_by_default else None

    before = first_seen_by(own, seen, latest, judged)
    after = first_seen_by(effective, seen, latest, judged)
    out = [
        "Per level now (rules on by default), test files (`*_test.go`) apart from the other files: the same",
        "first-seen verdicts, summed over the rules at that level, first with each rule's own level",
        "(`severity`), then with each finding's effective level (a rule's `severity-in-tests` level in test",
        "files, where set). Leakbench programs are not test files, so a test-file level costs no leakbench group.",
        "",
    ]
    for title, (first, left) in (("rule's own level", before), ("effective level", after)):
        out += level_table(title, first, left)
    return out


def level_table(title: str, first: dict[tuple[str, str], Tally], left: dict[tuple[str, str], int]) -> list[str]:
    """First-seen verdicts per (level, file kind), as summed by first_seen_by: one row per level and kind."""
    out = [f"| level ({title}) | files | first-seen tp / fp / unsure | precision | fp still reported "
           "| without fixed shapes | bar |",
           "|---|---|---|---|---|---|---|"]
    for level in reversed(LEVEL_ORDER):
        for kind in ("test files", "other files", "all files"):
            kinds = ("test files", "other files") if kind == "all files" else (kind,)
            tally, net = Tally(), Tally()
            for k in kinds:
                part = first.get((level, k), Tally())
                tally.tp, tally.fp, tally.unsure = tally.tp + part.tp, tally.fp + part.fp, \
                    tally.unsure + part.unsure
                net.tp, net.fp = net.tp + part.tp, net.fp + left.get((level, k), 0)
            bar = " / ".join("meets" if t.precision is not None and t.precision >= BARS[level] else "**below**"
                             for t in (tally, net))
            out.append(f"| {level} | {kind} | {tally.tp} / {tally.fp} / {tally.unsure} | "
                       f"{pct(tally.precision)} | {net.fp} | {pct(net.precision)} | {bar} |")
    out.append("")
    return out


POLICY_TSV = CORPUS / "levels-policy.tsv"  # written by bench/levels.py
AUTHORED_TSV = CORPUS / "authored.tsv"  # the levels before the policy (session 8's start)
MIN_JUDGED = 3  # the levels policy's "too few" (bench/levels.py): fewer judged findings than this


def policy_section(seen: dict[tuple[str, str, str, int], str], latest: set[tuple[str, str, str, int]],
                   judged: dict[tuple[str, str, str, int], str]) -> list[str]:
    """Levels by evidence (session 8): the policy, its per-rule result (bench/levels.py --write) and the
    first-seen precision per effective level before (authored levels) and after (the policy's)."""
    if not POLICY_TSV.exists() or not AUTHORED_TSV.exists():
        return []
    policy = {row["rule"]: row for row in read_tsv(POLICY_TSV)}
    authored = {row["rule"]: row for row in read_tsv(AUTHORED_TSV)}
    e, w, n = (f"{BARS[x]:.0%}" for x in ("error", "warning", "note"))
    out = [
        "## Levels by evidence",
        "",
        "Since session 8 every rule's level follows one written policy over its first-seen verdicts (the sets of",
        "the next section), computed and checked by `bench/levels.py` (`--check` runs in the tests, so a",
        "rule YAML cannot drift from it). Per rule, split by file kind (`*_test.go` / other files):",
        "n = tp + fp (unsure not counted), p = tp / n, q = tp / (tp + fp still reported).",
        "",
        f"1. Level for other files from other-file verdicts when n_other >= {MIN_JUDGED}, else from all the rule's",
        f"   verdicts pooled. Level for test files from test-file verdicts when n_test >= {MIN_JUDGED}, else the",
        "   other-files level.",
        "2. A level from (tp, fp), never above the rule's authored level (`bench/triage/corpus/authored.tsv`: the",
        f"   level and default state before the policy): n >= {MIN_JUDGED}: error needs p >= {e}, warning",
        f"   p >= {w}, otherwise note; fewer judged: the authored level, one level lower when fp > tp; no verdict",
        "   at all: the authored level.",
        "3. `severity` is the other-files level; `severity-in-tests` the test-files level when lower (a higher",
        "   test-file level cannot be expressed: those rules stay at the other-files level, `basis test` says so).",
        f"4. A rule at note is on by default only when q >= {n} (pooled; no fp still reported meets it); turning",
        f"   a rule off needs n >= {MIN_JUDGED}, except a rule with fp > tp and no true finding. A rule off by",
        "   default before the policy stays off.",
        "5. A level is bound to the evidence: a rule with findings only at note keeps `severity: note`; new",
        "   verdicts move levels both ways down to the authored level, never above it.",
        "",
        "Leakbench counts error and warning findings; `bench/leakbench.py` also reports the groups any default",
        "finding hits (notes included), so what a demotion costs at each level is measured, not avoided.",
        "",
        "| rule | authored | other files tp / fp / fp still reported | p | test files tp / fp / fp still "
        "reported | p | q | basis (other; test) | level | in tests | default |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for rule, row in policy.items():
        level = f"**{row['level']}**" if row["changed"] else row["level"]
        out.append(f"| {rule} | {row['authored']} | {row['other files tp / fp / left']} | {row['p other']} | "
                   f"{row['test files tp / fp / left']} | {row['p test']} | {row['q']} | {row['basis other']}; "
                   f"{row['basis test']} | {level} | {row['level in tests']} | {row['default']} |")
    changed = [rule for rule, row in policy.items() if row["changed"]]
    higher = [rule for rule, row in policy.items() if "not expressible" in row["basis test"]]
    out += ["", f"Changed by the policy (bold level): {', '.join(changed) or 'none'}. Rules whose test-file evidence "
            f"gives a higher level than their other files (not expressible): {', '.join(higher) or 'none'}.", ""]

    def rows_level(rows: dict[str, dict[str, str]], level_col: str,
                   tests_col: str) -> Callable[[tuple[str, str, str, int]], tuple[str, str] | None]:
        def group(key: tuple[str, str, str, int]) -> tuple[str, str] | None:
            row = rows.get(key[0])
            if row is None or row["default"] != "on":
                return None
            kind = file_kind(key[2])
            return (row[tests_col] if kind == "test files" else row[level_col]), kind
        return group

    before = first_seen_by(rows_level(authored, "severity", "severity in tests"), seen, latest, judged)
    after = first_seen_by(rows_level(policy, "level", "level in tests"), seen, latest, judged)
    out += ["Per effective level (rules on by default; a finding at its rule's level in its kind of file), the",
            "same first-seen verdicts with the authored levels, then with the policy's:", ""]
    out += level_table("authored, effective", *before)
    out += level_table("by evidence, effective", *after)
    return out


def tuning_section() -> list[str]:
    from gleak_sarif.engine.scan import all_rule_metas

    metas = {m.id: m for m in all_rule_metas()}
    lines = [
        "## Tuning corpus: GOROOT, grpc, etcd, nats-server",
        "",
        "The code the rules were written and tuned against: GOROOT/src (Go 1.26.8), google.golang.org/grpc",
        "v1.85.0, go.etcd.io/etcd/server/v3 v3.7.3, github.com/nats-io/nats-server/v2 v2.15.2. Each sampled",
        "finding was read and judged; the verdicts and reasons are in `bench/triage/<ID>.tsv`. Verdicts on",
        "findings that earlier versions of a rule produced (and that a fix removed) are kept in",
        "`bench/triage/<ID>.extra.tsv`; they are not counted here. These counts are from the scans made when",
        "each rule was tuned, not regenerated; the bar here is the rule's declared precision class.",
        "",
        "| rule | severity | declared | findings (goroot / grpc / etcd / nats) | sampled tp / fp / unsure | sampled precision | meets declared |",
        "|---|---|---|---|---|---|---|",
    ]
    below = []
    for rule_id in sorted(metas):
        meta = metas[rule_id]
        counts: dict[str, str] = {}
        counts_file = TRIAGE / f"{rule_id}.counts.tsv"
        if counts_file.exists():
            counts = {row["corpus"]: row["findings"] for row in read_tsv(counts_file)}
        tally: dict[str, int] = defaultdict(int)
        triage_file = TRIAGE / f"{rule_id}.tsv"
        if triage_file.exists():
            for row in read_tsv(triage_file):
                tally[row["verdict"].strip()] += 1
        judged = tally["tp"] + tally["fp"]
        precision = f"{tally['tp'] / judged:.0%}" if judged else "n/a (no findings)"
        meets = "n/a"
        if judged:
            ok = tally["tp"] / judged >= THRESHOLDS[meta.precision.value]
            meets = "yes" if ok else "**no**"
            if not ok:
                below.append(rule_id)
        found = " / ".join(counts.get(c, "-") for c in ("goroot", "grpc", "etcd", "nats"))
        lines.append(f"| {rule_id} {meta.name} | {meta.severity.value} | {meta.precision.value} | {found} | "
                     f"{tally['tp']} / {tally['fp']} / {tally['unsure']} | {precision} | {meets} |")
    lines += ["", f"Rules below their declared precision on the tuning corpus: {', '.join(below) if below else 'none'}.",
              ""]
    return lines


def render() -> str:
    sys.path.insert(0, str(REPO))
    lines = [
        "# Sampled precision on real code",
        "",
        "<!-- Generated by `bench/precision_report.py --write` from bench/triage/; "
        "tests/bench checks that it is up to date. -->",
        "",
        *corpus_section(),
        *tuning_section(),
    ]
    return "\n".join(lines)


def main() -> int:
    text = render()
    if "--check" in sys.argv:
        current = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
        if current != text:
            print("docs/precision.md is out of date: run bench/precision_report.py --write", file=sys.stderr)
            return 1
        return 0
    print(text)
    if "--write" in sys.argv:
        tmp = DOC.with_suffix(".md.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(DOC)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
