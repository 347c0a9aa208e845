package gl201

// Leak drivers for the GL201 fixtures, copied into the fixture package by tests/cli/test_fix_and_run.py:
// each TestLeak_<Func> runs the fixture function on the path that leaks and counts the goroutines still
// running once things settle, before and after `gleak-sarif scan --fix`.

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"
)

const runs = 5 // a few runs: the cancelled-context cases leak on most runs, not on every one

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

func cancelled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

func slow() error {
	time.Sleep(20 * time.Millisecond)
	return nil
}

type quietLog struct{}

func (quietLog) Errorf(string, ...any) {}

func TestLeak_Fetch(t *testing.T) {
	leftAfter(t, func() { _, _ = Fetch(cancelled(), "u") })
}

func TestLeak_Lookup(t *testing.T) {
	leftAfter(t, func() { _, _ = Lookup("k", time.Millisecond) })
}

func TestLeak_Poll(t *testing.T) {
	leftAfter(t, func() { _, _ = Poll(func() int { _ = slow(); return 1 }) })
}

func TestLeak_Render(t *testing.T) {
	leftAfter(t, func() { _, _ = Render(cancelled(), "u") })
}

func TestLeak_FetchAny(t *testing.T) {
	leftAfter(t, func() { _, _ = FetchAny(cancelled(), []string{"a", "b", "c"}) })
}

func TestLeak_WaitOrGiveUp(t *testing.T) {
	leftAfter(t, func() { _ = WaitOrGiveUp(cancelled(), slow, time.Hour) })
}

func TestLeak_SkipIfSlow(t *testing.T) {
	leftAfter(t, func() {
		t.Run("probe", func(t *testing.T) { _ = SkipIfSlow(t, slow, time.Millisecond) })
	})
}

func TestLeak_Resolve(t *testing.T) {
	lookup := func(string) (string, error) { return "addr", slow() }
	leftAfter(t, func() { _, _ = Resolve(quietLog{}, "name", lookup, time.Millisecond) })
}

func TestLeak_Retry(t *testing.T) {
	leftAfter(t, func() { _ = Retry(cancelled(), slow) })
}

func TestLeak_NotifyErr(t *testing.T) {
	failing := func() error { _ = slow(); return errors.New("check failed") }
	leftAfter(t, func() { _ = NotifyErr(cancelled(), failing) })
}

func TestLeak_FirstWord(t *testing.T) {
	word := func() string { _ = slow(); return "word" }
	leftAfter(t, func() {
		errs := make(chan error)
		close(errs) // the deferred drain of errs ends at once: only the word's sender can be left
		_ = FirstWord(word, errs, time.Millisecond)
	})
}
func TestLeak_TestHandshakeRealClock(t *testing.T) {
	leftAfter(t, func() { TestHandshakeRealClock(t) })
}
