"""What the rules that read a package read of it, so that a cached result can be checked instead of recomputed
(issue 20 item 2: a warm re-run after a one-file edit in a big package).

The scan cache used to key a file's package-rule results on the contents of every `.go` file of its folder:
one edited file sent the whole folder (nats-server: the whole 258-file package) through the package rules
again. Instead, every read of a sibling is noted here, per folder, as a *check* that can be answered again
from the tree on disk, as a build system records a target's inputs:

    listing    the folder's files a file of that build sees (Folders.listing_for), as a digest
    skeleton   the package's declaration lines, as the byte-level indexes read them (PackageIndex,
               the `calls:` scope), over the files of that listing with that package clause
    with       which of those files hold every one of some tokens (token prefilters, paths_with)
    has        does one file hold every one of some tokens
    folder     does any `.go` file of a folder hold every one of some tokens (the `calls:` prefilter)
    summary    a sibling's package-model summary (gopackage/extract.py), for the package's call names
    bytes      a file's exact bytes (what reads the text itself: a search, a `calls:` sibling whose rule may
               look beyond the callee's declaration)
    decl       a `calls:` sibling as a rule that looks only inside the callee's declaration saw it: the text of
               the declarations of that name and of the file's other top-level declarations but functions and
               methods (`declaration_digest`), so that an edit elsewhere in the sibling keeps the answer; with
               the bytes' digest (the same bytes hold without a parse)

The checks of a folder accumulate in a process (the package model is shared by the files a worker scans, so
a file's answers may rest on what an earlier file loaded): a file's record is every check noted for its
folder until its own scan ended, a superset of what it read. A cached result is used again when every check
still holds (engine/cache.py, `Validator`). A summary whose file changed still holds when the new text
gives an equal summary (a comment or blank lines at the end: the model sees the same package).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable

from tree_sitter import Node

from gleak_sarif.gopackage.folders import MAX_SIBLING_BYTES, PACKAGE_LINE, Folders, Listing, read_sibling
from gleak_sarif.gopackage.index import content_digest, paths_digest, skeleton_digest
from gleak_sarif.gopackage.summary import FileSummary
from gleak_sarif.gosource import parser, utf8_safe

Check = tuple[str, ...]


def text_tokens(text: str) -> tuple[bytes, ...]:
    return tuple(t.encode("latin-1") for t in text.split("\0")) if text else ()


def index_files(listing: Listing | None, path: str, package: str, read: Callable[[str], bytes | None],
                source: bytes | None = None) -> list[tuple[str, bytes]]:
    """The files of the package index a file ``path`` of ``package`` builds from its folder ``listing``: its
    own text (``source``, else read) and the siblings with the same package clause, not too large."""
    entries = (listing if package else None) or [(path, 0, 0)]  # as gopackage/store.py's _package_key
    wanted = package.encode()
    files = []
    for sibling, _, _ in entries:
        data: bytes | None = source if sibling == path and source is not None else read(sibling)
        if data is None:
            continue
        if sibling == path:
            files.append((path, data))
            continue
        found = PACKAGE_LINE.search(data)
        if found is not None and found.group(1) == wanted and len(data) <= MAX_SIBLING_BYTES:
            files.append((sibling, data))
    return files


FUNCTION_KINDS = ("function_declaration", "method_declaration")


def declaration_digest(source: bytes, root: Node, kind: str, name: str) -> str:
    """What a rule matched on the declarations ``kind`` ``name`` of a file can see when it looks only inside
    them (engine/callees.py `decl_local`): their text, and the text of every top-level declaration but
    functions and methods (package clause, imports, types, variables, constants). A file with a syntax error
    gets a digest of its whole text (the recovery of the error may reach into the declaration)."""
    digest = hashlib.blake2b(digest_size=12)
    if root.has_error:
        digest.update(b"whole\0" + source)
        return digest.hexdigest()
    for child in root.named_children:
        if child.type == "comment":
            continue
        if child.type in FUNCTION_KINDS:
            named = child.child_by_field_name("name")
            if child.type != kind or named is None or source[named.start_byte:named.end_byte] != name.encode():
                continue
        digest.update(child.type.encode() + b"\0" + source[child.start_byte:child.end_byte] + b"\0")
    return digest.hexdigest()


class PackageReads:
    """The checks noted per folder in this process (see the module doc)."""

    def __init__(self) -> None:
        self.checks: dict[str, set[Check]] = {}

    def note(self, path: str, check: Check) -> None:
        """A check about ``path``'s folder (``path``: any file of it)."""
        directory = os.path.dirname(os.path.abspath(path))
        found = self.checks.get(directory)
        if found is None:
            found = self.checks[directory] = set()
        found.add(check)

    def record(self, path: str) -> list[list[str]]:
        """The record of the file ``path``: every check of its folder so far (sorted, JSON-ready)."""
        return [list(check) for check in sorted(self.checks.get(os.path.dirname(os.path.abspath(path)), ()))]


class Validator:
    """Answers checks against the tree on disk, each once per run. ``summaries``: (asker path, tests,
    package, sibling path, names digest, content digest) -> the sibling's summary then and now, or None
    when that cannot be told (then the check fails)."""

    def __init__(self, summaries: Callable[[Check], tuple[FileSummary | None, FileSummary | None]] | None) -> None:
        self.folders = Folders()
        self.summaries = summaries
        self._answers: dict[Check, bool] = {}
        self._package_files: dict[tuple[str, str, str], list[tuple[str, bytes]] | None] = {}
        self._bytes: dict[str, bytes | None] = {}
        self._trees: dict[str, tuple[bytes, Node] | None] = {}

    def holds(self, record: list[list[str]] | None) -> bool:
        if record is None:
            return False
        for item in record:
            check = tuple(item)
            answer = self._answers.get(check)
            if answer is None:
                try:
                    answer = self._answer(check)
                except Exception:  # a check this version cannot read (or a file gone): recompute
                    answer = False
                self._answers[check] = answer
            if not answer:
                return False
        return True

    def digest(self, path: str) -> str | None:
        data = self._data(path)
        return None if data is None else content_digest(data)

    def _data(self, path: str) -> bytes | None:
        if path not in self._bytes:
            self._bytes[path] = read_sibling(path)
        return self._bytes[path]

    def _tree(self, path: str) -> tuple[bytes, Node] | None:
        """A sibling parsed as `calls:` parses it (engine/callees.py `_parse`), once per run."""
        if path not in self._trees:
            data = self._data(path)
            source = None if data is None else utf8_safe(data)[0]
            self._trees[path] = None if source is None else (source, parser().parse(source).root_node)
        return self._trees[path]

    def package_files(self, asker: str, tests: str, package: str) -> list[tuple[str, bytes]] | None:
        """The files of the index a file ``asker`` builds for ``package`` (gopackage/store.py's rules)."""
        key = (asker, tests, package)
        if key not in self._package_files:
            listing = self.folders.listing_for(asker, tests == "1")
            self._package_files[key] = index_files(listing, asker, package, self._data)
        return self._package_files[key]

    def _answer(self, check: Check) -> bool:
        kind = check[0]
        if kind == "listing":
            _, asker, tests, digest = check
            listing = self.folders.listing_for(asker, tests == "1")
            return paths_digest(None if listing is None else [p for p, _, _ in listing]) == digest
        if kind == "skeleton":
            _, asker, tests, package, digest = check
            files = self.package_files(asker, tests, package)
            return files is not None and skeleton_digest(files) == digest
        if kind == "with":
            _, asker, tests, package, tokens, digest = check
            files = self.package_files(asker, tests, package)
            wanted = text_tokens(tokens)
            return files is not None and paths_digest(
                sorted(p for p, data in files if all(t in data for t in wanted))) == digest
        if kind == "has":
            _, path, tokens, answer = check
            data = self._data(path) or b""
            return all(t in data for t in text_tokens(tokens)) == (answer == "1")
        if kind == "folder":
            _, directory, tokens, answer = check
            listing = self.folders.listing(directory, True)
            if listing is None:
                return answer == "1"
            wanted = text_tokens(tokens)
            found = any(all(t in (self._data(p) or b"") for t in wanted) for p, _, _ in listing)
            return found == (answer == "1")
        if kind == "bytes":
            _, path, digest = check
            return self.digest(path) == digest
        if kind == "decl":
            _, path, decl_kind, name, digest, whole = check
            if self.digest(path) == whole:  # the same bytes: no parse
                return True
            tree = self._tree(path)
            return tree is not None and declaration_digest(*tree, decl_kind, name) == digest
        if kind == "summary":
            path, digest = check[4], check[6]
            if self.digest(path) == digest:
                return True
            if self.summaries is None:
                return False
            then, now = self.summaries(check)
            return then is not None and now is not None and same_summary(then, now)
        return False


def same_summary(first: FileSummary, second: FileSummary) -> bool:
    """Do two summaries tell the package model the same things? (their text digests aside)"""
    import dataclasses

    return dataclasses.replace(first, digest=b"") == dataclasses.replace(second, digest=b"")
