"""Source mapping: foreign absolute paths, module cache paths, -trimpath paths, wrappers, debug=1 entries."""

from __future__ import annotations

import shutil
from pathlib import Path

from rtkit import LEAKPROG, Dumps, leak_line

from gleak_sarif.runtime.api import analyze_parsed, diff_parsed
from gleak_sarif.runtime.cluster import is_std_func
from gleak_sarif.runtime.mapping import SourceMap
from gleak_sarif.runtime.parse import parse_dump_file

MAIN = LEAKPROG / "main.go"
ALL = ["send", "recv", "wg", "locked", "deep", "generic", "labelled", "afterfunc"]


def copy_repo(tmp_path: Path, sub: str = "svc/cmd/leakprog") -> Path:
    """The leaking program as part of another checkout, plus a decoy main.go elsewhere."""
    root = tmp_path / "checkout"
    shutil.copytree(LEAKPROG, root / sub)
    (root / "tools" / "gen").mkdir(parents=True)
    (root / "tools" / "gen" / "main.go").write_text("package main\n\nfunc main() {}\n")
    return root


def lines_by_marker(path: Path) -> dict[int, str]:
    return {leak_line(path, m): m for m in ALL}


def test_foreign_absolute_paths_by_suffix(dumps: Dumps, tmp_path: Path) -> None:
    root = copy_repo(tmp_path)
    local = root / "svc/cmd/leakprog/main.go"
    smap = SourceMap(root)
    # The dump's paths are /work/main/tests/runtime/testdata/leakprog/main.go: another machine for this root.
    m = smap.map_path(str(MAIN))
    assert m.path == str(local) and m.how == "suffix"
    _, result = analyze_parsed(parse_dump_file(dumps.leak_debug2), smap)
    got = {f.primary.start_line for f in result.findings if f.primary.path == str(local)}
    assert got == set(lines_by_marker(local)), lines_by_marker(local)


def test_module_cache_paths_and_case_escapes(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / "pkg").mkdir(parents=True)
    (root / "go.mod").write_text("module github.com/Acme/LeakLib\n\ngo 1.22\n")
    (root / "pkg" / "w.go").write_text("package pkg\n")
    smap = SourceMap(root)
    m = smap.map_path("/home/ci/go/pkg/mod/github.com/!acme/!leak!lib@v1.4.0/pkg/w.go")
    assert m.path == str(root / "pkg" / "w.go") and m.how == "module-cache"
    other = smap.map_path("/home/ci/go/pkg/mod/golang.org/x/sync@v0.7.0/errgroup/errgroup.go")
    assert other.path is None and "not in the source root" in other.how
    # GOPATH layout on the build machine: the module path occurs inside the absolute path.
    gp = smap.map_path("/home/u/go/src/github.com/Acme/LeakLib/pkg/w.go")
    assert gp.path == str(root / "pkg" / "w.go") and gp.how == "module-path"
    # Windows build machine.
    win = smap.map_path("C:\\Users\\ci\\go\\pkg\\mod\\github.com\\!acme\\!leak!lib@v1.4.0\\pkg\\w.go")
    assert win.path == str(root / "pkg" / "w.go")


def test_errgroup_wrapper_and_real_module_cache_paths(errgroup_dump: Path, tmp_path: Path) -> None:
    prog = LEAKPROG.parent / "errgroupprog"
    d = parse_dump_file(errgroup_dump)
    (g,) = [g for g in d.goroutines if g.created_by and g.created_by.func.endswith("errgroup.(*Group).Go")]
    assert g.created_by is not None and "/pkg/mod/golang.org/x/sync@v" in g.created_by.file
    # Reported at the statement that hands the literal to errgroup, not inside the module cache.
    _, result = analyze_parsed(d, SourceMap(prog), min_minutes=0)
    (f,) = result.findings
    assert f.primary.path == str(prog / "main.go")
    assert f.primary.start_line == leak_line(prog / "main.go", "errgroup")
    assert f.properties["creation-site-kind"] == "wrapper-call"
    assert f.related[0].span.start_line == f.primary.start_line + 1
    # The module-cache frame itself maps when the source root is (a checkout of) that module...
    lib = tmp_path / "x-sync"
    (lib / "errgroup").mkdir(parents=True)
    (lib / "go.mod").write_text("module golang.org/x/sync\n\ngo 1.22\n")
    (lib / "errgroup" / "errgroup.go").write_text("package errgroup\n")
    m = SourceMap(lib).map_path(g.created_by.file)
    assert m.path == str(lib / "errgroup" / "errgroup.go") and m.how == "module-cache"
    # ...and is said to be elsewhere when it is not.
    assert "golang.org/x/sync is not in the source root" in SourceMap(prog).map_path(g.created_by.file).how


def test_trimpath_dump_maps_through_go_mod(dumps: Dumps, tmp_path: Path) -> None:
    root = copy_repo(tmp_path, "deep/inside/prog")
    local = root / "deep/inside/prog/main.go"
    smap = SourceMap(root)
    assert smap.map_path("example.com/leakprog/main.go").how == "module-path"
    assert smap.map_path("runtime/proc.go").how == "standard library"
    _, result = analyze_parsed(parse_dump_file(dumps.minutes_trimpath), smap, min_minutes=3)
    got = {f.primary.start_line: f for f in result.findings}
    assert set(got) == set(lines_by_marker(local))
    for f in got.values():
        assert f.primary.path == str(local)
        assert f.properties["wait-minutes-max"] == 3


def test_go_statement_span_is_one_line_at_go(dumps: Dumps) -> None:
    smap = SourceMap(LEAKPROG)
    _, result = analyze_parsed(parse_dump_file(dumps.leak_debug2), smap)
    text = MAIN.read_bytes()
    for f in result.findings:
        p = f.primary
        assert p.start_line == p.end_line
        snippet = text[p.start_byte : p.end_byte].decode()
        marker = lines_by_marker(MAIN)[p.start_line]
        if marker == "afterfunc":
            # time.AfterFunc: the statement that hands the func literal to the wrapper.
            assert snippet.startswith("time.AfterFunc(")
            assert f.properties["creation-site-kind"] == "wrapper-call"
        else:
            assert snippet.startswith("go "), snippet
            assert "//" not in snippet  # the trailing comment is not part of the region
        # Related location: the user frame where the goroutine blocks.
        assert f.related and f.related[0].span.path == str(MAIN)
        assert f.code_flow and f.code_flow[0][0] == p


def test_debug1_entry_functions_map_to_go_statements(dumps: Dumps, tmp_path: Path) -> None:
    """debug=1 has no 'created by': closures map through the func literal (tree-sitter), named
    functions through the only go statement in the package that calls them."""
    root = copy_repo(tmp_path)
    local = root / "svc/cmd/leakprog/main.go"
    smap = SourceMap(root)
    _, result = analyze_parsed(parse_dump_file(dumps.leak_debug1), smap)
    kinds = {lines_by_marker(local)[f.primary.start_line]: f.properties["creation-site-kind"]
             for f in result.findings}
    assert set(kinds) == set(ALL), kinds
    assert kinds["send"] == "go"
    (labelled,) = [f for f in result.findings if lines_by_marker(local)[f.primary.start_line] == "labelled"]
    assert labelled.properties["labels"] == {"http.route": ["GET /leak"], "tenant": ["x=1, y]"]}
    assert kinds["recv"] == "inferred"  # go recvForever(ch): a named function
    assert kinds["deep"] == "inferred"
    assert kinds["generic"] == "inferred"  # go first(ch) runs main.first[...]
    assert kinds["afterfunc"] == "wrapper-call"


def test_unmapped_frames_are_said_not_dropped(dumps: Dumps, tmp_path: Path) -> None:
    root = tmp_path / "unrelated"
    root.mkdir()
    (root / "x.go").write_text("package x\n")
    smap = SourceMap(root)
    _, result = diff_parsed(parse_dump_file(dumps.many_before), parse_dump_file(dumps.many_after), smap)
    (f,) = result.findings
    assert f.primary.path == str(MAIN) and f.primary.start_line == leak_line(MAIN, "many")
    assert f.properties["creation-site-kind"] == "unmapped"
    assert f.properties["unmapped"] and "Unmapped:" in f.message


def test_ambiguous_suffix_is_not_guessed(tmp_path: Path) -> None:
    for d in ("a/x", "b/x"):
        (tmp_path / d).mkdir(parents=True)
        (tmp_path / d / "main.go").write_text("package main\n")
    m = SourceMap(tmp_path).map_path("/build/zzz/x/main.go")
    assert m.path is None and m.how.startswith("ambiguous")


def test_std_classification() -> None:
    assert is_std_func("runtime.gopark")
    assert is_std_func("internal/sync.(*Mutex).Lock")
    assert is_std_func("net/http.(*conn).serve")
    assert not is_std_func("main.main.func1")
    assert not is_std_func("github.com/a/b.(*T).Run")
    assert not is_std_func("leakprog/internal/w.Run", ("leakprog",))  # dotless module of the repo
    assert is_std_func("leakprog/internal/w.Run")
