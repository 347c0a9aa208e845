"""Text that prints safely: paths on one printable line, JSON whose lone surrogates (file names that are not
UTF-8) are escaped. Used by every reporter and by the engine server."""

from __future__ import annotations

import os
import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def shown_path(path: str) -> str:
    """``path`` as one printable line: bytes that are not UTF-8 (a file name read with surrogateescape)
    as ``\\xff``, control characters escaped (a newline in a file name must not start a forged line)."""
    if _SURROGATE.search(path):
        path = os.fsencode(path).decode("utf-8", "backslashreplace")
    return _CONTROL.sub(lambda m: repr(m.group(0))[1:-1], path)


def escape_lone_surrogates(text: str) -> str:
    """JSON text with each lone surrogate (from a non-UTF-8 file name) written as its ``\\udcXX`` escape,
    as `json.dumps(..., ensure_ascii=True)` would: valid UTF-8 and JSON, and `json.loads` plus
    `os.fsencode` give the original bytes back."""
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)
