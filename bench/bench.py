"""Speed benchmark of gleak-sarif against the parse floor, ast-grep and semgrep (issues 8 and 20).

    bash bench/setup.sh                                  # once: semgrep + ast-grep, and the corpora
    .venv/bin/python bench/bench.py                      # GOROOT/src, nats-server, etcd, caddy, grpc; 3 runs
    .venv/bin/python bench/bench.py --corpus etcd=/path/to/module --runs 5 --no-semgrep
    git archive OLD | tar x -C /tmp/old && .venv/bin/python bench/bench.py --before /tmp/old   # before/after

One run times, on the same files (gleak-sarif's own discovery of each corpus):
  floor      read + parse only with py-tree-sitter (bench/floor.py), 1 and 2 processes
  cold       `gleak-sarif scan --select ALL --no-cache`, -j1 and -j2
  warm       the same with the cache, after changing one file (its folder is rescanned: see cache.py)
  subset     GL201, GL202, GL301, GL402, GL501 with gleak-sarif (-j2), ast-grep (its default threads) and
             semgrep (its default jobs), rules in bench/ast-grep-rules and bench/semgrep-rules
  start-up   `gleak-sarif --version`, and a scan of three small files (default rules and cache)
  --before   the gleak-sarif rows again with another source tree, in the same rounds
Each configuration runs --runs times, interleaved (round robin) so that a change of machine load hits all
of them alike; the table shows medians of wall time, CPU time (user+sys of the process tree) and the peak
resident memory of the whole process tree (sampled from /proc). Corpora are copied (Go files and go.mod
only) under --work so that the cache and the one-file edit never touch the originals.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from peakmem import tree_rss_kb  # bench/peakmem.py: one process-tree sampler

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SUBSET = ["GL201", "GL202", "GL301", "GL402", "GL501"]
TOOLS_VENV = HERE / ".venv" / "bin"


@dataclass
class Sample:
    wall: float
    cpu: float
    rss_kb: int  # peak sum of RSS over the process tree
    rc: int


@dataclass
class Config:
    name: str
    argv: list[str]
    prepare: Callable[[], None] | None = None  # runs before each timed run (untimed)
    samples: list[Sample] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    ok_codes: tuple[int, ...] = (0, 1)
    env: dict[str, str] | None = None  # `--before TREE`: PYTHONPATH of the other version


# ---- measuring ----------------------------------------------------------------------------------
def run(argv: list[str], cwd: Path, stdout_path: Path, env: dict[str, str] | None = None) -> Sample:
    with open(stdout_path, "wb") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=cwd, stdout=out, stderr=subprocess.PIPE,
                                env={**os.environ, **env} if env else None)
        peak = [0]
        done = threading.Event()

        def sample() -> None:
            while not done.wait(0.05):
                peak[0] = max(peak[0], sum(tree_rss_kb(proc.pid).values()))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        # wait4: this child's user+sys time including the workers it waited for
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        done.set()
        sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        if proc.stderr:
            proc.stderr.close()
    peak_kb = max(peak[0], int(usage.ru_maxrss))
    sample_ = Sample(wall, usage.ru_utime + usage.ru_stime, peak_kb, proc.returncode)
    if proc.returncode not in (0, 1):
        print(f"  ! {' '.join(argv[:6])} ... exit {proc.returncode}: {err.strip()[-400:]}", file=sys.stderr)
    return sample_


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


# ---- corpora ------------------------------------------------------------------------------------
def copy_corpus(source: Path, dest: Path) -> None:
    stamp = dest / ".bench-copied"
    if stamp.exists():
        return
    if dest.exists():
        shutil.rmtree(dest)

    def ignore(folder: str, names: list[str]) -> list[str]:
        return [n for n in names if not (n.endswith(".go") or n == "go.mod" or os.path.isdir(os.path.join(folder, n)))]

    shutil.copytree(source, dest, ignore=ignore, symlinks=True)
    for folder, _dirs, files in os.walk(dest):
        os.chmod(folder, 0o755)
        for name in files:
            path = os.path.join(folder, name)
            if not os.path.islink(path):
                os.chmod(path, 0o644)
    (dest / ".semgrepignore").write_text("# empty: semgrep gets the same files as gleak-sarif\n")
    stamp.write_text(str(source))


def discover_files(corpus: Path) -> list[str]:
    """The files `gleak-sarif scan .` would look at, relative to the corpus root."""
    sys.path.insert(0, str(REPO))
    from gleak_sarif.config import ScanOptions
    from gleak_sarif.engine.discover import discover

    here = os.getcwd()
    os.chdir(corpus)
    try:
        return discover(["."], ScanOptions()).files
    finally:
        os.chdir(here)


def count_results(path: Path, kind: str) -> int | None:
    try:
        data = json.loads(path.read_text() or "null")
    except (OSError, ValueError):
        return None
    if kind == "sarif":
        return sum(len(r.get("results", [])) for r in data.get("runs", []))
    if kind == "ast-grep":
        return len(data) if isinstance(data, list) else None
    if kind == "semgrep":
        return len(data.get("results", []))
    return None


# ---- the benchmark ------------------------------------------------------------------------------
def gleak_argv() -> list[str]:
    script = Path(sys.executable).parent / "gleak-sarif"
    return [str(script)] if script.exists() else [sys.executable, "-m", "gleak_sarif"]


def bench_corpus(name: str, source: Path, args: argparse.Namespace) -> dict[str, object]:
    work = Path(args.work) / name
    print(f"\n== {name}: {source}", flush=True)
    copy_corpus(source, work)
    files = discover_files(work)
    sizes = {f: os.path.getsize(work / f) for f in files}
    total_bytes = sum(sizes.values())
    lines = sum((work / f).read_bytes().count(b"\n") for f in files)
    list_file = work / ".bench-files.txt"
    list_file.write_text("\n".join(files) + "\n")
    print(f"   {len(files)} files, {total_bytes / 1e6:.1f} MB, {lines} lines", flush=True)
    out = work / ".bench-out"
    out.mkdir(exist_ok=True)
    gleak = gleak_argv()
    py = sys.executable
    floor = str(HERE / "floor.py")
    everything = ["scan", "--select", "ALL", "-q", "-f", "sarif", "-o"]

    # the file edited before each warm run: a mid-sized one (its folder's entries are invalidated too)
    by_size = sorted(files, key=lambda f: sizes[f])
    edited = work / by_size[len(by_size) // 2]
    original = edited.read_bytes()
    edits = [0]

    def change_one_file() -> None:
        edits[0] += 1
        edited.write_bytes(original + f"\n// gleak bench edit {edits[0]}\n".encode())

    configs = [
        Config("floor -j1", [py, floor, str(list_file), "1"]),
        Config("floor -j2", [py, floor, str(list_file), "2"]),
        Config("all cold -j1", [*gleak, *everything, str(out / "cold1.sarif"), "--no-cache", "-j1", "."]),
        Config("all cold -j2", [*gleak, *everything, str(out / "cold2.sarif"), "--no-cache", "-j2", "."]),
        Config("all warm -j1", [*gleak, *everything, str(out / "warm1.sarif"), "-j1", "."], change_one_file),
        Config("all warm -j2", [*gleak, *everything, str(out / "warm2.sarif"), "-j2", "."], change_one_file),
        Config("subset gleak -j2", [*gleak, "scan", "--select", ",".join(SUBSET), "-q", "-f", "sarif", "-o",
                                    str(out / "subset.sarif"), "--no-cache", "-j2", "."]),
    ]
    if args.before:
        # the other version, interleaved with this one in every round (same moment, same load)
        before_env = {"PYTHONPATH": str(Path(args.before).resolve())}
        configs += [Config(c.name + " (before)", [a.replace(".sarif", "-before.sarif") for a in c.argv], c.prepare,
                           env=before_env)
                    for c in configs if c.name.startswith(("all ", "subset gleak"))]
    configs = [c for c in configs if not any(skip in c.name for skip in args.skip or [])]
    tools = not args.no_tools and (not args.tools_on or name in args.tools_on)
    if tools and (TOOLS_VENV / "ast-grep").exists():
        configs.append(Config("subset ast-grep", [str(TOOLS_VENV / "ast-grep"), "scan", "-c",
                                                  str(HERE / "ast-grep-rules" / "sgconfig.yml"),
                                                  "--json=compact", *files]))
    elif tools:
        print("   (no bench/.venv/bin/ast-grep: run bench/setup.sh)", file=sys.stderr)
    semgrep: Config | None = None
    if tools and not args.no_semgrep and (TOOLS_VENV / "semgrep").exists():
        semgrep = Config("subset semgrep", [str(TOOLS_VENV / "semgrep"), "scan", "--metrics=off",
                                            "--disable-version-check", "--config",
                                            str(HERE / "semgrep-rules" / "rules.yml"), "--json", "-q",
                                            "--max-target-bytes", "0", *files])

    # the cache the warm runs start from (same rules and options; -j does not change results); not filled
    # when every warm row is skipped (two more full scans per corpus)
    shutil.rmtree(work / ".gleak-cache", ignore_errors=True)
    warm = any(c.prepare is not None for c in configs)
    fill = run([*gleak, *everything, str(out / "fill.sarif"), "-j2", "."], work, out / "fill.stdout") if warm \
        else Sample(0.0, 0.0, 0, 0)
    print(f"   cache fill (cold, writing the cache, -j2): {fill.wall:.2f} s wall", flush=True)
    if any(c.prepare is not None and c.env is not None for c in configs):  # a warm row of --before remains
        run([*gleak, *everything, str(out / "fill-before.sarif"), "-j2", "."], work, out / "fill-before.stdout",
            {"PYTHONPATH": str(Path(args.before).resolve())})
    try:
        for round_ in range(args.runs):
            for config in configs:
                if config.prepare is not None:
                    config.prepare()
                stdout = out / (config.name.replace(" ", "_") + ".stdout")
                config.samples.append(run(config.argv, work, stdout, config.env))
                config.outputs.append(str(stdout))
            if semgrep is not None and round_ < args.semgrep_runs:
                stdout = out / "semgrep.stdout"
                semgrep.samples.append(run(semgrep.argv, work, stdout))
            print(f"   round {round_ + 1}/{args.runs} done, load {os.getloadavg()[0]:.1f}", flush=True)
    finally:
        edited.write_bytes(original)
    if semgrep is not None:
        configs.append(semgrep)

    rows = {}
    for config in configs:
        rows[config.name] = {
            "wall": median([s.wall for s in config.samples]),
            "cpu": median([s.cpu for s in config.samples]),
            "rss_mb": max((s.rss_kb for s in config.samples), default=0) / 1024,
            "runs": len(config.samples),
            "exit": sorted({s.rc for s in config.samples}),
        }
    findings = {
        "subset gleak -j2": count_results(out / "subset.sarif", "sarif"),
        "subset ast-grep": count_results(out / "subset_ast-grep.stdout", "ast-grep"),
        "subset semgrep": count_results(out / "semgrep.stdout", "semgrep"),
        "all cold -j2": count_results(out / "cold2.sarif", "sarif"),
    }
    if args.before:
        findings["all cold -j2 (before)"] = count_results(out / "cold2-before.sarif", "sarif")
    return {"corpus": name, "source": str(source), "files": len(files), "bytes": total_bytes, "lines": lines,
            "rows": rows, "findings": findings, "fill_wall": fill.wall}


def bench_startup(args: argparse.Namespace, corpus: Path) -> dict[str, dict[str, float]]:
    """`--version` and a pre-commit-like scan of three small files (default rules, cache on)."""
    files = discover_files(corpus)
    small = [f for f in files if 1500 <= os.path.getsize(corpus / f) <= 4000 and not f.endswith("_test.go")][:3]
    gleak = gleak_argv()
    out = corpus / ".bench-out"
    out.mkdir(exist_ok=True)
    configs = [
        Config("python -c pass", [sys.executable, "-c", "pass"]),
        Config("gleak-sarif --version", [*gleak, "--version"]),
        Config("scan 3 small files", [*gleak, "scan", "-q", *small]),
        Config("scan 3 small files --no-cache", [*gleak, "scan", "-q", "--no-cache", *small]),
    ]
    run([*gleak, "scan", "-q", *small], corpus, out / "warmup.stdout")  # fill the cache, the validated store
    for _ in range(max(args.runs, args.startup_runs)):
        for config in configs:
            config.samples.append(run(config.argv, corpus, out / "startup.stdout"))
    return {c.name: {"wall": median([s.wall for s in c.samples]), "cpu": median([s.cpu for s in c.samples]),
                     "p90": p90([s.wall for s in c.samples]),
                     "rss_mb": max(s.rss_kb for s in c.samples) / 1024} for c in configs}


def p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))] if ordered else float("nan")


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "n/a"


def report(results: list[dict[str, object]], startup: dict[str, dict[str, float]], load: tuple[float, ...]) -> str:
    out: list[str] = []
    out.append(f"load average at start {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}; at end "
               + " ".join(f"{x:.1f}" for x in os.getloadavg()) + f"; {os.cpu_count()} CPUs")
    for result in results:
        rows: dict[str, dict[str, float]] = result["rows"]  # type: ignore[assignment]
        out.append(f"\n## {result['corpus']}: {result['files']} files, {int(result['bytes']) / 1e6:.1f} MB, "  # type: ignore[call-overload]
                   f"{result['lines']} lines")
        out.append(f"{'configuration':<22} {'wall s':>8} {'cpu s':>8} {'peak MB':>8}  runs")
        for name, row in rows.items():
            out.append(f"{name:<22} {row['wall']:>8.2f} {row['cpu']:>8.2f} {row['rss_mb']:>8.0f}  {row['runs']}")
        def r(a: str, b: str, key: str, rows: dict[str, dict[str, float]] = rows) -> str:
            return ratio(rows[a][key], rows[b][key]) if a in rows and b in rows else "n/a"

        out.append("ratios (wall | cpu):")
        out.append(f"  cold all -j2 / floor -j2     {r('all cold -j2', 'floor -j2', 'wall')} | "
                   f"{r('all cold -j2', 'floor -j2', 'cpu')}")
        out.append(f"  cold all -j1 / floor -j1     {r('all cold -j1', 'floor -j1', 'wall')} | "
                   f"{r('all cold -j1', 'floor -j1', 'cpu')}")
        out.append(f"  cold -j1 / cold -j2          {r('all cold -j1', 'all cold -j2', 'wall')} | "
                   f"{r('all cold -j1', 'all cold -j2', 'cpu')}   (target >= 1.7x wall on nats-server)")
        floor = rows.get("floor -j2", {}).get("wall")
        if floor:
            out.append(f"  4 x floor -j2 + 0.3 s         {4 * floor + 0.3:.2f} s (target for cold all -j2)")
        for name in [n for n in rows if n.endswith(" (before)")]:
            now = name[: -len(" (before)")]
            out.append(f"  {now + ': before / now':<28} {r(name, now, 'wall')} | {r(name, now, 'cpu')}")
        out.append(f"  warm -j2 / cold -j2          {r('all warm -j2', 'all cold -j2', 'wall')} | "
                   f"{r('all warm -j2', 'all cold -j2', 'cpu')}   (target < 0.10x)")
        out.append(f"  warm -j1 / cold -j1          {r('all warm -j1', 'all cold -j1', 'wall')} | "
                   f"{r('all warm -j1', 'all cold -j1', 'cpu')}")
        out.append(f"  gleak subset / ast-grep      {r('subset gleak -j2', 'subset ast-grep', 'wall')} | "
                   f"{r('subset gleak -j2', 'subset ast-grep', 'cpu')}   (target <= 2x)")
        out.append(f"  semgrep / gleak subset       {r('subset semgrep', 'subset gleak -j2', 'wall')} | "
                   f"{r('subset semgrep', 'subset gleak -j2', 'cpu')}   (target >= 10x)")
        out.append(f"  findings: {result['findings']}")
    out.append("\n## start-up (median wall s | p90 wall s | cpu s)")
    for name, row in startup.items():
        out.append(f"  {name:<32} {row['wall']:.3f} | {row.get('p90', float('nan')):.3f} | {row['cpu']:.3f}")
    out.append("  target: scan of 3 small files < 0.3 s wall at the 90th percentile")
    return "\n".join(out)


def main() -> None:
    goroot = subprocess.run(["go", "env", "GOROOT"], capture_output=True, text=True).stdout.strip()
    # the module cache bench/setup.sh fills (GLEAK_BENCH_MODCACHE: another one)
    modcache = os.environ.get("GLEAK_BENCH_MODCACHE") or str(REPO / ".cache" / "bench" / "mod")
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", action="append", metavar="NAME=PATH",
                        help="corpus to scan (repeatable); default: GOROOT/src, etcd server, grpc")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--semgrep-runs", type=int, default=1, help="semgrep is slow: fewer runs (default 1)")
    parser.add_argument("--no-tools", action="store_true", help="skip ast-grep and semgrep")
    parser.add_argument("--no-semgrep", action="store_true")
    parser.add_argument("--tools-on", action="append", metavar="NAME", help="run the tools on these corpora only")
    parser.add_argument("--skip", action="append", metavar="TEXT",
                        help="skip configurations whose name contains TEXT (e.g. j1, warm; a leading dash needs --skip=-j1)")
    parser.add_argument("--no-startup", action="store_true", help="skip the start-up measurements")
    parser.add_argument("--work", default="/tmp/gleak-bench", help="where corpora are copied")
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--before", metavar="TREE",
                        help="a source tree of another gleak-sarif version (e.g. `git archive` of a commit): its "
                             "scans run too, interleaved, as '... (before)' rows (PYTHONPATH=TREE)")
    parser.add_argument("--startup-runs", type=int, default=11, help="runs of the start-up rows (p90 needs ~10)")
    args = parser.parse_args()
    corpora = [c.split("=", 1) for c in args.corpus] if args.corpus else [
        ["goroot", f"{goroot}/src"],
        ["nats", f"{modcache}/github.com/nats-io/nats-server/v2@v2.15.2"],
        ["etcd", f"{modcache}/go.etcd.io/etcd/server/v3@v3.7.3"],
        ["caddy", f"{modcache}/github.com/caddyserver/caddy/v2@v2.11.9"],
        ["grpc", f"{modcache}/google.golang.org/grpc@v1.85.0"],
    ]
    # Measure what users run: with bytecode. A shell with PYTHONDONTWRITEBYTECODE (or a fresh source copy)
    # would make every run compile the package first (~0.1-0.2 s of each start-up).
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    import gleak_sarif

    subprocess.run([sys.executable, "-m", "compileall", "-q", str(Path(gleak_sarif.__file__).parent)],
                   check=False, capture_output=True)
    load = os.getloadavg()
    print(f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}", flush=True)
    results = [bench_corpus(name, Path(path), args) for name, path in corpora if Path(path).is_dir()]
    startup = {} if args.no_startup else bench_startup(args, Path(args.work) / corpora[-1][0])
    text = report(results, startup, load)
    print("\n" + text)
    if args.json:
        Path(args.json).write_text(json.dumps({"results": results, "startup": startup, "load_start": load,
                                               "load_end": os.getloadavg()}, indent=2))


if __name__ == "__main__":
    main()
