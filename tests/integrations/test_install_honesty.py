"""Install honesty (issue 17 item 6): nothing is published yet, so every place that tells a user how to
install shows first what works today (a checkout, a git URL, the action or pre-commit at a branch or
commit) and marks the published names (PyPI `gleak-sarif`, tags such as `@v1` or `v0.1.0`) as coming
"after the first release". The plugin's missing-engine message is checked with the real golangci-lint
(tests/bridge/test_golangci_lint.py) and the action's `version` input here."""

from __future__ import annotations

import re

import yaml

from tests.integrations.kit import REPO

PLACES = [REPO / "README.md", REPO / "action.yml", REPO / ".pre-commit-hooks.yaml",
          *sorted((REPO / "docs").glob("*.md")), *sorted((REPO / "goshim").glob("*.go"))]
# names that exist only once a release is published
PUBLISHED = re.compile(r"pip install (-q )?gleak-sarif(?![-\w/.])|gleak-sarif@v\d|rev: v\d|version: v0\.|"
                       r"gleak-sarif==")
MARK = "after the first release"
WORKS_TODAY = re.compile(r"git\+https://github\.com/gleak-sarif/gleak-sarif|pip install (-q )?\.(\s|$|`)|"
                         r"gleak-sarif@main|rev: main|path: \./")


def test_published_names_are_marked_as_after_the_first_release() -> None:
    unmarked = []
    for path in PLACES:
        lines = path.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines):
            if PUBLISHED.search(line):
                nearby = " ".join(lines[max(0, number - 3): number + 4])
                if MARK not in " ".join(nearby.split()):
                    unmarked.append(f"{path.relative_to(REPO)}:{number + 1}: {line.strip()}")
    assert unmarked == [], "published names without 'after the first release':\n" + "\n".join(unmarked)


def test_what_works_today_comes_first() -> None:
    for name in ("README.md", "docs/integrations.md", "docs/golangci-lint.md"):
        text = (REPO / name).read_text(encoding="utf-8")
        today = WORKS_TODAY.search(text)
        published = PUBLISHED.search(text)
        assert today is not None, f"{name} shows no install that works today"
        assert published is None or today.start() < published.start(), (
            f"{name}: {published.group(0)!r} comes before any install that works today")


def test_action_version_input_says_what_works_today() -> None:
    action = yaml.safe_load((REPO / "action.yml").read_text(encoding="utf-8"))
    spec = action["inputs"]["version"]
    assert spec["default"] == ""  # this action's own ref: works for any commit
    text = " ".join(spec["description"].split())
    assert "git+https://github.com/gleak-sarif/gleak-sarif@" in text and MARK in text
    assert text.index("works today") < text.index(MARK)
