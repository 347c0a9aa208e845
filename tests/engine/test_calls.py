"""`calls: R`: one level into same-file and same-package callees, by name, with fresh bindings."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

from gleak_sarif.config import ScanOptions
from gleak_sarif.engine import Engine, callees
from gleak_sarif.engine.context import ScanContext
from gleak_sarif.engine.worker import scan_path
from gleak_sarif.model import Finding
from gleak_sarif.rules.query import prepare_pack
from tests.helpers import RULE_HEADER, lines, run_rule, write

# a call whose callee starts a goroutine
STARTS_GOROUTINE = """
rule:
  kind: call_expression
  calls:
    has:
      kind: go_statement
"""

SAME_FILE = """\
package p

import "time"

type Pool struct{ jobs chan int }

func spawn(n int) {
	for i := 0; i < n; i++ {
		go func() {}()
	}
}

func quiet() {}

func (p *Pool) Start() {
	go func() {
		for range p.jobs {
		}
	}()
}

func (p *Pool) Stop() { close(p.jobs) }

func nested() {
	f := func() { go quiet() }
	f()
}

func use(p *Pool) {
	spawn(2)
	quiet()
	p.Start()
	p.Stop()
	time.Sleep(1)
	nested()
}
"""


def test_plain_and_method_calls_of_same_file_declarations(tmp_path: Path) -> None:
    found = run_rule(tmp_path, STARTS_GOROUTINE, SAME_FILE)
    # spawn(2) and p.Start(); quiet() does not start one, time.Sleep is another package, and nested()'s
    # `go` is inside a literal (has stops at nested functions by default)
    assert lines(found) == [30, 32]


def test_package_qualified_call_never_matches_a_local_name(tmp_path: Path) -> None:
    source = """\
    package p

    import "time"

    func Sleep(d time.Duration) { go func() {}() }

    func use() {
	time.Sleep(1)
	Sleep(1)
    }
    """
    assert lines(run_rule(tmp_path, STARTS_GOROUTINE, source)) == [9]


def _scan_dir(tmp_path: Path, rule_body: str, files: dict[str, str]) -> list[Finding]:
    rule_file = write(tmp_path / "rules" / "TST001.yml", RULE_HEADER + textwrap.dedent(rule_body))
    for name, text in files.items():
        write(tmp_path / "pkg" / name, text)
    engine = Engine(ScanOptions(rules=[str(rule_file)], builtin_rules=False, jobs=1, use_cache=False))
    return engine.scan([str(tmp_path / "pkg")]).findings


def _at(findings: list[Finding]) -> list[tuple[str, int]]:
    return sorted((os.path.basename(f.primary.path), f.primary.start_line) for f in findings)


PACKAGE = {
    "a.go": """\
        package p

        func run() {
	startWorker()
	helper()
	var s server
	s.serve()
        }
        """,
    "b.go": """\
        package p

        type server struct{}

        func startWorker() { go helper() }

        func helper() {}

        func (s *server) serve() { go helper() }
        """,
    # same directory, other package clause: ignored
    "c.go": """\
        //go:build ignore

        package main

        func helper() { go func() {}() }
        """,
    # test files are part of the package only for other test files
    "d_test.go": """\
        package p

        func startTestWorker() { go helper() }

        func exercise() { startTestWorker(); startWorker() }
        """,
}


def test_callees_in_sibling_files_of_the_same_package(tmp_path: Path) -> None:
    found = _scan_dir(tmp_path, STARTS_GOROUTINE, PACKAGE)
    # a.go: startWorker() and s.serve() (b.go), not helper() (b.go's helper does not start one and c.go
    # is package main); d_test.go: both calls (the test file sees a.go/b.go and itself)
    assert _at(found) == [("a.go", 4), ("a.go", 7), ("d_test.go", 5), ("d_test.go", 5)]


def test_non_test_files_do_not_see_test_declarations(tmp_path: Path) -> None:
    files = dict(PACKAGE)
    files["a.go"] = """\
        package p

        func run() { startTestWorker() }
        """
    found = _scan_dir(tmp_path, STARTS_GOROUTINE, files)
    assert ("a.go", 3) not in _at(found)


def test_bindings_do_not_cross_into_the_callee(tmp_path: Path) -> None:
    # $CH in the callee is its own: the caller's $CH (bound to `out`) must not constrain it
    body = """
rule:
  all:
    - pattern: $CH := $F()
    - has:
        kind: call_expression
        stopBy: end
        calls:
          all:
            - has:
                pattern: $CH := make(chan int)
            - has:
                pattern: return $CH
"""
    source = """\
    package p

    func feed() chan int {
	ch := make(chan int)
	go func() { ch <- 1 }()
	return ch
    }

    func use() {
	out := feed()
	_ = out
    }
    """
    assert lines(run_rule(tmp_path, body, source)) == [10]


def test_nested_calls_look_one_more_level(tmp_path: Path) -> None:
    body = """
rule:
  kind: call_expression
  calls:
    has:
      kind: call_expression
      calls:
        has:
          kind: go_statement
"""
    source = """\
    package p

    func inner() { go func() {}() }

    func outer() { inner() }

    func use() {
	outer()
	inner()
    }
    """
    # outer() reaches a `go` two levels down; inner() starts one directly, which the nested rule does
    # not ask for
    assert lines(run_rule(tmp_path, body, source)) == [8]


def test_sibling_answers_are_cached_per_package(tmp_path: Path) -> None:
    rule_file = write(tmp_path / "rules" / "TST001.yml", RULE_HEADER + textwrap.dedent(STARTS_GOROUTINE))
    for name, text in PACKAGE.items():
        write(tmp_path / "pkg" / name, text)
    engine = Engine(ScanOptions(rules=[str(rule_file)], builtin_rules=False, jobs=1, use_cache=False))
    prepare_pack(engine.pack)
    context = ScanContext(engine.pack, engine.options)
    for path in sorted((tmp_path / "pkg").glob("*.go")):
        scan_path(context, str(path))
    found = context.callees
    scopes = [s for key, s in found._packages.items() if key[0] == str(tmp_path / "pkg")]
    assert scopes, "the package scope was not built"
    # answers are per (rule object, kind, name, declaring file)
    answers = {(kind, name): value for scope in scopes for (_, kind, name, _), value in scope.answers.items()}
    assert answers[(callees.FUNCTION, "startWorker")] is True
    assert answers[(callees.FUNCTION, "helper")] is False
    # only files that declare a wanted name were parsed
    assert found._parsed and all(not path.endswith("a.go") for path in found._parsed)
