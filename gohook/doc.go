// Package gohook is the in-process half of gleak-sarif's runtime evidence:
// it makes goroutine dumps of a live service easier to attribute and it takes
// those dumps on its own when the goroutine count looks like a leak.
//
// Two parts, standard library only:
//
//   - Middleware / Route label every request goroutine with its route via
//     runtime/pprof.Do. Goroutines started while serving the request inherit
//     the labels, so a leaked worker goroutine in a goroutine dump names the
//     route that started it. Go and Labeled label background goroutines.
//   - Watcher samples runtime/metrics (/sched/goroutines:goroutines) and
//     writes a debug=2 goroutine dump (the runtime.Stack(all) text that
//     `gleak-sarif runtime analyze|diff` reads) into a directory when the
//     count crosses a threshold or keeps growing, rate-limited and bounded.
//
// Where labels show up (checked with Go 1.26):
//
//   - pprof goroutine profile debug=1 (and debug=0 protobuf): always, as
//     `# labels: {"http.method":"GET", "http.route":"GET /leak"}`.
//   - debug=2 / runtime.Stack: only with GODEBUG=tracebacklabels=1 on Go 1.26,
//     printed inside the status brackets:
//     `goroutine 7 [chan send labels:{"http.method": "GET", "http.route": "GET /leak"}]:`.
//     Go 1.27 announces labels in debug=2 headers by default for modules
//     whose go directive is 1.27 or later.
package gohook
