// Command entryprog starts goroutines in every way the runtime names differently (function literals by
// number, nested, in methods, generics, package variables, init functions, range-over-func bodies, inlined
// functions; named functions and methods; time.AfterFunc in statement, assigned and returned form) and
// writes a goroutine or goroutineleak profile. Each start is marked with a START comment on its line; every
// goroutine blocks on a channel nothing else can reach, so the leak profile lists them all.
package main

import (
	"context"
	"flag"
	"fmt"
	"iter"
	"os"
	"runtime"
	"runtime/pprof"
	"sync"
	"time"
)

func literals() {
	func() {}() // func1: called on the spot
	go func() { // START: lit-func2
		<-make(chan int)
	}()
	defer func() {}() // func3
	go func() {       // START: lit-func4
		ch := make(chan int)
		go func() { <-ch }() // START: lit-func4.1
		ch2 := make(chan int)
		<-ch2
	}()
}

type Tx struct{ done chan int }

func (tx *Tx) awaitDone() { <-tx.done }

type Rows struct{ done chan int }

func (rs *Rows) awaitDone() { <-rs.done }

func newTx() *Tx {
	tx := &Tx{done: make(chan int)}
	go tx.awaitDone() // START: tx-await
	return tx
}

func newRows() *Rows {
	rs := &Rows{done: make(chan int)}
	go rs.awaitDone() // START: rows-await
	return rs
}

type Proxy struct{ ch chan int }

func (p *Proxy) Run() {
	if p.ch == nil {
		p.ch = make(chan int)
	}
	<-p.ch
}

type Val struct{ ch chan int }

func (v Val) wait() {
	go func() { <-v.ch }() // START: value-method-lit
}

type Box[T any] struct{ ch chan T }

func (b *Box[T]) start() {
	go func() { <-b.ch }() // START: generic-method-lit
}

func startGeneric[T any](ch chan T) {
	go func() { <-ch }() // START: generic-func-lit
}

func recvNamed(ch chan int) { <-ch }

type worker struct{ ch chan int }

func (w *worker) loop() { <-w.ch }

func twins() {
	w := &worker{ch: make(chan int)}
	go w.loop() // START: twin-1
	go w.loop() // START: twin-2
}

func stored() {
	ch := make(chan int)
	f := func() { <-ch }
	go f() // START: stored-var
}

func seq(yield func(int) bool) {
	for i := range 1 {
		if !yield(i) {
			return
		}
	}
}

//go:noinline
func overSeq(s iter.Seq[int]) {
	for range s {
		ch := make(chan int)
		go func() { <-ch }() // START: range-func-lit
	}
}

type Timer struct {
	t  *time.Timer
	ch chan int
}

// arm is small enough to be inlined into armTimer: its literal is then named after armTimer
// (main.armTimer.(*Timer).arm.func1), numbered in armTimer's sequence.
func (s *Timer) arm() {
	s.t = time.AfterFunc(time.Millisecond, func() { // START: afterfunc-field
		<-s.ch
	})
}

func armTimer() {
	func() {}()
	(&Timer{ch: make(chan int)}).arm()
}

func afterFuncs() *time.Timer {
	ch := make(chan int)
	time.AfterFunc(time.Millisecond, func() { <-ch }) // START: afterfunc-stmt
	t := time.AfterFunc(time.Millisecond, func() {    // START: afterfunc-assigned
		<-ch
	})
	_ = t
	p := &Proxy{}
	time.AfterFunc(time.Millisecond, p.Run)                  // START: afterfunc-method
	return time.AfterFunc(time.Millisecond, func() { <-ch }) // START: afterfunc-returned
}

func wrappers() {
	var wg sync.WaitGroup
	ch := make(chan int)
	wg.Go(func() { <-ch }) // START: waitgroup-go
}

// twoWays starts two goroutines at one go statement that block on different lines: two clusters.
func twoWays() {
	for i := range 2 {
		a, b := make(chan int), make(chan int)
		go func() { // START: two-ways
			if i == 0 {
				<-a // BLOCK: first
			} else {
				<-b // BLOCK: second
			}
		}()
	}
}

func labelled() {
	pprof.Do(context.Background(), pprof.Labels("route", "GET /x"), func(context.Context) {
		go func() { <-make(chan int) }() // START: labelled
	})
}

func main() {
	profile := flag.String("profile", "goroutine", "goroutine or goroutineleak")
	debug := flag.Int("debug", 2, "pprof debug level (0: gzipped protobuf)")
	out := flag.String("o", "", "write the profile here (default stdout)")
	cpu := flag.String("cpuprofile", "", "write a CPU profile here instead (not a goroutine profile)")
	flag.Parse()
	if *cpu != "" {
		f, err := os.Create(*cpu)
		if err != nil {
			panic(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			panic(err)
		}
		pprof.StopCPUProfile()
		f.Close()
		return
	}
	literals()
	newTx()
	newRows()
	go (&Proxy{}).Run() // START: literal-receiver
	Val{ch: make(chan int)}.wait()
	(&Box[string]{ch: make(chan string)}).start()
	startGeneric(make(chan int))
	go recvNamed(make(chan int)) // START: named-func
	twins()
	stored()
	overSeq(seq)
	armTimer()
	afterFuncs()
	wrappers()
	labelled()
	twoWays()
	startFromVars()
	time.Sleep(20 * time.Millisecond)
	for range 10 {
		runtime.Gosched()
	}
	runtime.GC()
	w := os.Stdout
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			panic(err)
		}
		defer f.Close()
		w = f
	}
	if err := pprof.Lookup(*profile).WriteTo(w, *debug); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
