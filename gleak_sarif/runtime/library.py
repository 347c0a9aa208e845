"""Goroutines the standard library starts for a resource the program forgot to release.

An unclosed HTTP response body leaves two goroutines per connection, ``net/http.(*persistConn).readLoop`` and
``writeLoop``, both started by ``net/http.(*Transport).dialConn``: no frame of theirs is in the program, and the
``go`` statements are in GOROOT. They are one cause, so they form one cluster (keyed by the library function
that started them, or by this table's group when a profile has no creators), named after their entry
functions. The table says what the cause usually is and which static rule finds it in the source, so the
report points at the rule even when it cannot point at a line (a dump without ``GODEBUG=tracebackancestors``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LibraryCause:
    group: str  # the cluster's name when the dump has no creators ("net/http.(*persistConn)")
    functions: tuple[str, ...]  # entry or creator functions (prefixes: "os/exec.(*Cmd).Start" covers .func1)
    rule: str  # the static rule that finds the cause
    rule_name: str
    cause: str  # what usually leaves these goroutines behind


CAUSES: tuple[LibraryCause, ...] = (
    LibraryCause("net/http.(*persistConn)",
                 ("net/http.(*persistConn).readLoop", "net/http.(*persistConn).writeLoop",
                  "net/http.(*Transport).dialConn"),
                 "GL505", "response-body-not-closed",
                 "an HTTP response whose body is never closed keeps its connection's read and write loops"),
    LibraryCause("net/http.(*conn).serve", ("net/http.(*conn).serve", "net/http.(*Server).Serve"),
                 "GL504", "server-without-shutdown", "an HTTP server that nothing shuts down keeps serving its connections"),
    LibraryCause("os/exec.(*Cmd)", ("os/exec.(*Cmd).Start", "os/exec.(*Cmd).watchCtx"),
                 "GL506", "cmd-start-without-wait", "a command started and never waited for keeps its I/O copying goroutines"),
    LibraryCause("database/sql.(*DB)", ("database/sql.(*DB).connectionOpener", "database/sql.(*DB).connectionCleaner",
                                        "database/sql.OpenDB"),
                 "GL507", "resource-contract", "a sql.DB that is never closed keeps its connection opener"),
)


def cause_of(*functions: str) -> LibraryCause | None:
    """The table row for any of ``functions`` (entry or creator functions of a cluster)."""
    for row in CAUSES:
        for func in functions:
            if any(func == f or func.startswith(f + ".") for f in row.functions):
                return row
    return None


def short_names(functions: list[str]) -> str:
    """``net/http.(*persistConn).readLoop + writeLoop``: the first name in full, the others without the
    receiver (or package) they share with it."""
    if not functions:
        return "-"
    first = functions[0]
    prefix = first[: first.rfind(".") + 1]
    return " + ".join([first, *(f[len(prefix):] if prefix and f.startswith(prefix) else f for f in functions[1:])])
