"""In-source suppressions: `//nolint:gleak`, `//nolint:gleak // reason`, `//gleak:ignore GL201 reason`.

Owned by the SARIF/suppressions work (issue 3). The engine calls `apply_suppressions` once per file that
has findings, with the file's bytes and its parsed tree.
"""

from __future__ import annotations

from tree_sitter import Node

from gleak_sarif.model import Finding


def apply_suppressions(source: bytes, root: Node, findings: list[Finding]) -> None:
    """Set ``finding.suppression`` on every finding that an in-source directive covers."""
    return None
