"""`parameters:` table-driven rules: one rule object per row, rows from the rule file and `.gleak.yml`."""

from __future__ import annotations

from pathlib import Path

import pytest

from gleak_sarif.config import ScanOptions
from gleak_sarif.engine import Engine
from gleak_sarif.errors import ConfigError
from tests.helpers import write

TEMPLATE = """\
id: TST002
name: table-rule
severity: warning
precision: high
message: "$CALL is not released"
docs: {what: "w.", why: "y.", example: "e"}
primary: $CALL
parameters:
  from-config: resources
  rows:
    - {constructor: net.Listen, release: [Close]}
    - {constructor: signal.Notify, release: [signal.Stop], handle: argument}
imports:
  "{{alias}}": "{{import_path}}"
rule:
  all:
    - any:
        - when: {handle: result}
          pattern: "$H, $_ := {{call}}($$$)"
        - when: {handle: argument}
          pattern: "{{call}}($H, $$$)"
    - any:
        - {pattern: "{{call}}($$$)", as: CALL}
        - has: {pattern: "{{call}}($$$)", as: CALL, stopBy: end}
    - not:
        precedes:
          stopBy: declaration
          all:
            - pattern: $H
            - inside: {stopBy: neighbor, kind: selector_expression, regex: "\\\\.(?:{{release_methods}})$"}
"""

SOURCE = """\
package p

import (
	"net"
	"os"
	"os/signal"
	q "example.com/queue"
)

func a() {
	ln, _ := net.Listen("tcp", ":0")
	_ = ln.Addr()
}

func b() {
	ln, _ := net.Listen("tcp", ":0")
	defer ln.Close()
}

func c() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt)
}

func d() {
	s, _ := q.Open("jobs")
	_ = s.Name()
}

func e() {
	s, _ := q.Open("jobs")
	s.Shutdown()
}
"""


def _scan(tmp_path: Path, config: str | None) -> list[tuple[int, str]]:
    rule = write(tmp_path / "rules" / "TST002.yml", TEMPLATE)
    source = write(tmp_path / "proj" / "p.go", SOURCE)
    config_path = None
    if config is not None:
        config_path = str(write(tmp_path / "proj" / ".gleak.yml", config))
    engine = Engine(ScanOptions(rules=[str(rule)], builtin_rules=False, jobs=1, use_cache=False,
                                config_path=config_path))
    return [(f.primary.start_line, f.message) for f in engine.scan([str(source)]).findings]


def test_rows_expand_into_one_rule(tmp_path: Path) -> None:
    found = _scan(tmp_path, None)
    assert [line for line, _ in found] == [11, 22]  # Listen without Close, Notify without Stop
    assert found[1][1] == "signal.Notify(ch, os.Interrupt) is not released"


def test_config_rows_are_appended(tmp_path: Path) -> None:
    config = """\
        resources:
          - constructor: queue.Open
            package: example.com/queue
            release: [Shutdown]
        """
    assert [line for line, _ in _scan(tmp_path, config)] == [11, 22, 26]


def test_one_rule_id_for_the_whole_table(tmp_path: Path) -> None:
    rule = write(tmp_path / "rules" / "TST002.yml", TEMPLATE)
    engine = Engine(ScanOptions(rules=[str(rule)], builtin_rules=False, jobs=1, use_cache=False))
    assert [r.id for r in engine.rules] == ["TST002"]


def test_config_rows_change_the_fingerprint(tmp_path: Path) -> None:
    rule = write(tmp_path / "rules" / "TST002.yml", TEMPLATE)
    config = write(tmp_path / ".gleak.yml", "resources: [{constructor: queue.Open, release: [Close]}]\n")
    plain = Engine(ScanOptions(rules=[str(rule)], builtin_rules=False, use_cache=False))
    extended = Engine(ScanOptions(rules=[str(rule)], builtin_rules=False, use_cache=False,
                                  config_path=str(config)))
    assert plain.fingerprint != extended.fingerprint


def test_unknown_placeholder_is_a_config_error(tmp_path: Path) -> None:
    rule = write(tmp_path / "rules" / "TST002.yml", TEMPLATE.replace("{{call}}($H", "{{callee}}($H"))
    with pytest.raises(ConfigError, match="callee"):
        Engine(ScanOptions(rules=[str(rule)], builtin_rules=False, use_cache=False))


def test_bad_config_row_names_the_problem(tmp_path: Path) -> None:
    rule = write(tmp_path / "rules" / "TST002.yml", TEMPLATE)
    config = write(tmp_path / ".gleak.yml", "resources: [{constructor: 'not a name', release: [Close]}]\n")
    with pytest.raises(ConfigError, match="constructor"):
        Engine(ScanOptions(rules=[str(rule)], builtin_rules=False, use_cache=False, config_path=str(config)))


REDIS = """\
package p

import (
	"context"

	"github.com/redis/go-redis/v9"
)

func listen(ctx context.Context, rdb *redis.Client) string {
	sub := rdb.Subscribe(ctx, "events")
	msg, _ := sub.ReceiveMessage(ctx)
	return msg.Payload
}

func listenOK(ctx context.Context, rdb *redis.Client) string {
	sub := rdb.Subscribe(ctx, "events")
	defer sub.Close()
	msg, _ := sub.ReceiveMessage(ctx)
	return msg.Payload
}
"""


def test_builtin_gl507_method_rows_need_the_import(tmp_path: Path) -> None:
    # GL507's built-in go-redis row is a method constructor: matched by name in files importing go-redis
    with_import = write(tmp_path / "a" / "p.go", REDIS)
    without = write(tmp_path / "b" / "p.go", REDIS.replace('"github.com/redis/go-redis/v9"', '"example.com/redis"'))
    engine = Engine(ScanOptions(select=["GL507"], jobs=1, use_cache=False))
    found = engine.scan([str(with_import), str(without)]).findings
    assert [(Path(f.primary.path).parent.name, f.primary.start_line) for f in found] == [("a", 10)]
