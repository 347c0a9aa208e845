// Command staticprog leaks goroutines where gleak-sarif's static rules also point, and writes the goroutine
// leak profile (debug=2) to stdout: a receive on a nil channel (GL208 on the blocked line) and a lock taken
// again through a call (GL408 on the call, a frame of the blocked stack), and a second send nobody receives
// (GL204: its primary is the first send, the blocked send is a related location). other.go has static
// findings of its own that no leaked goroutine touches.
package main

import (
	"errors"
	"os"
	"runtime"
	"runtime/pprof"
	"sync"
	"time"
)

func nilWait() {
	go func() { // GO: nil
		var c chan int
		<-c // BLOCKED: nil
	}()
}

type store struct {
	mu    sync.Mutex
	items map[string]int
}

func (s *store) size() int {
	s.mu.Lock() // BLOCKED: relock
	defer s.mu.Unlock()
	return len(s.items)
}

func (s *store) add(k string) {
	s.mu.Lock()
	s.items[k] = s.size() // CALL: relock
	s.mu.Unlock()
}

// fetch sends the error and then, with no return in between, the value: the caller took one reply and left.
func fetch(fail bool) error {
	replies := make(chan error)
	go func() { // GO: double
		var err error
		if fail {
			err = errors.New("unavailable")
		}
		if err != nil {
			replies <- err
		}
		replies <- nil // BLOCKED: double
	}()
	return <-replies
}

func main() {
	nilWait()
	_ = fetch(true)
	s := &store{items: map[string]int{}}
	go s.add("x") // GO: relock
	time.Sleep(50 * time.Millisecond)
	runtime.GC()
	pprof.Lookup("goroutineleak").WriteTo(os.Stdout, 2)
}
