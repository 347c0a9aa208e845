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
from dataclasses import dataclass
from pathlib import Path

import tree_sitter_go
from tree_sitter import Language, Node, Parser

from gleak_sarif.model import Span

_SKIP_DIRS = {".git", "node_modules", ".venv", ".cache", "__pycache__", ".hg", ".svn"}
_MODCACHE = re.compile(r"/pkg/mod/(.+?)@[^/]+/(.+)$")
_CLOSURE = re.compile(r"\.(func\d+(?:\.\d+)*|gowrap\d+|deferwrap\d+)$")


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

    def closure_site(self, local: str, func: str, line: int) -> tuple[Span, str] | None:
        """For an entry function ``pkg.F.func1`` / ``pkg.F.gowrap1`` whose frame is at ``line``: the
        ``go`` statement that starts it, or the statement that hands the literal to a wrapper
        (``wg.Go(func(){...})``, ``time.AfterFunc``). Keyed on the line, not on the funcN number:
        Go 1.27 renumbers closures."""
        m = _CLOSURE.search(func)
        if m is None:
            return None
        t = self._tree(Path(local))
        if t is None:
            return None
        src, root = t
        if m.group(1).startswith(("gowrap", "deferwrap")):
            span = self.go_statement(local, line)
            return (span, "go") if span else None
        lit: Node | None = None
        for node in _walk(root, "func_literal"):
            if node.start_point[0] + 1 <= line <= node.end_point[0] + 1 and (
                lit is None or node.start_byte >= lit.start_byte
            ):
                lit = node
        if lit is None:
            return None
        stmt: Node | None = lit.parent
        while stmt is not None and not stmt.type.endswith("_statement") and stmt.type != "source_file":
            stmt = stmt.parent
        if stmt is None or stmt.type == "source_file":
            return None
        kind = "go" if stmt.type == "go_statement" and _starts_literal(stmt, lit) else "wrapper-call"
        return _first_line_span(local, src, stmt), kind

    def named_go_sites(self, local: str, func: str) -> list[Span]:
        """``go`` statements in the package directory of ``local`` that call the named function
        (``go recvForever(ch)``, ``go s.loop()``): a static join for debug=1 entry frames."""
        name = re.sub(r"\[.*?\]", "", func).rsplit(".", 1)[-1]
        out: list[Span] = []
        pkg_dir = Path(local).parent
        for p in sorted(pkg_dir.glob("*.go")):
            t = self._tree(p)
            if t is None:
                continue
            src, root = t
            for node in _walk(root, "go_statement"):
                call = next((c for c in node.named_children if c.type == "call_expression"), None)
                fn = call.child_by_field_name("function") if call is not None else None
                if fn is None:
                    continue
                text = src[fn.start_byte : fn.end_byte].decode("utf-8", "replace")
                text = re.sub(r"\[.*?\]", "", text)  # explicit type arguments
                if text.rsplit(".", 1)[-1] == name:
                    out.append(_first_line_span(str(p), src, node))
        return out


def _starts_literal(stmt: Node, lit: Node) -> bool:
    call = next((c for c in stmt.named_children if c.type == "call_expression"), None)
    fn = call.child_by_field_name("function") if call is not None else None
    return fn is not None and fn.start_byte == lit.start_byte and fn.end_byte == lit.end_byte


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
