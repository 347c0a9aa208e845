package gohook

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"
)

// labelServer has one route whose handler starts a child goroutine that
// stays blocked after the request has finished, like a leaked worker.
type labelServer struct {
	mux     *http.ServeMux
	started chan struct{}
	gate    chan struct{}
	wg      sync.WaitGroup
	seen    map[string]string // labels the handler saw in its context
}

func newLabelServer() *labelServer {
	s := &labelServer{mux: http.NewServeMux(), started: make(chan struct{}), gate: make(chan struct{})}
	s.mux.HandleFunc("GET /work/{id}", func(w http.ResponseWriter, r *http.Request) {
		s.seen = map[string]string{}
		pprof.ForLabels(r.Context(), func(k, v string) bool { s.seen[k] = v; return true })
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			labelledChild(s.started, s.gate)
		}()
		<-s.started
	})
	return s
}

func (s *labelServer) release() {
	close(s.gate)
	s.wg.Wait()
}

//go:noinline
func labelledChild(started chan<- struct{}, gate <-chan struct{}) {
	started <- struct{}{}
	<-gate
}

// recordFor returns the debug=1 record whose frames mention fn.
func recordFor(t *testing.T, dump, fn string) string {
	t.Helper()
	for _, rec := range strings.Split(dump, "\n\n") {
		if strings.Contains(rec, fn) {
			return rec
		}
	}
	t.Fatalf("no record with %s in:\n%s", fn, dump)
	return ""
}

func TestMiddlewareLabelsRequestAndChildren(t *testing.T) {
	s := newLabelServer()
	h := Middleware(MuxRoutes(s.mux), s.mux)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/work/42", nil))
	defer s.release()

	want := map[string]string{LabelRoute: "GET /work/{id}", LabelMethod: "GET"}
	if fmt.Sprint(s.seen) != fmt.Sprint(want) {
		t.Errorf("labels in the request context = %v, want %v", s.seen, want)
	}
	// The child outlived its request and still carries the labels.
	r := recordFor(t, debugProfile(t, 1), "gohook.labelledChild")
	if !strings.Contains(r, `# labels: {"http.method":"GET", "http.route":"GET /work/{id}"}`) {
		t.Errorf("child record lacks the route labels:\n%s", r)
	}
}

func TestMiddlewareUnmatchedAndNilRouteFunc(t *testing.T) {
	for _, tc := range []struct {
		name    string
		routeOf RouteFunc
	}{
		{"nil RouteFunc", nil},
		{"MuxRoutes without a match", MuxRoutes(http.NewServeMux())},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got string
			h := Middleware(tc.routeOf, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got, _ = pprof.Label(r.Context(), LabelRoute)
			}))
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/nowhere", nil))
			if got != UnmatchedRoute {
				t.Errorf("route label = %q, want %q", got, UnmatchedRoute)
			}
		})
	}
}

func TestRouteFixedLabelAndRestore(t *testing.T) {
	var got, method string
	h := Route("jobs", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ = pprof.Label(r.Context(), LabelRoute)
		method, _ = pprof.Label(r.Context(), LabelMethod)
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("PUT", "/x", nil))
	if got != "jobs" || method != "PUT" {
		t.Errorf("labels = %q %q, want jobs PUT", got, method)
	}
	// pprof.Do restores the caller's labels: this goroutine has none again,
	// so a goroutine it starts now is unlabelled.
	started, gate := make(chan struct{}), make(chan struct{})
	done := make(chan struct{})
	go func() { defer close(done); labelledChild(started, gate) }()
	<-started
	r := recordFor(t, debugProfile(t, 1), "gohook.labelledChild")
	close(gate)
	<-done
	if strings.Contains(r, "# labels:") {
		t.Errorf("goroutine started after the request is labelled:\n%s", r)
	}
}

func TestGoAndLabeled(t *testing.T) {
	base := pprof.WithLabels(context.Background(), pprof.Labels(LabelRoute, "GET /a"))
	started, gate := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	Go(base, "poller", func(ctx context.Context) {
		defer wg.Done()
		if v, _ := pprof.Label(ctx, LabelGo); v != "poller" {
			t.Errorf("ctx label gleak.go = %q", v)
		}
		labelledChild(started, gate)
	})
	<-started
	go Labeled(base, "mine", func(context.Context) { defer wg.Done(); parkHere(started, gate) })()
	<-started
	dump := debugProfile(t, 1)
	close(gate)
	wg.Wait()
	for fn, name := range map[string]string{"gohook.labelledChild": "poller", "gohook.parkHere": "mine"} {
		want := fmt.Sprintf(`# labels: {"gleak.go":%q, "http.route":"GET /a"}`, name)
		if r := recordFor(t, dump, fn); !strings.Contains(r, want) {
			t.Errorf("record for %s lacks %s:\n%s", fn, want, r)
		}
	}
}

// TestDebug2Labels checks where labels appear in debug=2 headers, by running
// this test binary again as a child with and without
// GODEBUG=tracebacklabels=1 (the setting is read at start-up).
func TestDebug2Labels(t *testing.T) {
	header := regexp.MustCompile(`(?m)^goroutine \d+ \[(.*)\]:\n(?:.*\n){0,2}?github\.com/gleak-sarif/gleak-sarif/gohook\.labelledChild`)
	if os.Getenv("GOHOOK_DEBUG2_CHILD") == "1" {
		s := newLabelServer()
		Middleware(MuxRoutes(s.mux), s.mux).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/work/7", nil))
		// The child has sent on started but may not be parked on gate yet
		// (seen "runnable" under -race on a loaded machine): dump again until
		// it is, for at most two seconds.
		var dump string
		for i := 0; i < 200; i++ {
			dump = debugProfile(t, 2)
			if m := header.FindStringSubmatch(dump); m != nil && strings.HasPrefix(m[1], "chan receive") {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		fmt.Print(dump)
		s.release()
		return
	}
	run := func(godebug string) string {
		cmd := exec.Command(os.Args[0], "-test.run=^TestDebug2Labels$", "-test.count=1")
		cmd.Env = append(os.Environ(), "GOHOOK_DEBUG2_CHILD=1", "GODEBUG="+godebug)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("child: %v\n%s", err, out)
		}
		m := header.FindStringSubmatch(string(out))
		if m == nil {
			t.Fatalf("no header for labelledChild in child output:\n%s", out)
		}
		return m[1]
	}

	if got := run(""); got != "chan receive" {
		t.Errorf("default debug=2 status = %q, want %q (no labels before Go 1.27 modules)", got, "chan receive")
	}
	got := run("tracebacklabels=1")
	if strings.HasPrefix(runtime.Version(), "go1.26") {
		// Go 1.26 prints the labels inside the brackets, keys sorted, keys
		// and values quoted.
		want := `chan receive labels:{"http.method": "GET", "http.route": "GET /work/{id}"}`
		if got != want {
			t.Errorf("tracebacklabels=1 status = %q, want %q", got, want)
		}
	} else if !strings.Contains(got, "GET /work/{id}") {
		t.Errorf("tracebacklabels=1 status %q lacks the route", got)
	}
}
