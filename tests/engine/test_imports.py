"""Package names in patterns resolve through the file's imports, not by spelling."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import lines, run_rule

RULE = """
rule:
  pattern: time.NewTicker($D)
"""


def test_alias_matches(tmp_path: Path) -> None:
    src = """\
package p

import t "time"

func f() { t.NewTicker(t.Second) }
"""
    assert lines(run_rule(tmp_path, RULE, src)) == [5]


def test_local_variable_named_time_does_not_match(tmp_path: Path) -> None:
    src = """\
package p

import "time"

type fake struct{}

func (fake) NewTicker(d time.Duration) {}

func f() {
	var time fake
	time.NewTicker(1)
}
"""
    assert lines(run_rule(tmp_path, RULE, src)) == []


def test_no_import_no_match(tmp_path: Path) -> None:
    src = """\
package p

type clock struct{}

func (clock) NewTicker(int) {}

var time clock

func f() { time.NewTicker(1) }
"""
    assert lines(run_rule(tmp_path, RULE, src)) == []


def test_rule_declared_import(tmp_path: Path) -> None:
    body = """
imports:
  redis: github.com/redis/go-redis/v9
rule:
  pattern: redis.NewClient($$$)
"""
    src = """\
package p

import "github.com/redis/go-redis/v9"

func f() { redis.NewClient(nil) }
"""
    assert lines(run_rule(tmp_path, body, src)) == [5]


def test_go_version_condition(tmp_path: Path) -> None:
    body = """
go-version: "<1.23"
rule:
  pattern: time.NewTicker($D)
"""
    src = """\
package p

import "time"

func f() { time.NewTicker(1) }
"""
    assert lines(run_rule(tmp_path, body, src, go_mod="module m\n\ngo 1.22\n")) == [5]
    assert lines(run_rule(tmp_path, body, src, go_mod="module m\n\ngo 1.23.4\n")) == []
