// Command errgroupprog leaks a goroutine started through golang.org/x/sync/errgroup, so that the
// dump has a library wrapper as creator and module-cache paths in its frames.
package main

import (
	"os"
	"runtime/pprof"
	"time"

	"golang.org/x/sync/errgroup"
)

func leak() {
	var g errgroup.Group
	ch := make(chan int)
	g.Go(func() error { // LEAK: errgroup
		ch <- 1
		return nil
	})
}

func main() {
	leak()
	time.Sleep(50 * time.Millisecond)
	_ = pprof.Lookup("goroutine").WriteTo(os.Stdout, 2)
}
