"""`no-counterpart` (gopackage/channels.py): channel fields across the files of a package, with accessors,
locals standing for a field, owners told apart by type, and the ways a channel leaves the model's sight."""

from __future__ import annotations

from pathlib import Path

from gleak_sarif.config import ScanOptions
from gleak_sarif.engine import Engine
from tests.helpers import RULE_HEADER, lines, run_rule, write

NO_COUNTERPART = """
rule:
  all:
    - any:
        - pattern: $CH <- $V
        - pattern: <-$CH
    - model:
        no-counterpart: {chan: $CH, made: MADE}
related:
  - {capture: $MADE, message: "made"}
"""


def scan(tmp_path: Path, files: dict[str, str], target: str) -> list[int]:
    rule = write(tmp_path / "rules" / "TST001.yml", RULE_HEADER + NO_COUNTERPART)
    for name, text in files.items():
        write(tmp_path / "src" / name, text)
    engine = Engine(ScanOptions(rules=[str(rule)], builtin_rules=False, jobs=1, use_cache=False))
    return lines(engine.scan([str(tmp_path / "src" / target)]).findings)


def test_counterpart_in_another_file_and_by_owner_type(tmp_path: Path) -> None:
    """The type, the make, the send and the receive sit in different files; a second type with a field of
    the same name has no receiver, and only its send is reported."""
    files = {
        "types.go": """
            package q
            type a struct{ jobs chan int }
            type b struct{ jobs chan int }
            func newA() *a { return &a{jobs: make(chan int)} }
            func newB() *b { return &b{jobs: make(chan int)} }
        """,
        "recv.go": """
            package q
            func (x *a) work() { for j := range x.jobs { _ = j } }
        """,
        "send.go": """
            package q
            func (x *a) push(n int) { x.jobs <- n }
            func (y *b) push(n int) { y.jobs <- n }
        """,
    }
    assert scan(tmp_path, files, "send.go") == [3]


def test_accessor_and_alias(tmp_path: Path) -> None:
    """A receive through an accessor chain (`s.st.Quiet()`) is on the field the accessor returns; a close
    through a local copy of the field feeds it."""
    files = {
        "a.go": """
            package q
            type stopper struct{ quiet chan struct{}; done chan struct{} }
            func newStopper() *stopper { return &stopper{quiet: make(chan struct{}), done: make(chan struct{})} }
            func (s *stopper) Quiet() <-chan struct{} { return s.quiet }
            func (s *stopper) Done() <-chan struct{} { return s.done }
            func (s *stopper) finish() { d := s.done; close(d) }
            type svc struct{ st *stopper }
            func (v *svc) wait() {
                <-v.st.Quiet()
                <-v.st.Done()
            }
        """,
    }
    assert scan(tmp_path, files, "a.go") == [9]


def test_escapes_and_exported_names(tmp_path: Path) -> None:
    """Handed to a call, set from a parameter, exported outside package main: not reported. In package main
    nothing imports the package, so an exported field is still the package's own."""
    lib = """
        package {pkg}
        type t struct{{ a chan int; b chan int; C chan int }}
        func newT(in chan int) *t {{
            x := &t{{a: make(chan int), b: make(chan int), C: make(chan int)}}
            go consume(x.a)
            x.b = in
            return x
        }}
        func consume(c chan int) {{ for range c {{}} }}
        func (x *t) send() {{
            x.a <- 1
            x.b <- 1
            x.C <- 1
        }}
    """
    assert scan(tmp_path / "lib", {"a.go": lib.format(pkg="q")}, "a.go") == []
    assert scan(tmp_path / "main", {"a.go": lib.format(pkg="main")}, "a.go") == [13]


def test_buffer_trusted_only_when_constant_and_not_looped(tmp_path: Path) -> None:
    files = {
        "a.go": """
            package q
            type t struct{ one chan int; many chan int; sized chan int }
            func newT(n int) *t { return &t{one: make(chan int, 1), many: make(chan int, 1), sized: make(chan int, n)} }
            func (x *t) a() { x.one <- 1 }
            func (x *t) b() { for i := 0; i < 3; i++ { x.many <- i } }
            func (x *t) c() { x.sized <- 1 }
        """,
    }
    assert scan(tmp_path, files, "a.go") == [5, 6]


def test_a_send_on_an_indexed_owner_counts_as_a_counterpart(tmp_path: Path) -> None:
    """`m[k].f <- v` names no owner the model can type: it counts for every field named f."""
    files = {
        "a.go": """
            package q
            type sub struct{ ch chan int }
            type pub struct{ subs map[int]sub }
            func (p *pub) add(id int) { p.subs[id] = sub{ch: make(chan int)} }
            func (p *pub) emit(id int) { p.subs[id].ch <- 1 }
            func (s sub) next() int { return <-s.ch }
        """,
    }
    assert scan(tmp_path, files, "a.go") == []


def test_related_capture_from_one_branch_of_any(tmp_path: Path) -> None:
    """A `related` capture bound only by some branches of an `any` is shown when the match bound it."""
    findings = run_rule(tmp_path, """
        rule:
          any:
            - pattern: <-$CH
              inside: {kind: select_statement, as: SEL}
            - pattern: $CH <- $V
        related:
          - {capture: $SEL, message: "in this select"}
    """, """
        package q
        func f(a, b chan int) {
            select {
            case <-a:
            }
            b <- 1
        }
    """)
    assert [(f.primary.start_line, [r.span.start_line for r in f.related]) for f in findings] == [(4, [3]), (6, [])]


def test_promoted_field_and_one_local_in_two_fields(tmp_path: Path) -> None:
    """A field promoted from an embedded struct is the embedded struct's field (`t.done` on a type that
    embeds `common` is `common.done`); a local stored in two fields makes them one channel, whose ends the
    model does not pair up (net.Pipe's cross-wired halves), so neither is reported."""
    files = {
        "a.go": """
            package q
            type common struct{ done chan bool; parent *common }
            type T struct{ common }
            func newT() *T { return &T{common{done: make(chan bool)}} }
            func (t *T) finish() { close(t.done) }
            func (c *common) wait() { <-c.parent.done }
            type half struct{ rd chan int; wr chan int }
            func pair() (*half, *half) {
                a, b := make(chan int), make(chan int)
                return &half{rd: a, wr: b}, &half{rd: b, wr: a}
            }
            func (h *half) read() int { return <-h.rd }
        """,
    }
    assert scan(tmp_path, files, "a.go") == []


RECEIVERS_EXIT = """
rule:
  all:
    - pattern: $CH <- $V
    - model:
        receivers-exit: {receiver: RECV, exit: EXIT}
related:
  - {capture: $EXIT, message: "exit"}
"""


def test_receivers_exit_on_a_stop_signal_only(tmp_path: Path) -> None:
    """Every receive is a select case in a loop whose other case returns on a stop signal that can come
    (a closed field, `ctx.Done()`); a timer, a message case or a stop channel nothing closes is not one."""
    rule = write(tmp_path / "rules" / "TST001.yml", RULE_HEADER + RECEIVERS_EXIT)
    source = write(tmp_path / "src" / "a.go", """
        package q
        import ("context"; "time")
        type n struct{ a, b, c, d chan int; stop, dead chan struct{} }
        func newN() *n {
            return &n{a: make(chan int), b: make(chan int), c: make(chan int), d: make(chan int),
                stop: make(chan struct{}), dead: make(chan struct{})}
        }
        func (x *n) halt() { close(x.stop) }
        func (x *n) run(ctx context.Context) {
            for {
                select {
                case <-x.a:
                case <-x.stop:
                    return
                }
                select {
                case <-x.b:
                case <-ctx.Done():
                    return
                }
                select {
                case <-x.c:
                case <-time.After(time.Second):
                    return
                }
                select {
                case <-x.d:
                case <-x.dead:
                    return
                }
            }
        }
        func (x *n) send() {
            x.a <- 1
            x.b <- 1
            x.c <- 1
            x.d <- 1
        }
    """)
    engine = Engine(ScanOptions(rules=[str(rule)], builtin_rules=False, jobs=1, use_cache=False))
    found = engine.scan([str(source)]).findings
    assert [(f.primary.start_line, [r.span.start_line for r in f.related]) for f in found] == [(34, [13]), (35, [18])]


def test_receivers_exit_not_when_a_deferred_function_drains(tmp_path: Path) -> None:
    """A receiving function whose deferred function receives from the channel again (a literal calling a
    drain method, or `defer x.drain()`) has not stopped receiving when its loop returns; a deferred function
    that only closes something else does not count."""
    rule = write(tmp_path / "rules" / "TST001.yml", RULE_HEADER + RECEIVERS_EXIT)
    source = write(tmp_path / "src" / "a.go", """
        package q
        type n struct{ a, b, c chan int; stop, done chan struct{} }
        func newN() *n {
            return &n{a: make(chan int), b: make(chan int), c: make(chan int), stop: make(chan struct{}),
                done: make(chan struct{})}
        }
        func (x *n) halt() { close(x.stop) }
        func (x *n) drainA() { for { select { case <-x.a: case <-x.stop: return } } }
        func (x *n) drainB() { for { select { case <-x.b: case <-x.stop: return } } }
        func (x *n) runA() {
            defer func() { x.drainA() }()
            for { select { case <-x.a: case <-x.stop: return } }
        }
        func (x *n) runB() {
            defer x.drainB()
            for { select { case <-x.b: case <-x.stop: return } }
        }
        func (x *n) runC() {
            defer func() { close(x.done) }()
            for { select { case <-x.c: case <-x.stop: return } }
        }
        func (x *n) send() {
            x.a <- 1
            x.b <- 1
            x.c <- 1
        }
    """)
    engine = Engine(ScanOptions(rules=[str(rule)], builtin_rules=False, jobs=1, use_cache=False))
    assert lines(engine.scan([str(source)]).findings) == [25]  # x.c <- 1 only


def test_replies_buffered_when_every_sender_sends_a_buffered_channel(tmp_path: Path) -> None:
    """`replies-buffered`: a receive on a channel of channels whose every send (in any file of the package)
    sends a channel made with a buffer there (a local made with one, or `make(chan T, n)` in the send); one
    sender of an unbuffered channel, or a close of the field, and it does not hold."""
    files = {
        "a.go": """
            package q
            type s struct{ a, b, c, d chan chan int }
            func newS() *s {
                return &s{a: make(chan chan int), b: make(chan chan int), c: make(chan chan int),
                    d: make(chan chan int)}
            }
            func (x *s) serve() {
                r := <-x.a
                r <- 1
                r = <-x.b
                r <- 1
                r = <-x.c
                r <- 1
                r = <-x.d
                r <- 1
            }
        """,
        "b.go": """
            package q
            func (x *s) ask() {
                ra := make(chan int, 1)
                x.a <- ra
                x.b <- make(chan int, 1)
                rc := make(chan int, 1)
                x.c <- rc
                x.d <- make(chan int, 1)
            }
            func (x *s) askAgain() {
                rc := make(chan int)
                x.c <- rc
                close(x.d)
            }
        """,
    }
    rule = write(tmp_path / "rules" / "TST001.yml", RULE_HEADER + """
rule:
  pattern: <-$CH
  model: {replies-buffered: {}}
""")
    for name, text in files.items():
        write(tmp_path / "src" / name, text)
    engine = Engine(ScanOptions(rules=[str(rule)], builtin_rules=False, jobs=1, use_cache=False))
    assert lines(engine.scan([str(tmp_path / "src" / "a.go")]).findings) == [8, 10]


def test_drops_a_channel_the_callee_never_mentions(tmp_path: Path) -> None:
    """`drops: $CH`: every function the call may run leaves that channel parameter unused (or unnamed); a
    callee that mentions it (closes it, passes it on) or a function value does not drop it."""
    findings = run_rule(tmp_path, """
        rule:
          all:
            - pattern: $F($$$, $CH, $$$)
            - model:
                drops: $CH
    """, """
        package q
        type w struct{}
        func (x *w) ignore(done chan int) {}
        func (x *w) blank(_ chan int) {}
        func (x *w) closes(done chan int) { close(done) }
        func (x *w) passes(done chan int) { use(done) }
        func use(c chan int) { c <- 1 }
        func (x *w) run(f func(chan int)) {
            c := make(chan int)
            go x.ignore(c)
            x.blank(c)
            x.closes(c)
            x.passes(c)
            f(c)
        }
    """)
    assert lines(findings) == [10, 11]


def test_made_binds_the_owners_first_make_among_others_of_the_same_name(tmp_path: Path) -> None:
    """The makes of a field name many types share are told apart by owner (indexed once per package, not
    checked per question): each unmatched send binds its own type's first make, in the package's file order,
    whatever the other types' makes around it."""
    files = {
        "a.go": """
            package q
            type a struct{ jobs chan int }
            type b struct{ jobs chan int }
            type c struct{ jobs chan int }
            func newB() *b { return &b{jobs: make(chan int)} }
            func newA() *a { return &a{jobs: make(chan int)} }
        """,
        "b.go": """
            package q
            func newC() *c { return &c{jobs: make(chan int)} }
            func (x *a) again() { x.jobs = make(chan int) }
            func (y *b) again() { y.jobs = make(chan int) }
        """,
        "send.go": """
            package q
            func (x *a) push(n int) { x.jobs <- n }
            func (y *b) push(n int) { y.jobs <- n }
            func (z *c) push(n int) { z.jobs <- n }
        """,
    }
    rule = write(tmp_path / "rules" / "TST001.yml", RULE_HEADER + NO_COUNTERPART)
    for name, text in files.items():
        write(tmp_path / "src" / name, text)
    engine = Engine(ScanOptions(rules=[str(rule)], builtin_rules=False, jobs=1, use_cache=False))
    found = engine.scan([str(tmp_path / "src" / "send.go")]).findings
    made = [(f.primary.start_line, [(Path(r.span.path).name, r.span.start_line) for r in f.related]) for f in found]
    assert made == [(2, [("a.go", 6)]), (3, [("a.go", 5)]), (4, [("b.go", 2)])]
