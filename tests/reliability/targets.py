"""Fuzz targets shared by the property tests (short, fixed budget in CI) and `scripts/fuzz` (long runs).

Each target is a plain function of one generated value that raises AssertionError (or anything else) on a
bug; STRATEGIES gives the hypothesis strategy that feeds it. Inputs are half structured (real fixtures,
rule files and dump lines, mutated) and half noise, so the fuzzer reaches deep code, not only the first
"this is not Go" check.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import yaml
from hypothesis import strategies as st
from tree_sitter import Query

from gleak_sarif.config import ScanOptions
from gleak_sarif.engine.context import ScanContext
from gleak_sarif.engine.evaluate import FileTimeoutError
from gleak_sarif.engine.worker import scan_source
from gleak_sarif.errors import ConfigError
from gleak_sarif.gosource import BUILTIN_IMPORTS, GO
from gleak_sarif.model import (
    BaselineState,
    Finding,
    Fix,
    Notification,
    NotificationKind,
    Precision,
    RelatedLocation,
    RuleMeta,
    ScanResult,
    Severity,
    Span,
    Suppression,
    TextEdit,
)
from gleak_sarif.rules.compiled import RulePack
from gleak_sarif.rules.loader import load_pack, load_rule_file
from gleak_sarif.rules.pattern import PatternError, compile_snippet
from gleak_sarif.rules.query import prepare_pack
from gleak_sarif.runtime.parse import parse_dump

REPO = Path(__file__).resolve().parents[2]
SCHEMA_PATH = REPO / "tests" / "sarif" / "sarif-schema-2.1.0.json"


# ---------------------------------------------------------------- seeds


@functools.cache
def go_seeds() -> tuple[bytes, ...]:
    """Every Go file of the fixture set (rule fixtures and the example service)."""
    return tuple(p.read_bytes() for p in sorted((REPO / "fixtures").rglob("*.go")))


@functools.cache
def rule_seeds() -> tuple[str, ...]:
    return tuple(p.read_text(encoding="utf-8") for p in sorted((REPO / "rules").rglob("*.yml")))


DUMP_LINES = (
    "goroutine 1 [running]:",
    "goroutine 18 [chan send, 5 minutes]:",
    "goroutine 7 gp=0xc000002380 m=nil [select (no cases)]:",
    'goroutine 9 [chan receive labels:{"http.route": "GET /leak", "k": "a]b"}]:',
    'goroutine 9 [semacquire] {http.route: "GET /x"}:',
    "goroutine 33 [sync.WaitGroup.Wait, 2 minutes, locked to thread]:",
    "goroutine 4 [IO wait (leaked)]:",
    "main.leakSend.func1()",
    "main.(*Server).handle(0xc000010000, {0x5b4e20, 0xc00001c0a0})",
    "\t/home/u/app/main.go:42 +0x1d",
    "\t/home/u/app/main.go:42 +0x1d fp=0xc0000 sp=0xc0000 pc=0x4a1b2c",
    "\tmain.go:7",
    "created by main.leakSend in goroutine 1",
    "created by main.start",
    "...additional frames elided...",
    "...5 frames elided...",
    "[originating from goroutine 6]:",
    "goroutine profile: total 4",
    "goroutineleak profile: total 2",
    "2 @ 0x43b3d6 0x4078ec 0x46ba01",
    "#\t0x4078eb\tmain.leakSend.func1+0x2b\t/home/u/app/main.go:12",
    "# labels: {\"k\":\"v\"}",
    "goleak: Errors on successful test run: found unexpected goroutines:",
    "    leak_test.go:12: found unexpected goroutines:",
    "[Goroutine 7 in state chan send, with main.leak.func1 on top of the stack:",
    " Goroutine 8 in state select, 3 minutes, with main.x on top of the stack:",
    "]",
    "panic: boom",
    "=== RUN   TestLeak",
    "--- FAIL: TestLeak (0.00s)",
    "exit status 2",
    "rip    0x46d9a1",
    "",
)

ALPHABET = st.characters(codec="utf-8") | st.sampled_from("\t\n\r \\\"'`$(){}[]<-:;,.\x00\ufeff\u2028")


@st.composite
def _mutated(draw: st.DrawFn, seeds: tuple[bytes, ...]) -> bytes:
    """A seed cut, spliced and sprinkled with bytes: mostly-valid input that reaches the deep code."""
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(0, 6))):
        op = draw(st.sampled_from(["cut", "insert", "delete", "splice", "dup", "flip"]))
        at = draw(st.integers(0, len(data)))
        if op == "cut":
            del data[at:]
        elif op == "insert":
            data[at:at] = draw(st.binary(max_size=16) | st.sampled_from(
                [b"{", b"}", b"(", b")", b"go ", b"func(){", b"<-", b"\xff\xfe", b"\r\n", b"\xef\xbb\xbf",
                 b"select {", b"for {", b"defer ", b"chan ", b"`", b'"', b"/*", b"//"]))
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 64))]
        elif op == "splice":
            other = draw(st.sampled_from(seeds))
            start = draw(st.integers(0, len(other)))
            data[at:at] = other[start : start + draw(st.integers(1, 400))]
        elif op == "dup" and data:
            data[at:at] = data[max(0, at - 200) : at]
        elif op == "flip" and at < len(data):
            data[at] ^= 1 << draw(st.integers(0, 7))
    return bytes(data)


def go_bytes() -> st.SearchStrategy[bytes]:
    nested = st.integers(1, 3000).map(lambda n: b"package p\nfunc f() {\n_ = " + b"(" * n + b"1" + b")" * n
                                      + b"\n" + b"{" * n + b"}" * n + b"\n}\n")
    return st.one_of(st.binary(max_size=2000), _mutated(go_seeds()), nested)


# ---------------------------------------------------------------- targets


@functools.cache
def builtin_pack() -> RulePack:
    pack = load_pack(select=["ALL"])  # every rule, off-by-default ones included
    prepare_pack(pack)
    return pack


_OPTIONS = ScanOptions(file_timeout_seconds=20.0)


def engine_on_bytes(data: bytes) -> None:
    """The parser wrapper and every rule on arbitrary bytes: a result, never an exception."""
    try:
        result = scan_source(ScanContext(builtin_pack(), _OPTIONS), "fuzz.go", data, (1, 22))
    except FileTimeoutError:
        return  # reported by scan_path as a timeout notification
    for finding in result.findings:
        span = finding.primary
        assert 0 <= span.start_byte <= span.end_byte <= len(data), span
        assert 1 <= span.start_line <= span.end_line, span
        finding.model_dump_json()  # every finding serialises (SARIF, JSON, cache)


def snippets() -> st.SearchStrategy[str]:
    fragments = st.sampled_from([
        "$X", "$_", "$$$", "$$$ARGS", "$CH <- $V", "go func() { $$$ }()", "select { $$$ }", "f($A, $$$)",
        "time.After($D)", "make(chan $T)", "for { $$$ }", "defer $F()", "<-$CH", "func($P) {}", "{", "}",
        "(", ")", "[", "]", ";", "\n", "case <-$C:", "var $V $T", "$A := $B", "`", '"', "'", "//", "/*",
        "x.(type)", "...", "$", "$$", "$1", "$a", "package p", "import \"time\"", "interface{}", "~int",
    ])
    joined = st.lists(fragments | st.text(ALPHABET, max_size=8), max_size=8).map(" ".join)
    from_fixtures = _mutated(go_seeds()).map(lambda b: b.decode("utf-8", "replace")[:300])
    return st.one_of(joined, st.text(ALPHABET, max_size=80), from_fixtures)


def compile_any_snippet(args: tuple[str, str | None]) -> None:
    """The pattern compiler: PatternError, or a query tree-sitter compiles (never another exception)."""
    snippet, selector = args
    try:
        compiled = compile_snippet(snippet, BUILTIN_IMPORTS, selector)
    except PatternError:
        return
    query = Query(GO, compiled.query)
    assert query.pattern_count == 1, compiled.query


SELECTORS = st.one_of(st.none(), st.sampled_from(
    ["communication_case", "go_statement", "call_expression", "nope_kind", "ERROR", "", "identifier"]))


def yamlish() -> st.SearchStrategy[str]:
    scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                        st.text(ALPHABET, max_size=20), st.sampled_from(["$X", "f($X)", "go_statement"]))
    keys = st.sampled_from(["id", "name", "severity", "precision", "message", "rule", "pattern", "kind", "all",
                            "any", "not", "inside", "has", "follows", "precedes", "stopBy", "field", "utils",
                            "matches", "query", "regex", "as", "constraints", "docs", "parameters", "rows",
                            "when", "imports", "fix", "related", "primary", "calls", "files", "go-version",
                            "tags", "enabled", "selector", "context"]) | st.text(max_size=6)
    trees = st.recursive(scalars, lambda kids: st.lists(kids, max_size=4)
                         | st.dictionaries(keys, kids, max_size=5), max_leaves=25)
    dumped = trees.map(lambda t: yaml.safe_dump(t, allow_unicode=True))
    mutated_rules = _mutated(tuple(r.encode() for r in rule_seeds())).map(
        lambda b: b.decode("utf-8", "replace"))
    # a real rule with one subtree replaced: passes the header checks, stresses the compiler
    grafted = st.tuples(st.sampled_from(rule_seeds()), trees).map(_graft)
    tags = st.sampled_from(["!!python/object/apply:os.system ['echo pwned']\n",
                            "a: !!python/name:os.system\n", "&a [*a]\n", "a: &x 1\nb: *y\n", "? [a]\n: b\n"])
    return st.one_of(dumped, mutated_rules, grafted, tags, st.text(ALPHABET, max_size=200))


def _graft(args: tuple[str, Any]) -> str:
    text, tree = args
    data = yaml.safe_load(text)
    data["rule"] = tree
    return yaml.safe_dump(data, allow_unicode=True)


def load_any_rule(text: str, tmp: Path) -> None:
    """The rule loader: ConfigError (with the file named) or a compiled rule, never another exception."""
    path = tmp / "fuzz-rule.yml"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    try:
        load_rule_file(path, [])
    except ConfigError as err:
        assert err.path is not None and "fuzz-rule.yml" in err.path, str(err)
        assert str(err).strip()


def dumps_text() -> st.SearchStrategy[str]:
    lines = st.lists(st.sampled_from(DUMP_LINES) | st.text(ALPHABET, max_size=40)
                     | st.sampled_from(DUMP_LINES).flatmap(
                         lambda line: st.integers(0, max(0, len(line))).map(lambda n: line[:n])),
                     max_size=40)
    return lines.map("\n".join) | st.text(ALPHABET, max_size=400)


def parse_any_dump(text: str) -> None:
    """The dump parsers: goroutines and notifications, never an exception; notifications are bounded."""
    dump = parse_dump(text, "fuzz.txt")
    assert len(dump.notifications) <= 201, len(dump.notifications)
    for note in dump.notifications:
        assert note.message


@functools.cache
def sarif_schema() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return data


@functools.cache
def _validator() -> Any:
    schema = sarif_schema()
    return jsonschema.validators.validator_for(schema)(schema)


_TEXT = st.text(ALPHABET, max_size=30)
_PATHS = st.sampled_from(["a.go", "dir with space/é.go", "/abs/x.go", "../up.go", "a%20b.go", "c:\\win.go",
                          "", "#frag?.go"]) | _TEXT
_INTS = st.integers(-3, 400) | st.just(2**31 - 1)
_SPANS = st.builds(Span, path=_PATHS, start_byte=_INTS, end_byte=_INTS, start_line=_INTS,
                   start_column=_INTS, end_line=_INTS, end_column=_INTS)
_RULE_IDS = st.sampled_from(["GL201", "GL101", "GLR001", "TST001"]) | st.text(ALPHABET, max_size=8)
_FINDINGS = st.builds(
    Finding,
    rule_id=_RULE_IDS,
    rule_name=_TEXT,
    severity=st.sampled_from(Severity),
    message=_TEXT,
    primary=_SPANS,
    related=st.lists(st.builds(RelatedLocation, span=_SPANS, message=_TEXT), max_size=3),
    metavariables=st.dictionaries(_TEXT, _TEXT, max_size=2),
    fix=st.none() | st.builds(Fix, description=_TEXT, edits=st.lists(st.builds(
        TextEdit, path=_PATHS, start_byte=_INTS, end_byte=_INTS, new_text=_TEXT), max_size=2)),
    suppression=st.none() | st.builds(Suppression, directive=_TEXT, justification=_TEXT),
    baseline_state=st.none() | st.sampled_from(BaselineState),
    properties=st.dictionaries(st.sampled_from(["count", "x", "confirmed"]),
                               st.integers() | _TEXT | st.lists(_TEXT, max_size=2), max_size=2),
    code_flow=st.none() | st.lists(st.tuples(st.none() | _SPANS, _TEXT), max_size=3),
)
_NOTES = st.builds(Notification, kind=st.sampled_from(NotificationKind), level=st.sampled_from(Severity),
                   message=_TEXT, path=st.none() | _PATHS, line=st.none() | _INTS)


def _meta(rule_id: str) -> RuleMeta:
    return RuleMeta(id=rule_id, name="fuzz-rule", severity=Severity.warning, precision=Precision.high,
                    summary="A fuzz rule.", what="w", why="y")


def scan_results() -> st.SearchStrategy[ScanResult]:
    return st.builds(
        ScanResult,
        findings=st.lists(_FINDINGS, max_size=5),
        notifications=st.lists(_NOTES, max_size=4),
        rules=st.lists(_RULE_IDS.map(_meta), max_size=3),
        files_scanned=st.integers(0, 10),
    )


def sarif_of_any_result(args: tuple[ScanResult, str | None], tmp: Path) -> None:
    """The SARIF writer on arbitrary findings: always valid against the SARIF 2.1.0 schema."""
    from gleak_sarif.report import render

    result, category = args
    text = render(result, "sarif", category=category, source_root=str(tmp))
    log = json.loads(text)
    _validator().validate(log)
    for fmt in ("json", "text", "github"):
        render(result, fmt)


# ---------------------------------------------------------------- hostile inputs of the threat model
# (issue 22: SARIF logs handed to merge/--baseline, engine-server requests, `.gleak.yml`, rule regexes,
# file names reaching the reports)


@functools.cache
def sarif_seed() -> str:
    """A real SARIF log of gleak-sarif: the example scanned, with a baseline state and a notification."""
    from gleak_sarif.engine import Engine
    from gleak_sarif.report import render

    example = REPO / "fixtures" / "example"
    result = Engine(ScanOptions(jobs=1, use_cache=False, config_path=None)).scan([str(example)])
    result.notifications.append(Notification(kind=NotificationKind.parse_error, message="m",
                                             path=str(example / "server.go"), line=3))
    return render(result, "sarif", source_root=str(example))


_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-2, 2**40) | st.floats(allow_nan=False) | st.text(ALPHABET, max_size=12)
    | st.sampled_from(["../../etc/passwd", "file:///etc/passwd", "%2e%2e/x", "SRCROOT", "2.1.0", "\ud800"]),
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(ALPHABET, max_size=8), kids, max_size=3),
    max_leaves=8)


@st.composite
def _json_mutated(draw: st.DrawFn, text: str) -> str:
    """A JSON document with a few values (at any depth) replaced, removed or duplicated."""
    data = json.loads(text)
    for _ in range(draw(st.integers(1, 4))):
        node: Any = data
        parent: Any = None
        key: Any = None
        for _depth in range(draw(st.integers(0, 9))):
            if isinstance(node, dict) and node:
                parent, key = node, draw(st.sampled_from(sorted(node)))
            elif isinstance(node, list) and node:
                parent, key = node, draw(st.integers(0, len(node) - 1))
            else:
                break
            node = parent[key]
        if parent is None:
            continue
        action = draw(st.sampled_from(["replace", "replace", "delete"]))
        if action == "delete" and isinstance(parent, dict):
            del parent[key]
        else:
            parent[key] = draw(_JSON_VALUES)
    return json.dumps(data)


def sarif_logs() -> st.SearchStrategy[str]:
    seed = st.just(None).map(lambda _: sarif_seed())
    return st.one_of(seed.flatmap(_json_mutated), seed.flatmap(
        lambda text: _mutated((text.encode(),)).map(lambda b: b.decode("utf-8", "replace"))))


def read_any_sarif(text: str, tmp: Path) -> None:
    """`merge` and `--baseline` on a hostile log: a merged log or ConfigError, never another exception."""
    from gleak_sarif.baseline import apply_baseline
    from gleak_sarif.report.merge import merge_sarif

    path = tmp / "fuzz.sarif"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    for read in (lambda: merge_sarif([str(path)]), lambda: apply_baseline(ScanResult(source_root=str(tmp)), str(path))):
        try:
            read()
        except ConfigError as err:
            assert str(err).strip()


def server_lines() -> st.SearchStrategy[bytes]:
    fields = st.fixed_dictionaries({}, optional={
        "protocol": st.sampled_from([1, 1, 1, 2, "1", None]),
        "id": st.integers() | st.text(ALPHABET, max_size=6) | st.sampled_from(["\ud800", True, None, [1]]),
        "method": st.sampled_from(["hello", "scan", "scan", "nope", ""]),
        "files": st.lists(st.sampled_from(["nope.go", "", "\udcff.go", "/dev/null", "."])
                          | st.text(ALPHABET, max_size=10), max_size=3),
        "select": st.lists(st.sampled_from(["GL2", "ALL", "NOPE", ""]), max_size=2),
        "fail_level": st.sampled_from(["error", "warning", "none", "fatal", 3]),
        "config": st.sampled_from(["nope.yml", "", None]),
    })
    as_json = fields.map(lambda d: json.dumps(d).encode())  # ensure_ascii: lone surrogates as `\ud800`
    return st.one_of(as_json, as_json.flatmap(lambda b: _mutated((b,))), st.binary(max_size=200))


def serve_any_line(line: bytes) -> None:
    """The engine server on one hostile request line: one answer, valid UTF-8 JSON, never an exception."""
    import io

    from gleak_sarif.bridge.server import serve

    out = io.BytesIO()
    assert serve(io.BytesIO(line.replace(b"\n", b" ") + b"\n"), out) == 0
    answers = out.getvalue().splitlines()
    assert len(answers) <= 1
    for answer in answers:
        reply = json.loads(answer.decode("utf-8"))
        assert reply["ok"] in (True, False)


def configs() -> st.SearchStrategy[str]:
    scalars = st.one_of(st.none(), st.booleans(), st.integers(-10, 10**6), st.text(ALPHABET, max_size=12),
                        st.sampled_from(["GL201", "error", "note", "*.go", "9" * 5000, "!!python/name:os.system"]))
    keys = st.sampled_from(["select", "ignore", "rules", "exclude", "severity", "resources", "fail-level",
                            "include-vendor", "include-testdata", "tests", "per-file-ignores", "constructor",
                            "release", "import-path"]) | st.text(ALPHABET, max_size=6)
    trees = st.recursive(scalars, lambda kids: st.lists(kids, max_size=3) | st.dictionaries(keys, kids, max_size=4),
                         max_leaves=15)
    return st.one_of(trees.map(lambda t: yaml.safe_dump(t, allow_unicode=True)), st.text(ALPHABET, max_size=200),
                     st.sampled_from(["severity:\n  GL201: " + "9" * 5000 + "\n", "a: &a [*a]\n",
                                      "!!python/object/apply:os.system ['echo x']\n"]))


def load_any_config(text: str, tmp: Path) -> None:
    """`.gleak.yml` (it comes with the scanned repository): a config or ConfigError naming the file."""
    from gleak_sarif.config import load_project_config

    path = tmp / ".gleak.yml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        load_project_config(str(path))
    except ConfigError as err:
        assert ".gleak.yml" in str(err), str(err)


def regexes() -> st.SearchStrategy[tuple[str, str]]:
    atoms = st.sampled_from(["a", "(a+)+", "(a|a)*", "(a*)*", ".*", "\\w+", "(?i)", "[a-z]", "b", "$", "^",
                             "(?=a)", "\\1", "(", ")", "*", "{2,5}", "\\", "[", "(?P<x>a)"])
    pattern = st.lists(atoms | st.text(ALPHABET, max_size=3), max_size=8).map("".join)
    text = st.sampled_from(["a" * 40, "a" * 5000 + "c", "ctx", ""]) | st.text(ALPHABET, max_size=40)
    return st.tuples(pattern, text)


def run_any_regex(args: tuple[str, str]) -> None:
    """A rule regex: RegexError at load time, or a search that answers in linear time (RE2)."""
    import time

    from gleak_sarif.rules.regex import RegexError, compile_regex

    pattern, text = args
    try:
        regex = compile_regex(pattern)
    except RegexError:
        return
    started = time.monotonic()
    regex.search(text)
    assert time.monotonic() - started < 1.0, (pattern, len(text))


def file_names() -> st.SearchStrategy[bytes]:
    return st.binary(min_size=1, max_size=20).map(
        lambda b: b.replace(b"/", b"_").replace(b"\0", b"_").lstrip(b".") or b"x") | st.sampled_from(
        [b"bad\xff", b"x.go:1:1: GL999 forged\nleak", b"\r", b"\x1b[31mred", b"%2e%2e", b"a b"])


@functools.cache
def _engine() -> Any:
    from gleak_sarif.engine import Engine

    return Engine(ScanOptions(jobs=1, use_cache=False, config_path=None))


def report_any_file_name(name: bytes, tmp: Path) -> None:
    """A hostile file name through the scanner and every report format: each report is written and is
    valid UTF-8; the name never starts a line of its own in text output."""
    from gleak_sarif.report import render, write_output

    folder = tmp / "names"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    path = os.path.join(os.fsencode(folder), name + b".go")
    with open(path, "wb") as handle:
        handle.write((REPO / "fixtures" / "example" / "server.go").read_bytes())
    result = _engine().scan([str(folder)])
    assert result.findings
    for fmt in ("text", "json", "sarif", "github"):
        out = tmp / f"out.{fmt}"
        write_output(render(result, fmt, source_root=str(folder)), str(out))
        text = out.read_bytes().decode("utf-8")
        if fmt in ("json", "sarif"):
            json.loads(text)
        if fmt == "text":
            starts = [line for line in text.splitlines() if ": GL" in line and not line.startswith(" ")]
            assert len(starts) == len(result.findings), text


# name -> (target, strategy, needs a temp dir)
TARGETS: dict[str, tuple[Callable[..., None], st.SearchStrategy[Any], bool]] = {
    "engine": (engine_on_bytes, go_bytes(), False),
    "pattern": (compile_any_snippet, st.tuples(snippets(), SELECTORS), False),
    "rules": (load_any_rule, yamlish(), True),
    "dumps": (parse_any_dump, dumps_text(), False),
    "sarif": (sarif_of_any_result, st.tuples(scan_results(), st.none() | _TEXT), True),
    "sarif-input": (read_any_sarif, sarif_logs(), True),
    "server": (serve_any_line, server_lines(), False),
    "config": (load_any_config, configs(), True),
    "regex": (run_any_regex, regexes(), False),
    "names": (report_any_file_name, file_names(), True),
}
