"""The package index: which file declares which function, type or variable, from the bytes (no parse)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from typing import Protocol


class Notes(Protocol):
    """Where reads of the package's files are noted (gopackage/reads.py's PackageReads)."""

    def note(self, path: str, check: tuple[str, ...]) -> None: ...

_FUNC_LINE = re.compile(
    rb"^func[ \t]*(?:\([ \t]*(?:[A-Za-z_][A-Za-z0-9_]*[ \t]+)?\*?[ \t]*([A-Za-z_][A-Za-z0-9_]*)[^)\n]*\))?"
    rb"[ \t]*([A-Za-z_][A-Za-z0-9_]*)", re.M)
_TYPE_LINE = re.compile(rb"^type[ \t]+([A-Za-z_][A-Za-z0-9_]*)", re.M)
_VAR_LINE = re.compile(rb"^var[ \t]+([A-Za-z_][A-Za-z0-9_]*)", re.M)
_BLOCK = re.compile(rb"^(type|var)[ \t]*\((.*?)^\)", re.M | re.S)
_BLOCK_NAME = re.compile(rb"^\t([A-Za-z_][A-Za-z0-9_]*)[ \t,=]", re.M)
# a struct field (or a type in a `type (...)` block) whose type is a function: `onDone func()`
_FUNC_FIELD = re.compile(rb"^[ \t]+([A-Za-z_][A-Za-z0-9_]*)[ \t]+func[ \t]*\(", re.M)
_FUNC_TYPE = re.compile(rb"^type[ \t]+([A-Za-z_][A-Za-z0-9_]*)[ \t]+func[ \t]*\(", re.M)
# a struct field of a named type: `cp Checkpointer` (kept when Checkpointer is a function type)
_NAMED_FIELD = re.compile(rb"^[ \t]+([A-Za-z_][A-Za-z0-9_]*)[ \t]+\*?([A-Za-z_][A-Za-z0-9_]*)[ \t]*(?:$|//)", re.M)

# the `calls:` scope's function lines (engine/callees.py)
CALLEE_FUNC_LINE = re.compile(rb"^func[ \t]*(\([^)\n]*\))?[ \t]*([A-Za-z_][A-Za-z0-9_]*)", re.M)
_PACKAGE = re.compile(rb"^package[ \t]+([A-Za-z_][A-Za-z0-9_]*)", re.M)
_SKELETON = (_FUNC_LINE, _TYPE_LINE, _VAR_LINE, _BLOCK, _FUNC_FIELD, _FUNC_TYPE, _NAMED_FIELD, CALLEE_FUNC_LINE,
             _PACKAGE)


def fingerprint(data: bytes) -> bytes:
    """A digest of everything the byte-level indexes (this one, the `calls:` scope) read of a file: its
    package clause and the matches of their line patterns (gopackage/reads.py: an edit inside a function
    body leaves it unchanged)."""
    digest = hashlib.blake2b(digest_size=16)
    for pattern in _SKELETON:
        for match in pattern.finditer(data):
            digest.update(b"\1".join(group or b"" for group in match.groups()) + b"\2")
        digest.update(b"\3")
    return digest.digest()


def skeleton_digest(files: Iterable[tuple[str, bytes]]) -> str:
    """The declaration lines of these files (path, bytes), as one digest (gopackage/reads.py)."""
    digest = hashlib.blake2b(digest_size=16)
    for path, data in sorted(files):
        digest.update(path.encode("utf-8", "surrogateescape") + b"\0" + fingerprint(data) + b"\n")
    return digest.hexdigest()


def content_digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def tokens_text(tokens: Iterable[bytes]) -> str:
    return "\0".join(sorted(t.decode("latin-1") for t in tokens))


def paths_digest(paths: Iterable[str] | None) -> str:
    if paths is None:
        return "none"
    return hashlib.blake2b("\n".join(paths).encode("utf-8", "surrogateescape"), digest_size=12).hexdigest()


class PackageIndex:
    """Byte-level facts about a package's files from their `func`, `type` and `var` lines (no parse):
    which file to read for a function, a type or a type's methods. The lines are read on first use
    (a token check needs only the bytes)."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self._parsed = False
        self._functions: dict[tuple[str, str], list[str]] = {}  # (receiver type or "", name) -> paths
        self._methods: dict[str, list[str]] = {}  # method name -> paths
        self._receivers: dict[str, list[str]] = {}  # type -> paths declaring its methods
        self._types: dict[str, list[str]] = {}
        self._globals: set[str] = set()
        self.holds: dict[frozenset[bytes], bool] = {}  # token set -> does a file hold all of them
        self._paths_with: dict[tuple[bytes, ...], list[str]] = {}  # tokens -> the files holding all, sorted
        self._func_fields: set[str] = set()  # names of fields (and types) whose type is a function
        self._func_types: set[bytes] = set()
        # where reads are noted (gopackage/reads.py), and this index's origin: (asking file, tests, package)
        self.reads: Notes | None = None
        self.origin: tuple[str, str, str] = ("", "0", "")
        self._skeleton_noted = False

    def watch(self, reads: Notes | None, path: str, tests: bool, package: str) -> None:
        self.reads = reads
        self.origin = (path, "1" if tests else "0", package)

    def _note_skeleton(self) -> None:
        if self.reads is not None and not self._skeleton_noted:
            self._skeleton_noted = True
            self.reads.note(self.origin[0], ("skeleton", *self.origin, skeleton_digest(self.files.items())))

    def data(self, path: str) -> bytes:
        """A file's bytes, for a search of its text (noted as a read of the whole text)."""
        data = self.files.get(path, b"")
        if self.reads is not None and path in self.files:
            self.reads.note(self.origin[0], ("bytes", path, content_digest(data)))
        return data

    def has(self, path: str, tokens: tuple[bytes, ...]) -> bool:
        """Does the file ``path`` hold every one of ``tokens``?"""
        found = all(token in self.files.get(path, b"") for token in tokens)
        if self.reads is not None:
            self.reads.note(self.origin[0], ("has", path, tokens_text(tokens), "1" if found else "0"))
        return found

    def add(self, path: str, data: bytes) -> None:
        self.files[path] = data
        self._parsed = False
        self._skeleton_noted = False
        self.holds.clear()
        self._paths_with.clear()

    def paths_with(self, tokens: tuple[bytes, ...]) -> list[str]:
        """The files holding every one of ``tokens``, sorted (a search of every file's bytes, once per token
        set: the package model asks for the same tokens again and again)."""
        found = self._paths_with.get(tokens)
        if found is None:
            found = self._paths_with[tokens] = sorted(
                path for path, data in self.files.items() if all(t in data for t in tokens))
            if self.reads is not None:
                self.reads.note(self.origin[0], ("with", *self.origin, tokens_text(tokens), paths_digest(found)))
        return found

    def _parse(self) -> None:
        self._note_skeleton()
        if self._parsed:
            return
        self._parsed = True
        self._func_fields.clear()
        self._func_types.clear()
        for path, data in self.files.items():
            for match in _FUNC_LINE.finditer(data):
                owner = match.group(1).decode() if match.group(1) else ""
                name = match.group(2).decode()
                _append(self._functions.setdefault((owner, name), []), path)
                if owner:
                    _append(self._methods.setdefault(name, []), path)
                    _append(self._receivers.setdefault(owner, []), path)
            self._func_fields.update(m.group(1).decode() for m in _FUNC_FIELD.finditer(data))
            self._func_types.update(m.group(1) for m in _FUNC_TYPE.finditer(data))
            self._func_types.update(m.group(1) for m in _FUNC_FIELD.finditer(data))  # in a `type (` block
            for match in _TYPE_LINE.finditer(data):
                _append(self._types.setdefault(match.group(1).decode(), []), path)
            for match in _VAR_LINE.finditer(data):
                self._globals.add(match.group(1).decode())
            if b"type (" in data or b"var (" in data or b"type(" in data or b"var(" in data:
                for block in _BLOCK.finditer(data):
                    for name in _BLOCK_NAME.finditer(block.group(2)):
                        if block.group(1) == b"type":
                            _append(self._types.setdefault(name.group(1).decode(), []), path)
                        else:
                            self._globals.add(name.group(1).decode())
        if self._func_types:
            self._named_func_fields()

    def _named_func_fields(self) -> None:
        for data in self.files.values():
            for match in _NAMED_FIELD.finditer(data):
                if match.group(2) in self._func_types:
                    self._func_fields.add(match.group(1).decode())

    @property
    def functions(self) -> dict[tuple[str, str], list[str]]:
        self._parse()
        return self._functions

    @property
    def methods(self) -> dict[str, list[str]]:
        self._parse()
        return self._methods

    @property
    def receivers(self) -> dict[str, list[str]]:
        self._parse()
        return self._receivers

    @property
    def types(self) -> dict[str, list[str]]:
        self._parse()
        return self._types

    @property
    def globals(self) -> set[str]:
        self._parse()
        return self._globals

    @property
    def func_fields(self) -> set[str]:
        self._parse()
        return self._func_fields

    def names(self) -> frozenset[str]:
        """Names a call of the package can have: its functions and methods, and its function-valued
        fields (`x.onDone()`), whose calls the model resolves to what is assigned to them."""
        return frozenset(name for _, name in self.functions) | self._func_fields


def _append(paths: list[str], path: str) -> None:
    if path not in paths:
        paths.append(path)



