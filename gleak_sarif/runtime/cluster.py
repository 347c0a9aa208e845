"""Clustering of goroutines by creation site and normalised user frames, and snapshot diffs.

Blocking states (what a leak looks like): channel operations, ``select``, and waits on sync
primitives (Mutex, RWMutex, WaitGroup, Cond, semacquire), including synctest's ``(durable)`` variants.
Not blocking for this purpose: ``sleep`` (it wakes up by itself; a ``time.Sleep(time.Hour)`` loop is a
long-lived worker, not a leak), ``IO wait`` and ``syscall`` (servers and pollers legitimately wait
there for ever), ``running``/``runnable``, and the runtime's own reasons (GC, finalizer, ...).
debug=1 records carry no state; they count as blocking (the profile cannot tell) and are judged by growth.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from gleak_sarif.runtime.library import cause_of
from gleak_sarif.runtime.models import RECORD_FORMATS, Dump, DumpFormat, Frame, Goroutine

BLOCKING_STATES = frozenset(
    {
        "chan send",
        "chan receive",
        "chan send (nil chan)",
        "chan receive (nil chan)",
        "select",
        "select (no cases)",
        "sync.Mutex.Lock",
        "sync.RWMutex.RLock",
        "sync.RWMutex.Lock",
        "sync.WaitGroup.Wait",
        "sync.Cond.Wait",
        "semacquire",
        "chan send (durable)",
        "chan receive (durable)",
        "select (durable)",
        "sync.WaitGroup.Wait (durable)",
    }
)

# Functions that run a user function in a new goroutine: the "created by" line names them, not user code.
# Matched on the function name with any package prefix removed up to the last "/".
WRAPPER_CREATORS = (
    "time.goFunc",
    "sync.(*WaitGroup).Go",
    "errgroup.(*Group).Go",
    "errgroup.(*Group).TryGo",
    "conc.(*WaitGroup).Go",
    "pool.(*Pool).Go",
)


def func_package(func: str) -> str:
    """Import path of a function as printed in a traceback (``a.b/c/d.(*T).M.func1`` -> ``a.b/c/d``)."""
    slash = func.rfind("/")
    dot = func.find(".", slash + 1)
    return func if dot < 0 else func[:dot]


def is_std_func(func: str, user_modules: tuple[str, ...] = ()) -> bool:
    """Standard library (or runtime) function? Heuristic of every stack tool: no dot in the first path
    element, except ``main`` and the modules of the scanned repository (which may be dotless)."""
    if func in ("panic", "goexit") or func.startswith("runtime."):
        return True
    pkg = func_package(func)
    if pkg == "main" or pkg.startswith("main."):
        return False
    for mod in user_modules:
        if pkg == mod or pkg.startswith(mod + "/"):
            return False
    first = pkg.split("/", 1)[0]
    return "." not in first


def is_wrapper_creator(func: str) -> bool:
    short = func[func.rfind("/") + 1 :]
    return short in WRAPPER_CREATORS or (is_std_func(func) and not func.startswith("main."))


# debug=1 and debug=0 records have no state; their top std frames tell some of it (debug=0 keeps the runtime's
# own frames, which debug=1 hides).
_DEBUG1_STATES = (
    ("runtime.chanrecv1", "chan receive"),
    ("runtime.chanrecv2", "chan receive"),
    ("runtime.chansend1", "chan send"),
    ("runtime.selectgo", "select"),
    ("runtime.block", "select (no cases)"),
    ("internal/sync.runtime_SemacquireMutex", "sync.Mutex.Lock"),
    ("sync.runtime_SemacquireMutex", "sync.Mutex.Lock"),
    ("sync.runtime_SemacquireRWMutexR", "sync.RWMutex.RLock"),
    ("sync.runtime_SemacquireRWMutex", "sync.RWMutex.Lock"),
    ("sync.runtime_SemacquireWaitGroup", "sync.WaitGroup.Wait"),
    ("sync.runtime_notifyListWait", "sync.Cond.Wait"),
    ("runtime.timeSleep", "sleep"),
    ("internal/poll.runtime_pollWait", "IO wait"),
    ("time.Sleep", "sleep"),
    ("sync.(*WaitGroup).Wait", "sync.WaitGroup.Wait"),
    ("sync.(*RWMutex).RLock", "sync.RWMutex.RLock"),
    ("sync.(*RWMutex).Lock", "sync.RWMutex.Lock"),
    ("sync.(*Mutex).Lock", "sync.Mutex.Lock"),
    ("internal/sync.(*Mutex).Lock", "sync.Mutex.Lock"),
    ("sync.(*Cond).Wait", "sync.Cond.Wait"),
    ("os/signal.signal_recv", "syscall"),
    ("runtime/pprof.writeRuntimeProfile", "running"),
    ("runtime/pprof.writeGoroutineStacks", "running"),
)


def debug1_state(g: Goroutine) -> str:
    """Best guess of a debug=1/debug=0 record's state from its std frames; "" when the frames do not say."""
    for f in g.frames:
        for func, state in _DEBUG1_STATES:
            if f.func == func:
                return state
        if not is_std_func(f.func):
            break
    return ""


def is_wrapper_frame(func: str) -> bool:
    """A wrapper's own plumbing frame (``errgroup.(*Group).Go.func1``): library code, not the user's."""
    short = func[func.rfind("/") + 1 :]
    return any(short == w or short.startswith(w + ".") for w in WRAPPER_CREATORS)


def is_blocking(g: Goroutine) -> bool:
    if g.source in RECORD_FORMATS:
        # No state in the profile: count it unless its frames show a non-blocking wait.
        return g.leaked or g.state in BLOCKING_STATES or g.state == ""
    return g.leaked or g.state in BLOCKING_STATES


FrameKey = tuple[str, str, int]
Identity = tuple[int, str, int | None]


def identity(g: Goroutine) -> Identity:
    """A goroutine across two dumps of one process: its id, and what never changes while it lives (where it
    was created and by which goroutine). Two dumps of different processes reuse ids for other goroutines;
    those differ here unless they were created at the same place by the same goroutine."""
    c = g.created_by
    return (g.id if g.id is not None else -1, f"{c.func} {c.file}:{c.line}" if c is not None else "", g.creator_id)


def start_function(g: Goroutine) -> str:
    """The function the goroutine was started with: its outermost frame (runtime.goexit aside)."""
    for f in reversed(g.frames):
        if f.func != "runtime.goexit":
            return f.func
    return ""


@dataclass(slots=True)
class Cluster:
    key: tuple[object, ...]
    # "go" (created by user code), "wrapper" (a library wrapper ran user code), "library" (no user frame: the
    # standard library's own goroutines), "entry" (no creator in the dump)
    site_kind: str
    creator: Frame | None  # the created-by frame ("go" and "wrapper" kinds)
    user_frames: tuple[FrameKey, ...]  # innermost first, consecutive duplicates collapsed
    representative: Goroutine
    count: int = 0
    leaked: int = 0
    states: Counter[str] = field(default_factory=Counter)
    # label set (sorted (key, value) pairs) -> goroutines; values may hold "," or "=", so no joined text
    labels: Counter[tuple[tuple[str, str], ...]] = field(default_factory=Counter)
    min_minutes: int | None = None
    max_minutes: int = 0
    ids: set[Identity] = field(default_factory=set)
    entries: Counter[str] = field(default_factory=Counter)  # start functions -> goroutines

    @property
    def blocking_frame(self) -> FrameKey | None:
        return self.user_frames[0] if self.user_frames else None

    @property
    def entry_frame(self) -> FrameKey | None:
        return self.user_frames[-1] if self.user_frames else None

    @property
    def main_state(self) -> str:
        return self.states.most_common(1)[0][0] if self.states else ""

    def add(self, g: Goroutine) -> None:
        self.count += g.count
        if g.leaked:
            self.leaked += g.count
        self.states[g.state or "unknown"] += g.count
        self.entries[start_function(g)] += g.count
        if g.labels:
            self.labels[tuple(sorted(g.labels.items()))] += g.count
        if g.id is not None:
            self.ids.add(identity(g))
            self.min_minutes = (
                g.wait_minutes if self.min_minutes is None else min(self.min_minutes, g.wait_minutes)
            )
            self.max_minutes = max(self.max_minutes, g.wait_minutes)

    def label_dict(self) -> dict[str, list[str]]:
        """All label values seen in the cluster, per key (sorted)."""
        out: dict[str, set[str]] = {}
        for label_set in self.labels:
            for k, v in label_set:
                out.setdefault(k, set()).add(v)
        return {k: sorted(v) for k, v in sorted(out.items())}


def user_frames(g: Goroutine, user_modules: tuple[str, ...] = ()) -> tuple[FrameKey, ...]:
    out: list[FrameKey] = []
    for f in g.frames:
        if is_std_func(f.func, user_modules) or is_wrapper_frame(f.func):
            continue
        key = (f.func, f.file, f.line)
        if out and out[-1] == key:
            continue  # recursion: depth varies between snapshots, the site does not
        out.append(key)
    return tuple(out)


def cluster_key(
    g: Goroutine, user_modules: tuple[str, ...] = ()
) -> tuple[tuple[object, ...], str, tuple[FrameKey, ...]]:
    frames = user_frames(g, user_modules)
    c = g.created_by
    if c is not None and not is_std_func(c.func, user_modules) and not is_wrapper_creator(c.func):
        site: tuple[object, ...] = ("go", c.func, c.file, c.line)
        kind = "go"
    elif not frames and g.frames and (c is None or is_std_func(c.func, user_modules)):
        # The standard library's own goroutines (net/http's readLoop and writeLoop of one connection): one
        # cluster per library function that started them, or per known cause when the dump has no creators.
        entry = start_function(g)
        row = cause_of(entry, c.func if c is not None else "")
        site = ("library", row.group if row is not None else (c.func if c is not None else entry))
        return (site, frames), "library", frames
    elif c is not None:
        entry = frames[-1][0] if frames else (g.frames[-1].func if g.frames else "")
        site = ("wrapper", c.func, entry)
        kind = "wrapper"
    else:
        entry = frames[-1][0] if frames else (g.frames[-1].func if g.frames else "")
        site = ("entry", entry)
        kind = "entry"
    return (site, frames), kind, frames


def cluster(
    goroutines: Iterable[Goroutine], user_modules: tuple[str, ...] = ()
) -> dict[tuple[object, ...], Cluster]:
    out: dict[tuple[object, ...], Cluster] = {}
    for g in goroutines:
        key, kind, frames = cluster_key(g, user_modules)
        cl = out.get(key)
        if cl is None:
            cl = out[key] = Cluster(
                key=key, site_kind=kind, creator=g.created_by, user_frames=frames, representative=g
            )
        cl.add(g)
    return out


@dataclass(slots=True)
class ClusterDelta:
    cluster: Cluster  # the AFTER cluster
    before: int
    after: int
    persisted: int  # goroutine ids present in both snapshots in this cluster
    # Goroutines of this cluster that did not exist in BEFORE, less those of BEFORE's cluster that ended;
    # None: the dumps have no goroutine ids (debug=1/0), growth is the count difference.
    new: int | None = None
    existing: int = 0  # goroutines of the cluster that were in BEFORE in another state or place

    @property
    def growth(self) -> int:
        return self.after - self.before if self.new is None else self.new


def _is_daemon(g: Goroutine) -> bool:
    # The goroutine that wrote the dump, and goroutine 1 (main), are never leaks of their own.
    return g.state == "running" or (g.id == 1 and g.created_by is None)


def diff(
    before: Dump,
    after: Dump,
    *,
    user_modules: tuple[str, ...] = (),
    min_growth: int = 1,
    persistent: bool = False,
    min_minutes: int = 0,
) -> list[ClusterDelta]:
    """Blocking clusters of AFTER that grew by at least ``min_growth`` goroutines since BEFORE; with
    ``persistent`` also those whose same goroutines stayed blocked (normal for worker pools, so off by
    default). ``min_minutes`` counts only AFTER goroutines blocked that long (debug=2 dumps only).
    Sorted by growth, then size."""
    b = cluster((g for g in before.goroutines if is_blocking(g) and not _is_daemon(g)), user_modules)
    a = cluster(
        (g for g in after.goroutines
         if is_blocking(g) and not _is_daemon(g) and (g.id is None or g.wait_minutes >= min_minutes)),
        user_modules,
    )
    # Goroutine ids, when both dumps have them: a goroutine in both dumps is not new, whatever its state was
    # (a long-lived worker that was running before and waits now did not grow its cluster), and goroutines
    # that ended offset new ones (per-request goroutines that come and go are not growth).
    by_id = all(g.id is not None for g in before.goroutines) and all(g.id is not None for g in after.goroutines)
    before_ids = {identity(g) for g in before.goroutines} if by_id else set()
    after_ids = {identity(g) for g in after.goroutines} if by_id else set()
    out: list[ClusterDelta] = []
    for key, cl in a.items():
        prev = b.get(key)
        n_before = prev.count if prev else 0
        persisted = len(cl.ids & prev.ids) if prev else 0
        d = ClusterDelta(cluster=cl, before=n_before, after=cl.count, persisted=persisted)
        if by_id:
            existing = len(cl.ids & before_ids)
            ended = len(prev.ids - after_ids) if prev else 0
            d.new = len(cl.ids) - existing - ended
            d.existing = existing - persisted
        if d.growth >= min_growth or (persistent and persisted > 0):
            out.append(d)
    out.sort(key=lambda d: (-d.growth, -d.after, str(d.cluster.key)))
    return out


def select_single(dump: Dump, *, min_minutes: int, user_modules: tuple[str, ...] = ()) -> list[ClusterDelta]:
    """What a single dump says leaked: the leak profile's leaked goroutines, goleak's entries, or
    goroutines blocked for at least ``min_minutes`` (debug=2 only; debug=1 has no wait times)."""
    if dump.format is DumpFormat.goleak:
        chosen = [g for g in dump.goroutines if g.source is DumpFormat.goleak]
    elif dump.is_leak_report:
        chosen = [g for g in dump.goroutines if g.leaked]
    else:
        chosen = [
            g
            for g in dump.goroutines
            if g.id is not None and is_blocking(g) and not _is_daemon(g) and g.wait_minutes >= min_minutes
        ]
    cl = cluster(chosen, user_modules)
    out = [ClusterDelta(cluster=c, before=0, after=c.count, persisted=0) for c in cl.values()]
    out.sort(key=lambda d: (-d.after, -d.cluster.max_minutes, str(d.cluster.key)))
    return out
