package gl224

// Leak drivers for the GL224 fixtures, copied into the fixture package by tests/cli/test_fix_and_run.py:
// each TestLeak_<Func> runs the fixture function on its early-return path (the collecting loop returns at
// the first error) and counts the goroutines still running once things settle, before and after
// `gleak-sarif scan --fix`.

import (
	"runtime"
	"testing"
	"time"
)

const runs = 5

// settled is the goroutine count once it stopped changing (goroutines of an earlier test may still be
// finishing).
func settled() int {
	n := runtime.NumGoroutine()
	for i := 0; i < 100; i++ {
		time.Sleep(20 * time.Millisecond)
		m := runtime.NumGoroutine()
		if m == n {
			break
		}
		n = m
	}
	return n
}

func leftAfter(t *testing.T, run func()) {
	t.Helper()
	before := settled()
	for i := 0; i < runs; i++ {
		run()
	}
	left := runtime.NumGoroutine() - before
	for deadline := time.Now().Add(3 * time.Second); left > 0 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
		left = runtime.NumGoroutine() - before
	}
	left = max(left, 0) // fewer than before: something of an earlier test ended meanwhile, nothing leaked
	t.Logf("GOROUTINES-LEFT %s %d", t.Name(), left)
	if left > 0 {
		t.Errorf("%d goroutine(s) still running after %d runs", left, runs)
	}
}

func TestLeak_FetchAll(t *testing.T) {
	leftAfter(t, func() { _, _ = FetchAll(make([]string, 4)) }) // every page fails: the first ends the loop
}
