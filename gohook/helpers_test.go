package gohook

import (
	"bytes"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"
)

// blockers starts n goroutines parked in parkHere until the returned release
// func is called; release waits for all of them to exit.
func blockers(t *testing.T, n int) (release func()) {
	t.Helper()
	gate := make(chan struct{})
	var wg sync.WaitGroup
	started := make(chan struct{}, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			parkHere(started, gate)
		}()
	}
	for i := 0; i < n; i++ {
		<-started
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			close(gate)
			wg.Wait()
		})
	}
	t.Cleanup(release)
	return release
}

//go:noinline
func parkHere(started chan<- struct{}, gate <-chan struct{}) {
	started <- struct{}{}
	<-gate
}

// debugProfile returns the goroutine profile at the given debug level.
func debugProfile(t *testing.T, level int) string {
	t.Helper()
	var b bytes.Buffer
	if err := pprof.Lookup("goroutine").WriteTo(&b, level); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// noGoroutinesIn fails if, after a short settling time, any goroutine still
// has a frame whose function name contains fn. It is this package's own
// small leak check (no goleak: gohook is standard library only).
func noGoroutinesIn(t *testing.T, fn string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for {
		dump := debugProfile(t, 2)
		var bad []string
		for _, block := range strings.Split(dump, "\n\n") {
			if strings.Contains(block, fn) && !strings.Contains(block, "noGoroutinesIn") {
				bad = append(bad, block)
			}
		}
		if len(bad) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("goroutines left running in %s:\n%s", fn, strings.Join(bad, "\n\n"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// settles waits until runtime.NumGoroutine is back to at most want.
func settles(t *testing.T, want int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > want {
		if time.Now().After(deadline) {
			t.Fatalf("NumGoroutine = %d, want <= %d\n%s", runtime.NumGoroutine(), want, debugProfile(t, 2))
		}
		time.Sleep(10 * time.Millisecond)
	}
}
