"""Typed goroutine-dump model shared by the parsers, the clustering and the source mapping.

Plain slotted dataclasses, not pydantic: a 100,000-goroutine dump makes ~10^6 frames and pydantic
validation would dominate the parse time and memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from gleak_sarif.model import Notification


class DumpFormat(StrEnum):
    debug2 = "goroutine-debug2"  # pprof ?debug=2, runtime.Stack(all), panic / SIGQUIT tracebacks
    debug1 = "goroutine-debug1"  # pprof ?debug=1: grouped counts, no ids, states or creators
    debug0 = "goroutine-debug0"  # pprof default (gzipped protobuf): like debug=1, plus function start lines
    leak_debug0 = "goroutineleak-debug0"  # Go 1.26 goroutineleak profile, default (protobuf) form
    leak_debug1 = "goroutineleak-debug1"  # Go 1.26 goroutineleak profile, ?debug=1
    leak_debug2 = "goroutineleak-debug2"  # debug=2 text where goroutines carry "(leaked)"
    goleak = "goleak"  # uber-go/goleak failure output (VerifyNone / VerifyTestMain)
    empty = "empty"


@dataclass(slots=True)
class Frame:
    func: str  # as printed: "example.com/m/pkg.(*T).Run.func1"
    file: str  # as printed (build machine path, module cache path or -trimpath path)
    line: int
    args: str = ""  # raw argument text; "..." for inlined frames; "" when absent (debug=1)
    offset: str = ""  # "+0x1e" or "" (inlined frames have none)
    start_line: int = 0  # line of the function's "func" keyword: debug=0 profiles only (0: unknown)

    @property
    def location(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(slots=True)
class Ancestor:
    """One ``[originating from goroutine N]:`` block (GODEBUG=tracebackancestors=N)."""

    goroutine_id: int
    frames: list[Frame] = field(default_factory=list)
    created_by: Frame | None = None


@dataclass(slots=True)
class Goroutine:
    id: int | None  # None for debug=1 records
    state: str  # the wait reason or scheduler state, flags removed ("chan send", "select (no cases)")
    frames: list[Frame] = field(default_factory=list)  # innermost first
    created_by: Frame | None = None  # the function that ran the go statement, at the go statement
    creator_id: int | None = None  # "created by X in goroutine N" (Go 1.21+)
    wait_minutes: int = 0
    leaked: bool = False  # "(leaked)" flag (Go 1.26 leak detection) or a goroutineleak debug=1 record
    locked: bool = False  # "locked to thread"
    scan: bool = False
    labels: dict[str, str] = field(default_factory=dict)
    elided: int = 0  # frames elided from the middle of the stack (-1: count not printed)
    ancestors: list[Ancestor] = field(default_factory=list)
    count: int = 1  # debug=1 records stand for ``count`` goroutines
    sysinfo: str = ""  # " gp=... m=..." with GOTRACEBACK=system
    extra_status: list[str] = field(default_factory=list)  # unknown status parts, kept verbatim
    stack_unavailable: bool = False  # "goroutine running on other thread; stack unavailable"
    line: int = 0  # 1-based line of the header in the input
    source: DumpFormat = DumpFormat.debug2


@dataclass(slots=True)
class Dump:
    format: DumpFormat
    goroutines: list[Goroutine] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)
    profile: str = ""  # "goroutine" / "goroutineleak" for debug=1 input
    total: int | None = None  # "profile: total N" when present
    path: str | None = None

    @property
    def goroutine_count(self) -> int:
        return sum(g.count for g in self.goroutines)

    @property
    def recognised(self) -> bool:
        """Did the input hold a dump or a profile at all? (A profile may list no goroutine.)"""
        return self.format is not DumpFormat.empty or bool(self.profile)

    @property
    def is_leak_report(self) -> bool:
        """True when the dump itself claims the goroutines leaked (leak profile or goleak output)."""
        return self.format in LEAK_FORMATS


# Formats without goroutine ids, states, wait times or "created by" lines: grouped count records.
RECORD_FORMATS = frozenset({DumpFormat.debug1, DumpFormat.leak_debug1, DumpFormat.debug0, DumpFormat.leak_debug0})
LEAK_FORMATS = frozenset({DumpFormat.leak_debug0, DumpFormat.leak_debug1, DumpFormat.leak_debug2, DumpFormat.goleak})
