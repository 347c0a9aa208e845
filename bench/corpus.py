"""The precision corpus (issue 16): popular Go modules at pinned versions, scanned and sampled for triage.

    .venv/bin/python bench/corpus.py fetch                 # download (Go module proxy), count lines of Go
    .venv/bin/python bench/corpus.py scan --label current  # default rules over every module of the set
    .venv/bin/python bench/corpus.py sample --label current   # deterministic sample per rule -> triage rows
    .venv/bin/python bench/corpus.py show GL206 --label current   # code of each sampled finding, to judge it
    .venv/bin/python bench/corpus.py sample --label tests4-1 --tests-only   # only findings in *_test.go files
    .venv/bin/python bench/corpus.py --list-paths          # folders of the fetched precision-set modules

The module list is bench/corpus.tsv. Set `precision` is the corpus rules are measured (and tuned) on;
set `heldout` is scanned with `--set heldout` (labels `heldout-...`) and only used to re-check a rule
after it was tuned: nobody tunes on it. Set `fresh` (`--set fresh`, labels `fresh-...`) is a second, larger
held-out set added after the recall rules of issue 15 landed; nobody tunes on it either, and its note rules
are sampled 10 per rule (NOTE_SAMPLE), errors and warnings 30. Set `fresh2` (`--set fresh2`, labels
`fresh2-...`): added in the third session of 2026-12-07, judged before any tuning; a third held-out set, sampled
like `fresh`, that nobody tunes on. Set `fresh3` (`--set fresh3`, labels `fresh3-...`): added in the third
session of 2026-12-07 to re-check the tuning round done on fresh2; judged before any tuning, sampled like
`fresh`, and nobody tunes on it. Set `fresh4` (`--set fresh4`, labels `fresh4-...`): added in the fourth
session of 2026-12-07 as the untuned measurement of that session; judged before any of its tuning, sampled like
`fresh`, and nobody tunes on it. Set `fresh5` (`--set fresh5`, labels `fresh5-...`): added in the fifth session
of 2026-12-07 as the untuned measurement of that session; judged before any of its tuning, sampled like `fresh`,
and nobody tunes on it. Set `fresh6` (`--set fresh6`, labels `fresh6-...`): added in the sixth session of
2026-12-07 as the untuned measurement of that session; judged before any of its tuning, sampled like `fresh`,
and nobody tunes on it. Set `fresh7` (`--set fresh7`, labels `fresh7-...`): added in the seventh session of
2026-12-07 as the untuned measurement of that session; judged before any of its tuning, sampled like `fresh`,
and nobody tunes on it. Set `fresh8` (`--set fresh8`, labels `fresh8-...`): added in the eighth session
(2026-12-08) as the untuned measurement of that session; judged before any of its tuning, sampled like `fresh`,
and nobody tunes on it. Modules are fetched with `go mod download` into
.cache/corpus/mod (git-ignored), so nothing of theirs enters the repository.

Files written under bench/triage/corpus/ (committed; bench/precision_report.py reads them):
  sizes.tsv             corpus, files, go_lines (the .go files a default scan reads: no vendor/, testdata/,
                        hidden or generated files), test_lines (the *_test.go part of go_lines)
  scans.tsv             label, commit, rules: what each scan ran (the gleak-sarif commit it was made with)
  <label>.counts.tsv    rule, corpus, findings: every finding of the scan, counted
  <label>.sample.tsv    rule, corpus, path, line, severity, message: the sampled findings (up to SAMPLE per
                        rule, the ones whose key hashes lowest: a finding that stays in a later scan stays
                        sampled, so verdicts carry over)
  <ID>.tsv              corpus, path, line, verdict, reason: one verdict per judged finding (kept when a
                        later rule version no longer reports it)
`sample` appends a row with verdict `todo` to <ID>.tsv for every sampled finding not judged yet.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import re
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
LIST = HERE / "corpus.tsv"
TRIAGE = HERE / "triage" / "corpus"
CACHE = REPO / ".cache" / "corpus"
MODCACHE = CACHE / "mod"
RESULTS = CACHE / "results"
SAMPLE = 30
SETS = ("precision", "heldout", "fresh", "fresh2", "fresh3", "fresh4", "fresh5", "fresh6", "fresh7", "fresh8")
# Findings of a note rule sampled per set when fewer than SAMPLE (the fresh sets read a sample of the notes).
NOTE_SAMPLE = {"fresh": 10, "fresh2": 10, "fresh3": 10, "fresh4": 10, "fresh5": 10, "fresh6": 10, "fresh7": 10, "fresh8": 10}
VERDICTS = ("tp", "fp", "unsure")
# The scanner's own default skips (engine/discover.py): vendored code, testdata, hidden folders, generated
# files. Counted the same way here so that findings per 100k lines compare like with like.
GENERATED = re.compile(r"^// Code generated .* DO NOT EDIT\.$", re.MULTILINE)
SKIP_DIRS = {"vendor", "testdata"}


@dataclass(frozen=True)
class Module:
    name: str
    set: str
    module: str
    version: str
    style: str


@dataclass(frozen=True)
class Finding:
    rule: str
    corpus: str
    path: str
    line: int
    severity: str
    message: str

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.corpus, self.path, self.line)

    @property
    def order(self) -> str:
        text = f"{self.rule}\t{self.corpus}\t{self.path}\t{self.line}"
        return hashlib.sha256(text.encode()).hexdigest()


def read_tsv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def write_tsv(path: Path, columns: list[str], rows: list[dict[str, str]]) -> None:
    """Atomic write: a crash leaves the old file, never half a table."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, columns, delimiter="\t", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    tmp.replace(path)


def modules(which: str) -> list[Module]:
    found = [Module(**row) for row in read_tsv(LIST)]  # type: ignore[arg-type]
    return [m for m in found if which == "all" or m.set == which]


def _go_env() -> dict[str, str]:
    env = dict(os.environ)
    # Writable module cache so `rm -rf .cache/corpus` works; the corpus never builds, so no toolchain switch.
    env.update(GOMODCACHE=str(MODCACHE), GOFLAGS="-modcacherw", GOTOOLCHAIN="local")
    return env


def module_dir(mod: Module) -> Path:
    return MODCACHE / f"{_escape(mod.module)}@{mod.version}"


def _escape(path: str) -> str:
    # The module cache's case encoding: an upper-case letter is stored as '!' and the lower-case letter.
    return re.sub(r"[A-Z]", lambda m: "!" + m.group(0).lower(), path)


def fetch(mod: Module) -> Path:
    target = module_dir(mod)
    if not target.is_dir():
        CACHE.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run(["go", "mod", "download", "-json", f"{mod.module}@{mod.version}"],
                              cwd=CACHE, env=_go_env(), capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise SystemExit(f"go mod download {mod.module}@{mod.version} failed:\n{proc.stdout}{proc.stderr}")
        target = Path(json.loads(proc.stdout)["Dir"])
    return target


def go_files(root: Path) -> list[Path]:
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith((".", "_")))
        for name in sorted(files):
            if name.endswith(".go") and not name.startswith((".", "_")):
                found.append(Path(folder) / name)
    return found


def count_lines(root: Path) -> tuple[int, int, int]:
    files = lines = tests = 0
    for path in go_files(root):
        text = path.read_text(encoding="utf-8", errors="replace")
        head = text.split("\npackage ", 1)[0]
        if GENERATED.search(head):
            continue
        n = text.count("\n") + (0 if text.endswith("\n") or not text else 1)
        files += 1
        lines += n
        if path.name.endswith("_test.go"):
            tests += n
    return files, lines, tests


def cmd_fetch(args: argparse.Namespace) -> int:
    sizes = {row["corpus"]: row for row in read_tsv(TRIAGE / "sizes.tsv")} if (TRIAGE / "sizes.tsv").exists() else {}
    print(f"{'corpus':14} {'set':9} {'module@version':52} {'files':>6} {'go lines':>9} {'tests':>8}")
    total = Counter[str]()
    for mod in modules(args.set):
        files, lines, tests = count_lines(fetch(mod))
        sizes[mod.name] = {"corpus": mod.name, "files": str(files), "go_lines": str(lines), "test_lines": str(tests)}
        total[mod.set] += lines
        print(f"{mod.name:14} {mod.set:9} {mod.module + '@' + mod.version:52} {files:6} {lines:9} {tests:8}")
    for name, lines in sorted(total.items()):
        print(f"total {name}: {lines} lines of Go")
    order = [m.name for m in modules("all")]
    write_tsv(TRIAGE / "sizes.tsv", ["corpus", "files", "go_lines", "test_lines"],
              sorted(sizes.values(), key=lambda r: order.index(r["corpus"]) if r["corpus"] in order else 99))
    return 0


def _commit() -> str:
    proc = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=REPO, capture_output=True, text=True,
                          check=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "rules", "gleak_sarif"], cwd=REPO,
                           capture_output=True, text=True, check=True).stdout.strip()
    return proc.stdout.strip() + ("+uncommitted-rule-or-engine-changes" if dirty else "")


def _off_by_default() -> list[str]:
    proc = subprocess.run([str(REPO / ".venv" / "bin" / "gleak-sarif"), "rules", "list", "--format", "json"],
                          cwd=REPO, capture_output=True, text=True, check=True)
    return sorted(rule["id"] for rule in json.loads(proc.stdout) if not rule["enabled_by_default"])


def load_findings(label: str, mods: list[Module]) -> list[Finding]:
    found: dict[tuple[str, str, str, int], Finding] = {}
    for mod in mods:
        data = json.loads((RESULTS / label / f"{mod.name}.json").read_text(encoding="utf-8"))
        for item in data["findings"]:
            if item.get("suppression"):
                continue
            span = item["primary"]
            finding = Finding(item["rule_id"], mod.name, span["path"], int(span["start_line"]),
                              item["severity"], " ".join(item["message"].split()))
            # One verdict per (rule, file, line): two findings of one rule on one line are one thing to judge.
            found.setdefault((finding.rule, *finding.key), finding)
    return list(found.values())


def scan_label(args: argparse.Namespace) -> str:
    return args.label if args.set == "precision" else f"{args.set}-{args.label}"


def cmd_scan(args: argparse.Namespace) -> int:
    label = scan_label(args)
    mods = modules(args.set)
    (RESULTS / label).mkdir(parents=True, exist_ok=True)
    for mod in mods:
        out = RESULTS / label / f"{mod.name}.json"
        argv = [str(REPO / ".venv" / "bin" / "gleak-sarif"), "scan", ".", "--format", "json", "-o", str(out),
                "--no-cache", "--no-config", "-j", str(args.jobs)]
        if args.select:
            argv += ["--select", args.select]
        root = fetch(mod)
        if args.tests_only:
            # only the *_test.go files are scanned (their package's other files are still read by the
            # package model): half the work when only the findings in tests are wanted (issue 15 section 4)
            argv.remove(".")
            paths = [str(path.relative_to(root)) for path in go_files(root) if is_test_file(path.name)]
            if args.files_of:
                # a re-check after rules were narrowed: only the test files where the earlier scan found
                # something (a narrowed rule cannot report in any other file)
                before = args.files_of if args.set == "precision" else f"{args.set}-{args.files_of}"
                earlier = json.loads((RESULTS / before / f"{mod.name}.json").read_text(encoding="utf-8"))
                had = {item["primary"]["path"] for item in earlier["findings"]}
                paths = [path for path in paths if path in had]
            if not paths:
                out.write_text(json.dumps({"findings": []}), encoding="utf-8")
                print(f"scanned {mod.name} (no file)", file=sys.stderr)
                continue
            argv += paths
        proc = subprocess.run(["nice", "-n", "10", *argv], cwd=root, capture_output=True, text=True,
                              check=False)
        # exit 1 is "findings", but a crash before the scan (a stale venv's entry point) also exits 1
        if proc.returncode not in (0, 1) or not out.is_file():
            raise SystemExit(f"scan of {mod.name} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
        print(f"scanned {mod.name}", file=sys.stderr)
    findings = load_findings(label, mods)
    counts = Counter((f.rule, f.corpus) for f in findings)
    order = [m.name for m in mods]
    rows = [{"rule": r, "corpus": c, "findings": str(n)}
            for (r, c), n in sorted(counts.items(), key=lambda kv: (kv[0][0], order.index(kv[0][1])))]
    write_tsv(TRIAGE / f"{label}.counts.tsv", ["rule", "corpus", "findings"], rows)
    scans_file = TRIAGE / "scans.tsv"
    scans = [r for r in read_tsv(scans_file) if r["label"] != label] if scans_file.exists() else []
    rules = f"--select {args.select}, --no-config" if args.select else "default rules (no --select), --no-config"
    if not args.select:
        # which rules a default scan ran, as data (bench/precision_report.py's "fp still reported"): a rule
        # turned off later must not look as if it never ran here
        rules += ", off by default: " + ",".join(_off_by_default())
    if args.tests_only:
        rules += ", *_test.go files only"
    if args.files_of:
        rules += f" holding a finding in {args.files_of}"
    scans.append({"label": label, "commit": _commit(), "rules": rules})
    write_tsv(scans_file, ["label", "commit", "rules"], scans)
    for rule in sorted({f.rule for f in findings}):
        print(f"{rule}: {sum(n for (r, _), n in counts.items() if r == rule)}")
    return 0


def sample(findings: list[Finding], which: str = "precision") -> list[Finding]:
    chosen: list[Finding] = []
    for rule in sorted({f.rule for f in findings}):
        mine = sorted((f for f in findings if f.rule == rule), key=lambda f: f.order)
        notes = all(f.severity == "note" for f in mine)
        chosen += mine[:NOTE_SAMPLE.get(which, SAMPLE) if notes else SAMPLE]
    return chosen


SAMPLE_COLUMNS = ["rule", "corpus", "path", "line", "severity", "message"]
VERDICT_COLUMNS = ["corpus", "path", "line", "verdict", "reason"]


def is_test_file(path: str) -> bool:
    return path.endswith("_test.go")


def cmd_sample(args: argparse.Namespace) -> int:
    label = scan_label(args)
    found = load_findings(label, modules(args.set))
    if args.tests_only:
        # issue 15 section 4: the findings in test files only, counted and sampled on their own (the same
        # lowest-hash order per rule), so that their precision is read apart from the rest of the scan
        found = [f for f in found if is_test_file(f.path)]
        label = f"{label}.tests"
        counts = Counter((f.rule, f.corpus) for f in found)
        write_tsv(TRIAGE / f"{label}.counts.tsv", ["rule", "corpus", "findings"],
                  [{"rule": r, "corpus": c, "findings": str(n)} for (r, c), n in sorted(counts.items())])
    chosen = sample(found, args.set)
    write_tsv(TRIAGE / f"{label}.sample.tsv", SAMPLE_COLUMNS,
              [{"rule": f.rule, "corpus": f.corpus, "path": f.path, "line": str(f.line), "severity": f.severity,
                "message": f.message[:200]} for f in chosen])
    todo = 0
    for rule in sorted({f.rule for f in chosen}):
        path = TRIAGE / f"{rule}.tsv"
        rows = read_tsv(path) if path.exists() else []
        have = {(r["corpus"], r["path"], int(r["line"])) for r in rows}
        for f in chosen:
            if f.rule == rule and f.key not in have:
                rows.append({"corpus": f.corpus, "path": f.path, "line": str(f.line), "verdict": "todo",
                             "reason": ""})
                todo += 1
        write_tsv(path, VERDICT_COLUMNS, rows)
    print(f"{len(chosen)} sampled findings, {todo} new rows to judge (verdict todo)")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    label = scan_label(args)
    mods = {m.name: m for m in modules(args.set)}
    verdicts = {}
    if (TRIAGE / f"{args.rule}.tsv").exists():
        verdicts = {(r["corpus"], r["path"], int(r["line"])): r for r in read_tsv(TRIAGE / f"{args.rule}.tsv")}
    data = {name: json.loads((RESULTS / label / f"{name}.json").read_text(encoding="utf-8")) for name in mods}
    found = load_findings(label, list(mods.values()))
    if args.tests_only:
        found = [f for f in found if is_test_file(f.path)]
    chosen = [f for f in sample(found, args.set) if f.rule == args.rule]
    for f in chosen:
        row = verdicts.get(f.key)
        if args.todo and row and row["verdict"] != "todo":
            continue
        root = module_dir(mods[f.corpus])
        print("=" * 100)
        print(f"{f.corpus} {f.path}:{f.line} [{f.severity}] {row['verdict'] if row else '-'} {row['reason'] if row else ''}")
        print(f"  {f.message}")
        item = next(i for i in data[f.corpus]["findings"]
                    if i["rule_id"] == f.rule and i["primary"]["path"] == f.path
                    and i["primary"]["start_line"] == f.line)
        for rel in item.get("related") or []:
            print(f"  related {rel['span']['path']}:{rel['span']['start_line']}: {rel['message']}")
        lines = (root / f.path).read_text(encoding="utf-8", errors="replace").splitlines()
        lo, hi = max(0, f.line - 1 - args.before), min(len(lines), f.line + args.after)
        for n in range(lo, hi):
            print(f"{'>' if n + 1 == f.line else ' '}{n + 1:6} {lines[n]}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--list-paths", action="store_true",
                        help="print the folder of every fetched module of the precision set (bench/same_findings.py)")
    sub = parser.add_subparsers(dest="command")
    for name in ("fetch", "scan", "sample", "show"):
        p = sub.add_parser(name)
        p.add_argument("--set", choices=(*SETS, "all") if name == "fetch" else SETS,
                       default="all" if name == "fetch" else "precision")
        if name != "fetch":
            p.add_argument("--label", default="current", help="scan label: baseline, current, ...")
        if name == "scan":
            p.add_argument("--jobs", "-j", type=int, default=2)
            p.add_argument("--select", default="",
                           help="rules to run (gleak-sarif scan --select: IDs or names, comma-separated, "
                                "disabled ones included); default: the default rules")
        if name == "scan":
            p.add_argument("--files-of", default="",
                           help="with --tests-only: only the test files that hold a finding in this earlier "
                                "label of the set (a re-check after rules were narrowed)")
        if name in ("scan", "sample", "show"):
            p.add_argument("--tests-only", action="store_true",
                           help="scan: only the *_test.go files; sample, show: only the findings in *_test.go "
                                "files (sample writes <label>.tests.sample.tsv and .tests.counts.tsv)")
        if name == "show":
            p.add_argument("rule")
            p.add_argument("--before", type=int, default=12)
            p.add_argument("--after", type=int, default=12)
            p.add_argument("--todo", action="store_true", help="only findings not judged yet")
    args = parser.parse_args(argv)
    if args.list_paths:
        for mod in modules("precision"):
            if module_dir(mod).is_dir():
                print(module_dir(mod))
        return 0
    if args.command is None:
        parser.error("a command is required (fetch, scan, sample, show) or --list-paths")
    return {"fetch": cmd_fetch, "scan": cmd_scan, "sample": cmd_sample, "show": cmd_show}[args.command](args)


if __name__ == "__main__":
    raise SystemExit(main())
