"""Reporters: text (with code frames), json, sarif, github (workflow annotations), and atomic file output."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from typing import Literal

from gleak_sarif.errors import GleakError, UsageError
from gleak_sarif.model import ScanResult
from gleak_sarif.report.printable import shown_path
from gleak_sarif.vcs import tracked_by_git

Format = Literal["text", "json", "sarif", "github"]


def render(
    result: ScanResult,
    fmt: str,
    *,
    color: bool = False,
    show_suppressed: bool = False,
    category: str | None = None,
    source_root: str | None = None,
    only_new: bool = False,
    texts: dict[str, bytes] | None = None,
) -> str:
    """``texts``: file contents to use instead of reading the files (standard input's text)."""
    if fmt == "text":
        from gleak_sarif.report.text import render_text

        return render_text(result, color=color, show_suppressed=show_suppressed, only_new=only_new,
                           texts=texts)
    if fmt == "json":
        from gleak_sarif.report.jsonfmt import render_json

        return render_json(result)
    if fmt == "github":
        from gleak_sarif.report.github import render_github

        return render_github(result)
    if fmt == "sarif":
        from gleak_sarif import __version__
        from gleak_sarif.report.sarif import render_sarif
        from gleak_sarif.report.sources import SourceCache

        sources = SourceCache()
        for path, data in (texts or {}).items():
            sources.put(path, data)
        return render_sarif(result, category=category, source_root=source_root or result.source_root,
                            tool_version=__version__, sources=sources)
    raise ValueError(f"unknown format {fmt!r}")


class OutputError(GleakError):
    """A report cannot be written where the user asked (a folder, a read-only place, a full disk, a link
    committed to the repository): exit 2 with the path and the reason; an existing report stays as it was."""

    exit_code = 2


def check_output_paths(outputs: list[str | None], inputs: list[str]) -> None:
    """Refuse (exit 2) outputs that would overwrite what is being read: a Go file, a path named as input,
    or the same file named by two outputs (`-o X --sarif-output X`)."""
    seen: dict[str, str] = {}
    inputs_real = {os.path.realpath(p) for p in inputs}
    for output in outputs:
        if output is None:
            continue
        real = os.path.realpath(output)
        if real in seen:
            raise UsageError(f"{shown_path(output)} is named by two outputs ({shown_path(seen[real])} and "
                             f"{shown_path(output)}); the second would overwrite the first",
                             hint="give each output its own file")
        seen[real] = output
        if real in inputs_real or (real.endswith(".go") and os.path.isfile(real)):
            raise UsageError(f"refusing to write the report over {shown_path(output)}, which is scanned input",
                             hint="write the report to a file of its own (for example gleak.sarif)")


def write_output(text: str, path: str) -> None:
    """Write ``text`` to ``path`` so that nothing is lost or replaced that should not be.

    - a regular file (or a new one): a temp file in the same folder, then rename; an error or Ctrl-C
      leaves either the old file or the new one, never a half-written file;
    - a device, a FIFO, or a symbolic link (`-o /dev/stdout`, a link to a pipe): written through, never
      renamed over, so the device or the link stays what it was;
    - a folder, a block device, a dangling link, or a link committed to a git repository (a pull request
      can commit `gleak.sarif -> /some/file`): refused.
    Every failure is an OutputError (exit 2) naming the path and the OS reason.
    """
    data = (text if text.endswith("\n") else text + "\n").encode("utf-8", "backslashreplace")
    try:
        _write(data, path)
    except OutputError:
        raise
    except OSError as err:
        raise OutputError(f"cannot write {shown_path(path)}: {err.strerror or err}") from None


def _write(data: bytes, path: str) -> None:
    if os.path.islink(path):
        if tracked_by_git(path):
            raise OutputError(f"refusing to write {shown_path(path)}: it is a symbolic link committed to the "
                              "repository (a pull request could point it anywhere)")
        try:
            target = os.stat(path).st_mode  # follows the link
        except FileNotFoundError:
            raise OutputError(f"refusing to write {shown_path(path)}: it is a dangling symbolic link") from None
        if stat.S_ISDIR(target) or stat.S_ISBLK(target):
            raise OutputError(f"cannot write {shown_path(path)}: it links to a "
                              f"{'folder' if stat.S_ISDIR(target) else 'block device'}")
        _write_through(data, path)
        return
    mode: int | None
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        mode = None
    if mode is not None and stat.S_ISDIR(mode):
        raise OutputError(f"cannot write {shown_path(path)}: it is a folder")
    if mode is not None and stat.S_ISBLK(mode):
        raise OutputError(f"cannot write {shown_path(path)}: it is a block device")
    if mode is not None and not stat.S_ISREG(mode):
        # /dev/null, /dev/stdout, a FIFO: write through. Renaming over them would replace the device
        # (as root, `-o /dev/null` would turn /dev/null into a regular file).
        _write_through(data, path)
        return
    _replace_atomically(data, path)


def _write_through(data: bytes, path: str) -> None:
    with open(path, "wb") as out:
        out.write(data)


def _replace_atomically(data: bytes, path: str) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=".gleak-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temp, 0o666 & ~umask)  # mkstemp makes 0600; a report is an ordinary file
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
