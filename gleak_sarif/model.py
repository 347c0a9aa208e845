"""Typed results shared by every part of gleak-sarif: static scan, runtime analysis, reporters, bridge.

Positions are what tree-sitter and go/token give: 1-based lines, 1-based *byte* columns, 0-based byte
offsets. Reporters convert columns to the unit their format needs (SARIF: UTF-16 code units).
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Severity(str, Enum):
    error = "error"
    warning = "warning"
    note = "note"

    @property
    def rank(self) -> int:
        return {"note": 1, "warning": 2, "error": 3}[self.value]


class Precision(str, Enum):
    very_high = "very-high"
    high = "high"
    medium = "medium"
    low = "low"


class Span(BaseModel):
    """A region of one file. ``end_column`` is exclusive, like SARIF's and go/token's."""

    model_config = ConfigDict(frozen=True)

    path: str  # as given to the scanner (absolute or relative to the working directory)
    start_byte: int
    end_byte: int
    start_line: int
    start_column: int
    end_line: int
    end_column: int


class RelatedLocation(BaseModel):
    span: Span
    message: str


class TextEdit(BaseModel):
    path: str
    start_byte: int
    end_byte: int
    new_text: str
    # sha256 of the file's bytes as scanned: `scan --fix` edits only a file that still has them
    file_sha256: str | None = None


class Fix(BaseModel):
    description: str
    edits: list[TextEdit]


class Suppression(BaseModel):
    kind: str = "inSource"
    directive: str  # the comment text that suppressed the finding
    justification: str = ""


class BaselineState(str, Enum):
    new = "new"
    unchanged = "unchanged"
    updated = "updated"
    absent = "absent"


class Finding(BaseModel):
    rule_id: str
    rule_name: str
    severity: Severity
    message: str
    primary: Span
    related: list[RelatedLocation] = Field(default_factory=list)
    metavariables: dict[str, str] = Field(default_factory=dict)
    fix: Fix | None = None
    suppression: Suppression | None = None
    baseline_state: BaselineState | None = None
    # Free-form extras carried to SARIF result.properties (runtime counts, confirmation, ...).
    properties: dict[str, Any] = Field(default_factory=dict)
    # Runtime findings carry the clustered stack: list of (span or None, frame text).
    code_flow: list[tuple[Span | None, str]] | None = None
    # GitHub's `primaryLocationLineHash` of the primary line, set by the scanner while the file is in memory
    # (and kept with the finding in the scan cache); the SARIF writer computes it when absent.
    line_hash: str | None = None

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.primary.path, self.primary.start_line, self.primary.start_column, self.rule_id)


class NotificationKind(str, Enum):
    parse_error = "parse-error"  # file parsed with ERROR nodes; findings kept
    read_error = "read-error"  # unreadable, vanished, not a regular file, not UTF-8-ish, too big
    timeout = "timeout"  # a file took longer than the per-file limit
    worker_crash = "worker-crash"
    config = "config"
    limit = "limit"  # an output limit was reached (e.g. GitHub's results per run)
    runtime_input = "runtime-input"  # a line of a goroutine dump that could not be parsed


class Notification(BaseModel):
    kind: NotificationKind
    level: Severity = Severity.warning
    message: str
    path: str | None = None
    line: int | None = None


class RuleMeta(BaseModel):
    """What reporters need to know about a rule (SARIF tool.driver.rules, explain, rules list)."""

    id: str
    name: str
    severity: Severity
    # `severity-in-tests`: the highest level of its findings in `_test.go` files (None: `severity` there too)
    severity_in_tests: Severity | None = None
    precision: Precision
    tags: list[str] = Field(default_factory=list)
    summary: str  # one sentence: SARIF shortDescription
    what: str
    why: str
    example: str = ""
    use_instead: str = ""
    references: list[str] = Field(default_factory=list)
    enabled_by_default: bool = True
    # other linters that report the same problem: `//nolint:<one of them>` silences this rule on its lines too
    equivalent_linters: list[str] = Field(default_factory=list)
    has_fix: bool = False
    source_path: str | None = None


class ScanResult(BaseModel):
    findings: list[Finding] = Field(default_factory=list)
    notifications: list[Notification] = Field(default_factory=list)
    rules: list[RuleMeta] = Field(default_factory=list)
    files_scanned: int = 0
    files_skipped: int = 0  # skipped by the prefilter or the cache: no rule can match / unchanged
    start_time: str = ""  # ISO 8601 UTC
    end_time: str = ""
    source_root: str | None = None  # absolute directory that SARIF URIs are relative to
