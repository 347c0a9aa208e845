"""Recall on real goroutine-leak and deadlock bugs fixed in popular Go modules, at every level (issues 15, 16).

    .venv/bin/python bench/realbugs.py                   # fetch, scan every bug's package twice, print the table
    .venv/bin/python bench/realbugs.py --json out.json   # the same, and the results as JSON
    .venv/bin/python bench/realbugs.py --bugs 'sarama|zk' --show   # a few bugs, with the source lines they name

The list is bench/realbugs.tsv, one row per bug: the module, a version **before** the fix that the Go module proxy
serves (the fix's version in `fixed_in`), the package folder to scan, the `go` statement(s) of the leaking
goroutine (`-` when the one that blocks is the caller, not a goroutine the code starts), the operation(s) that block
forever (or the leaked resource: a ticker never stopped), the shape, the source thread and how it was verified.
Locations are `path:line` relative to the module root, several joined by `;`. None of the bugs is from the projects
of the Go runtime's goker programs (bench/leakbench.py): those are leakbench's.

Modules are fetched with bench/corpus.py's `fetch` into .cache/corpus/mod (git-ignored). Each bug's package is
scanned twice: with the default rules and with `--select ALL` (rules off by default included). A bug is **found**
when a finding has its primary or a related location on one of the bug's lines (`at`), or, weaker, in the same
function as one of them (`near`: the enclosing top-level `func` of a gofmt'd file, from its `func` line to the first
`}` in column 0). GL101, the goroutine inventory, never counts. Its level is the best one found: `error`, `warning`, `note` (a default rule's note), `off` (only a
rule off by default, from the `--select ALL` scan), else `missed`. Exit code 0 when every scan ran (whatever the
recall), 2 on a setup error (a fetch or a scan failed, a row names a line past the end of its file).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
LIST = HERE / "realbugs.tsv"
RESULTS = REPO / ".cache" / "realbugs" / "results"
LEVELS = ("error", "warning", "note", "off", "missed")  # best first
# GL101 lists every `go` statement (an inventory, off by default, "not a bug report"): it touches every bug with
# a go statement and says nothing about the leak, so it never counts as finding one.
INVENTORY = frozenset({"GL101"})
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import corpus  # noqa: E402  (bench/corpus.py: the module list's fetching and TSV reading)


@dataclass(frozen=True)
class Bug:
    id: str
    module: str
    version: str
    fixed_in: str
    package: str
    go: tuple[tuple[str, int], ...]
    block: tuple[tuple[str, int], ...]
    shape: str
    what: str
    source: str
    verified: str

    @property
    def lines(self) -> tuple[tuple[str, int], ...]:
        return self.go + self.block

    def as_module(self) -> corpus.Module:
        return corpus.Module(name=self.id, set="realbugs", module=self.module, version=self.version, style="")


def parse_locations(text: str) -> tuple[tuple[str, int], ...]:
    """`a.go:12;b/c.go:7` -> ((a.go, 12), (b/c.go, 7)); `-` -> ()."""
    if text.strip() in ("", "-"):
        return ()
    found = []
    for part in text.split(";"):
        path, _, line = part.strip().rpartition(":")
        if not path or not line.isdigit():
            raise ValueError(f"bad location {part!r} (want path:line)")
        found.append((path, int(line)))
    return tuple(found)


def load_bugs(path: Path = LIST) -> list[Bug]:
    bugs = []
    for row in corpus.read_tsv(path):
        bugs.append(Bug(row["id"], row["module"], row["version"], row["fixed_in"], row["package"],
                        parse_locations(row["go"]), parse_locations(row["block"]), row["shape"], row["what"],
                        row["source"], row["verified"]))
    return bugs


# ---- matching ---------------------------------------------------------------------------------------------
FUNC_START = re.compile(r"^func\b")


def enclosing_function(lines: list[str], line: int) -> tuple[int, int] | None:
    """(first, last) line of the top-level func holding `line` (1-based) in gofmt'd source, or None."""
    start = None
    for n in range(min(line, len(lines)), 0, -1):
        if FUNC_START.match(lines[n - 1]):
            start = n
            break
        if lines[n - 1].startswith("}") and n != line:
            return None  # the line is after the end of the previous declaration
    if start is None:
        return None
    for n in range(start, len(lines) + 1):
        if lines[n - 1].startswith("}"):
            return (start, n) if n >= line else None
    return None


@dataclass
class Hit:
    rule: str
    severity: str
    default_on: bool
    how: str  # "at" (on a bug line) or "near" (same function)
    path: str
    line: int

    @property
    def level(self) -> str:
        return self.severity if self.default_on else "off"


def locations(finding: dict[str, Any], prefix: str) -> list[tuple[str, int]]:
    """The primary and related locations of a scan finding, as module-relative paths."""
    spans = [finding["primary"], *[rel["span"] for rel in finding.get("related") or []]]
    found = []
    for span in spans:
        path = span["path"]
        if prefix and not path.startswith(prefix + "/"):
            path = f"{prefix}/{path}"
        found.append((path, int(span["start_line"])))
    return found


def match(bug: Bug, findings: list[dict[str, Any]], default_on: dict[str, bool], prefix: str,
          functions: dict[tuple[str, int], tuple[int, int] | None]) -> list[Hit]:
    """The findings that touch the bug: at one of its lines, or in the same function as one of them.

    `prefix` is the scanned folder relative to the module root (scan paths are relative to it); `functions`
    maps each bug line to its enclosing function's line span."""
    hits = []
    wanted = set(bug.lines)
    for f in findings:
        if f.get("suppression") or f["rule_id"] in INVENTORY:
            continue
        locs = locations(f, prefix)
        how = ""
        if any(loc in wanted for loc in locs):
            how = "at"
        elif any(span is not None and path == bpath and span[0] <= line <= span[1]
                 for (bpath, _), span in functions.items() for path, line in locs):
            how = "near"
        if how:
            path, line = locs[0]
            hits.append(Hit(f["rule_id"], f["severity"], default_on.get(f["rule_id"], False), how, path, line))
    return hits


def best_level(hits: list[Hit], how: tuple[str, ...]) -> str:
    levels = {h.level for h in hits if h.how in how}
    return next((lv for lv in LEVELS if lv in levels), "missed")


# ---- running ----------------------------------------------------------------------------------------------
@dataclass
class Result:
    bug: Bug
    hits: list[Hit] = field(default_factory=list)

    @property
    def level_at(self) -> str:
        return best_level(self.hits, ("at",))

    @property
    def level_near(self) -> str:
        return best_level(self.hits, ("at", "near"))


GLEAK = REPO / ".venv" / "bin" / "gleak-sarif"


def rule_defaults(gleak: Path = GLEAK) -> dict[str, bool]:
    proc = subprocess.run([str(gleak), "rules", "list", "--format", "json"], capture_output=True, text=True,
                          check=True)
    return {r["id"]: bool(r["enabled_by_default"]) for r in json.loads(proc.stdout)}


def scan(root: Path, package: str, out: Path, select_all: bool, gleak: Path = GLEAK) -> list[dict[str, Any]]:
    out.parent.mkdir(parents=True, exist_ok=True)
    argv = [str(gleak), "scan", ".", "--format", "json", "-o", str(out),
            "--no-cache", "--no-config", "-j", "1", "--fail-level", "none"]
    if select_all:
        argv += ["--select", "ALL"]
    proc = subprocess.run(["nice", "-n", "10", *argv], cwd=root / package, capture_output=True, text=True,
                          check=False)
    if proc.returncode not in (0, 1) or not out.is_file():
        raise SystemExit(f"scan of {root / package} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    findings: list[dict[str, Any]] = json.loads(out.read_text(encoding="utf-8"))["findings"]
    return findings


def source_lines(root: Path, path: str) -> list[str]:
    return (root / path).read_text(encoding="utf-8", errors="replace").splitlines()


def run_bug(bug: Bug, defaults: dict[str, bool], label: str, gleak: Path = GLEAK) -> Result:
    root = corpus.fetch(bug.as_module())
    functions: dict[tuple[str, int], tuple[int, int] | None] = {}
    for path, line in bug.lines:
        lines = source_lines(root, path)
        if line > len(lines):
            raise SystemExit(f"{bug.id}: {path}:{line} is past the end of the file ({len(lines)} lines)")
        functions[(path, line)] = enclosing_function(lines, line)
    prefix = "" if bug.package in ("", ".") else bug.package.strip("/")
    result = Result(bug)
    seen = set()
    for select_all in (False, True):
        out = RESULTS / label / f"{bug.id}{'.all' if select_all else ''}.json"
        for hit in match(bug, scan(root, bug.package, out, select_all, gleak), defaults, prefix, functions):
            key = (hit.rule, hit.how, hit.path, hit.line)
            if key not in seen:  # the default scan's findings come again in the ALL scan
                seen.add(key)
                result.hits.append(hit)
    return result


def totals(results: list[Result]) -> dict[str, dict[str, int]]:
    """Per matching mode, how many bugs are found at each level (cumulative: error+warning counts both)."""
    out: dict[str, dict[str, int]] = {}
    for mode in ("at", "near"):
        levels = Counter(r.level_at if mode == "at" else r.level_near for r in results)
        out[mode] = {lv: levels.get(lv, 0) for lv in LEVELS}
        out[mode]["error+warning"] = levels.get("error", 0) + levels.get("warning", 0)
        out[mode]["default (error+warning+note)"] = out[mode]["error+warning"] + levels.get("note", 0)
        out[mode]["any rule"] = len(results) - levels.get("missed", 0)
    return out


def to_json(results: list[Result], commit: str) -> dict[str, Any]:
    return {
        "commit": commit,
        "bugs": [{
            "id": r.bug.id, "module": f"{r.bug.module}@{r.bug.version}", "fixed_in": r.bug.fixed_in,
            "shape": r.bug.shape, "source": r.bug.source, "level_at": r.level_at, "level_near": r.level_near,
            "hits": [{"rule": h.rule, "severity": h.severity, "default_on": h.default_on, "how": h.how,
                      "at": f"{h.path}:{h.line}"} for h in r.hits],
        } for r in results],
        "totals": totals(results),
    }


def render(results: list[Result]) -> str:
    out = [f"{'bug':16} {'shape':36} {'at line':8} {'same func':9} rules (level, at|near)"]
    for r in results:
        rules = ", ".join(sorted({f"{h.rule}({h.level},{h.how})" for h in r.hits})) or "-"
        out.append(f"{r.bug.id:16} {r.bug.shape:36} {r.level_at:8} {r.level_near:9} {rules}")
    t = totals(results)
    n = len(results)
    for mode, name in (("at", "on the bug's lines"), ("near", "on the lines or in the same function")):
        c = t[mode]
        out.append(f"found {name}: error {c['error']}/{n} · error+warning {c['error+warning']}/{n} · default rules "
                   f"(+note) {c['default (error+warning+note)']}/{n} · any rule (+off by default) {c['any rule']}/{n}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bugs", default="", help="regex over bug ids: only these")
    parser.add_argument("--json", default="", help="also write the results here")
    parser.add_argument("--label", default="current", help="folder under .cache/realbugs/results for the scans")
    parser.add_argument("--show", action="store_true", help="print the source line of each bug location")
    parser.add_argument("--gleak", default=str(GLEAK),
                        help="the gleak-sarif to measure (another checkout's .venv/bin/gleak-sarif: an earlier commit)")
    args = parser.parse_args(argv)
    gleak = Path(args.gleak)
    bugs = [b for b in load_bugs() if not args.bugs or re.search(args.bugs, b.id)]
    defaults = rule_defaults(gleak)
    results = []
    for bug in bugs:
        if args.show:
            root = corpus.fetch(bug.as_module())
            for kind, locs in (("go", bug.go), ("block", bug.block)):
                for path, line in locs:
                    print(f"{bug.id} {kind} {path}:{line}: {source_lines(root, path)[line - 1].strip()}")
        results.append(run_bug(bug, defaults, args.label, gleak))
        print(f"scanned {bug.id}", file=sys.stderr)
    print(render(results))
    if args.json:
        commit = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=REPO, capture_output=True,
                                text=True, check=True).stdout.strip() if gleak == GLEAK else f"gleak-sarif {gleak}"
        Path(args.json).write_text(json.dumps(to_json(results, commit), indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
