"""From the function a goroutine runs (its entry frame, as the runtime names it) to the source that started it.

Profiles without ``created by`` lines (debug=1, debug=0) and goroutines started by a library wrapper
(``time.AfterFunc``: ``created by time.goFunc``) name only the function the goroutine runs. For a function
literal the name says where it is, by Go's numbering (cmd/compile ``closureName``, Go 1.22-1.26, checked
against this toolchain's output by tests/runtime/test_entries.py):

- ``pkg.F.funcN``: the N-th function literal directly in ``F`` (source order; literals inside another literal
  do not count for ``F``); ``pkg.(*T).M.funcN`` and ``pkg.T.M.funcN`` for methods, ``pkg.F[...].funcN`` for
  generic functions, ``pkg.(*G[...]).M.funcN`` for methods of generic types;
- ``.N`` after a literal: the N-th literal directly inside that literal (``F.func2.1``);
- ``pkg.init.funcN``: the N-th literal in package-level ``var`` initialisers (files in name order);
  ``pkg.init.K.funcN``: in the K-th ``func init()`` (0-based, files in name order);
- range-over-func loop bodies (``F-range1``) are closures too, but a literal inside one is numbered in the
  enclosing function's sequence: they are transparent here, as in the compiler;
- ``F.gowrapN`` / ``F.deferwrapN``: the compiler's wrapper for ``go f(x)`` / ``defer f(x)`` (a separate count;
  which statements get one depends on the call, so the statement is found by line);
- inlining: a literal in a function inlined into ``F`` is named ``F.G.funcN`` (``main.main.(*S).arm.func2``)
  with N counted in ``F``'s sequence, so after an inlined name only the lines locate it.

Every literal found by number is checked against the frame's line (and, for debug=0, the function's start
line); a mismatch (an edited file, a numbering this code does not know) falls back to the innermost literal
around the line. Named functions (``go s.loop()``) are joined to the ``go`` statements that call them through
the static engine's package model, which resolves a receiver's type from its declaration (``x := &T{}``,
``x := NewT()``, a typed parameter or field): ``go tx.awaitDone()`` is matched to ``(*Tx).awaitDone`` and not
to another type's ``awaitDone``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from tree_sitter import Node

from gleak_sarif.gosource import FUNCTION_KINDS, file_imports

_CLOSURE_TOKEN = re.compile(r"(?:func|gowrap|deferwrap)?\d+$")
_RANGE_SUFFIX = re.compile(r"-range\d+")
_GENERIC = re.compile(r"\[.*?\]")


@dataclass(frozen=True, slots=True)
class Symbol:
    """A Go function name as the runtime prints it, split into what it refers to."""

    package: str  # import path ("main", "example.com/m/pkg")
    receiver: str | None  # base type name of a method ("T" for "(*T)", "G" for "(*G[...])")
    name: str  # function or method name ("F", "init")
    rest: tuple[str, ...]  # what follows: "func2", "1", "gowrap1", inlined function names, "(*S)", ...

    @property
    def is_literal(self) -> bool:
        return any(_CLOSURE_TOKEN.match(t) for t in self.rest)

    @property
    def key(self) -> tuple[str, str]:
        """The package model's key of the named function: (receiver type or "", name)."""
        return self.receiver or "", self.name


def _split(text: str) -> list[str]:
    """Split on "." outside parentheses and brackets ("(*G[...]).run.func1" -> 3 tokens)."""
    out: list[str] = []
    depth = 0
    start = 0
    for i, ch in enumerate(text):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth = max(depth - 1, 0)
        elif ch == "." and depth == 0:
            out.append(text[start:i])
            start = i + 1
    out.append(text[start:])
    return out


def _base_type(token: str) -> str:
    """"(*T)" / "(*G[...])" / "T" / "G[...]" -> "T" / "G"."""
    return _GENERIC.sub("", token).strip("()").lstrip("*")


def parse_symbol(func: str) -> Symbol | None:
    """``example.com/m/pkg.(*T).Run.func1`` -> Symbol("example.com/m/pkg", "T", "Run", ("func1",))."""
    slash = func.rfind("/", 0, func.find("[") if "[" in func else len(func))
    dot = func.find(".", slash + 1)
    if dot < 0:
        return None
    package, rest_text = func[:dot], func[dot + 1 :]
    rest_text = rest_text.removesuffix("-fm")  # a method value's wrapper runs the method itself
    tokens = [_RANGE_SUFFIX.sub("", t) for t in _split(rest_text)]
    tokens = [t for t in tokens if t]
    if not tokens:
        return None
    if tokens[0].startswith("("):
        if len(tokens) < 2:
            return None
        return Symbol(package, _base_type(tokens[0]), tokens[1], tuple(tokens[2:]))
    name = _GENERIC.sub("", tokens[0])
    if name == "init" and len(tokens) > 1 and tokens[1].isdigit():
        return Symbol(package, None, f"init.{tokens[1]}", tuple(tokens[2:]))
    return Symbol(package, None, name, tuple(tokens[1:]))


# -- syntax helpers ---------------------------------------------------------------------------------------------


def _text(src: bytes, node: Node) -> str:
    return src[node.start_byte : node.end_byte].decode("utf-8", "replace")


def direct_literals(node: Node) -> list[Node]:
    """Function literals whose nearest enclosing function is ``node`` (or, for a declaration list, none)."""
    out: list[Node] = []
    stack = list(reversed(node.children))
    while stack:
        n = stack.pop()
        if n.type == "func_literal":
            out.append(n)
            continue
        if n.type in ("function_declaration", "method_declaration"):
            continue
        stack.extend(reversed(n.children))
    return out


def _receiver_type(src: bytes, decl: Node) -> str:
    recv = decl.child_by_field_name("receiver")
    if recv is None:
        return ""
    for param in recv.named_children:
        t = param.child_by_field_name("type")
        if t is not None:
            return _base_type(_text(src, t).replace(" ", ""))
    return ""


@dataclass(slots=True)
class GoFile:
    path: str
    src: bytes
    root: Node

    @property
    def package(self) -> str:
        for child in self.root.named_children:
            if child.type == "package_clause":
                ident = child.named_children[0] if child.named_children else None
                return _text(self.src, ident) if ident is not None else ""
        return ""


def find_declaration(files: list[GoFile], receiver: str | None, name: str) -> tuple[GoFile, Node] | None:
    """The declaration of a function, a method (by receiver base type), or ``init.K`` (the K-th init)."""
    inits = 0
    want_init = int(name.split(".", 1)[1]) if name.startswith("init.") else None
    for f in files:
        for decl in f.root.named_children:
            if decl.type not in ("function_declaration", "method_declaration"):
                continue
            ident = decl.child_by_field_name("name")
            if ident is None:
                continue
            dname = _text(f.src, ident)
            if want_init is not None:
                if decl.type == "function_declaration" and dname == "init":
                    if inits == want_init:
                        return f, decl
                    inits += 1
                continue
            if dname != name:
                continue
            if (decl.type == "method_declaration") == (receiver is not None) and (
                receiver is None or _receiver_type(f.src, decl) == receiver
            ):
                return f, decl
    return None


def resolve_symbol(sym: Symbol, files: list[GoFile]) -> Symbol:
    """``pkg.T.M`` (a value-receiver method) prints like a function ``T`` with an inlined ``M``: a method when
    the package declares no function ``T`` but a method ``M`` on ``T``."""
    if sym.receiver is None and sym.rest and not _CLOSURE_TOKEN.match(sym.rest[0]) \
            and find_declaration(files, None, sym.name) is None \
            and find_declaration(files, sym.name, sym.rest[0]) is not None:
        return Symbol(sym.package, sym.name, sym.rest[0], sym.rest[1:])
    return sym


def _package_var_literals(files: list[GoFile]) -> list[tuple[GoFile, Node]]:
    out: list[tuple[GoFile, Node]] = []
    for f in files:
        for decl in f.root.named_children:
            if decl.type == "var_declaration":
                out.extend((f, lit) for lit in direct_literals(decl))
    return out


def _lines(node: Node) -> tuple[int, int]:
    return node.start_point[0] + 1, node.end_point[0] + 1


def literal_by_line(scope: Node, line: int, start_line: int = 0) -> Node | None:
    """The innermost function literal under ``scope`` around ``line`` (starting at ``start_line`` if known)."""
    best: Node | None = None
    stack = [scope]
    while stack:
        n = stack.pop()
        first, last = _lines(n)
        if not first <= line <= last:
            continue
        if n.type == "func_literal" and (not start_line or first == start_line) and (
            best is None or n.start_byte >= best.start_byte
        ):
            best = n
        stack.extend(n.children)
    return best


@dataclass(frozen=True, slots=True)
class LiteralHit:
    file: GoFile
    node: Node  # the func_literal, or the go statement of a gowrap entry
    how: str  # "numbered" (Go's numbering, checked against the line) or "line"


def find_literal(files: list[GoFile], frame_file: GoFile, sym: Symbol, line: int,
                 start_line: int = 0) -> LiteralHit | None:
    """The function literal (or, for ``gowrapN``, the go statement) a closure symbol names.

    ``files``: the package's files in name order; ``frame_file``: the file the frame's line is in."""

    def fits(node: Node) -> bool:
        first, last = _lines(node)
        return first <= line <= last and (not start_line or first == start_line)

    scope_file: GoFile | None = None
    scope: Node | None = None
    numbered = True
    if sym.name == "init" and sym.receiver is None:
        var_lits = _package_var_literals(files)
        rest = list(sym.rest)
        if rest and re.fullmatch(r"func\d+", rest[0]):
            n = int(rest[0][4:])
            if 1 <= n <= len(var_lits):
                scope_file, scope = var_lits[n - 1]
            rest = rest[1:]
        else:
            numbered = False
    else:
        decl = find_declaration(files, sym.receiver, sym.name)
        if decl is not None:
            scope_file, scope = decl
        rest = list(sym.rest)
    i = 0
    while scope is not None and i < len(rest):
        token = rest[i]
        m = re.fullmatch(r"(?:func)?(\d+)", token)
        if m and numbered:
            lits = direct_literals(scope)
            n = int(m.group(1))
            if not 1 <= n <= len(lits):
                scope = None
                break
            scope = lits[n - 1]
            i += 1
            continue
        if re.fullmatch(r"(?:gowrap|deferwrap)\d+", token):
            stmt = _statement_at(scope, line, "go_statement" if token.startswith("go") else "defer_statement")
            return LiteralHit(scope_file or frame_file, stmt, "line") if stmt is not None else None
        if _CLOSURE_TOKEN.match(token):
            i += 1  # after an inlined name: numbers count in the outer function, not here
            continue
        # An inlined function's name ("G", or "(*S)" then "arm"): the literal is in its body.
        numbered = False
        receiver: str | None = None
        if token.startswith("(") and i + 1 < len(rest):
            receiver, token = _base_type(token), rest[i + 1]
            i += 1
        found = find_declaration(files, receiver, _GENERIC.sub("", token))
        if found is None:
            scope = None
            break
        scope_file, scope = found
        i += 1
    if scope is not None and scope.type == "func_literal" and numbered and scope_file is not None \
            and scope_file.path == frame_file.path and fits(scope):
        return LiteralHit(scope_file, scope, "numbered")
    # Fall back to the lines: inside the innermost known scope when the frame is in its file, else the file.
    within = scope if scope is not None and scope_file is not None and scope_file.path == frame_file.path \
        and _lines(scope)[0] <= line <= _lines(scope)[1] else frame_file.root
    lit = literal_by_line(within, line, start_line)
    if lit is None and within is not frame_file.root:
        lit = literal_by_line(frame_file.root, line, start_line)
    return LiteralHit(frame_file, lit, "line") if lit is not None else None


def _statement_at(scope: Node, line: int, kind: str) -> Node | None:
    best: Node | None = None
    stack = [scope]
    while stack:
        n = stack.pop()
        first, last = _lines(n)
        if not first <= line <= last:
            continue
        if n.type == kind and (best is None or n.start_byte >= best.start_byte):
            best = n
        stack.extend(n.children)
    return best


def enclosing_statement(node: Node) -> Node | None:
    """The statement (a child of a statement list, or a top-level declaration) that holds ``node``."""
    cur: Node | None = node
    while cur is not None and cur.parent is not None:
        if cur.parent.type in ("statement_list", "source_file"):
            return cur
        cur = cur.parent
    return None


def enclosing_function(node: Node) -> Node | None:
    cur = node.parent
    while cur is not None and cur.type not in FUNCTION_KINDS:
        cur = cur.parent
    return cur


@dataclass(frozen=True, slots=True)
class Start:
    """How a function literal is started: the statement to report and what kind of start it is."""

    stmt: Node
    kind: str  # "go" | "wrapper-call" | "inferred"
    via: str  # the wrapper call ("time.AfterFunc") or the variable it was stored in


def literal_start(src: bytes, lit: Node) -> Start | None:
    """``go func(){...}()`` -> the go statement; ``x := time.AfterFunc(d, func(){...})`` (any statement form:
    assigned, returned, bare) -> that statement; ``f := func(){...}`` then one ``go f()`` in the same function
    -> that go statement. None when the literal is stored elsewhere (a field, a slice): unknown."""
    parent = lit.parent
    if parent is not None and parent.type == "call_expression" and parent.child_by_field_name("function") == lit:
        if parent.parent is not None and parent.parent.type in ("go_statement", "defer_statement"):
            return Start(parent.parent, "go", "") if parent.parent.type == "go_statement" else None
        return None  # called on the spot: runs in the goroutine that calls it
    if parent is not None and parent.type == "argument_list" and parent.parent is not None:
        call = parent.parent
        stmt = enclosing_statement(call)
        fn = call.child_by_field_name("function")
        if stmt is not None:
            return Start(stmt, "wrapper-call", _text(src, fn) if fn is not None else "a function")
        return None
    # Stored in a variable: `f := func(){...}` / `var f = func(){...}` / `f = func(){...}`.
    name = _assigned_name(src, lit)
    if name is None:
        return None
    func = enclosing_function(lit)
    if func is None:
        return None
    sites = [s for s in _go_calls(src, func) if s[1] == name]
    if len(sites) == 1:
        return Start(sites[0][0], "inferred", name)
    return None


def _assigned_name(src: bytes, lit: Node) -> str | None:
    value_list = lit.parent
    if value_list is None or value_list.type != "expression_list":
        return None
    holder = value_list.parent
    if holder is None or holder.type not in ("short_var_declaration", "assignment_statement", "var_spec"):
        return None
    values = [c for c in value_list.named_children if c.type != "comment"]
    index = next((i for i, c in enumerate(values) if c == lit), -1)
    if holder.type == "var_spec":
        names = [c for i, c in enumerate(holder.children) if holder.field_name_for_child(i) == "name"]
    else:
        left = holder.child_by_field_name("left")
        names = [c for c in (left.named_children if left is not None else []) if c.type != "comment"]
    if 0 <= index < len(names) and names[index].type == "identifier":
        return _text(src, names[index])
    return None


def _go_calls(src: bytes, scope: Node) -> list[tuple[Node, str]]:
    """``go`` statements under ``scope`` with the text of the function they call (generics removed)."""
    out: list[tuple[Node, str]] = []
    stack = [scope]
    while stack:
        n = stack.pop()
        if n.type == "go_statement":
            call = next((c for c in n.named_children if c.type == "call_expression"), None)
            fn = call.child_by_field_name("function") if call is not None else None
            if fn is not None and fn.type != "func_literal":
                out.append((n, _GENERIC.sub("", _text(src, fn))))
        stack.extend(n.children)
    out.sort(key=lambda item: item[0].start_byte)
    return out


# -- named functions: go statements and hand-overs that start them ---------------------------------------------


@dataclass(frozen=True, slots=True)
class NamedStart:
    file: GoFile
    stmt: Node
    kind: str  # "go" (a go statement calling it) | "wrapper-call" (passed as a value to a call)
    how: str  # "typed" (the receiver's type resolved) | "name" (matched on the name only)


class PackageStarts:
    """Every ``go`` statement of a package with the functions it starts (receiver types resolved by the
    static engine's package model), and every function value handed to a call (``time.AfterFunc(d, s.stop)``)."""

    def __init__(self, files: list[GoFile]) -> None:
        from gleak_sarif.gopackage.extract import Queries, summarize
        from gleak_sarif.gopackage.model import PackageModel

        self.files = files
        by_path = {f.path: f for f in files}
        package = files[0].package if files else ""
        queries = Queries()
        summaries = [summarize(queries, f.path, f.src, f.root, package, set(file_imports(f.src, f.root).by_name))
                     for f in files]
        model = PackageModel(summaries)
        self.typed: dict[tuple[str, str], list[tuple[GoFile, int]]] = {}
        # method calls the model did not resolve, with the receiver's type when the expression itself says it
        # (`(&T{}).Run()`, `T{}.Run()`, `new(T).Run()`), else ""
        self.untyped: dict[str, list[tuple[GoFile, int, str]]] = {}
        for index, function in enumerate(model.functions):
            for position, op in enumerate(function.ops):
                if op.kind != "go" or op.literal is not None or op.callee is None:
                    continue
                file = by_path.get(op.site.path)
                if file is None:
                    continue
                targets = model.targets_of(index, position)
                if targets:
                    for t in targets:
                        self.typed.setdefault(model.functions[t].key, []).append((file, op.site.start))
                else:
                    node = self._node(file, op.site.start)
                    own = _receiver_literal_type(file.src, node) if node is not None else ""
                    self.untyped.setdefault(op.callee[1], []).append((file, op.site.start, own))

    def _node(self, file: GoFile, start: int) -> Node | None:
        node = file.root.descendant_for_byte_range(start, start + 2)
        while node is not None and node.type != "go_statement":
            node = node.parent
        return node

    def go_starts(self, sym: Symbol) -> list[NamedStart]:
        untyped = self.untyped.get(sym.name, []) if sym.receiver else []
        typed = self.typed.get(sym.key, []) + [(f, start) for f, start, own in untyped if own == sym.receiver]
        how = "typed"
        if not typed:
            # Not resolved to this function: calls of the name whose receiver type is not known (an interface
            # value, a map element); a plain function call always resolves when the function is in the package.
            typed = [(f, start) for f, start, own in untyped if not own]
            how = "name"
        out = []
        for file, start in typed:
            node = self._node(file, start)
            if node is not None:
                out.append(NamedStart(file, node, "go", how))
        return out

    def value_starts(self, sym: Symbol) -> list[NamedStart]:
        """Calls that take the function as a value argument (``time.AfterFunc(d, t.stop)``, ``wg.Go(run)``),
        matched on the name."""
        out: list[NamedStart] = []
        for f in self.files:
            stack = [f.root]
            while stack:
                n = stack.pop()
                if n.type == "argument_list":
                    for arg in n.named_children:
                        if _names_function(f.src, arg, sym):
                            stmt = enclosing_statement(n)
                            if stmt is not None and stmt.type != "go_statement":
                                out.append(NamedStart(f, stmt, "wrapper-call", "name"))
                stack.extend(n.children)
        return out


def _receiver_literal_type(src: bytes, go_stmt: Node) -> str:
    """The type a go statement's method receiver is written as: ``(&T{})``, ``T{}``, ``new(T)``; else ""."""
    call = next((c for c in go_stmt.named_children if c.type == "call_expression"), None)
    fn = call.child_by_field_name("function") if call is not None else None
    operand = fn.child_by_field_name("operand") if fn is not None and fn.type == "selector_expression" else None
    while operand is not None and operand.type in ("parenthesized_expression", "unary_expression"):
        if operand.type == "unary_expression" and _text(src, operand)[:1] != "&":
            return ""
        operand = operand.named_children[-1] if operand.named_children else None
    if operand is None:
        return ""
    if operand.type == "composite_literal":
        t = operand.child_by_field_name("type")
        return _base_type(_text(src, t)) if t is not None else ""
    if operand.type == "call_expression":
        f = operand.child_by_field_name("function")
        args = operand.child_by_field_name("arguments")
        if f is not None and _text(src, f) == "new" and args is not None and args.named_children:
            return _base_type(_text(src, args.named_children[0]))
    return ""


def _names_function(src: bytes, arg: Node, sym: Symbol) -> bool:
    if sym.receiver is None:
        return arg.type == "identifier" and _text(src, arg) == sym.name
    if arg.type == "selector_expression":
        field = arg.child_by_field_name("field")
        return field is not None and _text(src, field) == sym.name
    return False


def package_files(trees: list[tuple[str, bytes, Node]], package: str, test: bool) -> list[GoFile]:
    """The files of one package in name order (as ``go build`` passes them); test files only for a test."""
    out = [GoFile(p, s, r) for p, s, r in sorted(trees, key=lambda t: Path(t[0]).name)]
    return [f for f in out if f.package == package and (test or not f.path.endswith("_test.go"))]
