"""Static recall on the Go runtime's goroutine-leak programs, with the truth taken from the runtime (issue 15).

    .venv/bin/python bench/leakbench.py                       # every case, the Go test's repetitions
    .venv/bin/python bench/leakbench.py -j 2 --json out.json  # two program runs at a time; results as JSON
    .venv/bin/python bench/leakbench.py --cases 'Cockroach5|Etcd' --keep /tmp/lb

What one run does:
1. copies ``$(go env GOROOT)/src/runtime/testdata/testgoroutineleakprofile/`` to a temporary folder (with a
   go.mod: in GOROOT the folder belongs to the std module), builds its two programs (the folder and
   ``goker/``) with ``GOEXPERIMENT=goroutineleakprofile``;
2. reads the cases from ``src/runtime/goroutineleakprofile_test.go`` (names, program, repetitions, GOMAXPROCS=1
   for the "simple" ones, expected leak patterns) and runs every case as that test does: same environment
   (GODEBUG and GOTRACEBACK removed, ``GODEBUG=asyncpreemptoff=1``), same repetitions (``n | 1``: 3 for
   makeTest, 11 for makeFlakyTest, 3 with ``--short`` as under ``go test -short``);
3. truth: every repetition's debug=2 leak profile is read by ``runtime analyze``'s own code, in process (the
   functions and JSON renderer the command uses; a process per run would cost minutes), and the command
   ``gleak-sarif runtime analyze --with-static --format json`` reads all of them at once: it must see the
   same groups (a mismatch is printed as a warning). A leaked group is a creating ``go`` statement + blocked
   line + wait reason; a group seen in any repetition counts (the union);
4. scans the copied files with the default rules (``gleak-sarif scan --format json``) and counts a group as
   found when a finding at error or warning has its primary or a related location on the group's ``go``
   statement line or blocked line;
5. runs ``gleak-sarif runtime analyze --with-static`` once over every dump and counts the groups that confirm
   a static finding (``runtime-confirmed-groups``: the finding's primary or a related location is on the
   group's ``go`` statement, blocked line or blocked stack).

Prints per case (each group: found or missed, the blocked operation and its source line, in how many runs it
leaked, and for a miss its shape from bench/recall-shapes.tsv), per rule (groups hit; findings that touch no
leaked group), misses per shape, and as the last line the static recall for goker, for simple.go +
commonpatterns.go, and overall. ``--rename-main PKG`` scans the copy as package PKG (after the build) to
measure what the rules' package-main exemptions cost. Exit code 0 when the benchmark ran (whatever the
recall), 2 on a setup error (no Go 1.26, changed test file layout, a build failure).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
LEAK_DIR = "testgoroutineleakprofile"  # under $(go env GOROOT)/src/runtime/testdata
TEST_FILE = "goroutineleakprofile_test.go"  # under $(go env GOROOT)/src/runtime
HIT_SEVERITIES = ("error", "warning")
BUCKET_GOKER = "goker"
BUCKET_PATTERNS = "simple+commonpatterns"
BUCKET_OTHER = "stress"
PATTERN_FILES = ("simple.go", "commonpatterns.go")
SHAPES = Path(__file__).resolve().parent / "recall-shapes.tsv"  # the shape of each known miss (docs/recall.md)
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))  # this checkout's gleak_sarif, also for the in-process analysis


class SetupError(Exception):
    """The benchmark cannot run here (no Go, a Go without the leak profile, a test file it cannot read)."""


# ---- the case list, read from the Go test ----------------------------------------------------------------
@dataclass
class Case:
    name: str
    program: str  # folder of the program relative to the copied leak folder: "." or "goker"
    simple: bool  # makeTest: GOMAXPROCS=1
    repetitions: int
    expected: list[str]  # regexes the Go test requires (over "func(...) [wait reason]" strings)
    flaky: list[str]  # regexes the Go test tolerates
    bucket: str = ""
    file: str = ""  # the file that registers the case


def strip_go_comments(src: str) -> str:
    """Go source without comments (string and raw-string literals kept intact)."""
    out: list[str] = []
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if c == "`":
            j = src.find("`", i + 1)
            j = n - 1 if j < 0 else j
            out.append(src[i : j + 1])
            i = j + 1
        elif c in "\"'":
            j = i + 1
            while j < n and src[j] != c and src[j] != "\n":
                j += 2 if src[j] == "\\" else 1
            out.append(src[i : j + 1])
            i = j + 1
        elif src.startswith("//", i):
            j = src.find("\n", i)
            i = n if j < 0 else j
        elif src.startswith("/*", i):
            j = src.find("*/", i + 2)
            i = n if j < 0 else j + 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _split_args(text: str) -> list[str]:
    """Top-level comma-separated arguments of a call (text between its parentheses)."""
    args, depth, cur, i = [], 0, [], 0
    while i < len(text):
        c = text[i]
        if c in "`\"":
            j = text.find("`", i + 1) if c == "`" else i + 1
            if c == '"':
                while j < len(text) and text[j] != '"':
                    j += 2 if text[j] == "\\" else 1
            cur.append(text[i : j + 1])
            i = j + 1
            continue
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        if c == "," and depth == 0:
            args.append("".join(cur).strip())
            cur = []
        else:
            cur.append(c)
        i += 1
    if "".join(cur).strip():
        args.append("".join(cur).strip())
    return args


def _close(text: str, start: int, open_c: str, close_c: str) -> int:
    """Index of the bracket closing the one at ``start`` (comments already stripped; skips literals)."""
    depth, i = 0, start
    while i < len(text):
        c = text[i]
        if c == "`":
            i = text.find("`", i + 1) + 1
            continue
        if c == '"':
            i += 1
            while text[i] != '"':
                i += 2 if text[i] == "\\" else 1
            i += 1
            continue
        if c == open_c:
            depth += 1
        elif c == close_c:
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise SetupError(f"unbalanced {open_c}{close_c} in {TEST_FILE}")


def _go_string(lit: str) -> str:
    if lit.startswith("`"):
        return lit[1:-1]
    if lit.startswith('"'):
        return str(json.loads(lit))
    raise SetupError(f"{TEST_FILE}: expected a string literal, found {lit!r}")


def _helper_reps(src: str, helper: str, flaky: str) -> list[int]:
    """Repetition arguments that ``helper`` passes to makeAnyTest(name, <flaky>, N, ...)."""
    m = re.search(rf"\b{helper}\s*:=\s*func\b", src)
    if m is None:
        raise SetupError(f"{TEST_FILE}: helper {helper} not found (test layout changed)")
    body_start = src.index("{", src.index(")", src.index("(", m.end())))
    body = src[body_start : _close(src, body_start, "{", "}") + 1]
    reps = [int(x) for x in re.findall(rf"makeAnyTest\(\s*name\s*,\s*{flaky}\s*,\s*(\d+)\s*,", body)]
    if not reps:
        raise SetupError(f"{TEST_FILE}: {helper} does not call makeAnyTest(name, {flaky}, N, ...) (layout changed)")
    return reps


def parse_cases(test_src: str, *, short: bool = False) -> list[Case]:
    """Every case the Go test runs, with the program folder, repetitions and environment flag it uses.

    Reads the helper definitions (makeTest / makeFlakyTest / makeAnyTest), the ``[]testCase{...}`` lists, the
    ``append`` lines that combine them and the ``runTests("dir", list)`` calls. Anything it does not
    recognise is a SetupError: a silently shorter case list would change the figures."""
    src = strip_go_comments(test_src)
    if not re.search(r"repetitions:\s*repetitions\s*\|\s*1\b", src):
        raise SetupError(f"{TEST_FILE}: 'repetitions: repetitions | 1' not found (layout changed)")
    simple_reps = _helper_reps(src, "makeTest", "false")[0]
    flaky_reps = _helper_reps(src, "makeFlakyTest", "true")  # [short, normal] in the file's order
    if len(flaky_reps) != 2:
        raise SetupError(f"{TEST_FILE}: makeFlakyTest should have a short and a normal repetition count")
    flaky_n = min(flaky_reps) if short else max(flaky_reps)

    lists: dict[str, list[Case]] = {}
    for m in re.finditer(r"\b(\w+)\s*:=\s*\[\]testCase\s*\{", src):
        start = m.end() - 1
        body = src[start + 1 : _close(src, start, "{", "}")]
        cases: list[Case] = []
        for call in re.finditer(r"\b(makeTest|makeFlakyTest|makeAnyTest)\s*\(", body):
            open_i = call.end() - 1
            args = _split_args(body[open_i + 1 : _close(body, open_i, "(", ")")])
            kind = call.group(1)
            if kind == "makeAnyTest":
                name, flaky_arg, reps_arg, *leaks = args
                flaky, reps, simple = flaky_arg == "true", int(reps_arg), False
            else:
                name, *leaks = args
                flaky, simple = kind == "makeFlakyTest", kind == "makeTest"
                reps = flaky_n if flaky else simple_reps
            patterns = [_go_string(x) for x in leaks]
            cases.append(Case(name=_go_string(name), program="", simple=simple, repetitions=reps | 1,
                              expected=[] if flaky else patterns, flaky=patterns if flaky else []))
        lists[m.group(1)] = cases
    if not lists:
        raise SetupError(f"{TEST_FILE}: no []testCase lists found (layout changed)")
    # testCases := append(microTests, stressTestCases...); testCases = append(testCases, patternTestCases...)
    for m in re.finditer(r"\b(\w+)\s*:?=\s*append\(([^)]*)\)", src):
        parts = [p.strip().removesuffix("...").strip() for p in _split_args(m.group(2))]
        if all(p in lists for p in parts):
            lists[m.group(1)] = [c for p in parts for c in lists[p]]
    out: list[Case] = []
    for m in re.finditer(r'\brunTests\(\s*"([^"]+)"\s*,\s*(\w+)\s*\)', src):
        folder, var = m.group(1), m.group(2)
        if var not in lists:
            raise SetupError(f"{TEST_FILE}: runTests uses {var}, which this reader could not resolve")
        rel = folder.removeprefix(LEAK_DIR).strip("/") or "."
        for c in lists[var]:
            out.append(Case(**{**c.__dict__, "program": rel}))
    if not out:
        raise SetupError(f"{TEST_FILE}: no runTests(...) calls found (layout changed)")
    return out


def assign_buckets(cases: list[Case], root: Path) -> None:
    """Which file registers each case, and its reporting bucket (goker, simple+commonpatterns, stress)."""
    where: dict[tuple[str, str], str] = {}
    for prog in {c.program for c in cases}:
        for f in sorted((root / prog).glob("*.go")):
            for name in re.findall(r'\bregister(?:Init)?\(\s*"([^"]+)"', f.read_text(encoding="utf-8")):
                where[(prog, name)] = f.relative_to(root).as_posix()
    for c in cases:
        c.file = where.get((c.program, c.name), "")
        if c.program != ".":
            c.bucket = BUCKET_GOKER
        elif Path(c.file).name in PATTERN_FILES:
            c.bucket = BUCKET_PATTERNS
        else:
            c.bucket = BUCKET_OTHER


# ---- running the programs ----------------------------------------------------------------------------------
def go_env(go: str, *names: str) -> list[str]:
    out = subprocess.run([go, "env", *names], capture_output=True, text=True, check=True).stdout
    return out.splitlines()


def clean_env(extra: dict[str, str]) -> dict[str, str]:
    """The Go test's environment: the caller's, without GODEBUG and GOTRACEBACK, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in ("GODEBUG", "GOTRACEBACK")}
    env.update(extra)
    return env


def build(go: str, root: Path, program: str, out: Path) -> None:
    exp = os.environ.get("GOEXPERIMENT", "")
    env = clean_env({"GOEXPERIMENT": f"{exp},goroutineleakprofile" if exp else "goroutineleakprofile",
                     "GOWORK": "off", "GOTOOLCHAIN": "local", "GOFLAGS": ""})
    proc = subprocess.run([go, "build", "-o", str(out), "."], cwd=root / program, env=env,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise SetupError(f"building {program}: {proc.stdout}{proc.stderr}")


def rename_main(root: Path, name: str) -> None:
    """``package main`` -> ``package NAME`` in every copied file, after the build: the static scans then read
    the programs as the library code they were ported from (the rules' ``package: {not-regex: ^main$}``
    exemptions stop applying); line numbers do not move."""
    if not re.fullmatch(r"[A-Za-z_]\w*", name) or name == "main":
        raise SetupError(f"--rename-main {name!r}: not a package name other than main")
    for f in root.rglob("*.go"):
        text = f.read_text(encoding="utf-8")
        f.write_text(re.sub(r"(?m)^package main$", f"package {name}", text), encoding="utf-8")


@dataclass
class Run:
    rc: int | None  # None: timed out
    seconds: float
    output_bytes: int


def run_case(exe: Path, case: Case, rep: int, dumps: Path, timeout: float, short: bool) -> Run:
    extra = {"GODEBUG": "asyncpreemptoff=1", "GOEXPERIMENT": "goroutineleakprofile"}
    if case.simple:
        extra["GOMAXPROCS"] = "1"
    if short:
        extra["RUNTIME_TEST_SHORT"] = "1"
    t0 = time.monotonic()
    try:
        proc = subprocess.run([str(exe), case.name], env=clean_env(extra), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=timeout)
        rc: int | None = proc.returncode
        out = proc.stdout
    except subprocess.TimeoutExpired as err:
        rc, out = None, err.stdout or b""
    (dumps / f"{case.name}.{rep}.txt").write_bytes(out)
    return Run(rc=rc, seconds=time.monotonic() - t0, output_bytes=len(out))


# ---- the Go test's own reading of the output (expected-pattern check) --------------------------------------
_HEADER = re.compile(r"goroutine \d+ \[")


def go_test_leaks(output: str) -> list[str]:
    """``func(...) [wait reason]`` per leaked goroutine, as the Go test's extractLeaks builds them."""
    leaks = []
    for stack in output.split("\n\ngoroutine"):
        lines = stack.split("\n")
        if len(lines) < 5 or "(leaked)" not in lines[0]:
            continue
        reason = _HEADER.sub("[", lines[0]).replace(" (leaked)", "")
        for i in range(len(lines) - 1, 1, -1):
            if "created by" in lines[i]:
                leaks.append(lines[i - 2].removeprefix("main.") + " " + reason)
                break
    return leaks


# ---- gleak-sarif, through its command line -----------------------------------------------------------------
def gleak(args: list[str], *, cwd: Path | None = None, ok: tuple[int, ...] = (0,)) -> None:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    proc = subprocess.run([sys.executable, "-m", "gleak_sarif", *args], cwd=cwd, env=env,
                          capture_output=True, text=True)
    if proc.returncode not in ok:
        raise SetupError(f"gleak-sarif {' '.join(args)} exited {proc.returncode}:\n{proc.stderr[-4000:]}")


def analyze_json(dump: Path, root: Path, out: Path, *, with_static: bool = False) -> dict[str, Any]:
    gleak(["runtime", "analyze", str(dump), "--source-root", str(root), "--format", "json", "--exit-zero",
           "-o", str(out), *(["--with-static"] if with_static else [])])
    data: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return data


def analyze_in_process(dump: Path, root: Path) -> dict[str, Any]:
    """What ``runtime analyze DUMP --format json`` prints, without a process start per repetition (the same
    functions the command calls; ~450 starts would cost minutes of CPU)."""
    from gleak_sarif.report import render
    from gleak_sarif.runtime.api import analyze_parsed
    from gleak_sarif.runtime.mapping import SourceMap
    from gleak_sarif.runtime.parse import parse_dump_file

    _, result = analyze_parsed(parse_dump_file(dump), SourceMap(str(root)))
    data: dict[str, Any] = json.loads(render(result, "json"))
    return data


# ---- groups and matching -----------------------------------------------------------------------------------
Loc = tuple[str, int]  # (path relative to the copied folder, line)
GroupKey = tuple[str, int, str, int, str]  # go path, go line, blocked path, blocked line, wait reason


def _rel(path: str, root: Path, base: Path | None = None) -> str:
    p = Path(path)
    if not p.is_absolute():
        p = (base or root) / p
    try:
        return os.path.relpath(os.path.realpath(p), os.path.realpath(root)).replace(os.sep, "/")
    except ValueError:
        return str(p)


_BLOCKED_IN = re.compile(r"^blocked here \((?P<state>.*)\) in (?P<func>\S+)$")


def group_of(finding: dict[str, Any], root: Path) -> tuple[GroupKey, str] | None:
    """The group of one GLR001 finding, and the function it blocks in."""
    if finding.get("rule_id") != "GLR001":
        return None
    prim = finding["primary"]
    state = str(finding.get("properties", {}).get("state", ""))
    blocked: Loc = ("", 0)
    func = ""
    for rel in finding.get("related") or []:
        m = _BLOCKED_IN.match(rel.get("message", ""))
        if m and rel["span"].get("end_byte", 0) > 0:
            blocked = (_rel(rel["span"]["path"], root), int(rel["span"]["start_line"]))
            func = m.group("func")
            break
    key = (_rel(prim["path"], root), int(prim["start_line"]), blocked[0], blocked[1], state)
    return key, func


def groups_in(data: dict[str, Any], root: Path) -> dict[GroupKey, str]:
    """The groups of a ``runtime analyze`` JSON result, with the function each blocks in."""
    out: dict[GroupKey, str] = {}
    for f in data["findings"]:
        got = group_of(f, root)
        if got is not None:
            out.setdefault(*got)
    return out


def _locations(finding: dict[str, Any], root: Path, base: Path) -> list[tuple[Loc, str]]:
    out = [((_rel(finding["primary"]["path"], root, base), int(finding["primary"]["start_line"])), "primary")]
    for rel in finding.get("related") or []:
        span = rel.get("span") or {}
        if span.get("path"):
            out.append(((_rel(span["path"], root, base), int(span["start_line"])), "related"))
    return out


@dataclass
class Group:
    key: GroupKey
    case: str
    bucket: str
    func: str
    runs_seen: int = 0
    hits: list[dict[str, Any]] = field(default_factory=list)  # error/warning findings on its lines
    note_hits: list[dict[str, Any]] = field(default_factory=list)  # note-level ones (not counted)
    confirmed: bool = False  # --with-static confirmed a static finding (any severity) with this group
    confirmed_counted: bool = False  # ... one at error or warning

    @property
    def go(self) -> Loc:
        return self.key[0], self.key[1]

    @property
    def blocked(self) -> Loc:
        return self.key[2], self.key[3]

    @property
    def state(self) -> str:
        return self.key[4]


class Source:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._lines: dict[str, list[str]] = {}

    def line(self, loc: Loc) -> str:
        path, line = loc
        if not path:
            return ""
        if path not in self._lines:
            try:
                self._lines[path] = (self.root / path).read_text(encoding="utf-8").splitlines()
            except OSError:
                self._lines[path] = []
        lines = self._lines[path]
        return lines[line - 1].strip() if 0 < line <= len(lines) else ""


def short(finding: dict[str, Any], root: Path, base: Path) -> dict[str, Any]:
    p = finding["primary"]
    return {"rule": finding["rule_id"], "severity": finding["severity"],
            "path": _rel(p["path"], root, base), "line": int(p["start_line"]),
            "message": finding["message"]}


# ---- the report ----------------------------------------------------------------------------------------------
def pct(h: int, n: int) -> str:
    return f"{h}/{n} = {100.0 * h / n:.1f}%" if n else f"{h}/0 = n/a"


def run_benchmark(args: argparse.Namespace, work: Path, log: Callable[[str], None]) -> dict[str, Any]:
    go = shutil.which("go")
    if go is None:
        raise SetupError("go is not on PATH (Go 1.26 or later is needed)")
    goroot, gover = go_env(go, "GOROOT", "GOVERSION")
    src_dir = Path(goroot) / "src" / "runtime" / "testdata" / LEAK_DIR
    test_file = Path(goroot) / "src" / "runtime" / TEST_FILE
    if not src_dir.is_dir() or not test_file.is_file():
        raise SetupError(f"{gover} has no {src_dir} / {test_file}: Go 1.26 or later is needed")
    cases = parse_cases(test_file.read_text(encoding="utf-8"), short=args.short)
    if args.cases:
        rx = re.compile(args.cases)
        cases = [c for c in cases if rx.search(c.name)]
        if not cases:
            raise SetupError(f"--cases {args.cases!r} matches no case")

    root = work / LEAK_DIR
    shutil.copytree(src_dir, root)
    m = re.match(r"go(\d+\.\d+)", gover)
    (root / "go.mod").write_text(f"module {LEAK_DIR}\n\ngo {m.group(1) if m else '1.26'}\n", encoding="utf-8")
    assign_buckets(cases, root)
    bins, dumps = work / "bin", work / "dumps"
    bins.mkdir()
    dumps.mkdir()
    programs = sorted({c.program for c in cases})
    log(f"{gover}: building {', '.join(programs)} with GOEXPERIMENT=goroutineleakprofile")
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        for built in [pool.submit(build, go, root, p, bins / f"{p.replace('/', '_')}.exe") for p in programs]:
            built.result()
        if args.rename_main:
            rename_main(root, args.rename_main)
            log(f"package clauses now say {args.rename_main}: scans see library code")

        total_runs = sum(c.repetitions for c in cases)
        log(f"running {len(cases)} cases, {total_runs} program runs (-j {args.jobs})")
        t0 = time.monotonic()
        futures = {(c.name, i): pool.submit(run_case, bins / f"{c.program.replace('/', '_')}.exe", c, i, dumps,
                                            args.timeout, args.short)
                   for c in cases for i in range(c.repetitions)}
        runs = {k: f.result() for k, f in futures.items()}
        log(f"program runs took {time.monotonic() - t0:.0f} s")

        # Truth: per repetition (which runs saw a group) and the union over the concatenated repetitions.
        # Truth: which groups each repetition shows (their union is the case's groups).
        def per_case(c: Case) -> tuple[list[set[GroupKey]], dict[GroupKey, str]]:
            seen: list[set[GroupKey]] = []
            funcs: dict[GroupKey, str] = {}
            for i in range(c.repetitions):
                found = groups_in(analyze_in_process(dumps / f"{c.name}.{i}.txt", root), root)
                seen.append(set(found))
                for key, func in found.items():
                    funcs.setdefault(key, func)
            return seen, funcs

        log("reading the leak profiles (runtime analyze, in process)")
        analysed = dict(zip([c.name for c in cases], pool.map(per_case, cases), strict=True))

    # The static scan, as a user runs it on the folder.
    log("scanning the copied files with the default rules")
    scan_out = work / "scan.json"
    gleak(["scan", "--format", "json", "--no-config", "--no-cache", "-q", "-j", str(max(1, args.jobs)),
           "--source-root", str(root), "-o", str(scan_out), "."], cwd=root, ok=(0, 1))
    scan = json.loads(scan_out.read_text(encoding="utf-8"))
    scan_base = Path(scan.get("source_root") or root)
    findings = [f for f in scan["findings"] if not f.get("suppression")]

    # runtime analyze --with-static over every dump at once (one static scan).
    everything = work / "all-dumps.txt"
    everything.write_bytes(b"".join((dumps / f"{c.name}.{i}.txt").read_bytes() + b"\n\n"
                                    for c in cases for i in range(c.repetitions)))
    log("gleak-sarif runtime analyze --with-static --format json over all dumps")
    confirmed_data = analyze_json(everything, root, work / "with-static.json", with_static=True)
    # go statement of a leaked group -> severities of the static findings confirmed by it (note-level ones
    # included): the groups a finding touches at its primary or a related location, on the group's go
    # statement, blocked line or blocked stack (`runtime-confirmed-groups`, paths relative to the source root)
    confirmed_sites: dict[Loc, set[str]] = defaultdict(set)
    for f in confirmed_data["findings"]:
        props = f.get("properties", {})
        if f.get("rule_id") == "GLR001" or not props.get("runtime-confirmed"):
            continue
        for site in props.get("runtime-confirmed-groups", []):
            path, _, line = site.rpartition(":")
            confirmed_sites[(_rel(path, root), int(line))].add(f["severity"])
    union_all = set(groups_in(confirmed_data, root))

    src = Source(root)
    shapes = load_shapes()
    by_loc: dict[Loc, list[tuple[dict[str, Any], str]]] = defaultdict(list)
    for f in findings:
        for loc, role in _locations(f, root, scan_base):
            by_loc[loc].append((f, role))

    groups: list[Group] = []
    case_rows: list[dict[str, Any]] = []
    warnings: list[str] = []
    for c in cases:
        seen, keys = analysed[c.name]
        case_groups: list[Group] = []
        for key, func in sorted(keys.items()):
            g = Group(key=key, case=c.name, bucket=c.bucket, func=func, runs_seen=sum(key in s for s in seen))
            done: set[tuple[int, str]] = set()  # a finding counts once per line it touches
            for loc, where in ((g.go, "go"), (g.blocked, "blocked")):
                for f, role in by_loc.get(loc, []):
                    if (id(f), where) in done:
                        continue
                    done.add((id(f), where))
                    target = g.hits if f["severity"] in HIT_SEVERITIES else g.note_hits
                    target.append({**short(f, root, scan_base), "at": where, "as": role})
            g.confirmed = g.go in confirmed_sites
            g.confirmed_counted = bool(confirmed_sites.get(g.go, set()) & set(HIT_SEVERITIES))
            if key not in union_all:
                warnings.append(f"{c.name}: group {key} missing from the command line's reading")
            case_groups.append(g)
        groups.extend(case_groups)
        outputs = "\n\n".join((dumps / f"{c.name}.{i}.txt").read_text("utf-8", "replace")
                              for i in range(c.repetitions))
        test_leaks = go_test_leaks(outputs)
        missing = [p for p in c.expected if not any(re.search(p, s) for s in test_leaks)]
        unexpected = sorted({s for s in test_leaks
                             if not any(re.search(p, s) for p in c.expected + c.flaky)})
        case_runs = [runs[(c.name, i)] for i in range(c.repetitions)]
        case_rows.append({
            "name": c.name, "program": c.program, "file": c.file, "bucket": c.bucket, "simple": c.simple,
            "repetitions": c.repetitions,
            "runs": [{"rc": r.rc, "seconds": round(r.seconds, 3), "output_bytes": r.output_bytes}
                     for r in case_runs],
            "expected_patterns": c.expected, "flaky_patterns": c.flaky,
            "expected_not_seen": missing, "unexpected_leaks": unexpected,
            "groups": [group_row(g, src, shapes) for g in case_groups],
        })

    # The command line read the same groups from all dumps at once as the in-process reading did per run.
    for key in sorted(union_all - {g.key for g in groups}):
        warnings.append(f"group {key} found by the --with-static run only")

    # Per rule: leaked groups hit, and error/warning findings that touch no leaked group.
    group_lines = {loc for g in groups for loc in (g.go, g.blocked)}
    rules: dict[str, dict[str, Any]] = defaultdict(lambda: {"groups_hit": 0, "findings": 0, "untouched": []})
    for g in groups:
        for rule in sorted({h["rule"] for h in g.hits}):
            rules[rule]["groups_hit"] += 1
    # With --cases, only the findings in the selected cases' files (the others touch no group trivially).
    files = None if not args.cases else {c.file for c in cases} | {g.go[0] for g in groups} | {
        g.blocked[0] for g in groups}
    notes = 0
    for f in findings:
        if files is not None and _rel(f["primary"]["path"], root, scan_base) not in files:
            continue
        if f["severity"] not in HIT_SEVERITIES:
            notes += 1
            continue
        r = rules[f["rule_id"]]
        r["findings"] += 1
        if not any(loc in group_lines for loc, _ in _locations(f, root, scan_base)):
            r["untouched"].append(short(f, root, scan_base))

    totals: dict[str, dict[str, int]] = {}
    for name, members in ((BUCKET_GOKER, [g for g in groups if g.bucket == BUCKET_GOKER]),
                          (BUCKET_PATTERNS, [g for g in groups if g.bucket == BUCKET_PATTERNS]),
                          (BUCKET_OTHER, [g for g in groups if g.bucket == BUCKET_OTHER]),
                          ("overall", groups)):
        totals[name] = {"groups": len(members), "found": sum(bool(g.hits) for g in members),
                        "confirmed": sum(g.confirmed for g in members),
                        "confirmed_error_warning": sum(g.confirmed_counted for g in members),
                        # recall at every default level: a group hit by any finding of a default rule, notes too
                        "found_any": sum(bool(g.hits or g.note_hits) for g in members),
                        "note_only": sum(not g.hits and bool(g.note_hits) for g in members),
                        "flaky_groups": sum(g.runs_seen < _reps(cases, g.case) for g in members)}
    return {
        "go_version": gover, "gleak_commit": _commit(), "short": args.short, "jobs": args.jobs,
        "rename_main": args.rename_main,
        "cases": case_rows, "rules": dict(sorted(rules.items())), "note_findings": notes,
        "totals": totals, "warnings": warnings,
    }


def _reps(cases: Iterable[Case], name: str) -> int:
    return next(c.repetitions for c in cases if c.name == name)


def load_shapes(path: Path = SHAPES) -> dict[tuple[str, int, int], tuple[str, str]]:
    """(case, go line, blocked line) -> (shape code, reason), from the hand-made table of known misses."""
    out: dict[tuple[str, int, int], tuple[str, str]] = {}
    if not path.is_file():
        return out
    for line in path.read_text(encoding="utf-8").splitlines():
        cols = line.split("\t")
        if line.startswith("#") or len(cols) < 5 or cols[0] == "case":
            continue
        out[(cols[0], int(cols[1]), int(cols[2]))] = (cols[3], cols[4])
    return out


def group_row(g: Group, src: Source, shapes: dict[tuple[str, int, int], tuple[str, str]]) -> dict[str, Any]:
    shape, why = shapes.get((g.case, g.go[1], g.blocked[1]), ("unclassified", "")) if not g.hits else ("", "")
    return {
        "go": {"path": g.go[0], "line": g.go[1], "text": src.line(g.go)},
        "blocked": {"path": g.blocked[0], "line": g.blocked[1], "text": src.line(g.blocked)},
        "state": g.state, "function": g.func, "runs_seen": g.runs_seen, "found": bool(g.hits),
        "found_any": bool(g.hits or g.note_hits),
        "hits": g.hits, "note_hits": g.note_hits, "confirmed": g.confirmed,
        "confirmed_error_warning": g.confirmed_counted, "shape": shape, "shape_why": why,
    }


def _commit() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "gleak_sarif", "rules"], cwd=REPO,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


GroupId = tuple[str, str, int, str, int, str]


def _groups(res: dict[str, Any]) -> dict[GroupId, dict[str, Any]]:
    return {(c["name"], g["go"]["path"], g["go"]["line"], g["blocked"]["path"], g["blocked"]["line"], g["state"]):
            g for c in res["cases"] for g in c["groups"]}


def _group_keys(res: dict[str, Any]) -> dict[GroupId, bool]:
    return {k: bool(g["found"]) for k, g in _groups(res).items()}


def _found_any(g: dict[str, Any]) -> bool:
    # results written before `found_any` existed: the same thing from their hits
    return bool(g.get("found_any", g["found"] or g.get("note_hits")))


def compare(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Before/after on the groups both runs saw: the runtime's detection varies between runs (a group seen in
    1 of 11 repetitions may be missing next time), so recall is compared on the common groups only."""
    a, b = _group_keys(old), _group_keys(new)
    common = sorted(set(a) & set(b))
    ga, gb = _groups(old), _groups(new)
    # per rule that hit a group in the old run: the groups it hit that the new run no longer finds at
    # error/warning, and the ones no default finding hits any more (another rule may still hit the group)
    lost: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for k in common:
        before = ga[k]
        rules = {h["rule"] for h in before["hits"]} | {h["rule"] for h in before.get("note_hits", [])}
        for rule in rules:
            lost[rule][0] += rule in {h["rule"] for h in before["hits"]} and a[k] and not b[k]
            lost[rule][1] += _found_any(before) and not _found_any(gb[k])

    def fmt(k: tuple[str, str, int, str, int, str]) -> str:
        return f"{k[0]}: go {k[1]}:{k[2]} -> blocked {k[3]}:{k[4]} [{k[5]}]"

    return {
        "old_commit": old.get("gleak_commit", "?"), "common_groups": len(common),
        "old_found": sum(a[k] for k in common), "new_found": sum(b[k] for k in common),
        "old_found_any": sum(_found_any(ga[k]) for k in common),
        "new_found_any": sum(_found_any(gb[k]) for k in common),
        "lost_by_rule": {rule: {"error_warning": n[0], "everywhere": n[1]}
                         for rule, n in sorted(lost.items()) if n[0] or n[1]},
        "newly_missed_everywhere": [fmt(k) for k in common if _found_any(ga[k]) and not _found_any(gb[k])],
        "newly_found": [fmt(k) for k in common if b[k] and not a[k]],
        "newly_missed": [fmt(k) for k in common if a[k] and not b[k]],
        "only_old": len(set(a) - set(b)), "only_new": len(set(b) - set(a)),
    }


def render_text(res: dict[str, Any]) -> str:
    out: list[str] = [f"leakbench: {res['go_version']}, gleak-sarif {res['gleak_commit']}"
                      f"{' (short repetitions)' if res['short'] else ''}"
                      + (f"; scanned as package {res['rename_main']}" if res.get("rename_main") else ""), ""]
    for c in res["cases"]:
        found = sum(g["found"] for g in c["groups"])
        conf = sum(g["confirmed"] for g in c["groups"])
        bad = [r for r in c["runs"] if r["rc"] != 0 or r["output_bytes"] == 0]
        out.append(f"{c['name']}  [{c['bucket']}, {c['file']}]  runs {c['repetitions']}  "
                   f"leaked groups {len(c['groups'])}  static {found}  confirmed {conf}"
                   + (f"  ({len(bad)} runs failed or printed nothing)" if bad else ""))
        for g in c["groups"]:
            seen = f"{g['runs_seen']}/{c['repetitions']} runs"
            where = f"go {g['go']['path']}:{g['go']['line']} -> blocked {g['blocked']['path']}:{g['blocked']['line']}"
            if g["found"]:
                rules = ", ".join(sorted({f"{h['rule']}@{h['at']}" for h in g["hits"]}))
                out.append(f"  found  {where} [{g['state']}] {seen}: {rules}"
                           + ("  (runtime-confirmed)" if g["confirmed"] else ""))
            else:
                notes = ", ".join(sorted({f"{h['rule']}@{h['at']}" for h in g["note_hits"]}))
                out.append(f"  MISS   {where} [{g['state']}] {seen}: `{g['blocked']['text']}` in {g['function']}"
                           + f"  shape {g['shape']}" + (f"  (note only: {notes})" if notes else ""))
        for p in c["expected_not_seen"]:
            out.append(f"  note: the Go test expects a leak matching {p} but no run showed one")
        for s in c["unexpected_leaks"]:
            out.append(f"  note: leak outside the Go test's patterns: {s}")
    out += ["", "Per rule (error/warning): leaked groups hit; findings; findings touching no leaked group"]
    for rule, r in res["rules"].items():
        out.append(f"  {rule:7s} hits {r['groups_hit']:3d}  findings {r['findings']:3d}  "
                   f"untouched {len(r['untouched']):3d}")
    untouched = [u for r in res["rules"].values() for u in r["untouched"]]
    if untouched:
        out.append("Findings that touch no leaked group (neither its go line nor its blocked line):")
        for u in untouched:
            out.append(f"  {u['rule']} {u['severity']} {u['path']}:{u['line']}: {u['message'][:140]}")
    out.append(f"({res['note_findings']} note-level findings are not counted)")
    by_shape: dict[str, int] = defaultdict(int)
    for c in res["cases"]:
        for g in c["groups"]:
            if not g["found"]:
                by_shape[g["shape"]] += 1
    if by_shape:
        out.append("Misses by shape (docs/recall.md): " + ", ".join(
            f"{k} {v}" for k, v in sorted(by_shape.items(), key=lambda kv: (-kv[1], kv[0]))))
    for w in res["warnings"]:
        out.append(f"warning: {w}")
    if res.get("compare"):
        cmp = res["compare"]
        out.append(f"Compared with {cmp['old_commit']} on the {cmp['common_groups']} groups both runs saw: found "
                   f"{pct(cmp['old_found'], cmp['common_groups'])} -> {pct(cmp['new_found'], cmp['common_groups'])}"
                   f" ({cmp['only_old']} groups only in the old run, {cmp['only_new']} only in this one); by any "
                   f"default finding (notes too) {pct(cmp['old_found_any'], cmp['common_groups'])} -> "
                   f"{pct(cmp['new_found_any'], cmp['common_groups'])}")
        for rule, n in cmp.get("lost_by_rule", {}).items():
            out.append(f"  lost by {rule}: {n['error_warning']} groups at error/warning, "
                       f"{n['everywhere']} by every default finding")
        out += [f"  newly found:  {k}" for k in cmp["newly_found"]]
        out += [f"  newly missed: {k}" for k in cmp["newly_missed"]]
        out += [f"  missed by every default finding: {k}" for k in cmp.get("newly_missed_everywhere", [])]
    t = res["totals"]
    out.append("")
    for name in (BUCKET_GOKER, BUCKET_PATTERNS, BUCKET_OTHER, "overall"):
        x = t[name]
        out.append(f"{name:22s} leaked groups {x['groups']:3d}  found {x['found']:3d}  runtime-confirmed "
                   f"{x['confirmed']:3d} ({x['confirmed_error_warning']} by error/warning)  "
                   f"note-level only {x['note_only']:3d}  seen in only some runs {x['flaky_groups']:3d}")
    out.append(f"static recall by any default finding (notes too): "
               f"goker {pct(t[BUCKET_GOKER]['found_any'], t[BUCKET_GOKER]['groups'])} · "
               f"simple+commonpatterns {pct(t[BUCKET_PATTERNS]['found_any'], t[BUCKET_PATTERNS]['groups'])} · "
               f"overall {pct(t['overall']['found_any'], t['overall']['groups'])}")
    out.append(f"static recall: goker {pct(t[BUCKET_GOKER]['found'], t[BUCKET_GOKER]['groups'])} · "
               f"simple+commonpatterns {pct(t[BUCKET_PATTERNS]['found'], t[BUCKET_PATTERNS]['groups'])} · "
               f"overall {pct(t['overall']['found'], t['overall']['groups'])}")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", metavar="OUT", help="write the results as JSON to OUT")
    ap.add_argument("--cases", metavar="REGEX", help="only the cases whose name matches (re.search)")
    ap.add_argument("-j", "--jobs", type=int, default=1, help="program runs (and analyses) at a time")
    ap.add_argument("--keep", metavar="DIR", help="work in DIR (must not exist) and keep it: copy, binaries, "
                    "dumps, JSON")
    ap.add_argument("--short", action="store_true", help="the repetitions of `go test -short` (3 for flaky cases)")
    ap.add_argument("--compare", metavar="OLD", help="a --json result of an earlier run: report the groups "
                    "found or lost since then (on the groups both runs saw)")
    ap.add_argument("--rename-main", metavar="PKG", help="scan the programs as package PKG instead of main "
                    "(measures what the rules' main-package exemptions cost)")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds per program run")
    args = ap.parse_args(argv)

    def log(msg: str) -> None:
        print(f"[leakbench] {msg}", file=sys.stderr, flush=True)

    earlier: dict[str, Any] | None = None
    if args.compare:  # read before the run: a bad file should not cost a benchmark run
        try:
            earlier = json.loads(Path(args.compare).read_text(encoding="utf-8"))
            _group_keys(earlier or {})
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
            print(f"leakbench: --compare {args.compare}: not a leakbench --json result ({err})", file=sys.stderr)
            return 2
    try:
        if args.keep:
            work = Path(args.keep)
            work.mkdir(parents=True, exist_ok=False)
            res = run_benchmark(args, work, log)
        else:
            with tempfile.TemporaryDirectory(prefix="leakbench-") as tmp:
                res = run_benchmark(args, Path(tmp), log)
    except (SetupError, FileExistsError) as err:
        print(f"leakbench: {err}", file=sys.stderr)
        return 2
    if earlier is not None:
        res["compare"] = compare(earlier, res)
    if args.json:
        tmp_out = Path(args.json + ".tmp")
        tmp_out.write_text(json.dumps(res, indent=1) + "\n", encoding="utf-8")
        tmp_out.replace(args.json)  # atomic: a reader never sees half a file
    sys.stdout.write(render_text(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
