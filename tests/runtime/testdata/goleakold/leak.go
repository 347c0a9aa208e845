// Package goleakold leaks on purpose so that goleak's failure output can be captured.
package goleakold

import "sync"

// Leak starts goroutines that never finish.
func Leak() {
	ch := make(chan int)
	go func() { // LEAK: send
		ch <- 1
	}()
	var mu sync.Mutex
	mu.Lock()
	go func() { // LEAK: mutex
		mu.Lock()
	}()
}
