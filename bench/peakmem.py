"""Peak memory of a command's whole process tree, with its CPU (issue 20's memory target).

    .venv/bin/python bench/peakmem.py -- .venv/bin/gleak-sarif scan -j2 --no-cache -f sarif -o /tmp/o.sarif DIR
    .venv/bin/python bench/peakmem.py --interval 0.5 --log /tmp/rss.tsv -- COMMAND...

Samples the resident memory of the command and every descendant from /proc every --interval seconds (0.5 by
default) and prints one line: wall seconds, CPU seconds (user + sys of the tree, from wait4), the peak of the
tree's summed RSS, the peak of each process alone, and each process's CPU seconds as last sampled (how the
workers shared the work). `--log` writes every sample (seconds, total MB, then
pid:MB per process) for a timeline of where the peak came from. `--json` prints the line as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time

PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(b")") + 2:].split()[1])
        tree.setdefault(ppid, []).append(int(entry))
    return tree


def cpu_seconds(pid: int) -> float:
    """User + sys seconds of one process so far (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            fields = handle.read().rsplit(b")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_rss_kb(root: int) -> dict[int, int]:
    """RSS in KB of ``root`` and each of its descendants, by pid."""
    tree = _children()
    found: dict[int, int] = {}
    stack = [root]
    while stack:
        pid = stack.pop()
        try:
            with open(f"/proc/{pid}/statm", "rb") as handle:
                found[pid] = int(handle.read().split()[1]) * PAGE_KB
        except OSError:
            pass
        stack.extend(tree.get(pid, []))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--interval", type=float, default=0.5)
    parser.add_argument("--log", help="write every sample here (TSV)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command")
    log = open(args.log, "w") if args.log else None  # noqa: SIM115 (closed after the sampler stops)
    started = time.perf_counter()
    proc = subprocess.Popen(command)
    peak_total = 0
    peak_each: dict[int, int] = {}
    cpu_each: dict[int, float] = {}  # last seen, per process (a worker's share of the work)
    done = threading.Event()

    def sample() -> None:
        nonlocal peak_total
        while not done.wait(args.interval):
            sizes = tree_rss_kb(proc.pid)
            total = sum(sizes.values())
            peak_total = max(peak_total, total)
            for pid, kb in sizes.items():
                peak_each[pid] = max(peak_each.get(pid, 0), kb)
                cpu_each[pid] = max(cpu_each.get(pid, 0.0), cpu_seconds(pid))
            if log is not None:
                log.write(f"{time.perf_counter() - started:.1f}\t{total / 1024:.0f}\t"
                          + " ".join(f"{pid}:{kb / 1024:.0f}" for pid, kb in sorted(sizes.items())) + "\n")
                log.flush()

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    done.set()
    sampler.join()
    if log is not None:
        log.close()
    code = os.waitstatus_to_exitcode(status)
    result = {"wall_s": round(wall, 1), "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
              "peak_tree_mb": round(max(peak_total, usage.ru_maxrss) / 1024),
              "peak_each_mb": sorted((round(kb / 1024) for kb in peak_each.values()), reverse=True),
              "cpu_each_s": sorted((round(s, 1) for s in cpu_each.values()), reverse=True),
              "exit": code, "load": round(os.getloadavg()[0], 1)}
    if args.json:
        print(json.dumps(result), file=sys.stderr)
    else:
        print(f"wall {result['wall_s']} s, cpu {result['cpu_s']} s, peak tree {result['peak_tree_mb']} MB "
              f"(per process {result['peak_each_mb'][:4]}; CPU per process, sampled {result['cpu_each_s'][:4]}), "
              f"exit {code}, load at end {result['load']}",
              file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
