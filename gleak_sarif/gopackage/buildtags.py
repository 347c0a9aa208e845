"""Build constraints: which files of a folder `go build` can compile together.

A package's files for different platforms declare the same functions (`conn_unix.go` and `conn_windows.go`
both declare `(*Conn).write`). A rule that follows calls into the package must not go from a unix-only
file into a windows-only one: that call chain never exists in one binary. Only GOOS and GOARCH are decided
here (file name suffixes `_GOOS`, `_GOARCH`, `_GOOS_GOARCH`, and the `//go:build` or `// +build` lines); every
other tag (`cgo`, `go1.21`, `integration`, ...) may be either true or false, so a file is excluded only when no
platform can build it together with the evaluated file.
"""

from __future__ import annotations

import re

GOOS = ("aix", "android", "darwin", "dragonfly", "freebsd", "hurd", "illumos", "ios", "js", "linux", "nacl",
        "netbsd", "openbsd", "plan9", "solaris", "wasip1", "windows", "zos")
GOARCH = ("386", "amd64", "amd64p32", "arm", "armbe", "arm64", "arm64be", "loong64", "mips", "mipsle", "mips64",
          "mips64le", "mips64p32", "mips64p32le", "ppc", "ppc64", "ppc64le", "riscv", "riscv64", "s390", "s390x",
          "sparc", "sparc64", "wasm")
UNIX = frozenset(("aix", "android", "darwin", "dragonfly", "freebsd", "hurd", "illumos", "ios", "linux",
                  "netbsd", "openbsd", "solaris"))
# A GOOS value also satisfies these tags (go/build: android builds linux files, illumos solaris, ios darwin).
ALSO = {"android": "linux", "illumos": "solaris", "ios": "darwin"}
PLATFORMS = tuple((os_, arch) for os_ in GOOS for arch in GOARCH)

Platforms = frozenset[tuple[str, str]] | None  # None: every platform (no constraint)

_GO_BUILD = re.compile(rb"^//go:build[ \t]+(.+?)[ \t]*$", re.M)
_PLUS_BUILD = re.compile(rb"^//[ \t]*\+build[ \t]+(.+?)[ \t]*$", re.M)
_PACKAGE = re.compile(rb"^package[ \t]", re.M)
_TOKEN = re.compile(r"\s*(\|\||&&|!|\(|\)|[A-Za-z0-9_.]+)")

# Three-valued logic: a tag that is neither GOOS, GOARCH nor `unix` may be set or not (None: unknown).
Truth = bool | None


def _tag(name: str, os_: str, arch: str) -> Truth:
    if name in GOOS:
        return name == os_ or ALSO.get(os_) == name
    if name in GOARCH:
        return name == arch
    if name == "unix":
        return os_ in UNIX
    return None


def _not(value: Truth) -> Truth:
    return None if value is None else not value


def _and(left: Truth, right: Truth) -> Truth:
    if left is False or right is False:
        return False
    return True if left is True and right is True else None


def _or(left: Truth, right: Truth) -> Truth:
    if left is True or right is True:
        return True
    return False if left is False and right is False else None


class _Expr:
    """A `//go:build` expression parsed once, evaluated per platform (recursive descent: || over && over !)."""

    def __init__(self, text: str) -> None:
        self.tokens: list[str] = []
        position = 0
        while position < len(text):
            found = _TOKEN.match(text, position)
            if found is None:
                if text[position:].strip():
                    raise ValueError(text)
                break
            self.tokens.append(found.group(1))
            position = found.end()
        self.position = 0
        self.tree = self._or()
        if self.position != len(self.tokens):
            raise ValueError(text)

    def _peek(self) -> str:
        return self.tokens[self.position] if self.position < len(self.tokens) else ""

    def _take(self) -> str:
        token = self._peek()
        if not token:
            raise ValueError("unexpected end")
        self.position += 1
        return token

    def _or(self) -> object:
        node = self._and()
        while self._peek() == "||":
            self._take()
            node = ("||", node, self._and())
        return node

    def _and(self) -> object:
        node = self._unary()
        while self._peek() == "&&":
            self._take()
            node = ("&&", node, self._unary())
        return node

    def _unary(self) -> object:
        token = self._take()
        if token == "!":
            return ("!", self._unary())
        if token == "(":
            node = self._or()
            if self._take() != ")":
                raise ValueError("unbalanced")
            return node
        if token in ("||", "&&", ")"):
            raise ValueError(token)
        return token

    def value(self, os_: str, arch: str, node: object = None) -> Truth:
        node = self.tree if node is None else node
        if isinstance(node, str):
            return _tag(node, os_, arch)
        assert isinstance(node, tuple)
        if node[0] == "!":
            return _not(self.value(os_, arch, node[1]))
        left, right = self.value(os_, arch, node[1]), self.value(os_, arch, node[2])
        return _and(left, right) if node[0] == "&&" else _or(left, right)


def _plus_build(lines: list[bytes]) -> str:
    """`// +build` lines as one `//go:build` expression: lines AND, spaces OR, commas AND."""
    clauses = []
    for line in lines:
        options = ["(" + " && ".join(option.split(",")) + ")"
                   for option in line.decode("utf-8", "replace").split()]
        clauses.append("(" + " || ".join(options) + ")")
    return " && ".join(clauses)


def _name_platforms(name: str) -> Platforms:
    stem = name[:-3] if name.endswith(".go") else name
    if stem.endswith("_test"):
        stem = stem[:-5]
    parts = stem.split("_")[1:]  # go/build: the first element is never a constraint (`linux.go` is not one)
    os_: str | None = None
    arch: str | None = None
    if len(parts) >= 2 and parts[-2] in GOOS and parts[-1] in GOARCH:
        os_, arch = parts[-2], parts[-1]
    elif parts and parts[-1] in GOOS:
        os_ = parts[-1]
    elif parts and parts[-1] in GOARCH:
        arch = parts[-1]
    if os_ is None and arch is None:
        return None
    return frozenset((o, a) for o, a in PLATFORMS
                     if (os_ is None or o == os_ or ALSO.get(o) == os_) and (arch is None or a == arch))


def platforms(name: str, source: bytes) -> Platforms:
    """The platforms that can build the file ``name`` (its base name) holding ``source``; None when it is not
    constrained by GOOS or GOARCH. An expression that does not parse constrains nothing (the file is kept)."""
    by_name = _name_platforms(name)
    package = _PACKAGE.search(source)
    header = source[:package.start()] if package is not None else source[:4096]
    expression: str | None = None
    go_build = _GO_BUILD.search(header)
    if go_build is not None:
        expression = go_build.group(1).decode("utf-8", "replace")
    else:
        plus = _PLUS_BUILD.findall(header)
        if plus:
            expression = _plus_build(plus)
    if expression is None:
        return by_name
    try:
        parsed = _Expr(expression)
    except ValueError:
        return by_name
    candidates = by_name if by_name is not None else PLATFORMS
    allowed = frozenset(p for p in candidates if parsed.value(*p) is not False)
    return None if by_name is None and len(allowed) == len(PLATFORMS) else allowed


def compatible(first: Platforms, second: Platforms) -> bool:
    """Can one build hold both files?"""
    return first is None or second is None or not first.isdisjoint(second)
