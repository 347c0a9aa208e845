"""The package model's plain data: what one file's functions do, in source order (picklable, cacheable)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

LOCK_MODES = {"Lock": "write", "RLock": "read"}
UNLOCKS = {"Unlock": "write", "RUnlock": "read"}
WAKERS = {"Done", "Signal", "Broadcast"}  # the other side of Wait()
OP_NAMES = {*LOCK_MODES, *UNLOCKS, *WAKERS, "Wait", "close"}


@dataclass(frozen=True, slots=True)
class Site:
    path: str
    line: int  # 1-based
    column: int  # 1-based, bytes
    start: int
    end: int
    text: str  # the operation's source text, one line, shortened


@dataclass(frozen=True, slots=True)
class Ref:
    """An expression naming a mutex, channel or value, in its function's terms."""

    root: str  # "self" | "p<N>" | "g" (package variable) | "local" | "?" (not mappable)
    rest: tuple[str, ...]  # field chain after the root
    text: str  # as written, whitespace removed
    canon: str | None  # package-wide identity ("Server.mu", "pkg.registryMu"), None when unknown


@dataclass(slots=True)
class Op:
    kind: str  # lock | unlock | send | recv | range | close | wait | wake | call | go | cancel
    site: Site
    ref: Ref | None = None  # the mutex / channel / WaitGroup; cancel: the field called (`x.cancel()`)
    mode: str = ""  # lock/unlock: "write" | "read"
    deferred: bool = False
    bare: bool = True  # send/recv: not a select case
    callee: tuple[str, str] | None = None  # call/go: (receiver type or "", name) of a same-package function
    literal: tuple[str, str] | None = None  # go func(){...}(): the literal's FunctionSummary key
    recv: Ref | None = None  # method call: the receiver expression
    args: tuple[Ref | None, ...] = ()
    block: tuple[int, int] = (0, 0)  # lock/unlock: the statement list around it
    exits: bool = False  # unlock: its statement list ends in return/panic/break/continue/goto
    # lock or call: only `if p` / `if !p` for a parameter p: (p's position, the value that runs it)
    guard: tuple[int, bool] | None = None
    bools: tuple[bool | None, ...] = ()  # call: arguments written as `true` / `false`
    looped: bool = False  # send/recv/range/call/go/wait: inside a loop of its function (may run many times)
    loop: tuple[int, int] | None = None  # lock/send/recv/range/call: the outermost `for` around it
    # send/recv as a `select` case (no default): another case of that select that returns (leaves the loop)
    exit: Site | None = None
    # send/recv/range/close on `<anything>.f` (also `m[k].f`, which has no ref): ".f" (".m()" for an accessor)
    field: str = ""
    # call: a method called on the result of a call of a same-package function (`newConn(c).read()`): that
    # function's name (the receiver has no name in the caller: recv is None)
    recv_call: str = ""
    # call: per argument, the function value it passes ("" none): `lit:<literal key name>`, `fn:<package
    # function>`, `val:<encoded identity>` (a field or a method value, `x.onDone`), `conv:<name>|<inner>`
    # (`Handler(x.f)`, a conversion when <name> is a func type of the package). A call of a function-valued
    # parameter (callee ("@param", "<position>")) runs what the callers pass there (PackageModel.targets_of)
    funcs: tuple[str, ...] = ()
    # send: the value sent is a channel made with a buffer (`make(chan T, n)` written there, or a local this
    # function made with one: `reply := make(chan T, 1); s.requests <- reply`), for a channel of channels
    value_buffered: bool = False
    # recv/range: inside a loop of its function, and every loop around it has a condition that can turn false
    # (`for it.Next() {`, `for i := 0; i < n; i++ {`; not `for {`, not a `range`, which over a channel ends
    # only when it is closed): the function may leave the loop, and its wait, without any signal
    loop_ends: bool = False


@dataclass(slots=True)
class FunctionSummary:
    key: tuple[str, str]  # (receiver type or "", name); literals: ("", "func@<start byte>")
    path: str
    start: int
    end: int
    site: Site
    recv_type: str | None = None
    is_literal: bool = False
    results: tuple[str, ...] = ()  # declared result types (named types of this package, else "")
    ops: list[Op] = field(default_factory=list)
    unused_params: tuple[int, ...] = ()  # positions of channel parameters the body never mentions
    # it returns a local it made and nothing else reaches (gopackage/extract_fresh.py); checked only for a
    # function with a named result type that holds a `go` statement
    fresh_result: bool = False
    # function-valued parameters this function runs on a goroutine of their own: `go f(...)`, or `f(...)`
    # called inside a `go func() {...}()` of this function, as (parameter position, the `go` statement)
    spawned_params: tuple[tuple[int, Site], ...] = ()
    # literals: run by `defer func() {...}()` (its operations happen when the enclosing function returns)
    deferred: bool = False
    # literals: an argument of a call, as (the call's start byte, the argument's position)
    argument: tuple[int, int] | None = None
    # positions of the parameters declared receive-only (`done <-chan T`): nothing can send on them or close them
    recv_only_params: tuple[int, ...] = ()
    # literals: an enclosing function's local set from a parameter of the literal (`seen = done`), as (the
    # parameter's position, the local's name)
    param_stores: tuple[tuple[int, str], ...] = ()
    # every `return` returns one value made right there (`&T{...}`, `T{...}`, `new(T)`): each call hands
    # its caller a new value nobody else has (gopackage/extract_fresh.py)
    returns_new: bool = False


@dataclass(slots=True)
class FileSummary:
    path: str
    package: str
    functions: list[FunctionSummary] = field(default_factory=list)
    types: dict[str, dict[str, str]] = field(default_factory=dict)  # struct type -> field -> type text
    globals: set[str] = field(default_factory=set)  # package-level variable names
    buffered: set[str] = field(default_factory=set)  # channel identities made with a buffer
    # interface type -> its method names, and the names of the interfaces it embeds (prefixed with "~")
    interfaces: dict[str, list[str]] = field(default_factory=dict)
    func_types: set[str] = field(default_factory=set)  # `type F func(...)`
    # function-valued field (an identity: `T.f`, or a path the model resolves) -> what is assigned to it:
    # `lit:<literal key name>`, `fn:<function>`, `m:<encoded receiver identity>/<method>` (a method value)
    func_values: dict[str, list[str]] = field(default_factory=dict)
    digest: bytes = b""  # of the text summarized
    # Channel fields by name (".f"; an accessor call ".m()"), each record with the field's identity when known
    # (`Server.events`, `Server.stopper.Quiet()`; None: an owner of unknown type), for "who else uses this
    # channel" questions (gopackage/channels.py). Where a field is made (`x.f = make(chan T)`, `T{f: make(chan
    # T, n)}`, through a local made first), with its buffer class ("" none, "const" a constant size, "var" any
    # other size):
    chan_makes: dict[str, list[tuple[Site, str, str | None]]] = field(default_factory=dict)
    # where a field's channel leaves the model's sight: passed to a call, returned (other than by an
    # accessor), stored elsewhere, sent, put in a literal; or set from something else than `make`/`nil`/a local
    escapes: dict[str, list[tuple[Site, str | None]]] = field(default_factory=dict)
    # accessors: method name -> (receiver type, ".f", declared result type) for `func (s *T) m() X { return s.f }`
    accessors: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)
    # locals standing for a field: (scope start, scope end, local name, ".f", identity, site) for `c := s.f`,
    # `s.f = c`, `T{f: c}`
    aliases: list[tuple[int, int, str, str, str | None, Site]] = field(default_factory=list)
    # identifiers in the positions above (a local alias that escapes): (site, name)
    name_escapes: list[tuple[Site, str]] = field(default_factory=list)
    # context cancel pairs (gopackage/extract_cancel.py): (the field holding the CancelFunc, the identity of
    # its context's Done channel, the parent: "bg" | "p<N>" | "?", the key of the function making the pair)
    cancel_pairs: list[tuple[str, str, str, tuple[str, str]]] = field(default_factory=list)
    # the lock of a sync.Cond field, from `x.cond = sync.NewCond(&x.mu)` (mode "write") or
    # `sync.NewCond(x.mu.RLocker())` (mode "read"): (the Cond's identity, the mutex's path from the same owner
    # (`mu`), mode). `x.cond.L.Lock()` is then a lock of `x.mu` (gopackage/model.py, PackageModel.cond_lock)
    cond_locks: list[tuple[str, str, str]] = field(default_factory=list)



def one_line(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def norm(text: str) -> str:
    return "".join(text.split())


_TYPE_NAME = re.compile(r"^\*?([A-Za-z_][A-Za-z0-9_]*)(\[.*\])?$")


def named_type(text: str) -> str:
    """`*Server` / `Server[T]` -> `Server`; qualified or composite types -> ""."""
    match = _TYPE_NAME.match(norm(text))
    return match.group(1) if match else ""



def encode_canon(canon: str) -> str:
    """An identity inside a type placeholder (`@elem(Index/slots)`): dots would split the identity it is
    part of, so they become slashes."""
    return canon.replace(".", "/")


def decode_canon(text: str) -> str:
    return text.replace("/", ".")


def element_type(text: str) -> str:
    """The named element type of a map, slice or array type text (`map[string]*slot` -> `slot`)."""
    text = norm(text)
    if text.startswith("map["):
        depth, index = 0, 3
        for index in range(3, len(text)):
            depth += {"[": 1, "]": -1}.get(text[index], 0)
            if depth == 0:
                break
        return named_type(text[index + 1:])
    if text.startswith("["):
        return named_type(text[text.index("]") + 1:])
    return ""


_ELEM = re.compile(r"@elem\(([^()]*)\)")


def lock_name(canon: str) -> str:
    """An identity as messages show it: `pkg.mu` -> `mu`, `@elem(Table/locks)` (an element of a map or
    slice field) -> `Table.locks[]`."""
    return _ELEM.sub(lambda match: decode_canon(match.group(1)) + "[]", canon.removeprefix("pkg."))


def literal_key(path: str, start: int) -> tuple[str, str]:
    """The FunctionSummary key of the function literal at ``start``."""
    return ("", f"func@{path}:{start}")


@dataclass(frozen=True, slots=True)
class Evidence:
    """A metavariable bound by a `model:` fact instead of a node of the evaluated file: a text for messages
    and a place, maybe in another file of the package (it stands in for a Node in an environment)."""

    text: str
    site: Site
    path: str  # the file as the scan names it
    # more places the same binding stands for (every other lock site of a mutex): a `related:` entry of
    # this capture gives one related location per place, this one first
    more: tuple[Evidence, ...] = ()


def lock_token(canon: str) -> bytes:
    """A word every file naming the lock holds: its last field or variable (`Store.mu` -> `mu`); an element
    of a field (`@elem(T/locks)`, a per-key lock) -> the field (`locks`)."""
    last = canon.rsplit(".", 1)[-1]
    if last.startswith("@elem(") and last.endswith(")"):
        last = last[6:-1].rsplit("/", 1)[-1]
    return last.encode()
