"""The floor for bench.py: read and parse the listed Go files with py-tree-sitter, nothing else.

    python bench/floor.py FILE_LIST JOBS

Uses the same parser set-up and the same pool shape as `gleak-sarif scan` (fork, largest files first,
chunks), so the ratio scan/floor measures what the rules add.
"""

from __future__ import annotations

import multiprocessing
import os
import sys

import tree_sitter_go
from tree_sitter import Language, Parser

_PARSER: Parser | None = None


def _parse_chunk(paths: list[str]) -> int:
    global _PARSER
    if _PARSER is None:
        _PARSER = Parser(Language(tree_sitter_go.language()))
    nodes = 0
    for path in paths:
        with open(path, "rb") as handle:
            source = handle.read()
        tree = _PARSER.parse(source)
        nodes += tree.root_node.end_byte  # touch the tree; it is dropped right after
    return nodes


def _chunks(paths: list[str], jobs: int) -> list[list[str]]:
    sized = sorted(((os.path.getsize(p), p) for p in paths), reverse=True)
    total = sum(size for size, _ in sized) or 1
    target = max(total // (jobs * 16), 64 * 1024)
    chunks: list[list[str]] = []
    current: list[str] = []
    size_now = 0
    for size, path in sized:
        current.append(path)
        size_now += size
        if size_now >= target:
            chunks.append(current)
            current, size_now = [], 0
    if current:
        chunks.append(current)
    return chunks


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as handle:
        paths = [line.rstrip("\n") for line in handle if line.strip()]
    jobs = int(sys.argv[2])
    if jobs <= 1:
        total = _parse_chunk(paths)
    else:
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            total = sum(pool.imap_unordered(_parse_chunk, _chunks(paths, jobs)))
    print(total)


if __name__ == "__main__":
    main()
