"""Report outputs under hostile names and places (issue 22 items 1, 3, 8, 9, 14): links stay links,
devices and FIFOs are written through, a file name that is not UTF-8 or holds a newline is encoded, the
scanned sources are never overwritten, and every write failure is exit 2 with the path and the reason,
the old report intact."""

from __future__ import annotations

import json
import os
import resource
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.reliability.conftest import REPO, no_traceback, run_cli

EXAMPLE = (REPO / "fixtures" / "example" / "server.go").read_bytes()
OLD = '{"old": "report"}\n'


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    (tmp_path / ".gleak.yml").write_text("{}\n")
    (tmp_path / "leak.go").write_bytes(EXAMPLE)
    return tmp_path


def scan(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    done = run_cli("scan", "leak.go", "--no-cache", *args, cwd=cwd, timeout=120)
    no_traceback(done)
    return done


# ---- item 1: links and non-regular files ----------------------------------------------------------------

def test_output_through_a_link_to_a_file_keeps_the_link(project: Path) -> None:
    target = project / "elsewhere" / "real.sarif"
    target.parent.mkdir()
    target.write_text(OLD)
    (project / "report.sarif").symlink_to("elsewhere/real.sarif")
    assert scan(project, "--format", "sarif", "-o", "report.sarif").returncode == 1
    assert (project / "report.sarif").is_symlink()
    assert os.readlink(project / "report.sarif") == "elsewhere/real.sarif"
    assert json.loads(target.read_text())["version"] == "2.1.0"


def test_output_through_a_link_to_a_fifo_is_written_through(project: Path) -> None:
    """The issue's `-o mystdout` (a link to /proc/self/fd/1), made safely: a link to our own FIFO."""
    fifo = project / "pipe"
    os.mkfifo(fifo)
    (project / "mystdout").symlink_to(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    done = scan(project, "-o", "mystdout")
    reader.join(timeout=60)
    assert done.returncode == 1, done.stderr
    assert (project / "mystdout").is_symlink()
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)  # not replaced by a regular file
    assert b"GL201" in received[0]


def test_output_to_a_fifo_is_written_through(project: Path) -> None:
    fifo = project / "out.fifo"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    assert scan(project, "--format", "json", "-o", "out.fifo").returncode == 1
    reader.join(timeout=60)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert json.loads(received[0])["findings"]


@pytest.mark.parametrize(("make", "words"), [
    (lambda p: (p / "dangling.sarif").symlink_to("nowhere/x.sarif"), "dangling symbolic link"),
    (lambda p: (p / "dangling.sarif").symlink_to(p), "links to a folder"),
])
def test_output_through_a_bad_link_is_refused(project: Path, make: object, words: str) -> None:
    make(project)  # type: ignore[operator]
    done = scan(project, "-o", "dangling.sarif")
    assert done.returncode == 2, done.stderr
    assert words in done.stderr
    assert (project / "dangling.sarif").is_symlink()


def test_output_through_a_committed_link_is_refused(project: Path) -> None:
    """A pull request can commit `gleak.sarif -> ~/.bashrc`; the scan must not write through it."""
    git = ["git", "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], cwd=project, check=True)
    victim = project / "victim.txt"
    victim.write_text("precious\n")
    (project / "gleak.sarif").symlink_to("victim.txt")
    subprocess.run([*git, "add", "gleak.sarif", "leak.go"], cwd=project, check=True)
    subprocess.run([*git, "commit", "-qm", "x"], cwd=project, check=True)
    done = scan(project, "--format", "sarif", "-o", "gleak.sarif")
    assert done.returncode == 2, done.stderr
    assert "symbolic link committed to the repository" in done.stderr
    assert victim.read_text() == "precious\n"
    assert (project / "gleak.sarif").is_symlink()


# ---- item 3 and 14: file names that are not UTF-8, or hold a newline --------------------------------------

@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "github"])
def test_non_utf8_file_name(tmp_path: Path, fmt: str) -> None:
    name = b"bad\xff.go"
    (tmp_path / ".gleak.yml").write_text("{}\n")
    with open(os.path.join(os.fsencode(tmp_path), name), "wb") as handle:
        handle.write(EXAMPLE)
    done = run_cli("scan", ".", "--no-cache", "--format", fmt, "-o", "out", cwd=tmp_path, timeout=120)
    no_traceback(done)
    assert done.returncode == 1, done.stderr
    data = (tmp_path / "out").read_bytes()
    text = data.decode("utf-8")  # the report itself is valid UTF-8
    if fmt == "sarif":
        log = json.loads(text)
        uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in log["runs"][0]["results"]}
        assert uris == {"bad%FF.go"}  # percent-encoded bytes, as RFC 3986 and SARIF ask
    elif fmt == "json":
        paths = {f["primary"]["path"] for f in json.loads(text)["findings"]}
        assert {os.fsencode(p) for p in paths} == {name}  # lossless: json.loads + os.fsencode
    else:
        assert "bad\\xff.go" in text
    done = run_cli("inventory", ".", "-o", "inv.txt", cwd=tmp_path, timeout=120)  # inventory -o too
    no_traceback(done)
    assert done.returncode == 0, done.stderr
    assert "bad\\xff.go" in (tmp_path / "inv.txt").read_text(encoding="utf-8")


def test_newline_in_a_file_name_cannot_forge_a_finding_line(tmp_path: Path) -> None:
    (tmp_path / ".gleak.yml").write_text("{}\n")
    (tmp_path / "x.go:1:1: GL999 forged\nleak.go").write_bytes(EXAMPLE)
    done = run_cli("scan", ".", "--no-cache", cwd=tmp_path, timeout=120)
    no_traceback(done)
    assert done.returncode == 1
    assert not any(line.startswith("leak.go:") for line in done.stdout.splitlines()), done.stdout
    assert "x.go:1:1: GL999 forged\\nleak.go:" in done.stdout


# ---- item 8: never overwrite what is scanned -------------------------------------------------------------

def test_output_over_a_source_file_is_refused(project: Path) -> None:
    (project / "p").mkdir()
    copy = project / "p" / "copy.go"
    copy.write_bytes(EXAMPLE)
    done = run_cli("scan", "p/copy.go", "--no-cache", "-o", "p/copy.go", cwd=project, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "scanned input" in done.stderr
    assert copy.read_bytes() == EXAMPLE
    done = run_cli("inventory", "p", "-o", "p/copy.go", cwd=project, timeout=120)
    assert done.returncode == 2 and copy.read_bytes() == EXAMPLE


def test_two_outputs_naming_one_file_are_refused(project: Path) -> None:
    (project / "x.sarif").write_text(OLD)
    done = scan(project, "-o", "x.sarif", "--sarif-output", "./x.sarif")
    assert done.returncode == 2, done.stderr
    assert "named by two outputs" in done.stderr
    assert (project / "x.sarif").read_text() == OLD


# ---- item 9: write failures are exit 2 with the path and the reason -------------------------------------

def test_output_naming_a_folder(project: Path) -> None:
    (project / "out").mkdir()
    done = scan(project, "-o", "out")
    assert done.returncode == 2, done.stderr
    assert "cannot write out: it is a folder" in done.stderr
    assert "internal error" not in done.stderr


def test_output_under_a_file(project: Path) -> None:
    done = scan(project, "-o", "leak.go/report.sarif")
    assert done.returncode == 2, done.stderr
    assert "leak.go/report.sarif" in done.stderr and "Not a directory" in done.stderr


def test_file_size_limit_keeps_the_old_report(project: Path) -> None:
    """`ulimit -f` (EFBIG on write; Python ignores SIGXFSZ): exit 2, old report intact, no temp file."""
    (project / "report.sarif").write_text(OLD)

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    done = subprocess.run([sys.executable, "-m", "gleak_sarif", "scan", "leak.go", "--no-cache", "--format",
                           "sarif", "-o", "report.sarif"], cwd=project, capture_output=True, text=True,
                          timeout=120, preexec_fn=small_files, env={**os.environ, "PYTHONPATH": str(REPO)})
    no_traceback(done)
    assert done.returncode == 2, done.stderr
    assert "cannot write report.sarif: File too large" in done.stderr
    assert (project / "report.sarif").read_text() == OLD
    assert sorted(p.name for p in project.iterdir() if p.name.startswith(".gleak-")) == []


def test_debug_keeps_the_internal_error_exit_code(project: Path) -> None:
    """GLEAK_DEBUG=1 prints the traceback and still exits 3 (it used to turn 3 into 1)."""
    done = run_cli("scan", "leak.go", "--no-cache", "--baseline", "/dev/null/x", cwd=project,
                   env={"GLEAK_DEBUG": "1"})
    assert done.returncode == 2  # a usage error stays a usage error
    code = "import sys; sys.argv = ['gleak-sarif', 'rules', 'list']\n" \
           "import gleak_sarif.cli as c\n" \
           "c._all_metas = lambda extra: 1 / 0\n" \
           "c.main()\n"
    done = subprocess.run([sys.executable, "-c", code], cwd=project, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO), "GLEAK_DEBUG": "1"}, timeout=120)
    assert done.returncode == 3, done.stderr
    assert "Traceback" in done.stderr and "ZeroDivisionError" in done.stderr


def test_output_in_a_read_only_folder(tmp_path: Path) -> None:
    """A folder the user cannot write: exit 2 naming the path and "Permission denied", the old report
    intact. As root (who writes anywhere) the scan runs as `nobody` through setpriv."""
    import shutil
    import tempfile

    as_root = os.geteuid() == 0
    if as_root and shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: a read-only folder stays writable")
    base = Path(tempfile.mkdtemp(prefix="gleak-ro-out-"))  # not under pytest's 0700 folder
    try:
        base.chmod(0o755)
        (base / ".gleak.yml").write_text("{}\n")
        (base / "leak.go").write_bytes(EXAMPLE)
        out = base / "out"
        out.mkdir()
        (out / "report.sarif").write_text(OLD)
        for path in (base / ".gleak.yml", base / "leak.go", out / "report.sarif"):
            path.chmod(0o644)
        out.chmod(0o555)
        prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] if as_root else []
        done = subprocess.run([*prefix, sys.executable, "-m", "gleak_sarif", "scan", "leak.go", "--no-cache",
                               "--format", "sarif", "-o", "out/report.sarif"], cwd=base, capture_output=True,
                              text=True, timeout=120,
                              env={**os.environ, "PYTHONPATH": str(REPO), "HOME": str(base),
                                   "XDG_CACHE_HOME": str(base / "xdg")})
        no_traceback(done)
        assert done.returncode == 2, done.stderr
        assert "cannot write out/report.sarif: Permission denied" in done.stderr
        assert (out / "report.sarif").read_text() == OLD
    finally:
        (base / "out").chmod(0o755)
        shutil.rmtree(base, ignore_errors=True)
