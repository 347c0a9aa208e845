"""Map build paths printed in goroutine dumps to files under ``--source-root``, and find the ``go``
statement (or the func literal handed to a wrapper) that started a goroutine.

Path forms handled: absolute paths of another machine (``/home/ci/src/svc/internal/x.go``), module cache
paths (``/root/go/pkg/mod/example.com/m@v1.2.3/x.go``, ``!`` case-escapes), ``-trimpath`` module paths
(``example.com/m/internal/x.go``), and paths already inside the source root. Strategy, in order: the
path exists under the root; module cache -> module path + suffix; a local module path (from every
go.mod under the root) occurs in the path -> module dir + rest; longest path-suffix match among the
root's .go files (unique best match only). GOROOT files are never mapped.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import tree_sitter_go
from tree_sitter import Language, Node, Parser

from gleak_sarif.model import Span
from gleak_sarif.runtime.entries import (
    GoFile,
    PackageStarts,
    find_literal,
    literal_start,
    package_files,
    parse_symbol,
    resolve_symbol,
)

_SKIP_DIRS = {".git", "node_modules", ".venv", ".cache", "__pycache__", ".hg", ".svn"}
_MODCACHE = re.compile(r"/pkg/mod/(.+?)@[^/]+/(.+)$")


@dataclass(frozen=True, slots=True)
class Mapped:
    path: str | None  # local file (absolute), None when unmapped
    how: str  # "root", "module-cache", "module-path", "suffix", or why it failed


def _unescape_module(path: str) -> str:
    # Module cache escapes upper-case letters as "!" + lower-case.
    return re.sub(r"!([a-z])", lambda m: m.group(1).upper(), path)


class SourceMap:
    def __init__(self, source_root: str | Path | None) -> None:
        self.root: Path | None = Path(source_root).resolve() if source_root else None
        self.modules: list[tuple[str, Path]] = []  # (module path, dir), longest path first
        self.by_name: dict[str, list[Path]] = {}
        self._cache: dict[str, Mapped] = {}
        self._trees: dict[Path, tuple[bytes, Node] | None] = {}
        self._parser: Parser | None = None
        self._packages: dict[tuple[str, str, bool], list[GoFile]] = {}
        self._starts_cache: dict[tuple[str, ...], PackageStarts] = {}
        if self.root is not None and self.root.is_dir():
            self._index(self.root)

    @property
    def module_paths(self) -> tuple[str, ...]:
        return tuple(m for m, _ in self.modules)

    def _index(self, root: Path) -> None:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if d not in _SKIP_DIRS]
            for name in filenames:
                p = Path(dirpath) / name
                if name == "go.mod":
                    mod = _read_module(p)
                    if mod:
                        self.modules.append((mod, p.parent))
                elif name.endswith(".go"):
                    self.by_name.setdefault(name, []).append(p)
        self.modules.sort(key=lambda m: -len(m[0]))

    # -- paths -------------------------------------------------------------------------------
    def map_path(self, raw: str) -> Mapped:
        hit = self._cache.get(raw)
        if hit is None:
            hit = self._cache[raw] = self._map(raw)
        return hit

    def _map(self, raw: str) -> Mapped:
        if self.root is None:
            return Mapped(None, "no --source-root given")
        if not raw:
            return Mapped(None, "no file in the dump")
        path = raw.replace("\\", "/")
        path = re.sub(r"^[A-Za-z]:/", "/", path)  # Windows drive
        if path.startswith("/"):
            p = Path(path)
            try:
                if p.is_file() and p.resolve().is_relative_to(self.root):
                    return Mapped(str(p.resolve()), "root")
            except OSError:
                pass
        m = _MODCACHE.search(path)
        if m:
            mod, rest = _unescape_module(m.group(1)), m.group(2)
            for mp, mdir in self.modules:
                if mp == mod:
                    cand = mdir / rest
                    if cand.is_file():
                        return Mapped(str(cand), "module-cache")
            vendored = self.root / "vendor" / mod / rest
            if vendored.is_file():
                return Mapped(str(vendored), "module-cache")
            return Mapped(None, f"module {mod} is not in the source root")
        for mp, mdir in self.modules:
            # -trimpath ("example.com/m/x.go") or a GOPATH-style absolute path (".../src/example.com/m/x.go").
            rest = None
            if path.startswith(mp + "/"):
                rest = path[len(mp) + 1 :]
            else:
                i = path.find("/" + mp + "/")
                if i >= 0:
                    rest = path[i + len(mp) + 2 :]
            if rest is not None:
                cand = mdir / rest
                if cand.is_file():
                    return Mapped(str(cand), "module-path")
        if _looks_goroot(path):
            return Mapped(None, "standard library")
        return self._suffix(path)

    def _suffix(self, path: str) -> Mapped:
        parts = [p for p in path.split("/") if p]
        if not parts:
            return Mapped(None, "empty path")
        cands = self.by_name.get(parts[-1], [])
        if not cands:
            return Mapped(None, "no file with this name under the source root")
        best: list[Path] = []
        best_n = 0
        for c in cands:
            cparts = c.parts
            n = 0
            while n < len(parts) and n < len(cparts) and parts[-1 - n] == cparts[-1 - n]:
                n += 1
            if n > best_n:
                best, best_n = [c], n
            elif n == best_n:
                best.append(c)
        if len(best) == 1 and (best_n >= 2 or len(cands) == 1):
            return Mapped(str(best[0]), "suffix")
        return Mapped(None, f"ambiguous: {len(best)} files match the last {best_n} path element(s)")

    # -- syntax ------------------------------------------------------------------------------
    def _tree(self, path: Path) -> tuple[bytes, Node] | None:
        if path in self._trees:
            return self._trees[path]
        result: tuple[bytes, Node] | None = None
        try:
            src = path.read_bytes()
            if self._parser is None:
                self._parser = Parser(Language(tree_sitter_go.language()))
            result = (src, self._parser.parse(src).root_node)
        except OSError:
            result = None
        self._trees[path] = result
        return result

    def line_span(self, local: str, line: int) -> Span | None:
        """The non-blank text of one line (used for frames that are not go statements)."""
        t = self._tree(Path(local))
        if t is None:
            return None
        src, _ = t
        return _span_of_line(local, src, line)

    def call_line(self, local: str, line: int, callees: set[str]) -> int:
        """The line of the call to one of ``callees`` (function or method names) that a return address at
        ``line`` comes back from. Ancestor frames (GODEBUG=tracebackancestors) print the return address's
        line, which is the next line when the call was the last instruction of its own (``resp, err :=
        http.Get(u)`` is reported on the ``if err != nil`` below it)."""
        t = self._tree(Path(local))
        if t is None or not callees:
            return line
        src, root = t
        names: dict[int, set[str]] = {}
        for node in _walk(root, "call_expression"):
            fn = node.child_by_field_name("function")
            if fn is None:
                continue
            if fn.type == "selector_expression":
                fn = fn.child_by_field_name("field") or fn
            name = src[fn.start_byte : fn.end_byte].decode("utf-8", "replace")
            for at in {node.start_point[0] + 1, node.end_point[0] + 1}:
                names.setdefault(at, set()).add(name)
        for candidate in (line, line - 1, line - 2):
            if names.get(candidate, set()) & callees:
                return candidate
        return line

    def go_statement(self, local: str, line: int) -> Span | None:
        """Span (first line only) of the innermost ``go`` statement that covers ``line``."""
        t = self._tree(Path(local))
        if t is None:
            return None
        src, root = t
        best: Node | None = None
        for node in _walk(root, "go_statement"):
            if node.start_point[0] + 1 <= line <= node.end_point[0] + 1 and (
                best is None or node.start_byte >= best.start_byte
            ):
                best = node
        return _first_line_span(local, src, best) if best is not None else None

    # -- entry functions -------------------------------------------------------------------------------
    def _gofile(self, path: Path) -> GoFile | None:
        t = self._tree(path)
        return GoFile(str(path), t[0], t[1]) if t is not None else None

    def package(self, local: str) -> tuple[list[GoFile], GoFile] | None:
        """The files of the package ``local`` belongs to (name order) and ``local``'s own."""
        frame = self._gofile(Path(local))
        if frame is None:
            return None
        directory = Path(local).parent
        key = (str(directory), frame.package, local.endswith("_test.go"))
        files = self._packages.get(key)
        if files is None:
            trees = []
            for p in sorted(directory.glob("*.go")):
                g = frame if str(p) == local else self._gofile(p)
                if g is not None:
                    trees.append((g.path, g.src, g.root))
            files = self._packages[key] = package_files(trees, frame.package, key[2])
        return files, frame

    def _starts(self, files: list[GoFile]) -> PackageStarts:
        key = tuple(f.path for f in files)
        starts = self._starts_cache.get(key)
        if starts is None:
            starts = self._starts_cache[key] = PackageStarts(files)
        return starts

    def entry_site(self, local: str, func: str, line: int, *, start_line: int = 0,
                   started_by: str = "unknown") -> EntrySite | None:
        """Where the goroutine running ``func`` (its frame at ``line`` of ``local``) was started.

        Function literals: by Go's numbering, checked against the line (entries.find_literal); the go
        statement or the call it is handed to. Named functions: the one statement that starts them, by
        ``started_by``: "go" (a go statement calling them: receiver types resolved by the package model),
        "wrapper" (a library started it: a call that takes the function as a value, time.AfterFunc(d, s.stop))
        or "unknown" (a profile without creators: either). ``EntrySite.span`` is None when nothing or more than
        one statement fits; ``EntrySite.candidates`` then lists them."""
        pkg = self.package(local)
        sym = parse_symbol(func)
        if pkg is None or sym is None:
            return None
        files, frame = pkg
        sym = resolve_symbol(sym, files)
        if sym.is_literal:
            hit = find_literal(files, frame, sym, line, start_line)
            if hit is None:
                return None
            if hit.node.type in ("go_statement", "defer_statement"):
                span = _first_line_span(hit.file.path, hit.file.src, hit.node)
                return EntrySite(span, "go", f"go statement ({func})") if hit.node.type == "go_statement" else None
            start = literal_start(hit.file.src, hit.node)
            if start is None:
                span = _first_line_span(hit.file.path, hit.file.src, hit.node)
                return EntrySite(span, "entry-function", f"function literal {func} (what starts it is not in "
                                 "the statement around it: creation site unknown)")
            span = _first_line_span(hit.file.path, hit.file.src, start.stmt)
            if start.kind == "go":
                return EntrySite(span, "go", f"go statement ({func})")
            if start.kind == "wrapper-call":
                return EntrySite(span, "wrapper-call",
                                 f"statement that hands the func literal to {start.via} ({func})")
            return EntrySite(span, "inferred", f"the only go statement that calls {start.via} ({func})")
        starts = self._starts(files)
        found = [] if started_by == "wrapper" else starts.go_starts(sym)
        if started_by != "go":
            found += starts.value_starts(sym)
        if len(found) == 1:
            one = found[0]
            span = _first_line_span(one.file.path, one.file.src, one.stmt)
            if one.kind == "go":
                return EntrySite(span, "inferred", f"the only go statement in the package that runs {func}")
            return EntrySite(span, "inferred", f"the only call in the package that hands {func} over as a value")
        return EntrySite(None, "", "", candidates=[_first_line_span(c.file.path, c.file.src, c.stmt) for c in found])

    def named_go_sites(self, local: str, func: str) -> list[Span]:
        """``go`` statements of the package of ``local`` that start the named function ``func``."""
        pkg = self.package(local)
        sym = parse_symbol(func)
        if pkg is None or sym is None:
            return []
        files, _ = pkg
        return [_first_line_span(s.file.path, s.file.src, s.stmt)
                for s in self._starts(files).go_starts(resolve_symbol(sym, files))]


@dataclass(frozen=True, slots=True)
class EntrySite:
    span: Span | None  # None: not found (see candidates)
    kind: str  # go | wrapper-call | inferred | entry-function
    text: str
    candidates: list[Span] = field(default_factory=list)  # several statements could have started it


def _walk(root: Node, typ: str) -> list[Node]:
    out: list[Node] = []
    stack = [root]
    while stack:
        n = stack.pop()
        if n.type == typ:
            out.append(n)
        stack.extend(n.children)
    return out


def _line_bounds(src: bytes, line: int) -> tuple[int, int] | None:
    start = 0
    for _ in range(line - 1):
        nl = src.find(b"\n", start)
        if nl < 0:
            return None
        start = nl + 1
    end = src.find(b"\n", start)
    return start, (len(src) if end < 0 else end)


def _span_of_line(path: str, src: bytes, line: int) -> Span | None:
    b = _line_bounds(src, line)
    if b is None:
        return None
    start, end = b
    text = src[start:end]
    lead = len(text) - len(text.lstrip())
    body = text.rstrip()
    if not body.strip():
        return None
    return Span(
        path=path,
        start_byte=start + lead,
        end_byte=start + len(body),
        start_line=line,
        start_column=lead + 1,
        end_line=line,
        end_column=len(body) + 1,
    )


def _first_line_span(path: str, src: bytes, node: Node) -> Span:
    line = node.start_point[0] + 1
    col = node.start_point[1]
    b = _line_bounds(src, line)
    line_start, line_end = b if b is not None else (node.start_byte - col, node.end_byte)
    end = min(node.end_byte, line_end)
    # Trim a comment that follows on the same line, then trailing blanks.
    for c in _walk(node, "comment"):
        if c.start_point[0] + 1 == line and node.start_byte < c.start_byte < end:
            end = c.start_byte
    end = node.start_byte + len(src[node.start_byte : end].rstrip())
    return Span(
        path=path,
        start_byte=node.start_byte,
        end_byte=end,
        start_line=line,
        start_column=col + 1,
        end_line=line,
        end_column=end - line_start + 1,
    )


def _looks_goroot(path: str) -> bool:
    m = re.search(r"/(?:go|goroot|golang)[^/]*/src/([^/]+)/", path)
    if m:
        return "." not in m.group(1)  # GOPATH/src/github.com/... is user code
    # -trimpath prints GOROOT files as "runtime/proc.go": a relative path with a dotless first element.
    return not path.startswith("/") and "/" in path and "." not in path.split("/", 1)[0]


def _read_module(p: Path) -> str | None:
    try:
        for line in p.read_text(encoding="utf-8", errors="replace").splitlines():
            m = re.match(r"\s*module\s+(\S+)", line)
            if m:
                return m.group(1).strip('"')
    except OSError:
        return None
    return None
