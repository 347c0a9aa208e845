"""GLR001's metadata. It lives in Python, not in ``rules/runtime/*.yml``: the rule is evidence from a
running program (goroutine dumps), not a static pattern, so the YAML rule loader has nothing to compile."""

from __future__ import annotations

from gleak_sarif.model import Precision, RuleMeta, Severity

RULE_ID = "GLR001"
RULE_NAME = "leaked-goroutine"

GLR001 = RuleMeta(
    id=RULE_ID,
    name=RULE_NAME,
    severity=Severity.warning,
    precision=Precision.high,
    tags=["goroutine-leak", "runtime", "concurrency"],
    summary="Goroutines started by this go statement are blocked and piling up in a running program.",
    what=(
        "Reported from goroutine dumps, not from source patterns: goroutines started at this `go` statement "
        "were blocked on a channel, select or sync primitive and their number grew between two snapshots "
        "(`gleak-sarif runtime diff`), or a single dump says they leaked (Go 1.26 `goroutineleak` profile, "
        "goleak failure output) or they have been blocked for longer than `--min-minutes`. Goroutines that "
        "a library wrapper started (`time.AfterFunc`, `sync.WaitGroup.Go`, errgroup) are reported at the "
        "statement that hands the function literal to the wrapper."
    ),
    why=(
        "A goroutine blocked for ever keeps its stack and everything it references alive. One per request "
        "turns into a memory leak, growing latency and, eventually, an out-of-memory kill. The dump proves "
        "the leak happens; the message says how many goroutines, in which state, for how long and under "
        "which pprof labels (for example the HTTP route)."
    ),
    example=(
        "func handler(w http.ResponseWriter, r *http.Request) {\n"
        "    ch := make(chan result)\n"
        "    go func() { ch <- slowLookup() }() // blocks for ever once the handler returned\n"
        "    select {\n"
        "    case res := <-ch:\n"
        "        write(w, res)\n"
        "    case <-r.Context().Done():\n"
        "        return\n"
        "    }\n"
        "}"
    ),
    use_instead=(
        "func handler(w http.ResponseWriter, r *http.Request) {\n"
        "    ch := make(chan result, 1) // the send never blocks, the goroutine always ends\n"
        "    go func() { ch <- slowLookup() }()\n"
        "    ...\n"
        "}"
    ),
    references=[
        "https://pkg.go.dev/runtime/pprof#Profile",
        "https://go.dev/doc/go1.26#goroutineleak",
        "https://github.com/uber-go/goleak",
    ],
    source_path=None,
)

RUNTIME_RULES: tuple[RuleMeta, ...] = (GLR001,)
