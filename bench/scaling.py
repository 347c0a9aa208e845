"""Is a scan's cost linear in the size of what it scans? (issue 20 item 2)

    .venv/bin/python bench/scaling.py                       # every curve, medians of 3, -j1, every rule
    .venv/bin/python bench/scaling.py --curve file --runs 1 --jobs 2
    .venv/bin/python bench/scaling.py --json out.json
    .venv/bin/python bench/scaling.py --before /tmp/old   # another version's scans in the same rounds

Generates Go packages (plain, valid Go: go vet-clean shapes of servers, workers, locks, channels and
calls across files) under --work and times `gleak-sarif scan --select ALL --no-cache -jN` on them:

  file       one package of 10 files, one of which grows: 1k, 3k, 10k, 30k lines
  package    a package of 10, 30, 100, 300 files of ~1k lines each (calls cross files)
  function   one file whose one function grows: 300, 1k, 3k lines of lock / return / unlock
  baseline   the same command on a package of one small file (start-up, rule loading)

Each point reports CPU seconds (user+sys of the process tree, from wait4) minus the baseline's, per MB of
scanned Go, and the ratio to the curve's smallest point: a flat curve (ratio ~1) is linear, a rising one
is not. Points of all curves run interleaved, round robin, so that machine load hits them alike; the
table shows medians. CPU time is the stable figure on a shared machine (wall time is printed too).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench import Sample, gleak_argv, run  # noqa: E402  (bench/bench.py: the same measuring code)

HEADER = """package {pkg}

import (
\t"context"
\t"errors"
\t"strconv"
\t"sync"
\t"time"
)

var _ = errors.New
var _ = time.Second
var _ = context.Background
var _ = strconv.Itoa

type _ = sync.Mutex
"""

# One unit of code (~70 lines): a server type with a lock, a worker goroutine, a request with a timeout,
# a call into another unit (maybe in another file) and a helper. {n} is the unit, {m} the unit it calls.
UNIT = """
type Server{n} struct {{
\tmu    sync.Mutex
\tch    chan int
\tdone  chan struct{{}}
\twg    sync.WaitGroup
\titems map[string]int
}}

func NewServer{n}() *Server{n} {{
\treturn &Server{n}{{ch: make(chan int), done: make(chan struct{{}}), items: map[string]int{{}}}}
}}

func (s *Server{n}) Get{n}(k string) (int, bool) {{
\ts.mu.Lock()
\tv, ok := s.items[k]
\tif !ok {{
\t\ts.mu.Unlock()
\t\treturn 0, false
\t}}
\ts.mu.Unlock()
\treturn v, true
}}

func (s *Server{n}) Start{n}() {{
\ts.wg.Add(1)
\tgo func() {{
\t\tdefer s.wg.Done()
\t\tfor {{
\t\t\tselect {{
\t\t\tcase v := <-s.ch:
\t\t\t\ts.handle{n}(v)
\t\t\tcase <-s.done:
\t\t\t\treturn
\t\t\t}}
\t\t}}
\t}}()
}}

func (s *Server{n}) handle{n}(v int) {{
\ts.mu.Lock()
\tdefer s.mu.Unlock()
\ts.items[strconv.Itoa(v)] = Helper{m}(v)
}}

func (s *Server{n}) Stop{n}() {{
\tclose(s.done)
\ts.wg.Wait()
}}

func Fetch{n}(ctx context.Context) (int, error) {{
\tch := make(chan int)
\tgo func() {{
\t\tch <- Helper{n}({n})
\t}}()
\tselect {{
\tcase v := <-ch:
\t\treturn v, nil
\tcase <-ctx.Done():
\t\treturn 0, ctx.Err()
\t}}
}}

func Helper{n}(v int) int {{
\ttotal := 0
\tfor i := 0; i < v%7; i++ {{
\t\ttotal += i * {n}
\t}}
\treturn total
}}
"""

UNIT_LINES = UNIT.count("\n")


def units_file(pkg: str, first: int, count: int, total: int) -> str:
    """Units first..first+count-1; unit n calls unit (n*7+3) % total, often in another file."""
    parts = [HEADER.format(pkg=pkg)]
    for n in range(first, first + count):
        parts.append(UNIT.format(n=n, m=(n * 7 + 3) % total))
    return "".join(parts)


def big_function(pkg: str, lines: int) -> str:
    """One function of ~``lines`` lines: blocks that lock, return early (some without unlocking) and
    unlock, as long handlers do; GL406 looks at every return after every lock."""
    body = []
    block = """\tmu.Lock()
\tif x == {i} {{
\t\tmu.Unlock()
\t\treturn {i}
\t}}
\tif x == -{i} {{
\t\treturn -{i}
\t}}
\tx += {i}
\tmu.Unlock()
"""
    per = block.count("\n")
    for i in range(max(1, lines // per)):
        body.append(block.format(i=i + 1))
    return (HEADER.format(pkg=pkg) + "\nvar mu sync.Mutex\n\nfunc Handle(x int) int {\n" + "".join(body)
            + "\treturn x\n}\n")


def write_package(folder: Path, files: dict[str, str]) -> int:
    if folder.exists():
        for old in folder.glob("*.go"):
            old.unlink()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "go.mod").write_text("module example.com/scaling\n\ngo 1.22\n")
    size = 0
    for name, text in files.items():
        (folder / name).write_text(text)
        size += len(text.encode())
    return size


def make_points(work: Path, curves: list[str]) -> list[tuple[str, str, Path, int]]:
    """(curve, label, folder, bytes of Go) for every point to measure."""
    points = [("baseline", "1 small file", work / "baseline",
               write_package(work / "baseline", {"a.go": units_file("p", 0, 1, 1)}))]
    if "file" in curves:
        for lines in (1000, 3000, 10000, 30000):
            big = max(1, lines // UNIT_LINES)
            total = big + 9 * 14
            files = {"big.go": units_file("p", 0, big, total)}
            for i in range(9):
                files[f"small{i}.go"] = units_file("p", big + i * 14, 14, total)
            folder = work / f"file-{lines}"
            points.append(("file", f"{lines // 1000}k-line file + 9 x 1k", folder, write_package(folder, files)))
    if "package" in curves:
        for count in (10, 30, 100, 300):
            per = max(1, 1000 // UNIT_LINES)
            files = {f"f{i:03d}.go": units_file("p", i * per, per, count * per) for i in range(count)}
            folder = work / f"package-{count}"
            points.append(("package", f"{count} files x 1k lines", folder, write_package(folder, files)))
    if "function" in curves:
        for lines in (300, 1000, 3000):
            folder = work / f"function-{lines}"
            points.append(("function", f"one {lines}-line function", folder,
                           write_package(folder, {"handler.go": big_function("p", lines)})))
    return points


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--curve", action="append", choices=["file", "package", "function"],
                        help="curves to measure (repeatable; default all)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--select", default="ALL")
    parser.add_argument("--work", default="/tmp/gleak-scaling")
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--before", metavar="TREE", help="also time this source tree of another version "
                        "(PYTHONPATH=TREE), interleaved: rows marked 'before'")
    args = parser.parse_args()
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)  # measure with bytecode, as users run it
    work = Path(args.work)
    points = make_points(work, args.curve or ["file", "package", "function"])
    gleak = gleak_argv()
    versions = {"now": None} if not args.before else {
        "now": None, "before": {"PYTHONPATH": str(Path(args.before).resolve())}}
    samples: dict[tuple[str, str], list[Sample]] = {(v, str(f)): [] for v in versions for _, _, f, _ in points}
    load = os.getloadavg()
    for round_ in range(args.runs):
        for _, _, folder, _ in points:
            for version, env in versions.items():
                argv = [*gleak, "scan", "--select", args.select, "--no-cache", "-q", "-j", str(args.jobs),
                        "-f", "json", "-o", str(folder / f".out-{version}.json"), "."]
                samples[(version, str(folder))].append(run(argv, folder, folder / ".stdout", env))
        print(f"round {round_ + 1}/{args.runs} done, load {os.getloadavg()[0]:.1f}", file=sys.stderr, flush=True)
    rows = []
    out = [f"load average {load[0]:.1f} at start, {os.getloadavg()[0]:.1f} at end; {os.cpu_count()} CPUs; "
           f"-j{args.jobs}, --select {args.select}, medians of {args.runs}"]
    for version in versions:
        base = samples[(version, str(points[0][2]))]
        base_cpu = statistics.median(s.cpu for s in base)
        out += ["", f"## {version}: baseline (start-up on one small file) {base_cpu:.2f} s CPU, "
                f"{statistics.median(s.wall for s in base):.2f} s wall",
                f"{'curve':<9} {'point':<28} {'MB':>6} {'CPU s':>7} {'wall s':>7} {'CPU-base s/MB':>13} "
                f"{'vs first':>8} {'findings':>8}"]
        first: dict[str, float] = {}
        for curve, label, folder, size in points[1:]:
            got = samples[(version, str(folder))]
            cpu = statistics.median(s.cpu for s in got)
            per = (cpu - base_cpu) / (size / 1e6)
            first.setdefault(curve, per)
            ratio = per / first[curve] if first[curve] else float("nan")
            findings = len(json.loads((folder / f".out-{version}.json").read_text())["findings"])
            rows.append({"version": version, "curve": curve, "point": label, "mb": size / 1e6, "cpu": cpu,
                         "wall": statistics.median(s.wall for s in got), "cpu_per_mb": per, "ratio": ratio,
                         "findings": findings, "baseline_cpu": base_cpu})
            out.append(f"{curve:<9} {label:<28} {size / 1e6:>6.2f} {cpu:>7.2f} {rows[-1]['wall']:>7.2f} "
                       f"{per:>13.2f} {ratio:>7.2f}x {findings:>8}")
    print("\n".join(out))
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "load": load, "jobs": args.jobs, "runs": args.runs},
                                              indent=2))


if __name__ == "__main__":
    main()
