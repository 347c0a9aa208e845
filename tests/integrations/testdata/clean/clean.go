// Package clean has goroutines that always end: nothing here may be reported.
package clean

import (
	"context"
	"sync"
)

// First returns the first result, or the context's error; the buffered channel lets the
// goroutine finish even when nobody receives.
func First(ctx context.Context, get func() int) (int, error) {
	ch := make(chan int, 1)
	go func() {
		ch <- get()
	}()
	select {
	case v := <-ch:
		return v, nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// Each runs fn for every item and waits for all of them.
func Each(items []string, fn func(string)) {
	var wg sync.WaitGroup
	for _, item := range items {
		wg.Add(1)
		go func(item string) {
			defer wg.Done()
			fn(item)
		}(item)
	}
	wg.Wait()
}
