"""`model: {type: ...}` in the rule language: typed metavariables through the real engine, and the loader's
errors for bad type names (file and line)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import RULE_HEADER, lines, run_rule, write

GO = """
package p

import (
    "net/http"
    "sync"
)

type Gauge struct{ n int }

func (g *Gauge) Add(n int) {}

type Group struct{ sync.WaitGroup }

func f(c *http.Client, g *Gauge, grp *Group, other interface{ Add(int) }) {
    var wg sync.WaitGroup
    wg.Add(1)
    g.Add(1)
    grp.Add(1)
    other.Add(1)
    resp, _ := c.Get("u")
    _ = resp
}
"""


def _rule(query: str) -> str:
    return f"""
rule:
  all:
    - pattern: $X.Add($_)
    - model: {{type: {query}}}
"""


@pytest.mark.parametrize(("query", "expected"), [
    ("{of: $X, types: [sync.WaitGroup]}", [16]),
    ("{of: $X, types: [sync.WaitGroup], deref: true}", [16]),
    ("{of: $X, types: [\"*Gauge\"]}", [17]),
    ("{of: $X, types: [Gauge], deref: true}", [17]),
    # the type declaring the method: promoted from the embedded WaitGroup
    ("{of: $X, method: Add, types: [sync.WaitGroup]}", [16, 18]),
    ("{of: $X, not-types: [sync.WaitGroup, \"*Gauge\"]}", [18, 19]),  # known only: `*Group`, interface{...}
    ("{of: $X, method: Add, not-types: [sync.WaitGroup]}", [17]),  # interface{...} declares nothing: unknown
    ("{of: $X, method: Add, unknown: true}", [19]),
])
def test_type_constraint(tmp_path: Path, query: str, expected: list[int]) -> None:
    assert lines(run_rule(tmp_path, _rule(query), GO)) == expected


def test_type_of_a_declared_name_and_sibling_files(tmp_path: Path) -> None:
    """`resp` is bound to the name its declaration declares; the client's field is declared in a sibling file."""
    write(tmp_path / "src" / "decl.go", """
        package p

        import "net/http"

        type Fetcher struct{ hc *http.Client }
        """)
    body = """
rule:
  all:
    - pattern: $R, $_ := $C.Do($_)
    - model: {type: {of: $R, types: ["*net/http.Response"]}}
"""
    source = """
        package p

        func (f *Fetcher) get() {
            resp, err := f.hc.Do(nil)
            _, _ = resp, err
        }
        """
    assert lines(run_rule(tmp_path, body, source)) == [4]


BAD = [
    ("{of: $X, types: [sync.WaitGroop]}", "package sync has no exported type WaitGroop"),
    ("{of: $X, types: [\"map[string]int\"]}", "is not a type name"),
    ("{of: $X, types: [sync.WaitGroup], unknown: true}", "exactly one of"),
    ("{of: $X}", "exactly one of"),
]


@pytest.mark.parametrize(("query", "words"), BAD)
def test_bad_type_names_are_loader_errors(tmp_path: Path, query: str, words: str) -> None:
    rule = write(tmp_path / "bad.yml", RULE_HEADER + _rule(query).lstrip("\n"))
    src = write(tmp_path / "a.go", GO)
    done = subprocess.run([sys.executable, "-m", "gleak_sarif", "scan", "--no-builtin-rules", "--rules", str(rule),
                           str(src)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert "bad.yml:10:" in done.stderr, done.stderr  # the `model:` item's line
    assert words in done.stderr, done.stderr
