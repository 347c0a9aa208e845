"""The SARIF writer: every field GitHub reads, checked by the schema and by the SARIF Multitool."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sarifkit import (
    EXPECTED_NOTES,
    LEAK_GO,
    GoFile,
    gl101_finding,
    gl201_finding,
    gl502_finding,
    rule_gl101,
    rule_gl201,
    rule_gl502,
    schema_errors,
    write_log,
)

from gleak_sarif.docs import rule_help_markdown, rule_help_text
from gleak_sarif.linehash import line_hashes
from gleak_sarif.model import (
    BaselineState,
    Finding,
    Notification,
    NotificationKind,
    RelatedLocation,
    ScanResult,
    Severity,
    Span,
    Suppression,
)
from gleak_sarif.report.sarif import (
    SarifLimits,
    automation_id,
    build_sarif,
    render_sarif,
)


def make_result(root: Path) -> tuple[ScanResult, GoFile]:
    go = GoFile(root / "internal" / "leaky" / "fetch.go", LEAK_GO)
    gl502 = gl502_finding(go)
    gl502.suppression = Suppression(
        directive="//nolint:gleak // owned by the process, exits with it",
        justification="owned by the process, exits with it",
    )
    result = ScanResult(
        findings=[gl201_finding(go), gl502],
        rules=[rule_gl201(), rule_gl502()],
        notifications=[
            Notification(
                kind=NotificationKind.parse_error,
                message="syntax error: unexpected new(1)",
                path=str(root / "internal" / "broken.go"),
                line=7,
            ),
            Notification(kind=NotificationKind.timeout, message="huge.go took longer than 10s; skipped"),
        ],
        files_scanned=3,
        files_skipped=1,
        start_time="2026-11-27T03:00:00.123456+00:00",
        end_time="2026-11-27T03:00:02Z",
        source_root=str(root),
    )
    return result, go


def sarif_of(result: ScanResult, **kw: Any) -> dict[str, Any]:
    kw.setdefault("category", "gleak")
    kw.setdefault("source_root", None)
    kw.setdefault("tool_version", "0.1.0")
    return build_sarif(result, **kw)


def test_log_shape_matches_github_contract(tmp_path: Path) -> None:
    result, go = make_result(tmp_path)
    log = sarif_of(result)
    assert log["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    assert log["version"] == "2.1.0"
    assert len(log["runs"]) == 1
    run = log["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "gleak-sarif"
    assert driver["semanticVersion"] == "0.1.0"
    assert driver["informationUri"].startswith("https://")
    assert [r["id"] for r in driver["rules"]] == ["GL201", "GL502"]
    assert run["columnKind"] == "utf16CodeUnits"
    assert run["automationDetails"] == {"id": "gleak/"}
    assert run["originalUriBaseIds"]["SRCROOT"]["uri"] == f"file://{tmp_path.resolve()}/"
    assert run["artifacts"][0]["location"] == {"uri": "internal/leaky/fetch.go", "uriBaseId": "SRCROOT"}
    assert run["artifacts"][0]["length"] == len(go.data)

    inv = run["invocations"][0]
    assert inv["executionSuccessful"] is True
    assert inv["startTimeUtc"] == "2026-11-27T03:00:00.123Z"
    assert inv["endTimeUtc"] == "2026-11-27T03:00:02.000Z"
    notes = inv["toolExecutionNotifications"]
    assert [n["descriptor"]["id"] for n in notes] == ["parse-error", "timeout"]
    assert notes[0]["level"] == "warning"  # restored although it is the schema default
    assert notes[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "internal/broken.go"
    assert notes[0]["locations"][0]["physicalLocation"]["region"] == {"startLine": 7}
    assert "locations" not in notes[1]


def test_rules_carry_docs_and_github_properties(tmp_path: Path) -> None:
    result, _ = make_result(tmp_path)
    rules = {r["id"]: r for r in sarif_of(result)["runs"][0]["tool"]["driver"]["rules"]}
    r201 = rules["GL201"]
    assert r201["name"] == "SendAbandonedBySelect" != r201["id"]
    assert r201["shortDescription"]["text"] == rule_gl201().summary
    assert r201["fullDescription"]["text"].startswith("Flags a goroutine")
    assert r201["help"]["text"] == rule_help_text(rule_gl201())
    assert r201["help"]["markdown"] == rule_help_markdown(rule_gl201())
    assert r201["defaultConfiguration"] == {"level": "error"}
    assert r201["properties"] == {
        "tags": ["concurrency", "goroutine-leak", "reliability"],
        "precision": "high",
        "problem.severity": "error",
    }
    # warning is the schema default and would be dropped by sarif-om: it must still be there.
    assert rules["GL502"]["defaultConfiguration"] == {"level": "warning"}
    assert rules["GL502"]["properties"]["problem.severity"] == "warning"
    assert "security-severity" not in json.dumps(rules)


def test_help_markdown_and_text_render_every_docs_field() -> None:
    md = rule_help_markdown(rule_gl201())
    assert "## Why is this a problem?" in md
    assert "```go\nch := make(chan string)\n" in md
    assert "## Use instead" in md and "make(chan string, 1)" in md
    assert "- <https://go.dev/blog/pipelines>" in md
    assert "//gleak:ignore GL201" in md
    text = rule_help_text(rule_gl201())
    assert "```" not in text and "    ch := make(chan string)" in text
    assert "https://go.dev/ref/spec#Select_statements" in text


def test_result_fields(tmp_path: Path) -> None:
    result, go = make_result(tmp_path)
    run = sarif_of(result)["runs"][0]
    r201, r502 = run["results"]
    assert (r201["ruleId"], r201["ruleIndex"], r201["level"]) == ("GL201", 0, "error")
    assert (r502["ruleId"], r502["ruleIndex"], r502["level"]) == ("GL502", 1, "warning")
    assert r201["message"]["text"].startswith(
        "The goroutine sends on ch, which nobody receives once ctx is done."
    )
    loc = r201["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"] == {"uri": "internal/leaky/fetch.go", "uriBaseId": "SRCROOT", "index": 0}
    region = loc["region"]
    assert region["startLine"] == region["endLine"] == go.line_of("go func()")
    assert region["snippet"]["text"] == "go func() { ch <- slow(q + label) }()"
    related = r201["relatedLocations"]
    assert [r["id"] for r in related] == [1, 2]
    assert related[0]["message"]["text"] == "ch is made here, unbuffered."
    assert related[1]["physicalLocation"]["region"]["startLine"] == go.line_of("case <-ctx.Done():")
    assert r201["properties"] == {"confidence": "high"}
    prints = r201["partialFingerprints"]
    assert prints["primaryLocationLineHash"] == line_hashes(LEAK_GO)[go.line_of("go func()") - 1]
    assert prints["gleakFingerprint/v1"].endswith(":1")
    # Suppressed: stays in the log with an inSource suppression and its justification.
    assert r502["suppressions"] == [
        {
            "kind": "inSource",
            "justification": "owned by the process, exits with it",
            "properties": {"directive": "//nolint:gleak // owned by the process, exits with it"},
        }
    ]
    assert "suppressions" not in r201


def test_columns_are_utf16_on_lines_with_e_acute_and_emoji(tmp_path: Path) -> None:
    result, go = make_result(tmp_path)
    line = go.lines[go.line_of("go func()") - 1].decode()
    assert line == '\tlabel := "café 😀"; go func() { ch <- slow(q + label) }()'
    byte_col = go.span("go func()").start_column
    # 20 characters before `go`: é is 2 bytes and 1 UTF-16 unit, 😀 is 4 bytes and 2 units (a surrogate
    # pair), so byte column 25, code-point column 21, UTF-16 column 22.
    assert byte_col == 25
    region = sarif_of(result)["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]
    assert region["startColumn"] == 22 == len(line[: line.index("go func")].encode("utf-16-le")) // 2 + 1
    assert region["endColumn"] == 59 == len(line.encode("utf-16-le")) // 2 + 1


def test_multiline_primary_is_cut_to_its_first_line(tmp_path: Path) -> None:
    result, go = make_result(tmp_path)
    f = result.findings[0]
    f.primary = go.span("select {", end_needle='return "", ctx.Err()')
    region = sarif_of(result)["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]
    assert region["startLine"] == region["endLine"] == go.line_of("select {")
    assert region["startColumn"] == 2 and region["endColumn"] == len("\tselect {") + 1


def test_fix_becomes_artifact_change_with_utf16_and_byte_region(tmp_path: Path) -> None:
    result, go = make_result(tmp_path)
    fixes = sarif_of(result)["runs"][0]["results"][0]["fixes"]
    assert fixes[0]["description"]["text"] == "Give ch a buffer of 1 so the send always completes."
    change = fixes[0]["artifactChanges"][0]
    assert change["artifactLocation"]["uri"] == "internal/leaky/fetch.go"
    rep = change["replacements"][0]
    make = go.span("make(chan string)")
    assert rep["deletedRegion"] == {
        "startLine": make.start_line,
        "startColumn": make.start_column,
        "endLine": make.start_line,
        "endColumn": make.end_column,
        "byteOffset": make.start_byte,
        "byteLength": make.end_byte - make.start_byte,
    }
    assert rep["insertedContent"] == {"text": "make(chan string, 1)"}
    assert go.data[make.start_byte : make.end_byte] == b"make(chan string)"


def test_baseline_state_code_flow_and_note_level(tmp_path: Path) -> None:
    result, go = make_result(tmp_path)
    result.rules.append(rule_gl101())
    f = gl101_finding(go)
    f.baseline_state = BaselineState.unchanged
    f.code_flow = [
        (go.span("go func()"), "goroutine 42 [chan send, 3 minutes]: created here"),
        (None, "runtime.gopark (runtime/proc.go:435)"),
    ]
    result.findings.append(f)
    run = sarif_of(result)["runs"][0]
    res = next(r for r in run["results"] if r["ruleId"] == "GL101")
    assert res["level"] == "note"
    assert res["baselineState"] == "unchanged"
    flow = res["codeFlows"][0]["threadFlows"][0]["locations"]
    assert flow[0]["location"]["physicalLocation"]["artifactLocation"]["uri"] == "internal/leaky/fetch.go"
    assert flow[1]["location"] == {"message": {"text": "runtime.gopark (runtime/proc.go:435)."}}
    rule = next(r for r in run["tool"]["driver"]["rules"] if r["id"] == "GL101")
    assert rule["properties"]["problem.severity"] == "recommendation"


def test_category_forms() -> None:
    assert automation_id(None) is None
    assert automation_id("") is None
    assert automation_id("gleak") == "gleak/"
    assert automation_id("gleak/linux") == "gleak/linux/"
    assert automation_id("gleak/") == "gleak/"


def test_no_category_means_no_automation_details(tmp_path: Path) -> None:
    result, _ = make_result(tmp_path)
    assert "automationDetails" not in sarif_of(result, category=None)["runs"][0]


def test_paths_are_percent_encoded_and_outside_root_absolute(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    go = GoFile(root / "dir with space" / "ü.go", LEAK_GO)
    outside = GoFile(tmp_path / "elsewhere" / "x.go", LEAK_GO)
    result = ScanResult(
        findings=[gl502_finding(go), gl502_finding(outside)], rules=[rule_gl502()], source_root=str(root)
    )
    run = sarif_of(result)["runs"][0]
    uris = sorted(
        (r["locations"][0]["physicalLocation"]["artifactLocation"] for r in run["results"]),
        key=lambda a: a["uri"].startswith("file:"),
    )
    assert uris[0]["uri"] == "dir%20with%20space/%C3%BC.go" and uris[0]["uriBaseId"] == "SRCROOT"
    assert (
        uris[1]["uri"] == f"file://{(tmp_path / 'elsewhere' / 'x.go').resolve()}"
        and "uriBaseId" not in uris[1]
    )


def test_symlinked_root_gives_the_same_relative_uris(tmp_path: Path) -> None:
    real = tmp_path / "real"
    go = GoFile(real / "a.go", LEAK_GO)
    link = tmp_path / "link"
    link.symlink_to(real)
    f = gl502_finding(go)
    f.primary = f.primary.model_copy(update={"path": str(link / "a.go")})
    run = sarif_of(ScanResult(findings=[f], rules=[rule_gl502()]), source_root=str(link))["runs"][0]
    assert run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "a.go"


def test_unknown_rule_gets_a_stand_in_descriptor(tmp_path: Path) -> None:
    go = GoFile(tmp_path / "a.go", LEAK_GO)
    run = sarif_of(ScanResult(findings=[gl502_finding(go)], rules=[], source_root=str(tmp_path)))["runs"][0]
    rule = run["tool"]["driver"]["rules"][0]
    assert rule["id"] == "GL502" and rule["shortDescription"]["text"] and rule["help"]["text"]


def test_error_notification_marks_execution_unsuccessful(tmp_path: Path) -> None:
    result, _ = make_result(tmp_path)
    result.notifications.append(
        Notification(kind=NotificationKind.worker_crash, level=Severity.error, message="worker 2 died")
    )
    inv = sarif_of(result)["runs"][0]["invocations"][0]
    assert inv["executionSuccessful"] is False
    assert inv["toolExecutionNotifications"][-1]["level"] == "error"


def test_limits_truncate_and_say_so(tmp_path: Path) -> None:
    go = GoFile(tmp_path / "a.go", LEAK_GO)
    base = gl201_finding(go)
    findings = []
    for i in range(5):
        f = base.model_copy(deep=True)
        f.severity = Severity.error if i == 3 else Severity.note
        f.related = [RelatedLocation(span=base.related[0].span, message=f"r{j}") for j in range(4)]
        f.code_flow = [(None, f"frame {j}") for j in range(6)]
        findings.append(f)
    meta = rule_gl201()
    meta.tags = [f"t{i}" for i in range(7)]
    result = ScanResult(findings=findings, rules=[meta], source_root=str(tmp_path))
    limits = SarifLimits(results=2, locations_per_result=3, thread_flow_locations=5, tags_per_rule=4)
    log = sarif_of(result, limits=limits)
    run = log["runs"][0]
    assert len(run["results"]) == 2
    assert any(r["level"] == "error" for r in run["results"])  # the most severe one is kept
    assert all(len(r["relatedLocations"]) == 3 for r in run["results"])
    assert all(len(r["codeFlows"][0]["threadFlows"][0]["locations"]) == 5 for r in run["results"])
    assert run["tool"]["driver"]["rules"][0]["properties"]["tags"] == ["t0", "t1", "t2", "t3"]
    texts = [n["message"]["text"] for n in run["invocations"][0]["toolExecutionNotifications"]]
    assert any("3 of 5 results were left out" in t for t in texts)
    assert any("related locations" in t for t in texts)
    assert any("code flow" in t for t in texts)
    assert any("7 tags" in t for t in texts)
    assert all(n["descriptor"]["id"] == "limit" for n in run["invocations"][0]["toolExecutionNotifications"])
    assert not schema_errors(log)


def test_render_is_deterministic_and_sorted(tmp_path: Path) -> None:
    result, _ = make_result(tmp_path)
    result.findings[0].message = "The goroutine sends on ch (label café 😀) and leaks."
    kw: dict[str, Any] = {"category": "gleak", "source_root": None, "tool_version": "0.1.0"}
    a = render_sarif(result, **kw)
    b = render_sarif(result, **kw)
    assert a == b and a.endswith("\n")
    assert json.loads(a) == sarif_of(result)
    assert "café 😀" in a  # non-ASCII kept as text, not \u escapes


def test_unreadable_file_falls_back_to_byte_columns(tmp_path: Path) -> None:
    span = Span(
        path=str(tmp_path / "gone.go"),
        start_byte=10,
        end_byte=12,
        start_line=3,
        start_column=5,
        end_line=3,
        end_column=7,
    )
    result, _ = make_result(tmp_path)
    f = result.findings[0].model_copy(update={"primary": span, "related": [], "fix": None})
    log = sarif_of(ScanResult(findings=[f], rules=[rule_gl201()], source_root=str(tmp_path)))
    res = log["runs"][0]["results"][0]
    assert res["locations"][0]["physicalLocation"]["region"] == {
        "startLine": 3,
        "startColumn": 5,
        "endLine": 3,
        "endColumn": 7,
    }
    assert "primaryLocationLineHash" not in res["partialFingerprints"]
    assert res["partialFingerprints"]["gleakFingerprint/v1"]
    assert not schema_errors(log)


def test_schema_valid(tmp_path: Path) -> None:
    result, _ = make_result(tmp_path)
    assert schema_errors(sarif_of(result)) == []


def test_multitool_finds_no_error_and_no_warning(tmp_path: Path, validate: Any) -> None:
    result, go = make_result(tmp_path)
    result.rules.append(rule_gl101())
    f = gl101_finding(go)
    f.baseline_state = BaselineState.new
    f.code_flow = [(go.span("go func()"), "goroutine 42 [chan send]"), (None, "runtime.gopark")]
    result.findings.append(f)
    report = validate(write_log(tmp_path, sarif_of(result)))
    assert report.errors == []
    assert report.warnings == []
    assert set(report.rule_ids("notes")) <= EXPECTED_NOTES, report.notes


@pytest.mark.parametrize("category", [None, "gleak/shard-1"])
def test_multitool_on_empty_scan(tmp_path: Path, validate: Any, category: str | None) -> None:
    log = sarif_of(ScanResult(rules=[rule_gl201()], source_root=str(tmp_path)), category=category)
    assert log["runs"][0]["results"] == []
    assert schema_errors(log) == []
    report = validate(write_log(tmp_path, log))
    assert report.errors == [] and report.warnings == []


def test_to_plain_serialises_exactly_like_jschema_to_python(tmp_path: Path) -> None:
    """build_sarif uses a linear walk instead of to_json's deep copies: the output must be identical."""
    import sarif_om as om
    from jschema_to_python.to_json import to_json

    from gleak_sarif.report.sarif import to_plain

    result, go = make_result(tmp_path)
    f = gl101_finding(go)
    f.code_flow = [(go.span("go func()"), "frame"), (None, "runtime.gopark")]
    f.baseline_state = BaselineState.updated
    result.findings.append(f)
    result.rules.append(rule_gl101())
    log = sarif_of(result)
    # Rebuild an equivalent object tree through sarif-om's own classes and compare both serialisers on it.
    region = om.Region(start_line=3, start_column=1, end_line=3, end_column=9, byte_offset=0)
    loc = om.Location(
        id=1,
        physical_location=om.PhysicalLocation(
            artifact_location=om.ArtifactLocation(uri="a.go", index=0), region=region
        ),
        message=om.Message(text="m."),
    )
    res = om.Result(
        message=om.Message(text="x."),
        rule_id="GL201",
        rule_index=0,
        level="warning",
        kind="fail",
        locations=[loc],
        partial_fingerprints={"a": "b"},
        properties={"tags": ["x"], "problem.severity": "warning"},
        code_flows=[
            om.CodeFlow(thread_flows=[om.ThreadFlow(locations=[om.ThreadFlowLocation(location=loc)])])
        ],
    )
    run = om.Run(
        tool=om.Tool(driver=om.ToolComponent(name="gleak-sarif", rules=[om.ReportingDescriptor(id="GL201")])),
        results=[res],
        column_kind="utf16CodeUnits",
        invocations=[om.Invocation(execution_successful=True)],
    )
    sarif_log = om.SarifLog(
        version="2.1.0", schema_uri="https://json.schemastore.org/sarif-2.1.0.json", runs=[run]
    )
    assert to_plain(sarif_log) == json.loads(to_json(sarif_log))
    assert log["runs"][0]["results"]  # and the real writer still works end to end


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.binary(max_size=300),
    spans=st.lists(
        st.tuples(st.integers(-1, 12), st.integers(-1, 90), st.integers(-1, 12), st.integers(-1, 90)),
        min_size=1,
        max_size=6,
    ),
    message=st.text(max_size=60),
)
def test_any_file_and_any_span_give_valid_sarif(
    tmp_path: Path, data: bytes, spans: list[tuple[int, int, int, int]], message: str
) -> None:
    path = tmp_path / "fuzz.go"
    path.write_bytes(data)
    findings = [
        Finding(
            rule_id="GL201",
            rule_name="send-abandoned-by-select",
            severity=Severity.warning,
            message=message,
            primary=Span(
                path=str(path),
                start_byte=0,
                end_byte=0,
                start_line=sl,
                start_column=sc,
                end_line=el,
                end_column=ec,
            ),
        )
        for sl, sc, el, ec in spans
    ]
    log = sarif_of(ScanResult(findings=findings, rules=[rule_gl201()], source_root=str(tmp_path)))
    assert schema_errors(log) == []
    for res in log["runs"][0]["results"]:
        region = res["locations"][0]["physicalLocation"]["region"]
        assert region["startLine"] == region["endLine"] >= 1
        assert region["endColumn"] >= region["startColumn"] >= 1
        assert res["message"]["text"]


def test_empty_primary_region_widens_to_the_line(tmp_path: Path) -> None:
    """Runtime findings know a line, not a column: highlight the line's code, not nothing."""
    result, go = make_result(tmp_path)
    line = go.line_of("go func()")
    f = result.findings[0]
    f.primary = Span(
        path=str(go.path),
        start_byte=0,
        end_byte=0,
        start_line=line,
        start_column=1,
        end_line=line,
        end_column=1,
    )
    region = sarif_of(result)["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]
    text = go.lines[line - 1].decode()
    assert (region["startColumn"], region["endColumn"]) == (2, len(text.encode("utf-16-le")) // 2 + 1)
    assert region["snippet"]["text"] == text.strip()
