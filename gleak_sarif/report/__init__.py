"""Reporters: text (with code frames), json, sarif, github (workflow annotations), and atomic file output."""

from __future__ import annotations

import contextlib
import os
import tempfile
from typing import Literal

from gleak_sarif.model import ScanResult

Format = Literal["text", "json", "sarif", "github"]
FORMATS: tuple[str, ...] = ("text", "json", "sarif", "github")


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
        from gleak_sarif.report.columns import SourceCache
        from gleak_sarif.report.sarif import render_sarif

        sources = SourceCache()
        for path, data in (texts or {}).items():
            sources.put(path, data)
        return render_sarif(result, category=category, source_root=source_root or result.source_root,
                            tool_version=__version__, sources=sources)
    raise ValueError(f"unknown format {fmt!r}")


def write_output(text: str, path: str) -> None:
    """Write ``text`` to ``path`` atomically: a temp file in the same folder, then rename.

    An error or Ctrl-C leaves either the old file or the new one, never a half-written file.
    """
    if os.path.exists(path) and not os.path.isfile(path):
        # /dev/null, /dev/stdout, a FIFO: write through. Renaming over them would replace the device
        # (as root, `-o /dev/null` would turn /dev/null into a regular file).
        with open(path, "w", encoding="utf-8", newline="\n") as out:
            out.write(text if text.endswith("\n") else text + "\n")
        return
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=".gleak-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as out:
            out.write(text)
            if not text.endswith("\n"):
                out.write("\n")
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
