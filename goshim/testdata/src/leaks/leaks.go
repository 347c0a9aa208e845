// Package leaks holds one leak per built-in rule (GL501 is in ../oldgo, which needs a go.mod) that the plugin tests expect the engine to report.
package leaks

import (
	"context"
	"errors"
	"os/exec"
	"sync"
	"time"
)

func fetch() int { return 42 }

// GL201: the select can time out; the goroutine's send then blocks forever.
func FirstOrTimeout(d time.Duration) (int, error) {
	ch := make(chan int)
	go func() { // want `GL201 warning: goroutine sends on unbuffered channel ch, but the select receiving from it can take another case first`
		ch <- fetch()
	}()
	select {
	case v := <-ch:
		return v, nil
	case <-time.After(d):
		return 0, errors.New("timeout")
	}
}

// GL202: the early return skips the receive.
func FirstUnlessBad(bad bool) (int, error) {
	ch := make(chan int)
	go func() { // want `GL202 warning: goroutine sends on unbuffered channel ch, but this function can return before receiving from it`
		ch <- fetch()
	}()
	if bad {
		return 0, errors.New("bad input")
	}
	return <-ch, nil
}

// GL506: the command is started and never waited for.
func Launch(ctx context.Context, bin string) error {
	return exec.CommandContext(ctx, bin).Start() // want `GL506 warning: the command started here is never waited for`
}

// GL402: Add inside the goroutine it counts.
func RunAll(jobs []func()) {
	var wg sync.WaitGroup
	for _, job := range jobs {
		go func() {
			wg.Add(1) // want `GL402 note: wg\.Add is called inside the goroutine it counts`
			defer wg.Done()
			job()
		}()
	}
	wg.Wait()
}
