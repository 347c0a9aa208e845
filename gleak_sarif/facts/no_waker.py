"""`no-waker`: the `Wait()` at the node is on a WaitGroup or Cond field that nothing in the package can wake.

The model records `Wait()` and its wakers per identity (`Type.field`); who can reach a field is a question
of text: every file of the package that names the field is read as bytes, and any use of the field other
than calling a method on it, or setting it to a fresh value, counts as handing it to someone who might wake
it (names without types: a field of another type with the same name counts too, which only silences).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from gleak_sarif.facts.base import Asker, Env, Fact, binds
from gleak_sarif.gopackage.model import PackageModel
from gleak_sarif.gopackage.summary import Site, one_line

# the declared type of a field that has a Wait() with wakers
_WAITABLE = re.compile(r"^\*?sync\.(WaitGroup|Cond)$")
# values that make a new WaitGroup or Cond (nobody else holds them yet)
_FRESH = re.compile(rb"^\s*(&?sync\.(WaitGroup|Cond)\s*\{|new\(\s*sync\.(WaitGroup|Cond)\s*\)|sync\.NewCond\()")


@dataclass(frozen=True, slots=True)
class NoWaker:
    decl: str | None = field(default=None, metadata=binds("the field's declaration"))


def _method_values(name: str) -> re.Pattern[bytes]:
    """A waker taken as a method value (`time.AfterFunc(d, s.cond.Broadcast)`), or `Add(-n)` / `Go(...)`,
    which the model does not record as wakers: matched by the field's name."""
    field_ = re.escape(name.encode())
    return re.compile(rb"\." + field_ + rb"\s*\.\s*(?:(?:Done|Signal|Broadcast)\b(?!\s*\()|Add\(\s*-|Go\b)")


def _escapes(data: bytes, name: str) -> bool:
    """Does this file hand a field of that name to someone: its address, an argument or tuple element, a
    result, a copy on the right of `=`/`:=`, a composite literal value, or an assignment from a name or call
    (a shared WaitGroup/Cond handed in)?"""
    field_ = re.escape(name.encode())
    for match in re.finditer(rb"\." + field_ + rb"\b", data):
        line_start = data.rfind(b"\n", 0, match.start()) + 1
        before = data[line_start:match.start()]
        rest = data[match.end():match.end() + 200]
        if re.match(rb"\s*\.", rest):
            continue  # a method or field of it (`s.wg.Add(1)`, `s.cond.L.Lock()`)
        operand = re.search(rb"[\w.()\[\]]*$", before)
        head = before[:operand.start()] if operand is not None else before
        if head.rstrip().endswith(b"&"):
            return True
        if re.match(rb"\s*[,)}]", rest):
            return True  # an argument, a result or a composite literal value
        if re.search(rb"(?:\breturn\b|[^=!<>:]=|:=)[^=]*$", head):
            return True  # returned, or copied into another name
        assigned = re.match(rb"\s*=(?!=)\s*", rest)
        if assigned is not None:
            value = rest[assigned.end():]
            if not _FRESH.match(value) and not re.match(rb"(?:true|false|nil|[0-9\"'`])", value):
                return True  # set from a shared value
    # a composite literal that sets the field: `T{wg: wg}` hands in a shared one
    for match in re.finditer(rb"[{,\s]" + field_ + rb"\s*:(?!=)\s*", data):
        value = data[match.end():match.end() + 200]
        if not _FRESH.match(value) and not re.match(rb"(?:true|false|nil|[0-9\"'`])", value):
            return True
    return False


def _decl_site(asker: Asker, type_name: str, name: str) -> Site | None:
    """Where ``type_name`` declares the field ``name`` (the first file that declares the type)."""
    index = asker.model.index
    if index is None:
        return None
    pattern = re.compile(rb"^[ \t]*" + re.escape(name.encode()) + rb"[ \t]+\*?sync\.(?:WaitGroup|Cond)\b", re.M)
    for path in index.types.get(type_name, ()):
        data = index.data(path)
        found = pattern.search(data)
        if found is not None:
            start = found.start() + len(found.group(0)) - len(found.group(0).lstrip())
            line = data.count(b"\n", 0, start) + 1
            column = start - (data.rfind(b"\n", 0, start) + 1) + 1
            text = one_line(data[start:found.end()].decode("utf-8", "replace"))
            return Site(path, line, column, start, found.end(), text)
    return None


def _owner_type(model: PackageModel, canon: str | None) -> str:
    """The package type whose field the identity ``canon`` (`Block.pendingReaders`,
    `blockReader.b.pendingReaders`) names; "" when unknown."""
    if not canon or canon.startswith("pkg."):
        return ""
    owner = canon.rpartition(".")[0]
    if not owner:
        return ""
    return model.type_of(owner) if ("." in owner or owner.startswith("@")) else owner


def _root_type(text: bytes, root: bytes) -> str:
    """The package type a function's text gives the name ``root``: its receiver (`func (r *T)`), a local made
    from a composite literal (`r := &T{...}`) or declared (`var r T`); "" when the text does not say."""
    name = re.escape(root)
    for pattern in (rb"^func\s*\(\s*" + name + rb"\s+\*?(\w+)\s*\)",
                    rb"\b" + name + rb"\s*:?=\s*&?(\w+)\s*\{",
                    rb"\bvar\s+" + name + rb"\s+\*?(\w+)\b"):
        found = re.search(pattern, text, re.M)
        if found is not None:
            return found.group(1).decode()
    return ""


def _added(model: PackageModel, type_name: str, name: str) -> bool:
    """Does some function call `Add` on the field ``name`` that may be ``type_name``'s? By name, except an
    `x.f.Add(...)` where the function's text makes `x` another package type with a WaitGroup field of that
    name (its receiver, `x := &T{...}`, `var x T`): `nmgr.refCount.Add(1)` on a natManager does not add to
    `BasicHost.refCount`."""
    adders = _adders(model, name)
    seen = 0
    while True:
        for owner in adders.owners[seen:]:
            if not owner or owner == type_name or _WAITABLE.match(model.field_type(owner, name)) is None:
                return True
        seen = len(adders.owners)
        if not adders.more(model):
            return False


@dataclass(slots=True)
class _Adders:
    """The operand types (`_root_type`, "" when unknown) of the package's `x.f.Add(...)` calls on a field
    name, in the order of its functions, read as far as a question needs (the function texts are read, and
    noted, in the order the walk per question read them)."""

    add: re.Pattern[bytes]
    functions: Sequence[int]
    read: int = 0  # functions read so far
    owners: list[str] = field(default_factory=list)

    def more(self, model: PackageModel) -> bool:
        """Read the next function that calls `Add` on the name (False: none left)."""
        index = model.index
        while self.read < len(self.functions):
            function = model.functions[self.functions[self.read]]
            self.read += 1
            data = index.data(function.path) if index is not None else b""
            text = data[function.start:function.end]
            found = [_root_type(text, match.group(1)) for match in self.add.finditer(text)]
            if found:
                self.owners.extend(found)
                return True
        return False


def _adders(model: PackageModel, name: str) -> _Adders:
    """The `Add` calls on field ``name``, once per model (every `Wait()` on a field of that name asked: a
    search of every function's text of the files naming it, per question)."""
    key = ("no-waker", "adders", name)
    known = model.fact_memo.get(key)
    if not isinstance(known, _Adders):
        add = re.compile(rb"(\w+)\s*\.\s*" + re.escape(name.encode()) + rb"\s*\.\s*Add\(")
        known = model.fact_memo[key] = _Adders(add, model.functions_in_files_with(b"." + name.encode()))
    return known


@dataclass(slots=True)
class _Wakers:
    """The identities of the package's wakers (`Done`, `Signal`, `Broadcast`) of a field name, in the order of
    its functions, and the owner types of the first ``resolved`` of them."""

    canons: list[str | None]
    resolved: int = 0
    owners: set[str] = field(default_factory=set)


def _woken(model: PackageModel, type_name: str, name: str) -> bool:
    """Does a waker the model records wake the field ``name`` of ``type_name``: one on that type's field, or on
    an expression whose type is unknown? The wakers of a name are listed once per model; their owner types
    are resolved in order, only as far as a question needs (as the walk over every waker per question did,
    which resolved up to its first hit)."""
    key = ("no-waker", "wakers", name)
    wakers = model.fact_memo.get(key)
    if not isinstance(wakers, _Wakers):
        suffix = "." + name
        wakers = model.fact_memo[key] = _Wakers([
            other.ref.canon for number in model.functions_in_files_with(suffix.encode())
            for other in model.functions[number].ops
            if other.kind == "wake" and other.ref is not None and other.ref.text.endswith(suffix)])
    while type_name not in wakers.owners and "" not in wakers.owners and wakers.resolved < len(wakers.canons):
        wakers.owners.add(_owner_type(model, wakers.canons[wakers.resolved]))
        wakers.resolved += 1
    return type_name in wakers.owners or "" in wakers.owners


def _escaped(model: PackageModel, name: str) -> bool:
    """Does a file of the package that names the field take a waker of it as a method value, or hand it on
    (`_escapes`)? Once per model and field name (was: every file naming it searched per question)."""
    key = ("no-waker", "escaped", name)
    known = model.fact_memo.get(key)
    if known is None:
        index = model.index
        method_value = _method_values(name)
        # every file that names the field: `T{f: wg}` hands one in without a `.f`
        files = [index.data(path) for path in index.paths_with((name.encode(),))] if index is not None else []
        known = model.fact_memo[key] = any(method_value.search(data) or _escapes(data, name) for data in files)
    return bool(known)


def _run(asker: Asker, spec: NoWaker, env: Env) -> Iterator[Env]:
    node = asker.node
    function = node.child_by_field_name("function") if node.type == "call_expression" else None
    if function is None or function.type != "selector_expression":
        return
    model = asker.model
    op = asker.op
    if op is None or op.kind != "wait" or op.ref is None or op.ref.canon is None:
        return
    canon = op.ref.canon
    owner, _, name = canon.rpartition(".")
    if not owner or canon.startswith("pkg.") or not name or name[0].isupper():
        return  # an exported field (or a package variable): code outside the package may wake it
    type_name = _owner_type(model, canon)
    if not type_name or not _WAITABLE.match(model.field_type(type_name, name)):
        return
    index = model.index
    if index is None:
        return
    if _escaped(model, name):
        return
    # the wakers the model records, by the type that owns the field (`r.b.pendingReaders.Done()` wakes
    # `Block.pendingReaders` when r.b is a *Block): a waker of another type's field of that name does not
    # count, one on an expression whose type is unknown does
    if _woken(model, type_name, name):
        return
    if model.field_type(type_name, name).endswith("WaitGroup") and not _added(model, type_name, name):
        return  # nothing ever added: Wait returns at once
    merged: Env | None = env
    if spec.decl is not None:
        site = _decl_site(asker, type_name, name)
        if site is None:
            return
        merged = asker.bind(env, spec.decl, asker.evidence(site.text, site))
    if merged is not None:
        yield merged


FACT = Fact(
    key="no-waker",
    spec=NoWaker,
    usage="`no-waker: {decl: NAME}` (or `no-waker: {}`)",
    holds="the node is `x.f.Wait()` on an unexported field of a package type declared `sync.WaitGroup` or "
          "`sync.Cond` (or pointers to them), no function of the package calls `Done`, `Signal` or `Broadcast` "
          "on that field (by identity; on an expression of unknown type, by name), and no file of the package "
          "takes such a waker of a field of that name as a method value, calls `Add(-n)` or `Go` on it, or "
          "hands it on (its address, an argument, a result, a copy, a composite literal value, an assignment "
          "from a shared value); a WaitGroup must be added to somewhere (else Wait returns at once): an `Add` "
          "on a field of that name counts unless the function's text makes its operand another package type "
          "with such a field (its receiver, `x := &T{...}`, `var x T`)",
    binds_doc="`decl` the field's declaration",
    run=_run,
    file_tokens=frozenset({b".Wait()"}),
    tokens=lambda spec: frozenset({b"sync."}),
)
