"""Machine output: the ScanResult as JSON (stable key order, versioned)."""

from __future__ import annotations

import json

from gleak_sarif import __version__
from gleak_sarif.model import ScanResult

JSON_FORMAT_VERSION = 1


def render_json(result: ScanResult) -> str:
    payload = {
        "format_version": JSON_FORMAT_VERSION,
        "tool": {"name": "gleak-sarif", "version": __version__},
        **result.model_dump(mode="json", exclude={"rules": True, "findings": {"__all__": {"line_hash"}}}),
        "rules": [{"id": r.id, "name": r.name, "severity": r.severity.value,
                   **({"severity_in_tests": r.severity_in_tests.value} if r.severity_in_tests else {})}
                  for r in result.rules],
    }
    from gleak_sarif.report.printable import escape_lone_surrogates

    return escape_lone_surrogates(json.dumps(payload, indent=2, ensure_ascii=False))
