"""Fuzz targets shared by the property tests (short, fixed budget in CI) and `scripts/fuzz` (long runs).

Each target is a plain function of one generated value that raises AssertionError (or anything else) on a
bug; STRATEGIES gives the hypothesis strategy that feeds it. Inputs are half structured (real fixtures,
rule files and dump lines, mutated) and half noise, so the fuzzer reaches deep code, not only the first
"this is not Go" check.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import yaml
from hypothesis import strategies as st
from tree_sitter import Query

from gleak_sarif.config import ScanOptions
from gleak_sarif.engine.evaluate import FileTimeoutError
from gleak_sarif.engine.worker import scan_source
from gleak_sarif.errors import ConfigError
from gleak_sarif.gosource import GO
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
from gleak_sarif.rules.compiler import BUILTIN_IMPORTS, RulePack, prepare_pack
from gleak_sarif.rules.loader import load_pack, load_rule_file
from gleak_sarif.rules.pattern import PatternError, compile_snippet
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
        result = scan_source(builtin_pack(), _OPTIONS, "fuzz.go", data, (1, 22))
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


# name -> (target, strategy, needs a temp dir)
TARGETS: dict[str, tuple[Callable[..., None], st.SearchStrategy[Any], bool]] = {
    "engine": (engine_on_bytes, go_bytes(), False),
    "pattern": (compile_any_snippet, st.tuples(snippets(), SELECTORS), False),
    "rules": (load_any_rule, yamlish(), True),
    "dumps": (parse_any_dump, dumps_text(), False),
    "sarif": (sarif_of_any_result, st.tuples(scan_results(), st.none() | _TEXT), True),
}
