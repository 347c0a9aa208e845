"""Ancestor questions about a parsed file without ``Node.parent`` chains.

tree-sitter nodes do not store their parent: ``Node.parent`` walks down from the root, so it costs the depth
of the node, and walking up k levels costs k * depth. Relation checks ask "is there a function between this
node and that one?" for every candidate, so on a deeply nested file (3,000 nested blocks) the scan grew with
the cube of the depth. Here the function scopes are collected once by a query, sorted by position; the innermost one around a node is then a binary search plus a short walk up
the (usually shallow) nesting of those stop nodes.
"""

from __future__ import annotations

import bisect
import functools

from tree_sitter import Node, Query, QueryCursor

from gleak_sarif.gosource import compile_query


@functools.cache
def _kinds_query(kinds: frozenset[str]) -> Query:
    return compile_query("[" + " ".join(f"({kind})" for kind in sorted(kinds)) + "] @node")


class StopIndex:
    """Nodes that nest or are disjoint (function scopes), for "innermost such node strictly around this one".

    Assumes what holds for function literals and declarations: no such node has a child with its own byte
    range, so equal ranges mean the same node or an ancestor of it.
    """

    def __init__(self, nodes: list[Node]) -> None:
        nodes = sorted(nodes, key=lambda n: (n.start_byte, -n.end_byte))
        self.nodes = nodes
        self.starts = [n.start_byte for n in nodes]
        self.ends = [n.end_byte for n in nodes]
        # parent[i]: the innermost node of the index around nodes[i], -1 for none (a stack in start order)
        self.parent: list[int] = []
        stack: list[int] = []
        for node in nodes:
            while stack and self.ends[stack[-1]] < node.end_byte:
                stack.pop()
            self.parent.append(stack[-1] if stack else -1)
            stack.append(len(self.parent) - 1)

    @classmethod
    def of_kinds(cls, root: Node, kinds: frozenset[str]) -> StopIndex:
        return cls(QueryCursor(_kinds_query(kinds)).captures(root).get("node", []))

    def outermost(self) -> list[Node]:
        """The indexed nodes inside no other indexed node."""
        return [node for node, parent in zip(self.nodes, self.parent, strict=True) if parent < 0]

    def around(self, node: Node) -> Node | None:
        """The innermost indexed node that is a proper ancestor of ``node``, or None."""
        start, end = node.start_byte, node.end_byte
        index = bisect.bisect_right(self.starts, start) - 1
        while index >= 0:
            if self.ends[index] >= end and (self.starts[index], self.ends[index]) != (start, end):
                return self.nodes[index]
            index = self.parent[index]
        return None


def contains_strictly(outer: Node, inner: Node) -> bool:
    """Is ``inner`` inside ``outer``'s byte range and not ``outer`` itself?"""
    return (
        outer.start_byte <= inner.start_byte
        and inner.end_byte <= outer.end_byte
        and (outer.start_byte, outer.end_byte, outer.kind_id) != (inner.start_byte, inner.end_byte, inner.kind_id)
    )


def path_down(top: Node, node: Node) -> list[Node] | None:
    """The nodes strictly between ``top`` and its descendant ``node``, nearest to ``node`` first, found by
    one cursor walk down from ``top`` (cost: the distance, not distance * depth); None if the walk loses
    its way (zero-width nodes), for the caller to fall back on ``Node.parent``."""
    cursor = top.walk()
    path: list[Node] = []
    start, end = node.start_byte, node.end_byte
    while cursor.node != node:
        if cursor.goto_first_child_for_byte(start) is None:
            return None
        # the child holding ``node``: usually the first one reached; siblings for zero-width neighbours
        while not (cursor.node.start_byte <= start and end <= cursor.node.end_byte):  # type: ignore[union-attr]
            if not cursor.goto_next_sibling():
                return None
        if cursor.node != node:
            path.append(cursor.node)  # type: ignore[arg-type]
    path.reverse()
    return path


class TopLevel:
    """A file's top-level declarations (the root's children) by position: the one holding a byte range."""

    def __init__(self, root: Node) -> None:
        self.children = root.children
        self.starts = [child.start_byte for child in self.children]

    def around(self, start: int, end: int) -> Node | None:
        at = bisect.bisect_right(self.starts, start) - 1
        child = self.children[at] if at >= 0 else None
        return child if child is not None and child.end_byte >= end else None
