// Command diffprog writes two goroutine dumps of one process (-o DIR: before.txt, after.txt) between which
// a long-lived worker changes state (sleeping, then waiting on a channel), short-lived goroutines end and
// are replaced by as many new ones at the same go statement, and one go statement leaks five more.
package main

import (
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sync/atomic"
	"time"
)

var phase atomic.Int32

func worker(wake chan int) {
	for phase.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	<-wake // WORKER: waits from the second phase on
}

func churn(done chan int, n int) {
	for range n {
		go func() { <-done }() // CHURN
	}
}

func leak(n int) {
	for range n {
		ch := make(chan int)
		go func() { ch <- 1 }() // LEAK: grows
	}
}

func dump(path string) {
	time.Sleep(20 * time.Millisecond)
	runtime.GC()
	f, err := os.Create(path)
	if err != nil {
		panic(err)
	}
	defer f.Close()
	if err := pprof.Lookup("goroutine").WriteTo(f, 2); err != nil {
		panic(err)
	}
}

func main() {
	out := flag.String("o", ".", "folder for before.txt and after.txt")
	flag.Parse()
	wake := make(chan int)
	go worker(wake) // WORKER: started
	done1, done2 := make(chan int), make(chan int)
	churn(done1, 3)
	leak(2)
	dump(filepath.Join(*out, "before.txt"))
	phase.Store(1)
	close(done1)
	churn(done2, 3)
	leak(5)
	dump(filepath.Join(*out, "after.txt"))
}
