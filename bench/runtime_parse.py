"""Parse time and peak memory of the goroutine-dump parser on a real 100,000-goroutine debug=2 dump.

The dump comes from tests/runtime/testdata/leakprog run with ``-many N`` (N goroutines blocked in
``chan receive`` at one go statement, plus the program's other leaks), built with this machine's Go.

    .venv/bin/python bench/runtime_parse.py [--goroutines 100000] [--dump FILE] [--repeat 3]

Prints: dump size, parse CPU and wall seconds (best of --repeat, without tracing), goroutines/s and MB/s, clustering
and diff seconds, peak Python heap during a parse (tracemalloc, separate run) and the process's max RSS.
"""

from __future__ import annotations

import argparse
import gc
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from gleak_sarif.runtime.cluster import cluster, diff  # noqa: E402
from gleak_sarif.runtime.parse import parse_dump  # noqa: E402

LEAKPROG = REPO / "tests" / "runtime" / "testdata" / "leakprog"


def make_dump(n: int, out: Path) -> None:
    go = shutil.which("go")
    if go is None:
        sys.exit("go is not installed; pass --dump FILE")
    binary = out.parent / "leakprog"
    subprocess.run([go, "build", "-o", str(binary), "."], cwd=LEAKPROG, check=True)
    subprocess.run([str(binary), "-many", str(n), "-o", str(out)], check=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--goroutines", type=int, default=100_000)
    ap.add_argument("--dump", type=Path, help="use this dump instead of generating one")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = args.dump or Path(tmp) / "dump.txt"
        if args.dump is None:
            t0 = time.perf_counter()
            make_dump(args.goroutines, path)
            print(f"generated {path} with Go in {time.perf_counter() - t0:.1f} s")
        raw = path.read_bytes()
    text = raw.decode("utf-8", "replace")
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    best = best_cpu = float("inf")
    dump = None
    for _ in range(args.repeat):
        dump = None
        gc.collect()
        t0, c0 = time.perf_counter(), time.process_time()
        dump = parse_dump(text)
        best = min(best, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    assert dump is not None
    n = len(dump.goroutines)
    frames = sum(len(g.frames) for g in dump.goroutines)

    c0 = time.process_time()
    clusters = cluster(dump.goroutines)
    t_cluster = time.process_time() - c0
    c0 = time.process_time()
    deltas = diff(dump, dump, persistent=True)
    t_diff = time.process_time() - c0
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    dump = None
    gc.collect()
    tracemalloc.start()
    kept = parse_dump(text)
    _, peak = tracemalloc.get_traced_memory()
    current, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    mb = len(raw) / 1e6
    print(f"dump: {mb:.1f} MB, {n} goroutines, {frames} frames, {len(kept.notifications)} notifications")
    print(f"parse: {best_cpu:.2f} s CPU, {best:.2f} s wall (best of {args.repeat}) = "
          f"{n / best_cpu:,.0f} goroutines/s, {mb / best_cpu:.1f} MB/s of CPU time")
    print(f"cluster: {t_cluster:.2f} s CPU -> {len(clusters)} clusters; diff (dump vs itself, both sides "
          f"clustered): {t_diff:.2f} s CPU -> {len(deltas)} persistent clusters")
    print(f"peak Python heap during parse (tracemalloc): {peak / 1e6:.0f} MB; retained model: "
          f"{current / 1e6:.0f} MB")
    print(f"max RSS: {rss_after / 1024:.0f} MB (before parsing, with the text loaded: {rss_before / 1024:.0f} MB)")


if __name__ == "__main__":
    main()
