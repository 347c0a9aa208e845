"""Channel fields across a package: every place that sends on, receives from, ranges over or closes a channel
field, where the package makes it, and whether it leaves the model's sight.

A channel field is named by its field name (".f"), whatever the owner's type: two types with an `events`
field look alike, which only makes "nobody receives from it" harder to hold (answers lean towards "someone
may"). Uses count through an accessor (`func (s *T) Events() <-chan E { return s.events }`; `<-x.Events()`)
and through locals that stand for the field (`c := s.events`, `s.events = c`, `T{events: c}` with `c` made
by `make` in the same function).

The field *escapes* (its other end may be anywhere) when it is handed to a call, returned other than by an
accessor, stored elsewhere, sent on a channel, put in a literal, or set from anything but `make`, `nil` or a
local made in place; a local standing for it escapes the same way. An exported field, or an exported
accessor, is visible to other packages (except in package main, which no package imports): a `<-chan`
accessor lets outsiders receive, not send or close.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from gleak_sarif.gopackage.summary import FileSummary, FunctionSummary, Op, Site

CHANNEL_OPS = ("send", "recv", "range", "close")


@dataclass(frozen=True, slots=True)
class Use:
    kind: str  # send | recv | range | close
    bare: bool  # not a select case
    looped: bool  # inside a loop of its function
    function: int
    site: Site
    exit: Site | None = None  # a select case: another case of the select that returns (Op.exit)


@dataclass(slots=True)
class ChannelField:
    name: str  # the field name
    declared: bool  # a struct type of the package declares the field with a channel type
    uses: list[Use] = field(default_factory=list)
    makes: list[tuple[Site, str]] = field(default_factory=list)  # (site, buffer class: "" | "const" | "var")
    escape: Site | None = None  # the first place it leaves the model's sight
    outside_recv: bool = False  # another package may receive from it (exported field or accessor)
    outside_feed: bool = False  # another package may send on it or close it

    def has(self, *kinds: str) -> bool:
        return any(use.kind in kinds for use in self.uses)

    def trusted_buffer(self) -> bool:
        """Every make gives it a buffer of a constant size and no send is in a loop: sends that find no
        receiver still fit (trusted, not proven: the number of calls is not known)."""
        return bool(self.makes) and all(size == "const" for _, size in self.makes) and \
            not any(use.kind == "send" and use.looped for use in self.uses)


@dataclass(slots=True)
class ChannelIndex:
    """The raw material of channel_field's answers, indexed once per model as its files and functions load
    (a question used to walk every operation, accessor and alias of the package: quadratic in its size).
    Lists keep the model's load order, so answers come out in the order the walks gave."""

    functions: int = 0  # model.functions indexed so far
    files: int = 0  # model.files indexed so far
    order: dict[str, int] = field(default_factory=dict)  # path -> its place in model.files
    # ".f" / ".m()" -> identity -> (function, position, op) of the channel operations field_ref puts there
    # (one resolve per identity, not per operation: a field name many types share has many operations)
    uses: dict[str, dict[str | None, list[tuple[int, int, Op]]]] = field(default_factory=dict)
    # ".f" -> (method, receiver type, declared result) of the accessors returning it
    returned_by: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)
    # method -> (receiver type, ".f", declared result) of the accessors with that name
    accessors: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)
    makes: dict[str, list[str]] = field(default_factory=dict)  # ".f" -> files making it (chan_makes)
    # ".f" / ".m()" -> files where it may escape (escapes, or an alias standing for it)
    escapes: dict[str, list[str]] = field(default_factory=dict)
    # ".f" / ".m()" -> field name -> owner (None: unknown) -> the identities of `uses` resolve puts there,
    # filled as questions come (resolving reads files: only what a question would have resolved anyway)
    by_field: dict[str, dict[str, dict[str | None, list[str | None]]]] = field(default_factory=dict)
    resolved: dict[str, int] = field(default_factory=dict)  # ".f" -> how many of uses[".f"] are in by_field
    # resolve()'s answers, by (key, identity)
    resolutions: dict[tuple[str, str | None], list[tuple[str | None, str]]] = field(default_factory=dict)
    # the makes of ".f" in the files a question has read: identity -> (file's place, position, site, buffer
    # class), and field name -> owner (None: unknown) -> the identities resolve puts there (as by_field)
    make_sites: dict[str, dict[str | None, list[tuple[int, int, Site, str]]]] = field(default_factory=dict)
    make_owners: dict[str, dict[str, dict[str | None, list[str | None]]]] = field(default_factory=dict)
    makes_read: set[tuple[str, str]] = field(default_factory=set)  # (".f", path) read into the two above
    # path -> (its summary, local name -> (start, end, ".f" / ".m()", identity) of the locals standing for a
    # field, last first): field_ref's lookup
    aliases: dict[str, tuple[FileSummary, dict[str, list[tuple[int, int, str, str | None]]]]] = field(
        default_factory=dict)


class PackageModel(Protocol):
    """What these questions need of gopackage.model.PackageModel (which imports this module)."""

    files: dict[str, FileSummary]
    types: dict[str, dict[str, str]]
    functions: list[FunctionSummary]
    channel_fields: dict[tuple[str | None, str], ChannelField]
    channel_index: ChannelIndex

    def functions_in_files_with(self, *tokens: bytes) -> Sequence[int]: ...

    def type_of(self, canon: str | None) -> str: ...

    def field_text(self, type_name: str, name: str) -> str | None: ...

    def field_owner(self, type_name: str, name: str) -> str | None: ...


def indexed(model: PackageModel) -> ChannelIndex:
    """The model's channel index, brought up to date with the files and functions loaded so far."""
    index = model.channel_index
    if index.files < len(model.files):
        for summary in list(model.files.values())[index.files:]:
            index.order[summary.path] = len(index.order)
            for method, entries in summary.accessors.items():
                index.accessors.setdefault(method, []).extend(entries)
                for receiver, key, result in entries:
                    index.returned_by.setdefault(key, []).append((method, receiver, result))
            for key in summary.chan_makes:
                index.makes.setdefault(key, []).append(summary.path)
            for key in {*summary.escapes, *(alias[3] for alias in summary.aliases)}:
                index.escapes.setdefault(key, []).append(summary.path)
        index.files = len(model.files)
    if index.functions < len(model.functions):
        for number in range(index.functions, len(model.functions)):
            for position, op in enumerate(model.functions[number].ops):
                if op.kind in CHANNEL_OPS:
                    record = field_ref(model, op)
                    if record is not None:
                        index.uses.setdefault(record[0], {}).setdefault(record[1], []).append((number, position, op))
        index.functions = len(model.functions)
    return index


def accessors(model: PackageModel, method: str) -> list[tuple[str, str, str]]:
    """(receiver type, field name, declared result) of the package's accessors named ``method`` (loads the
    files that declare it)."""
    model.functions_in_files_with(f"{method}(".encode())
    found: list[tuple[str, str, str]] = []
    # a copy: field_owner may load files (the walk over the files saw those loaded before it)
    for receiver, key, result in list(indexed(model).accessors.get(method, ())):
        owner = model.field_owner(receiver, key[1:]) or receiver  # the struct declaring the field
        if (owner, key[1:], result) not in found:
            found.append((owner, key[1:], result))
    return found


def resolve(model: PackageModel, key: str, canon: str | None) -> list[tuple[str | None, str]]:
    """The (owner type or None when unknown, field name) pairs a field or accessor call may stand for; once
    per model (the files it reads are loaded by then, so a later call would give the same answer)."""
    memo = model.channel_index.resolutions
    known = memo.get((key, canon))
    if known is None:
        known = memo[(key, canon)] = _resolve(model, key, canon)
    return known


def _resolve(model: PackageModel, key: str, canon: str | None) -> list[tuple[str | None, str]]:
    owner_path = canon.rpartition(".")[0] if canon else ""
    owner = model.type_of(owner_path) if owner_path else ""
    if not key.endswith("()"):
        # an owner whose declaration shows no such field (`type alias Other`, an interface) is not known
        return [(model.field_owner(owner, key[1:]) if owner else None, key[1:])]
    return [(found_owner, name) for found_owner, name, _ in accessors(model, key[1:-2])
            if not owner or found_owner == owner]


def field_ref(model: PackageModel, op: Op) -> tuple[str, str | None] | None:
    """(".f" or ".m()", identity or None) for a channel operation on a field, an accessor call or a local
    standing for a field; None for anything else."""
    ref = op.ref
    if ref is None:
        return (op.field, None) if op.field else None  # `m[k].f`: the field, of an owner not known
    if ref.rest:
        return "." + ref.rest[-1], ref.canon
    summary = model.files.get(op.site.path)
    if summary is None:
        return None
    for start, end, key, canon in _aliases(model, summary).get(ref.text, ()):
        if start <= op.site.start < end:
            return key, canon
    return None


def _aliases(model: PackageModel, summary: FileSummary) -> dict[str, list[tuple[int, int, str, str | None]]]:
    """The file's locals standing for a field, by name, last first (field_ref looks up the name of each
    operation on a local: was a scan of the file's whole list per operation)."""
    by_file = model.channel_index.aliases
    known = by_file.get(summary.path)
    if known is None or known[0] is not summary:  # (a path's summary is loaded once per model)
        known = by_file[summary.path] = (summary, {})
        for start, end, name, key, canon, _ in reversed(summary.aliases):
            known[1].setdefault(name, []).append((start, end, key, canon))
    return known[1]


def _same(model: PackageModel, owner: str | None, name: str, key: str, canon: str | None) -> bool:
    """Does a record (``key``, ``canon``) stand for field ``name`` of ``owner`` (None: any owner)? A record
    whose owner is not known counts for every owner."""
    return any(found == name and (owner is None or other is None or other == owner)
               for other, found in resolve(model, key, canon))


def channel_field(model: PackageModel, owner: str | None, name: str) -> ChannelField:
    """Everything the package does with the channel field ``name`` of type ``owner`` (None: of any type),
    memoized per model."""
    known = model.channel_fields.get((owner, name))
    if known is not None:
        return known
    key = "." + name
    model.functions_in_files_with(name.encode())
    owners = [owner] if owner is not None else list(model.types)
    declared = any((model.field_text(type_name, name) or "").lstrip("<-").strip().startswith("chan")
                   for type_name in owners)
    found = model.channel_fields[(owner, name)] = ChannelField(name, declared)
    methods: list[tuple[str, str]] = []  # accessors: (method, declared result)
    # copies of the index's lists as they stand: what is loaded below counts where the walks over every
    # file and function counted it (in the walk after the load, not in the one running)
    index = indexed(model)
    for method, receiver, result in list(index.returned_by.get(key, ())):
        if owner is None or model.field_owner(receiver, name) == owner:
            methods.append((method, result))
    for method, _ in methods:
        model.functions_in_files_with(f"{method}(".encode())
    keys = {key} | {f".{method}()" for method, _ in methods}
    index = indexed(model)
    package = next((summary.package for summary in model.files.values() if summary.package), "")
    # the files that make the field or where it (or an accessor of it) may escape, in load order
    paths = {*index.makes.get(key, ())}
    for each in keys:
        paths.update(index.escapes.get(each, ()))
    for path in sorted(paths, key=index.order.__getitem__):
        summary = model.files[path]
        _read_makes(model, summary, key)
        if found.escape is None:
            found.escape = _escape(model, summary, keys, owner, name)
    sites = index.make_sites.get(key, {})
    found.makes.extend((site, size) for _, _, site, size in sorted(
        (made for canon in _grouped(index.make_owners.get(key, {}), owner, name) for made in sites[canon]),
        key=lambda made: (made[0], made[1])))
    walked = 0  # functions walked; the ones _same loads on the way are walked after them, as a walk over
    while walked < len(model.functions):  # the growing list of functions did
        index = indexed(model)
        upto = len(model.functions)
        uses = [use for each in keys for canon in _identities(model, each, owner, name)
                for use in list(index.uses[each][canon]) if walked <= use[0] < upto]
        uses.sort(key=lambda use: (use[0], use[1]))
        walked = upto
        found.uses.extend(Use(op.kind, op.bare, op.looped, number, op.site, op.exit) for number, _, op in uses)
    if package != "main":  # nothing imports package main
        if name[:1].isupper():
            found.outside_recv = found.outside_feed = True
        for method, result in methods:
            if method[:1].isupper():
                found.outside_recv = True
                found.outside_feed = found.outside_feed or not result.replace(" ", "").startswith("<-chan")
    return found


def _identities(model: PackageModel, key: str, owner: str | None, name: str) -> list[str | None]:
    """The identities recorded with ``key`` among the channel operations that stand for field ``name`` of
    ``owner`` (_same of each), by lookup: each identity is resolved once per model, in the order seen."""
    index = model.channel_index
    groups = index.uses.get(key, {})
    by_name = index.by_field.setdefault(key, {})
    while (done := index.resolved.get(key, 0)) < len(groups):  # resolving may load files: more operations
        pending = list(groups)[done:]
        index.resolved[key] = done + len(pending)
        for canon in pending:
            for other, found in resolve(model, key, canon):
                identities = by_name.setdefault(found, {}).setdefault(other, [])
                if canon not in identities:
                    identities.append(canon)
    return _grouped(by_name, owner, name)


def _grouped(by_name: dict[str, dict[str | None, list[str | None]]], owner: str | None,
             name: str) -> list[str | None]:
    """The identities grouped under field ``name`` of ``owner`` (None: any owner): those that stand for it
    (_same), an identity whose owner is not known counting for every owner."""
    owners = by_name.get(name, {})
    if owner is None:
        return list(dict.fromkeys(canon for identities in owners.values() for canon in identities))
    return list(dict.fromkeys([*owners.get(owner, ()), *owners.get(None, ())]))


def _read_makes(model: PackageModel, summary: FileSummary, key: str) -> None:
    """Index the makes of ``key`` in ``summary``'s file by identity and by the fields they resolve to, once
    per model (a question used to check every make of the package against its field: quadratic). Resolving
    in the order the check did keeps the files it loads, and when."""
    index = model.channel_index
    if (key, summary.path) in index.makes_read:
        return
    index.makes_read.add((key, summary.path))
    sites = index.make_sites.setdefault(key, {})
    by_name = index.make_owners.setdefault(key, {})
    place = index.order[summary.path]
    for position, (site, size, canon) in enumerate(summary.chan_makes.get(key, ())):
        if canon not in sites:
            for other, found in resolve(model, key, canon):
                identities = by_name.setdefault(found, {}).setdefault(other, [])
                if canon not in identities:
                    identities.append(canon)
        sites.setdefault(canon, []).append((place, position, site, size))


def _escape(model: PackageModel, summary: FileSummary, keys: set[str], owner: str | None,
            name: str) -> Site | None:
    for key in keys:
        for site, canon in summary.escapes.get(key, ()):
            if _same(model, owner, name, key, canon):
                return site
    for start, end, local, key, canon, _ in summary.aliases:
        if key in keys and _same(model, owner, name, key, canon):
            for site, escaped in summary.name_escapes:
                if escaped == local and start <= site.start < end:
                    return site
            # one local stored in two fields (`p1.rd, p2.wr = c, c`; `r.prev = ch` then `r.next = ch`): the
            # two fields are one channel, whose ends the model does not pair up
            for other_start, other_end, other, other_key, _, site in summary.aliases:
                if (other_start, other_end, other) == (start, end, local) and other_key != key:
                    return site
    return None
