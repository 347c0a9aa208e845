"""Do two versions of gleak-sarif give the same findings? (the refactoring check of issue 21)

    .venv/bin/python bench/same_findings.py --save /tmp/before.json            # run, save
    .venv/bin/python bench/same_findings.py --compare /tmp/before.json         # run, compare, exit 1 on any difference
    .venv/bin/python bench/same_findings.py --compare old.json --extra /path/to/module -j 2

Scans fixtures/, `$(go env GOROOT)/src`, the precision corpus (bench/corpus.py, when it exists and has
its modules) and every `--extra` folder, each twice: with `--select ALL` and with the default rules, no
cache. Each scan runs `gleak-sarif scan --format json` in a subprocess with the interpreter running this
script (the version under test: run it with the venv or PYTHONPATH of the checkout you measure), so the
check does not depend on the engine's internal API. The per-file time limit is raised to --file-timeout
(600 s), since a loaded machine would cut a slow file off in one run and not the other. Findings are
written in a canonical form (rule, path relative to the corpus, line, column, end, severity, message,
related locations, fix, suppression), sorted; notifications (parse errors, timeouts) are kept apart.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
MODES = {"all": ["--select", "ALL"], "default": []}
# The CLI with a longer per-file time limit (ScanOptions' default; no flag sets it).
BOOT = """import runpy, sys
from gleak_sarif.config import ScanOptions
ScanOptions.model_fields["file_timeout_seconds"].default = float(sys.argv.pop(1))
ScanOptions.model_rebuild(force=True)
runpy.run_module("gleak_sarif", run_name="__main__", alter_sys=True)
"""
SHOW = 20  # differences printed per corpus


def goroot_src() -> Path | None:
    try:
        out = subprocess.run(["go", "env", "GOROOT"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return Path(out) / "src" if out else None


def precision_corpus() -> list[tuple[str, Path]]:
    """The precision corpus's module folders, when bench/corpus.py exists and says where they are."""
    script = HERE / "corpus.py"
    if not script.is_file():
        return []
    try:
        out = subprocess.run([sys.executable, str(script), "--list-paths"], capture_output=True, text=True,
                             check=True, timeout=120).stdout
    except (OSError, subprocess.SubprocessError):
        print("note: bench/corpus.py gave no module list (--list-paths); precision corpus left out",
              file=sys.stderr)
        return []
    corpora = []
    for line in out.splitlines():
        path = Path(line.strip())
        if line.strip() and path.is_dir():
            parts = path.parts
            name = "/".join(parts[parts.index("mod") + 1 :]) if "mod" in parts else path.name
            corpora.append((f"corpus:{name}", path))
    return corpora


def _rel(path: str, root: Path) -> str:
    absolute = Path(path) if os.path.isabs(path) else root / path
    try:
        return absolute.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return absolute.as_posix()


def _span(span: dict[str, Any], root: Path) -> list[Any]:
    return [_rel(span["path"], root), span["start_line"], span["start_column"], span["end_line"],
            span["end_column"]]


def canonical(report: dict[str, Any], root: Path) -> dict[str, list[Any]]:
    findings = []
    for f in report["findings"]:
        fix = f.get("fix")
        findings.append({
            "rule": f["rule_id"],
            "at": _span(f["primary"], root),
            "severity": f["severity"],
            "message": f["message"],
            "related": [[*_span(r["span"], root), r["message"]] for r in f.get("related", [])],
            "fix": None if fix is None else [fix["description"], [
                [_rel(e["path"], root), e["start_byte"], e["end_byte"], e["new_text"]] for e in fix["edits"]]],
            "suppressed": (f.get("suppression") or {}).get("directive"),
        })
    findings.sort(key=lambda f: json.dumps(f, sort_keys=True))
    notes = sorted([n["kind"], _rel(n["path"], root) if n.get("path") else None, n.get("line")]
                   for n in report["notifications"])
    return {"findings": findings, "notifications": notes}


def scan(root: Path, mode: str, jobs: int, timeout: float) -> dict[str, list[Any]]:
    with tempfile.TemporaryDirectory(prefix="gleak-same-") as tmp:
        out = Path(tmp) / "out.json"
        argv = [sys.executable, "-c", BOOT, str(timeout), "scan", "-q", "--no-cache", "--format", "json", "-o",
                str(out), "-j", str(jobs), *MODES[mode], "."]
        done = subprocess.run(argv, cwd=root, capture_output=True, text=True, check=False)
        if done.returncode not in (0, 1) or not out.is_file():
            raise SystemExit(f"scan failed in {root} ({mode}, exit {done.returncode}):\n{done.stderr[-2000:]}")
        report = json.loads(out.read_text(encoding="utf-8"))
    return canonical(report, root)


def run_all(extra: list[str], jobs: int, timeout: float, skip_goroot: bool, skip_corpus: bool) -> dict[str, Any]:
    corpora: list[tuple[str, Path]] = [("fixtures", REPO / "fixtures")]
    src = None if skip_goroot else goroot_src()
    if src is not None and src.is_dir():
        corpora.append(("goroot", src))
    if not skip_corpus:
        corpora.extend(precision_corpus())
    corpora.extend((f"extra:{Path(p).name}", Path(p)) for p in extra)
    runs: dict[str, Any] = {}
    for name, root in corpora:
        for mode in MODES:
            key = f"{name}/{mode}"
            runs[key] = scan(root, mode, jobs, timeout)
            timeouts = [n for n in runs[key]["notifications"] if n[0] == "timeout"]
            print(f"{key}: {len(runs[key]['findings'])} findings, {len(runs[key]['notifications'])} notifications"
                  + (f", {len(timeouts)} TIMEOUTS (rerun on a quieter machine)" if timeouts else ""),
                  file=sys.stderr)
    return runs


def compare(before: dict[str, Any], after: dict[str, Any]) -> int:
    """Print the differences; the number of corpora that differ."""
    differing = 0
    for key in sorted(set(before) | set(after)):
        if key not in before or key not in after:
            print(f"{key}: only in {'the new' if key in after else 'the saved'} run (not compared)")
            continue
        old, new = before[key], after[key]
        old_f = [json.dumps(f, sort_keys=True) for f in old["findings"]]
        new_f = [json.dumps(f, sort_keys=True) for f in new["findings"]]
        gone = sorted(set(old_f) - set(new_f))
        added = sorted(set(new_f) - set(old_f))
        same_count = len(old_f) == len(new_f)
        notes_same = old["notifications"] == new["notifications"]
        if not gone and not added and same_count and notes_same:
            print(f"{key}: identical ({len(new_f)} findings, {len(new['notifications'])} notifications)")
            continue
        differing += 1
        print(f"{key}: DIFFERENT ({len(old_f)} -> {len(new_f)} findings; {len(gone)} gone, {len(added)} new; "
              f"notifications {'same' if notes_same else 'differ'})")
        for line in gone[:SHOW]:
            print(f"  - {line}")
        for line in added[:SHOW]:
            print(f"  + {line}")
        if not notes_same:
            old_n = {json.dumps(n) for n in old["notifications"]}
            new_n = {json.dumps(n) for n in new["notifications"]}
            for line in sorted(old_n - new_n)[:SHOW]:
                print(f"  - notification {line}")
            for line in sorted(new_n - old_n)[:SHOW]:
                print(f"  + notification {line}")
    return differing


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--save", metavar="FILE", help="write this run's canonical findings here")
    parser.add_argument("--compare", metavar="FILE", help="compare this run with a saved one (exit 1 if different)")
    parser.add_argument("--extra", action="append", default=[], metavar="DIR", help="another folder to scan")
    parser.add_argument("--no-goroot", action="store_true", help="leave GOROOT/src out (quick checks)")
    parser.add_argument("--no-corpus", action="store_true", help="leave the precision corpus out (quick checks)")
    parser.add_argument("--file-timeout", type=float, default=600.0, help="per-file time limit, seconds")
    parser.add_argument("-j", "--jobs", type=int, default=2)
    args = parser.parse_args()
    runs = run_all(args.extra, args.jobs, args.file_timeout, args.no_goroot, args.no_corpus)
    if args.save:
        tmp = args.save + ".tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(runs, handle, indent=1, sort_keys=True)
        os.replace(tmp, args.save)
    if args.compare:
        with open(args.compare, encoding="utf-8") as handle:
            before = json.load(handle)
        return 1 if compare(before, runs) else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
