"""Runtime evidence: goroutine dumps -> GLR001 findings at the ``go`` statement that leaks.

Modules
    parse      tolerant, auto-detecting parser: pprof goroutine debug=2 (= runtime.Stack, panic and
               GOTRACEBACK=system tracebacks), debug=1, the Go 1.26 goroutineleak profile (debug=1 and 2),
               goleak failure output (v1.3+ and <=1.2 layouts, VerifyNone and VerifyTestMain); mixed input;
               parse_dump_bytes also reads gzip and the protobuf form, and refuses what is none of these
    pprofproto the default (debug=0) form: a bounded gzip + pprof protobuf reader
    models     Goroutine / Frame / Ancestor / Dump (slotted dataclasses; 100k goroutines ~ 70 MB)
    cluster    clusters by creation site + normalised user frames; diff BEFORE AFTER (goroutines matched by
               id); single-dump selection
    library    the standard library's own goroutines: their causes and the static rules that find them
    mapping    build paths -> files under --source-root (go.mod module paths, module cache, -trimpath,
               suffix match); tree-sitter lookup of the go statement
    entries    entry function names -> the statement that started the goroutine (Go's closure numbering,
               the package model for named functions)
    findings   GLR001 Finding objects (primary = go statement, related = blocking frame, code flow = stack)
    output     text table, JSON paths relative to the source root, SARIF with nothing outside the root
    rule       GLR001's RuleMeta (Python, not YAML: there is no static pattern to compile)
    capture    http(s)-only fetching with a total deadline and a size limit for ``runtime watch``
    api        diff_dumps / analyze_dump / with_static for other tools
    cli        the typer sub-app mounted as ``gleak-sarif runtime`` (diff, analyze, watch)

Decisions
    Blocking (leak-like) states: channel send/receive (also nil-channel), select, select (no cases), sync
    Mutex/RWMutex/WaitGroup/Cond waits, semacquire, synctest's "(durable)" variants, and anything the
    runtime flags "(leaked)". Not: sleep, IO wait, syscall, running/runnable, GC and other runtime waits.
    diff reports clusters that grew (``--min-growth``); persistent-but-stable clusters only with
    ``--persistent`` (worker pools and tickers look like that). Goroutines started by a wrapper
    (time.AfterFunc, sync.WaitGroup.Go, errgroup) are reported at the statement that hands over the
    function; for debug=1/0 (no "created by") literals are found by Go's numbering checked against the
    line, named functions by the go statements that call them (receiver types resolved). See
    docs/runtime.md.
"""
