// Command httpleak leaks the standard library's goroutines, not its own: it reads HTTP responses from a
// local server and never closes their bodies, so each connection keeps net/http's persistConn readLoop and
// writeLoop goroutines (started by net/http, not by a go statement here). It writes a goroutine profile
// (-debug 2 by default) to stdout; run it with GODEBUG=tracebackancestors=N to see the call that led to them.
package main

import (
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/pprof"
	"time"
)

func fetch(url string) int {
	resp, err := http.Get(url) // CAUSE: body never closed
	if err != nil {
		panic(err)
	}
	return resp.StatusCode
}

func main() {
	debug := flag.Int("debug", 2, "pprof debug level of the goroutine profile")
	flag.Parse()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "hello")
	}))
	// A transport without keep-alive reuse limits: every unclosed body holds its own connection.
	http.DefaultTransport.(*http.Transport).MaxConnsPerHost = 0
	for range 3 {
		fetch(srv.URL)
	}
	time.Sleep(50 * time.Millisecond)
	runtime.GC()
	pprof.Lookup("goroutine").WriteTo(os.Stdout, *debug)
}
