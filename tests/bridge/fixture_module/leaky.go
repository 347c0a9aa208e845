// Package leaky is the fixture module of the golangci-lint integration test (tests/bridge).
package leaky

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"sync"
	"time"
)

func fetch() int { return 42 }

// FirstOrTimeout leaks the goroutine when the timeout wins (GL201, which has a fix).
func FirstOrTimeout(d time.Duration) (int, error) {
	ch := make(chan int)
	go func() {
		ch <- fetch()
	}()
	select {
	case v := <-ch:
		return v, nil
	case <-time.After(d):
		return 0, errors.New("timeout")
	}
}

// Launch starts a helper it never waits for (GL506), silenced for golangci-lint by the nolint directive.
func Launch(ctx context.Context, bin string) error {
	return exec.CommandContext(ctx, bin).Start() //nolint:gleak // the helper detaches and reaps itself
}

// RunAll calls Add inside the goroutine it counts (GL402); one goroutine per job received (GL104).
func RunAll(jobs <-chan func()) {
	var wg sync.WaitGroup
	for job := range jobs {
		go func() {
			wg.Add(1)
			defer wg.Done()
			job()
		}()
	}
	wg.Wait()
}

// PrintEach counts every goroutine, but none of them calls Done (GL403, an error; GL414 on the Wait), and starts one per item
// of a channel (GL104, a note): both are reported on the go statement's line, where golangci-lint keeps only one issue.
func PrintEach(jobs <-chan string) {
	var wg sync.WaitGroup
	for job := range jobs {
		wg.Add(1)
		go func() {
			fmt.Println(job)
		}()
	}
	wg.Wait()
}

// Describe has a printf mistake for go vet (used when gleak's engine is missing: other linters still report).
func Describe(n int) string {
	return fmt.Sprintf("%d items", fmt.Sprint(n))
}
