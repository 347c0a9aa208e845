"""tree-sitter-go access and the facts about a Go file that rules condition on (imports, go.mod version)."""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass, field

import tree_sitter_go
from tree_sitter import Language, Node, Parser, Query

from gleak_sarif import interrupts

GO = Language(tree_sitter_go.language())

# Nodes that start a new function body: a `go func(){...}` body is another goroutine, a deferred closure
# runs at another time, so relations stop here by default.
FUNCTION_KINDS = frozenset({"func_literal", "function_declaration", "method_declaration"})
DECLARATION_KINDS = frozenset({"function_declaration", "method_declaration"})


def is_declaration_scope(node: Node) -> bool:
    """Is ``node`` a top-level function scope: a function or method declaration, or a function literal
    outside any function (package level: `var _ = Describe("pool", func() {...})`, a BDD test suite)? Such a
    literal runs as a function of its own, so `stopBy: declaration` and `scope: declaration` stop there."""
    if node.type in DECLARATION_KINDS:
        return True
    if node.type != "func_literal":
        return False
    parent = node.parent
    while parent is not None:
        if parent.type in FUNCTION_KINDS:
            return False
        parent = parent.parent
    return True

_GO_LINE = re.compile(rb"^go\s+(\d+)\.(\d+)(?:\.\d+)?\s*(?://.*)?$", re.M)
_MAJOR_SUFFIX = re.compile(r"^v[0-9]+$")


# Packages a rule may name in patterns without declaring them in `imports:`, and `.gleak.yml` resource
# contracts by short name (name -> import path).
BUILTIN_IMPORTS: dict[str, str] = {
    "context": "context",
    "errors": "errors",
    "fmt": "fmt",
    "io": "io",
    "log": "log",
    "net": "net",
    "os": "os",
    "runtime": "runtime",
    "sync": "sync",
    "syscall": "syscall",
    "testing": "testing",
    "time": "time",
    "atomic": "sync/atomic",
    "http": "net/http",
    "httptest": "net/http/httptest",
    "signal": "os/signal",
    "exec": "os/exec",
    "sql": "database/sql",
    "errgroup": "golang.org/x/sync/errgroup",
    "semaphore": "golang.org/x/sync/semaphore",
    "grpc": "google.golang.org/grpc",
}


@functools.cache
def parser() -> Parser:
    return Parser(GO)


def compile_query(text: str) -> Query:
    """A Go query, compiled with Ctrl-C held: tree-sitter turns a KeyboardInterrupt raised while it compiles
    a `#match?` regex into a QueryError (gleak_sarif/interrupts.py)."""
    with interrupts.held():
        return Query(GO, text)


# A tree-sitter query walks the children of a node in time quadratic in their number (a flat literal of 600k
# elements: 3.9 s per query, and a file runs hundreds of queries, none of which the per-file deadline can
# interrupt). Real source stays far below this budget (GOROOT/src's widest hand-written node has 34k children;
# the wider ones are generated tables); the cost of every node wider than WIDE_NODE counts, as its square.
WIDE_NODE = 2_000
MAX_WIDTH_COST = 100_000**2


@dataclass(frozen=True)
class TooWide:
    line: int  # 1-based line of the widest node
    children: int  # its number of children

    def message(self) -> str:
        return (f"syntax nodes with too many children for tree-sitter queries (the widest, at line {self.line}, "
                f"has {self.children:,}: generated data?); rules not run on this file")


def too_wide(root: Node) -> TooWide | None:
    """The widest node when the file's nodes cost more than MAX_WIDTH_COST to query, else None. Cheap: a node
    with at most WIDE_NODE descendants cannot hold a wide node, so those subtrees are never entered."""
    cost, widest = 0, root
    stack = [root]
    while stack:
        node = stack.pop()
        if node.child_count > WIDE_NODE:
            cost += node.child_count**2
            if node.child_count > widest.child_count:
                widest = node
        stack.extend(child for child in node.children if child.descendant_count > WIDE_NODE)
    if cost <= MAX_WIDTH_COST:
        return None
    return TooWide(widest.start_point[0] + 1, widest.child_count)


_ESCAPED = re.compile("[\udc80-\udcff]")


def utf8_safe(source: bytes) -> tuple[bytes, int | None]:
    """Go source is UTF-8, and tree-sitter's query predicates decode node text strictly (an invalid byte in
    a compared identifier raised UnicodeDecodeError out of the scan). Returns the source with each invalid
    byte replaced by `_` (same length, so every offset and column still holds) and the 1-based line of
    the first invalid byte, or (source, None) when it is valid."""
    if source.isascii():
        return source, None
    try:
        source.decode("utf-8")
    except UnicodeDecodeError as err:
        line = source.count(b"\n", 0, err.start) + 1
        text = source.decode("utf-8", "surrogateescape")
        return _ESCAPED.sub("_", text).encode("utf-8"), line
    return source, None


def node_text(source: bytes, node: Node) -> str:
    return source[node.start_byte : node.end_byte].decode("utf-8", "replace")


def default_import_name(path: str) -> str:
    """The name a Go file uses for an import without an explicit name (the convention, not the package clause)."""
    parts = [p for p in path.split("/") if p]
    if not parts:
        return path
    last = parts[-1]
    if _MAJOR_SUFFIX.match(last) and len(parts) > 1:  # github.com/x/redis/v9
        last = parts[-2]
    last = re.sub(r"\.v[0-9]+$", "", last)  # gopkg.in/yaml.v3
    if last.startswith("go-"):
        last = last[3:]
    last = re.sub(r"[-.]go$", "", last)
    return last.replace("-", "").replace(".", "")


@dataclass
class Imports:
    by_name: dict[str, str] = field(default_factory=dict)  # name used in code -> import path
    dot: set[str] = field(default_factory=set)  # paths imported with `.`
    paths: set[str] = field(default_factory=set)


def file_imports(source: bytes, root: Node) -> Imports:
    imports = Imports()
    for decl in root.children:
        if decl.type != "import_declaration":
            continue
        specs = [c for c in decl.named_children if c.type == "import_spec"]
        for spec_list in (c for c in decl.named_children if c.type == "import_spec_list"):
            specs.extend(c for c in spec_list.named_children if c.type == "import_spec")
        for spec in specs:
            path_node = spec.child_by_field_name("path")
            if path_node is None:
                continue
            path = node_text(source, path_node).strip('"`')
            imports.paths.add(path)
            name_node = spec.child_by_field_name("name")
            name = node_text(source, name_node) if name_node is not None else default_import_name(path)
            if name == ".":
                imports.dot.add(path)
            elif name != "_":
                imports.by_name[name] = path
    return imports


def package_name(source: bytes, root: Node) -> str:
    for child in root.children:
        if child.type == "package_clause":
            for sub in child.named_children:
                if sub.type == "package_identifier":
                    return node_text(source, sub)
    return ""


def nearest_gomod(directory: str) -> str | None:
    """The go.mod in ``directory`` or the nearest folder above it (None: there is none)."""
    current = directory
    while True:
        gomod = os.path.join(current, "go.mod")
        if os.path.isfile(gomod):
            return gomod
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current = parent


@functools.lru_cache(maxsize=1024)
def _go_directive(gomod: str, mtime_ns: int, size: int) -> tuple[int, int] | None:
    try:
        with open(gomod, "rb") as handle:
            match = _GO_LINE.search(handle.read(256 * 1024))
    except OSError:
        return None
    return (int(match.group(1)), int(match.group(2))) if match else None


def go_version_for(path: str, gomods: dict[str, str | None] | None = None) -> tuple[int, int] | None:
    """The `go` directive of the nearest go.mod above ``path`` as (major, minor), or None.

    ``gomods``: folder -> its nearest go.mod, kept for one scan (gopackage.folders.Folders holds it in the
    scan context), so a folder's files look once; a later scan looks again and sees a go.mod added or
    removed since. The directive is read again when the go.mod's mtime or size changes.
    """
    directory = os.path.dirname(os.path.abspath(path))
    if gomods is None:
        gomod = nearest_gomod(directory)
    elif directory in gomods:
        gomod = gomods[directory]
    else:
        gomod = gomods[directory] = nearest_gomod(directory)
    if gomod is None:
        return None
    try:
        info = os.stat(gomod)
    except OSError:
        return None
    return _go_directive(gomod, info.st_mtime_ns, info.st_size)


_VERSION_TERM = re.compile(r"^\s*(<=|>=|<|>|==|!=|=)?\s*(\d+)\.(\d+)\s*$")


def parse_version_condition(text: str) -> list[tuple[str, tuple[int, int]]]:
    """`"<1.23"`, `">=1.21, <1.23"` -> [(op, (major, minor)), ...]; raises ValueError."""
    terms = []
    for part in text.split(","):
        match = _VERSION_TERM.match(part)
        if not match:
            raise ValueError(f"bad go-version term {part.strip()!r}: write e.g. \"<1.23\" or \">=1.21, <1.23\"")
        terms.append((match.group(1) or "==", (int(match.group(2)), int(match.group(3)))))
    return terms


def version_satisfies(version: tuple[int, int], terms: list[tuple[str, tuple[int, int]]]) -> bool:
    for op, want in terms:
        ok = {
            "<": version < want,
            "<=": version <= want,
            ">": version > want,
            ">=": version >= want,
            "==": version == want,
            "=": version == want,
            "!=": version != want,
        }[op]
        if not ok:
            return False
    return True
