"""The package model: per-function effect summaries of one Go package, without type information.

A package is the `.go` files of one directory with the same `package` clause (a `_test.go` file sees the
non-test files too; the others do not see tests). For every function, method and function literal the model
records, in source order, the operations that matter for goroutine leaks: lock/unlock of a mutex, send /
receive / range / close on a channel, `Wait` / `Done` (WaitGroup, Cond), calls of same-package functions
and `go` statements; each with the locks held at that point.

Names stand in for types. A *reference* is an expression rooted at the receiver (`self`), a parameter (`pN`),
a package-level variable (`g`) or a local; its *identity* (`canon`) is `Type.field.path` when the root's type
is a named type of this package (the receiver type, a parameter's declared type, a local made by `&T{}`,
`T{}`, `new(T)` or a same-package constructor whose first result is `T`/`*T`), or `pkg.var` for package
variables. Calls resolve to same-package functions the same way (`x.m()` with x of a known type, `f()`), and
effects flow from callee to caller to a fixed point, mapped into the caller's terms (the callee's `self.mu`
is the caller's `c.mu` for a call `c.flush()`; a parameter is the argument).

Modules, bottom up:
    folders   a package's folder: its `.go` files (listed once per scan), their bytes and package clause
    summary   the plain data (Site, Ref, Op, FunctionSummary, FileSummary): picklable, cacheable
    extract   one file's tree -> its FileSummary (one query pass); what each capture records is in
              extract_decls, extract_ops, extract_locks, extract_locals, extract_funcs, extract_fields,
              extract_cancel, extract_fresh
    index     which file declares which function, type or variable (byte-level, no parse)
    model     PackageModel: a package's summaries loaded on demand, effects through calls, lock order
    store     PackageModels: the indexes, summaries and models of one scan (held by the scan context)
    shared    summaries shared between a scan's workers and later scans (content-addressed, signed, on disk)
    reads     what the package rules read of a folder, as checks the scan cache validates on a warm run

The facts rules ask (`model:` in the rule language) are answered from here by gleak_sarif/facts/.
"""
