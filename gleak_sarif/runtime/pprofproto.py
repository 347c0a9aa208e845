"""The default form of ``/debug/pprof/goroutine`` and ``/debug/pprof/goroutineleak`` (``debug=0``): a gzipped
pprof protobuf, decoded here into the same Goroutine records as ``debug=1``.

A small wire-format reader, not a protobuf library: the profile uses five messages (Profile, Sample, Location,
Line, Function, plus Label and ValueType) of varint and length-delimited fields (profile.proto in
github.com/google/pprof). What the goroutine profiles hold (runtime/pprof printCountProfile): sample type
``goroutine``/``count`` or ``goroutineleak``/``count``, one sample per distinct stack and label set with the
number of goroutines as its value, labels as string sample labels, and locations whose ``line`` lists hold the
inlined frames innermost first. Each function carries its ``start_line`` (the line of its ``func`` keyword),
which tells function literals on different lines apart.

The input is untrusted: decompression stops at ``MAX_PROFILE_BYTES`` and every length and index is checked;
anything malformed raises ProfileError with what was wrong.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

from gleak_sarif.runtime.cluster import debug1_state
from gleak_sarif.runtime.models import Dump, DumpFormat, Frame, Goroutine

GZIP_MAGIC = b"\x1f\x8b"
# A goroutine profile groups equal stacks: 100,000 goroutines in a few hundred stacks take kilobytes. The cap
# is far above any real one and bounds a decompression bomb.
MAX_PROFILE_BYTES = 256 * 1024 * 1024
# GODEBUG=profstackdepth allows at most 1024 frames per sample.
MAX_SAMPLE_LOCATIONS = 1024


class ProfileError(ValueError):
    """The bytes are not a readable pprof profile (the message says why)."""


def gunzip(data: bytes, limit: int = MAX_PROFILE_BYTES) -> bytes:
    """Decompress every gzip member of ``data``; ProfileError past ``limit`` bytes or on corrupt input."""
    out: list[bytes] = []
    size = 0
    rest = data
    while rest[:2] == GZIP_MAGIC:
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            chunk = d.decompress(rest, limit + 1 - size)
            while chunk:
                out.append(chunk)
                size += len(chunk)
                if size > limit:
                    raise ProfileError(f"decompresses to more than {limit} bytes")
                chunk = d.decompress(d.unconsumed_tail, limit + 1 - size) if d.unconsumed_tail else b""
        except zlib.error as err:
            raise ProfileError(f"corrupt gzip data ({err})") from err
        if not d.eof:
            raise ProfileError("gzip data is cut off")
        rest = d.unused_data
    if rest.strip(b"\0"):
        raise ProfileError("trailing bytes after the gzip data")
    return b"".join(out)


# -- wire format ---------------------------------------------------------------------------------------------

Fields = list[tuple[int, int, int | bytes]]  # (field number, wire type, value or bytes)


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if i >= len(buf):
            raise ProfileError("varint cut off")
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, i
        shift += 7
        if shift > 63:
            raise ProfileError("varint longer than 10 bytes")


def _fields(buf: bytes) -> Fields:
    out: Fields = []
    i = 0
    n = len(buf)
    while i < n:
        key, i = _varint(buf, i)
        num, wire = key >> 3, key & 7
        if num == 0:
            raise ProfileError("field number 0")
        if wire == 0:
            value, i = _varint(buf, i)
            out.append((num, 0, value))
        elif wire == 2:
            length, i = _varint(buf, i)
            if i + length > n:
                raise ProfileError("length-delimited field runs past the end")
            out.append((num, 2, buf[i : i + length]))
            i += length
        elif wire == 1:
            if i + 8 > n:
                raise ProfileError("fixed64 field cut off")
            out.append((num, 1, int.from_bytes(buf[i : i + 8], "little")))
            i += 8
        elif wire == 5:
            if i + 4 > n:
                raise ProfileError("fixed32 field cut off")
            out.append((num, 5, int.from_bytes(buf[i : i + 4], "little")))
            i += 4
        else:
            raise ProfileError(f"unsupported wire type {wire}")
    return out


def _ints(wire: int, value: int | bytes) -> list[int]:
    """A repeated integer field: one varint, or a packed run of them."""
    if wire == 0:
        assert isinstance(value, int)
        return [value]
    if wire == 2:
        assert isinstance(value, bytes)
        out: list[int] = []
        i = 0
        while i < len(value):
            v, i = _varint(value, i)
            out.append(v)
        return out
    raise ProfileError(f"integer field with wire type {wire}")


def _int(wire: int, value: int | bytes) -> int:
    if wire != 0 or not isinstance(value, int):
        raise ProfileError(f"integer field with wire type {wire}")
    return value


def _signed(v: int) -> int:
    return v - (1 << 64) if v >= 1 << 63 else v


def _msg(wire: int, value: int | bytes) -> bytes:
    if wire != 2 or not isinstance(value, bytes):
        raise ProfileError(f"message field with wire type {wire}")
    return value


# -- the profile -----------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Function:
    name: int = 0
    filename: int = 0
    start_line: int = 0


@dataclass(slots=True)
class _Sample:
    locations: list[int] = field(default_factory=list)
    values: list[int] = field(default_factory=list)
    labels: list[tuple[int, int]] = field(default_factory=list)  # (key, str) string-table indexes


@dataclass(slots=True)
class Profile:
    sample_types: list[tuple[str, str]]
    samples: list[tuple[list[Frame], int, dict[str, str]]]  # frames innermost first, count, labels


def decode_profile(buf: bytes) -> Profile:
    """Decode an uncompressed pprof Profile message."""
    strings: list[str] = []
    types_raw: list[tuple[int, int]] = []
    samples_raw: list[_Sample] = []
    functions: dict[int, _Function] = {}
    locations: dict[int, list[tuple[int, int]]] = {}  # id -> [(function id, line)], innermost first
    for num, wire, value in _fields(buf):
        if num == 6:  # string_table
            strings.append(_msg(wire, value).decode("utf-8", "replace"))
        elif num == 1:  # sample_type
            t = u = 0
            for n2, w2, v2 in _fields(_msg(wire, value)):
                if n2 == 1:
                    t = _int(w2, v2)
                elif n2 == 2:
                    u = _int(w2, v2)
            types_raw.append((t, u))
        elif num == 2:  # sample
            s = _Sample()
            for n2, w2, v2 in _fields(_msg(wire, value)):
                if n2 == 1:
                    s.locations.extend(_ints(w2, v2))
                elif n2 == 2:
                    s.values.extend(_signed(v) for v in _ints(w2, v2))
                elif n2 == 3:
                    k = v = 0
                    for n3, w3, v3 in _fields(_msg(w2, v2)):
                        if n3 == 1:
                            k = _int(w3, v3)
                        elif n3 == 2:
                            v = _int(w3, v3)
                    if k:
                        s.labels.append((k, v))
            if len(s.locations) > MAX_SAMPLE_LOCATIONS:
                # keep the innermost and outermost halves, as the text parser does
                half = MAX_SAMPLE_LOCATIONS // 2
                s.locations = s.locations[:half] + s.locations[-half:]
            samples_raw.append(s)
        elif num == 4:  # location
            loc_id = 0
            lines: list[tuple[int, int]] = []
            for n2, w2, v2 in _fields(_msg(wire, value)):
                if n2 == 1:
                    loc_id = _int(w2, v2)
                elif n2 == 4:
                    fid = ln = 0
                    for n3, w3, v3 in _fields(_msg(w2, v2)):
                        if n3 == 1:
                            fid = _int(w3, v3)
                        elif n3 == 2:
                            ln = _signed(_int(w3, v3))
                    lines.append((fid, ln))
            locations[loc_id] = lines
        elif num == 5:  # function
            fn_id = 0
            fn = _Function()
            for n2, w2, v2 in _fields(_msg(wire, value)):
                if n2 == 1:
                    fn_id = _int(w2, v2)
                elif n2 == 2:
                    fn.name = _int(w2, v2)
                elif n2 == 4:
                    fn.filename = _int(w2, v2)
                elif n2 == 5:
                    fn.start_line = _signed(_int(w2, v2))
            functions[fn_id] = fn

    def text(index: int) -> str:
        if not 0 <= index < len(strings):
            raise ProfileError(f"string index {index} out of range ({len(strings)} strings)")
        return strings[index]

    if not strings or strings[0] != "":
        raise ProfileError("no string table (its first entry must be the empty string)")
    frame_cache: dict[int, list[Frame]] = {}
    interned: dict[str, str] = {}

    def frames_of(loc_id: int) -> list[Frame]:
        cached = frame_cache.get(loc_id)
        if cached is None:
            lines = locations.get(loc_id)
            if lines is None:
                raise ProfileError(f"sample refers to a missing location {loc_id}")
            cached = []
            for fid, ln in lines:
                fn = functions.get(fid)
                if fn is None:
                    raise ProfileError(f"location {loc_id} refers to a missing function {fid}")
                printed = _as_printed(text(fn.name))
                name = interned.setdefault(printed, printed)
                file = interned.setdefault(text(fn.filename), text(fn.filename))
                cached.append(Frame(func=name, file=file, line=max(ln, 0), start_line=max(fn.start_line, 0)))
            frame_cache[loc_id] = cached
        return cached

    samples: list[tuple[list[Frame], int, dict[str, str]]] = []
    for s in samples_raw:
        frames = [f for loc in s.locations for f in frames_of(loc)]
        labels = {text(k): text(v) for k, v in s.labels}
        samples.append((frames, s.values[0] if s.values else 0, labels))
    return Profile([(text(t), text(u)) for t, u in types_raw], samples)


def _as_printed(name: str) -> str:
    """Symbol names of generic instances carry their shapes (``main.F[go.shape.int]``,
    ``main.(*Box[go.shape.string]).start.func1``); tracebacks and debug=1 print ``[...]``. Use the printed form,
    so that one code site has one name in every profile form."""
    if "[" not in name:
        return name
    out: list[str] = []
    depth = 0
    for ch in name:
        if ch == "[":
            if depth == 0:
                out.append("[...]")
            depth += 1
        elif ch == "]" and depth:
            depth -= 1
        elif depth == 0:
            out.append(ch)
    return "".join(out)


GOROUTINE_TYPES = {"goroutine": DumpFormat.debug0, "goroutineleak": DumpFormat.leak_debug0}


def parse_profile(data: bytes, path: str | None = None) -> Dump:
    """A debug=0 goroutine or goroutineleak profile (gzipped or not) as a Dump of count records."""
    raw = gunzip(data) if data[:2] == GZIP_MAGIC else data
    profile = decode_profile(raw)
    if not profile.sample_types:
        raise ProfileError("the profile has no sample type")
    kind = profile.sample_types[0][0]
    fmt = GOROUTINE_TYPES.get(kind)
    if fmt is None:
        raise ProfileError(f"this is a {kind!r} profile, not a goroutine or goroutineleak profile")
    dump = Dump(format=fmt, path=path, profile=kind)
    for frames, count, labels in profile.samples:
        if count <= 0:
            continue
        g = Goroutine(id=None, state="", frames=frames, count=count, labels=labels,
                      leaked=fmt is DumpFormat.leak_debug0, source=fmt)
        g.state = debug1_state(g)
        dump.goroutines.append(g)
    dump.total = dump.goroutine_count
    return dump
