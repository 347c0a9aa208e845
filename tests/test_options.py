"""One option resolver (gleak_sarif/options.py): `.gleak.yml` and the flags mean the same in every command
that reads Go source: scan, inventory, `runtime ... --with-static`, `rules fingerprint` (and the engine
server: tests/bridge/test_server.py). One test per command, through the real CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gleak_sarif.errors import UsageError
from gleak_sarif.options import Flags, resolve
from tests.helpers import write

REPO = Path(__file__).resolve().parent.parent

# GL201 (warning) at the go statement, GL502 (warning) at the ticker, GL104 (note) at the loop's go.
SERVICE = """\
package svc

import (
	"errors"
	"time"
)

func fetch() int {
	time.Sleep(20 * time.Millisecond) // slower than the caller's timeout in the runtime test
	return 42
}

// FirstOrTimeout leaks the goroutine when the timeout wins (GL201).
func FirstOrTimeout(d time.Duration) (int, error) {
	ch := make(chan int)
	go func() {
		ch <- fetch()
	}()
	select {
	case v := <-ch:
		return v, nil
	case <-time.After(d):
		return 0, errors.New("timeout")
	}
}

// Poll never stops its ticker (GL502).
func Poll(stop <-chan struct{}, f func()) {
	t := time.NewTicker(time.Second)
	for {
		select {
		case <-t.C:
			f()
		case <-stop:
			return
		}
	}
}
"""

GENERATED_LAUNCH = """\
package gen

// Spin starts a goroutine in an excluded folder.
func Spin(f func()) {
	go f()
}
"""


def gleak(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "gleak_sarif", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env=env)


def project(root: Path, config: str) -> Path:
    proj = root / "proj"
    write(proj / "go.mod", "module example.com/proj\n\ngo 1.22\n")
    write(proj / "svc" / "svc.go", SERVICE)
    write(proj / "gen" / "gen.go", GENERATED_LAUNCH)
    write(proj / ".gleak.yml", config)
    return proj


# ------------------------------------------------------------------------------------- the resolver


def test_resolver_combines_config_and_flags(tmp_path: Path) -> None:
    proj = project(tmp_path, "select: [GL2]\nignore: [GL203]\nexclude: [gen/*]\nfail-level: error\n"
                             "severity: {GL201: error}\ninclude-testdata: true\n")
    options = resolve(Flags(), search_from=str(proj / "svc"))
    assert options.config_path == str(proj / ".gleak.yml")
    assert (options.select, options.ignore, options.fail_level) == (["GL2"], ["GL203"], "error")
    assert options.severity_overrides == {"GL201": "error"} and options.include_testdata
    assert options.exclude[-1].endswith("gen/*")
    flagged = resolve(Flags(select=["GL5"], ignore=["GL1"], fail_level="note", exclude=["x/*"]),
                      search_from=str(proj))
    # select replaces, ignore and exclude add, fail-level replaces
    assert (flagged.select, flagged.ignore, flagged.fail_level) == (["GL5"], ["GL1", "GL203"], "note")
    assert flagged.exclude[0] == "x/*" and len(flagged.exclude) == 2
    bare = resolve(Flags(no_config=True), search_from=str(proj))
    assert (bare.config_path, bare.select, bare.fail_level, bare.severity_overrides) == (None, [], "warning", {})
    with pytest.raises(UsageError, match="config file does not exist"):
        resolve(Flags(config=str(proj / "missing.yml")), search_from=str(proj))


def test_fail_level_in_config_is_validated(tmp_path: Path) -> None:
    proj = project(tmp_path, "fail-level: fatal\n")
    done = gleak(proj, "scan", "--no-cache", "-q", ".")
    assert done.returncode == 2
    assert ".gleak.yml:1: fail-level" in done.stderr, done.stderr


# ------------------------------------------------------------------------------------- scan


def test_scan_takes_fail_level_from_the_config(tmp_path: Path) -> None:
    proj = project(tmp_path, "fail-level: error\n")
    assert gleak(proj, "scan", "--no-cache", "-q", ".").returncode == 0  # only warnings and notes
    assert gleak(proj, "scan", "--no-cache", "-q", "--fail-level", "warning", ".").returncode == 1  # flag wins
    (proj / ".gleak.yml").write_text("fail-level: error\nseverity: {GL502: error}\n")
    assert gleak(proj, "scan", "--no-cache", "-q", ".").returncode == 1


# ------------------------------------------------------------------------------------- inventory


def test_inventory_honours_the_config_exclude(tmp_path: Path) -> None:
    proj = project(tmp_path, "exclude: [gen/*]\n")
    done = gleak(proj, "inventory", "--format", "json", ".")
    assert done.returncode == 0, done.stderr
    files = {site["file"] for site in json.loads(done.stdout)["launch_sites"]}
    assert files == {"svc/svc.go"}
    done = gleak(proj, "inventory", "--format", "json", "--no-config", ".")
    assert {site["file"] for site in json.loads(done.stdout)["launch_sites"]} == {"svc/svc.go", "gen/gen.go"}
    done = gleak(proj, "inventory", "--format", "json", "--no-config", "--exclude", "svc/*", ".")
    assert {site["file"] for site in json.loads(done.stdout)["launch_sites"]} == {"gen/gen.go"}


# ------------------------------------------------------------------------------------- rules fingerprint


def test_rules_fingerprint_follows_the_config_found_like_scan(tmp_path: Path) -> None:
    proj = project(tmp_path, "ignore: [GL203]\n")

    def fingerprint(*args: str, cwd: Path = proj) -> str:
        done = gleak(cwd, "rules", "fingerprint", *args)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    base = fingerprint()
    assert base == fingerprint() == fingerprint(cwd=proj / "svc"), "found upward, as scan finds it"
    (proj / ".gleak.yml").write_text("ignore: [GL203]\nseverity: {GL201: error}\n")
    severe = fingerprint()
    assert severe != base, "a severity override changes results, so the fingerprint"
    (proj / ".gleak.yml").write_text("ignore: [GL203]\nseverity: {GL201: error}\nresources:\n"
                                     "  - {constructor: queue.Open, package: example.com/q, release: [Close]}\n")
    assert fingerprint() != severe, "so does a resources row"
    assert fingerprint("--no-config") not in {base, severe}
    assert fingerprint("--select", "GL2") != fingerprint()
    assert fingerprint("--config", str(proj / ".gleak.yml"), cwd=tmp_path) == fingerprint()


# ------------------------------------------------------------------------------------- runtime --with-static

DUMPER = """\
package main

import (
	"os"
	"runtime"
	"time"

	"example.com/proj/svc"
)

func main() {
	_, _ = svc.FirstOrTimeout(time.Millisecond) // the goroutine stays blocked on its send
	time.Sleep(100 * time.Millisecond) // the send is blocked by now
	buf := make([]byte, 1<<20)
	os.Stdout.Write(buf[:runtime.Stack(buf, true)])
}
"""


def test_runtime_with_static_reads_the_config(tmp_path: Path) -> None:
    go = shutil.which("go")
    if go is None:
        if os.environ.get("CI"):
            pytest.fail("CI is set and 'go' is not installed")
        pytest.skip("'go' is not installed")
    proj = project(tmp_path, "ignore: [GL502]\nseverity: {GL201: error}\n")
    write(proj / "cmd" / "dump" / "main.go", DUMPER)
    dump = tmp_path / "goroutines.txt"
    with dump.open("w") as out:
        subprocess.run([go, "run", "./cmd/dump"], cwd=proj, stdout=out, check=True, timeout=300,
                       env={**os.environ, "GOFLAGS": "-mod=mod"})
    done = gleak(proj, "runtime", "analyze", str(dump), "--min-minutes", "0", "--with-static", "--format", "json",
                 "--exit-zero")
    assert done.returncode == 0, done.stderr
    findings = json.loads(done.stdout)["findings"]
    static = {(f["rule_id"], f["severity"]) for f in findings if f["rule_id"] != "GLR001"}
    # as `scan` reports this tree: GL502 ignored, GL201 raised to error, GL104 and the rest as usual
    scanned = json.loads(gleak(proj, "scan", "--no-cache", "-q", "--format", "json", ".").stdout)["findings"]
    assert static == {(f["rule_id"], f["severity"]) for f in scanned}
    assert ("GL201", "error") in static and not any(rule == "GL502" for rule, _ in static)
    confirmed = [f for f in findings if f["rule_id"] == "GL201"]
    assert confirmed and confirmed[0]["properties"].get("runtime-confirmed") is True
