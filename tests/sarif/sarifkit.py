"""Shared helpers for the SARIF, suppression, baseline and merge tests (fixtures are in conftest.py).

`sarif-schema-2.1.0.json` beside this file is the SARIF 2.1.0 schema (JSON Schema draft 2020-12) shipped as
`sarif-2.1.0.json` in the npm package `@microsoft/sarif-multitool-linux@5.7.0` (MIT, Microsoft), the
validator's own copy; see README.md here.

The Multitool (`scripts/install-sarif-validator`) is an external tool: a test that needs it fails when the
environment variable CI is set and it is missing, and is skipped with a reason otherwise.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema

from gleak_sarif.model import (
    Finding,
    Fix,
    Precision,
    RelatedLocation,
    RuleMeta,
    Severity,
    Span,
    TextEdit,
)

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
SCHEMA_PATH = HERE / "sarif-schema-2.1.0.json"
VALIDATOR_DEFAULT = (
    REPO / ".cache/sarif-multitool/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool"
)


# ------------------------------------------------------------------------------------------ Go sources


class GoFile:
    """A real Go file on disk, with helpers that compute spans (byte columns) by searching its text."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
        self.data = text.encode("utf-8")
        self.lines = self.data.split(b"\n")

    def line_of(self, needle: str, nth: int = 1) -> int:
        seen = 0
        for i, line in enumerate(self.lines, start=1):
            if needle.encode() in line:
                seen += 1
                if seen == nth:
                    return i
        raise AssertionError(f"{needle!r} not in {self.path}")

    def span(self, needle: str, *, nth: int = 1, to_eol: bool = False, end_needle: str | None = None) -> Span:
        """The span of ``needle`` on its nth line (or to the end of that line, or to ``end_needle``)."""
        line = self.line_of(needle, nth)
        raw = self.lines[line - 1]
        col = raw.index(needle.encode()) + 1
        offset = sum(len(x) + 1 for x in self.lines[: line - 1])
        if end_needle is not None:
            end_line = self.line_of(end_needle)
            end_raw = self.lines[end_line - 1]
            end_col = end_raw.index(end_needle.encode()) + len(end_needle.encode()) + 1
            end_off = sum(len(x) + 1 for x in self.lines[: end_line - 1]) + end_col - 1
            return Span(
                path=str(self.path),
                start_byte=offset + col - 1,
                end_byte=end_off,
                start_line=line,
                start_column=col,
                end_line=end_line,
                end_column=end_col,
            )
        end_col = len(raw) + 1 if to_eol else col + len(needle.encode())
        return Span(
            path=str(self.path),
            start_byte=offset + col - 1,
            end_byte=offset + end_col - 1,
            start_line=line,
            start_column=col,
            end_line=line,
            end_column=end_col,
        )


LEAK_GO = """package leaky

import (
\t"context"
\t"time"
)

// Fetch asks a slow backend; the goroutine leaks when ctx ends first.
func Fetch(ctx context.Context, q string) (string, error) {
\tch := make(chan string)
\tlabel := "café 😀"; go func() { ch <- slow(q + label) }()
\tselect {
\tcase v := <-ch:
\t\treturn v, nil
\tcase <-ctx.Done():
\t\treturn "", ctx.Err()
\t}
}

func slow(q string) string {
\ttime.Sleep(time.Second)
\treturn q
}

// Poll never stops its ticker.
func Poll() {
\tt := time.NewTicker(time.Second) //nolint:gleak // owned by the process, exits with it
\t_ = t
}
"""


def rule_gl201() -> RuleMeta:
    return RuleMeta(
        id="GL201",
        name="send-abandoned-by-select",
        severity=Severity.error,
        precision=Precision.high,
        tags=["concurrency", "goroutine-leak", "reliability"],
        summary="A goroutine sends on an unbuffered channel whose receiver may stop waiting.",
        what="Flags a goroutine that sends on a local unbuffered channel while the parent receives in a "
        "`select` that can take another case (`ctx.Done()`, `time.After`, `default`).",
        why="When the other case wins, nobody ever receives: the send blocks forever and the goroutine, with "
        "everything it references, leaks.",
        example="ch := make(chan string)\ngo func() { ch <- work() }()\nselect {\ncase v := <-ch:\n\treturn v\n"
        "case <-ctx.Done():\n\treturn ctx.Err()\n}",
        use_instead="ch := make(chan string, 1) // the send always completes",
        references=["https://go.dev/ref/spec#Select_statements", "https://go.dev/blog/pipelines"],
        has_fix=True,
    )


def rule_gl502() -> RuleMeta:
    return RuleMeta(
        id="GL502",
        name="ticker-not-stopped",
        severity=Severity.warning,
        precision=Precision.medium,
        tags=["concurrency", "resource-leak"],
        summary="A time.Ticker is never stopped.",
        what="Flags `time.NewTicker` whose ticker is not stopped, returned or stored.",
        why="A ticker that is never stopped keeps its runtime timer alive.",
        example="t := time.NewTicker(time.Second)",
        use_instead="t := time.NewTicker(time.Second)\ndefer t.Stop()",
    )


def rule_gl101() -> RuleMeta:
    return RuleMeta(
        id="GL101",
        name="goroutine-launch",
        severity=Severity.note,
        precision=Precision.very_high,
        tags=["inventory"],
        summary="A goroutine is started here.",
        what="Lists every `go` statement.",
        why="An inventory of goroutines is the starting point of a leak review.",
        example="go serve()",
        enabled_by_default=False,
    )


def gl201_finding(go: GoFile) -> Finding:
    make = go.span("make(chan string)")
    return Finding(
        rule_id="GL201",
        rule_name="send-abandoned-by-select",
        severity=Severity.error,
        message="The goroutine sends on ch, which nobody receives once ctx is done. It leaks.",
        primary=go.span("go func()", to_eol=True),
        related=[
            RelatedLocation(span=go.span("ch := make(chan string)"), message="ch is made here, unbuffered"),
            RelatedLocation(span=go.span("case <-ctx.Done():"), message="this case leaves without receiving"),
        ],
        metavariables={"CH": "ch"},
        fix=Fix(
            description="Give ch a buffer of 1 so the send always completes",
            edits=[
                TextEdit(
                    path=str(go.path),
                    start_byte=make.start_byte,
                    end_byte=make.end_byte,
                    new_text="make(chan string, 1)",
                )
            ],
        ),
        properties={"confidence": "high"},
    )


def gl502_finding(go: GoFile) -> Finding:
    return Finding(
        rule_id="GL502",
        rule_name="ticker-not-stopped",
        severity=Severity.warning,
        message="ticker t is never stopped",
        primary=go.span("time.NewTicker(time.Second)"),
    )


def gl101_finding(go: GoFile) -> Finding:
    return Finding(
        rule_id="GL101",
        rule_name="goroutine-launch",
        severity=Severity.note,
        message="goroutine started: func literal",
        primary=go.span("go func()", to_eol=True),
    )


# ------------------------------------------------------------------------------------------ validation


def schema_errors(log: dict[str, Any]) -> list[str]:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(log)]


@dataclass
class ValidatorReport:
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def rule_ids(self, level: str) -> list[str]:
        return [line.split(":", 1)[0] for line in getattr(self, level)]


# Notes the Multitool always prints for gleak-sarif's SARIF, each a deliberate choice (see README.md).
EXPECTED_NOTES = {
    "SARIF2002",  # message text, not id + arguments: GitHub displays message.text only
    "SARIF2003",  # no versionControlProvenance: GitHub knows the commit it analyses
    "SARIF2006",  # $schema / helpUri not reachable: this machine has no internet access
    "SARIF2011",  # no contextRegion: GitHub reads the code from the repository; saves log size
    "SARIF2013",  # no embedded file contents: size, and GitHub has the files
}


def write_log(tmp_path: Path, log: dict[str, Any], name: str = "out.sarif") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(log, indent=2, ensure_ascii=False), encoding="utf-8")
    return path
