// Command leakprog leaks goroutines on purpose and prints a goroutine dump, so that the
// runtime parsers are tested on real output of this Go toolchain.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"sync"
	"time"
)

func leakSend() {
	ch := make(chan int)
	go func() { // LEAK: send
		ch <- 1
	}()
}

func recvForever(ch chan int) { <-ch }

func leakRecv() {
	ch := make(chan int)
	go recvForever(ch) // LEAK: recv
}

func leakWaitGroup() {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { wg.Wait() }() // LEAK: wg
}

func leakLocked() {
	ch := make(chan int)
	go func() { // LEAK: locked
		runtime.LockOSThread()
		<-ch
	}()
}

func deep(n int, ch chan int) int {
	if n == 0 {
		return <-ch
	}
	return deep(n-1, ch) + 1
}

func leakDeep() {
	ch := make(chan int)
	go deep(150, ch) // LEAK: deep
}

func first[T any](ch chan T) T { return <-ch }

func leakGeneric() {
	ch := make(chan string)
	go first(ch) // LEAK: generic
}

func leakLabelled() {
	pprof.Do(context.Background(), pprof.Labels("http.route", "GET /leak", "tenant", "x=1, y]"), func(context.Context) {
		go func() { select {} }() // LEAK: labelled
	})
}

func leakWrappers() {
	var wg sync.WaitGroup
	wg.Go(func() { time.Sleep(time.Hour) })                                    // LEAK: wggo
	time.AfterFunc(time.Millisecond, func() { ch := make(chan int); ch <- 1 }) // LEAK: afterfunc
}

func startMany(n int) {
	ch := make(chan int)
	for i := 0; i < n; i++ {
		go func() { <-ch }() // LEAK: many
	}
}

func main() {
	profile := flag.String("profile", "goroutine", "profile name: goroutine or goroutineleak")
	debug := flag.Int("debug", 2, "pprof debug level")
	wait := flag.Duration("wait", 50*time.Millisecond, "time to wait before dumping")
	many := flag.Int("many", 0, "start this many extra blocked goroutines")
	out := flag.String("o", "", "write the dump to this file instead of stdout (needed with -tags faketime)")
	crash := flag.Bool("panic", false, "panic instead of writing a profile (run with GOTRACEBACK=all|system)")
	flag.Parse()
	for i := 0; i < 3; i++ {
		leakSend()
	}
	leakRecv()
	leakWaitGroup()
	leakLocked()
	leakDeep()
	leakGeneric()
	leakLabelled()
	leakWrappers()
	startMany(*many)
	// The runtime stamps a blocked goroutine's wait start during GC stack scans, so without a GC
	// the "N minutes" part of the header never appears. Built with -tags faketime, the sleep below
	// takes no real time, which is how the tests get real "N minutes" headers quickly.
	time.Sleep(10 * time.Millisecond)
	runtime.GC()
	time.Sleep(*wait)
	runtime.GC()
	if *crash {
		panic("leakprog: crash requested")
	}
	p := pprof.Lookup(*profile)
	if p == nil {
		fmt.Fprintln(os.Stderr, "no such profile:", *profile)
		os.Exit(2)
	}
	w := os.Stdout
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer f.Close()
		w = f
	}
	if err := p.WriteTo(w, *debug); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
