"""How many leaked goroutine groups of the Go runtime's own leak programs ``runtime analyze`` maps to the
right ``go`` statement, for the goroutineleak profile at debug=0, 1 and 2.

The programs live in ``$(go env GOROOT)/src/runtime/testdata/testgoroutineleakprofile`` (and its
``goker`` folder). They are copied to a temporary folder at run time, never into this repository. The
copy is patched in one way only, keeping every line number: each ``prof.WriteTo(os.Stdout, 2)`` becomes
``gleakWriteAll(prof, os.Stdout)``, a function added in a new file that writes the debug=2 profile to stdout and the
debug=1 and debug=0 profiles of the same moment to files. Each program is built with
``GOEXPERIMENT=goroutineleakprofile`` and run as Go's own test runs it.

Truth comes from the runtime, not from gleak-sarif: in the debug=2 output each leaked goroutine's
``created by`` line is the ``go`` statement. Goroutines created by a library wrapper (``time.goFunc`` for
``time.AfterFunc``) are run with ``GODEBUG=tracebackancestors=1``, whose first non-runtime ancestor frame
names the line of the call that handed over the function. A group is one distinct (creation line,
blocked frame) pair of one program run; it is mapped when a GLR001 finding's primary location is on that
line of that file and its related location is the blocked frame's line; a finding that names several
candidate statements (a profile without creators cannot tell two ``go s.worker()`` apart) is counted apart,
never as mapped. The debug=2 profile is analysed
without its ancestor blocks (as users fetch it); the ancestors only serve the truth.

    .venv/bin/python bench/runtime_mapping.py [--only NAME ...] [--keep DIR] [--json OUT]
    .venv/bin/python bench/runtime_mapping.py --keep DIR --reuse --gleak OTHER   # same runs, another version

Prints one line per missed group and the totals per debug level.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HARNESS = """package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
)

// gleakWriteAll writes the leak profile at debug=2 (stdout), then debug=1 and debug=0 (files).
func gleakWriteAll(p *pprof.Profile, w io.Writer) {
	p.WriteTo(w, 2)
	dir := os.Getenv("GLEAK_PROFILE_DIR")
	if dir == "" {
		return
	}
	for _, level := range []int{1, 0} {
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("debug%d", level)))
		if err != nil {
			panic(err)
		}
		p.WriteTo(f, level)
		f.Close()
	}
}
"""
_REGISTER = re.compile(r'\bregister(?:Init)?\("([^"]+)"')


@dataclass(frozen=True, order=True)
class Group:
    program: str
    site: tuple[str, int]  # file name, line of the go statement (or the wrapper call)
    blocked: tuple[str, int]  # file name, line of the innermost user frame


@dataclass
class Totals:
    groups: int = 0
    mapped: dict[int, int] = field(default_factory=lambda: {0: 0, 1: 0, 2: 0})
    among: dict[int, int] = field(default_factory=lambda: {0: 0, 1: 0, 2: 0})  # one of a few candidates
    missed: dict[int, list[str]] = field(default_factory=lambda: {0: [], 1: [], 2: []})


def copy_programs(goroot: Path, dest: Path) -> list[Path]:
    src = goroot / "src/runtime/testdata/testgoroutineleakprofile"
    shutil.copytree(src, dest / "leakprofile")
    dirs = [dest / "leakprofile", dest / "leakprofile" / "goker"]
    for d in dirs:
        for go_file in d.glob("*.go"):
            text = go_file.read_text()
            patched = text.replace("prof.WriteTo(os.Stdout, 2)", "gleakWriteAll(prof, os.Stdout)")
            if patched != text:
                go_file.write_text(patched)
        (d / "zz_gleak_harness.go").write_text(HARNESS)
        (d / "go.mod").write_text(f"module {d.name}\n\ngo 1.26\n")
    return dirs


def run(cmd: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, **kw)  # type: ignore[call-overload,no-any-return]


def is_runtime_frame(func: str) -> bool:
    return not func.startswith("main.")


def after_func_line(path: Path | None, line: int) -> int | None:
    if path is None:
        return None
    lines = path.read_text().splitlines()
    for n in range(min(line, len(lines)), 0, -1):
        if "AfterFunc(" in lines[n - 1]:
            return n
    return None


def truth_groups(program: str, text: str, files: dict[str, Path]) -> list[Group]:
    """Groups of leaked goroutines from the runtime's own debug=2 text (no gleak-sarif code)."""
    groups: set[Group] = set()
    for block in text.split("\n\n"):
        lines = block.strip("\n").splitlines()
        if not lines or not lines[0].startswith("goroutine ") or "(leaked)" not in lines[0]:
            continue
        frames: list[tuple[str, str, int]] = []
        creator: tuple[str, str, int] | None = None
        ancestors: list[tuple[str, str, int]] = []
        in_ancestor = False
        i = 1
        while i + 1 < len(lines):
            head, loc = lines[i], lines[i + 1]
            if head.startswith("[originating from goroutine"):
                in_ancestor = True
                i += 1
                continue
            m = re.match(r"\t(.*):(\d+)", loc)
            if m is None:
                i += 1
                continue
            where = (Path(m.group(1)).name, int(m.group(2)))
            if head.startswith("created by "):
                if not in_ancestor:
                    creator = (head.split()[2], *where)
            elif in_ancestor:
                ancestors.append((head.rsplit("(", 1)[0], *where))
            else:
                frames.append((head.rsplit("(", 1)[0], *where))
            i += 2
        user = [f for f in frames if not is_runtime_frame(f[0])]
        if creator is None or not user:
            continue
        if is_runtime_frame(creator[0]):
            call = next((a for a in ancestors if not is_runtime_frame(a[0])), None)
            if call is not None:
                site = call[1:]
            elif creator[0] == "time.goFunc":
                # The timer goroutine records no ancestors: the time.AfterFunc call is the nearest line at or
                # above the callback's first frame that says "AfterFunc(" (a text search, not gleak-sarif).
                found = after_func_line(files.get(user[-1][1]), user[-1][2])
                if found is None:
                    print(f"{program}: no AfterFunc call above {user[-1]}", file=sys.stderr)
                    continue
                site = (user[-1][1], found)
            else:
                print(f"{program}: wrapper-created goroutine without ancestors: {lines[0]}", file=sys.stderr)
                continue
        else:
            site = creator[1:]
        groups.add(Group(program, site, user[0][1:]))  # type: ignore[arg-type]
    return sorted(groups)


def strip_ancestors(text: str) -> str:
    out: list[str] = []
    skipping = False
    for line in text.splitlines(keepends=True):
        if line.startswith("[originating from goroutine"):
            skipping = True
        elif not line.strip():
            skipping = False
        if not skipping:
            out.append(line)
    return "".join(out)


Found = tuple[tuple[str, int], tuple[str, int] | None, str, list[tuple[str, int]]]  # site, blocked, kind, others


def analyze(gleak: list[str], profile: Path, root: Path) -> list[Found]:
    proc = run([*gleak, "runtime", "analyze", str(profile), "--source-root", str(root), "--format", "json",
                "--exit-zero"])
    if proc.returncode != 0:
        return []
    out = []
    for f in json.loads(proc.stdout).get("findings", []):
        if f.get("rule_id", f.get("ruleId")) != "GLR001":
            continue
        prim = f["primary"] if "primary" in f else f["location"]
        site = (Path(prim["path"]).name, prim["start_line"] if "start_line" in prim else prim["line"])
        rel = f.get("related") or []
        blocked = None
        others: list[tuple[str, int]] = []
        for i, r in enumerate(rel):
            span = r["span"]
            where = (Path(span["path"]).name, span["start_line"])
            if i == 0 and r["message"].startswith("blocked here"):
                blocked = where
            elif r["message"].startswith("or started here"):
                others.append(where)
        out.append((site, blocked, f["properties"].get("creation-site-kind", ""), others))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", nargs="*", default=None, help="program names (e.g. ChanSend Grpc3017)")
    ap.add_argument("--keep", default=None, help="keep the copied programs and profiles in this folder")
    ap.add_argument("--json", default=None, help="write the per-group results here")
    ap.add_argument("--gleak", default=str(REPO / ".venv/bin/gleak-sarif"), help="the gleak-sarif command to measure")
    ap.add_argument("--reuse", action="store_true", help="analyse the profiles kept in --keep by an earlier run "
                    "again (another gleak-sarif version on the same runs) instead of running the programs")
    args = ap.parse_args()
    go = shutil.which("go")
    if go is None:
        sys.exit("go is not installed")
    goroot = Path(run([go, "env", "GOROOT"]).stdout.strip())
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="gleak-leakprofile-"))
    if args.reuse:
        if not args.keep or not (work / "profiles").is_dir():
            sys.exit("--reuse needs --keep DIR of an earlier run")
        dirs = [work / "leakprofile", work / "leakprofile" / "goker"]
    else:
        work.mkdir(parents=True, exist_ok=True)
        dirs = copy_programs(goroot, work)
    env = dict(os.environ, GOEXPERIMENT="goroutineleakprofile", GOFLAGS="-buildvcs=false")
    totals = Totals()
    rows: list[dict[str, object]] = []
    for d in dirs:
        exe = work / f"{d.name}.exe"
        if not args.reuse:
            b = run([go, "build", "-o", str(exe), "."], cwd=d, env=env)
            if b.returncode != 0:
                sys.exit(f"build of {d} failed:\n{b.stderr}")
        names = sorted({n for f in d.glob("*.go") for n in _REGISTER.findall(f.read_text())})
        for name in names:
            if args.only and name not in args.only:
                continue
            out_dir = work / "profiles" / name
            if args.reuse:
                if not (out_dir / "debug2-ancestors").is_file():
                    continue
                stdout = (out_dir / "debug2-ancestors").read_text()
            else:
                out_dir.mkdir(parents=True, exist_ok=True)
                renv = dict(env, GODEBUG="asyncpreemptoff=1,tracebackancestors=1", GLEAK_PROFILE_DIR=str(out_dir))
                try:
                    stdout = run([str(exe), name], env=renv, timeout=120).stdout
                except subprocess.TimeoutExpired:
                    print(f"{name}: timed out", file=sys.stderr)
                    continue
                (out_dir / "debug2-ancestors").write_text(stdout)
                # Users rarely set tracebackancestors: the debug=2 figure is measured without the ancestor blocks.
                (out_dir / "debug2").write_text(strip_ancestors(stdout))
            truth = truth_groups(name, stdout, {f.name: f for f in d.glob("*.go")})
            if not truth:
                continue
            totals.groups += len(truth)
            for level in (0, 1, 2):
                profile = out_dir / f"debug{level}"
                found = analyze([args.gleak], profile, d) if profile.exists() else []
                for g in truth:
                    ok = any(site == g.site and blocked == g.blocked and kind != "candidates"
                             for site, blocked, kind, _ in found)
                    among = not ok and any(g.site in [site, *others] and blocked == g.blocked
                                           for site, blocked, kind, others in found if kind == "candidates")
                    if ok:
                        totals.mapped[level] += 1
                    elif among:
                        totals.among[level] += 1
                    else:
                        totals.missed[level].append(f"{name} {g.site[0]}:{g.site[1]} blocked "
                                                    f"{g.blocked[0]}:{g.blocked[1]}")
                    rows.append({"program": name, "level": level, "site": list(g.site),
                                 "blocked": list(g.blocked), "mapped": ok, "among-candidates": among})
    for level in (0, 1, 2):
        for miss in totals.missed[level]:
            print(f"debug={level} missed: {miss}")
    for level in (0, 1, 2):
        print(f"debug={level}: {totals.mapped[level]}/{totals.groups} groups mapped to the right go statement; "
              f"{totals.among[level]} more reported at one of a few candidate statements that include it")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
