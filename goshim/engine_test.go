package goshim

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// The failure modes of an engine (crash, hang, garbage, wrong protocol) cannot be provoked in the real
// engine on demand, so the test binary doubles as a misbehaving engine: TestMain runs helperEngine when
// GLEAK_HELPER_ENGINE names a mode. Everything that works with a healthy engine is tested against the
// real one (plugin_test.go).
func TestMain(m *testing.M) {
	if mode := os.Getenv("GLEAK_HELPER_ENGINE"); mode != "" {
		helperEngine(mode)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func helperEngine(mode string) {
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		var req request
		_ = json.Unmarshal(in.Bytes(), &req)
		if req.Method == "hello" {
			fmt.Printf(`{"protocol":1,"id":%d,"ok":true,"engine_version":"0","fingerprint":"abc123"}`+"\n", req.ID)
			if mode == "deaf" {
				time.Sleep(time.Hour) // stops reading stdin
			}
			continue
		}
		switch mode {
		case "crash":
			fmt.Fprintln(os.Stderr, "Traceback (most recent call last):\nRuntimeError: rule GL999 exploded")
			os.Exit(7)
		case "hang":
			time.Sleep(time.Hour)
		case "garbage":
			fmt.Println("Loading rules... done")
		case "protocol2":
			fmt.Printf(`{"protocol":2,"id":%d,"ok":true}`+"\n", req.ID)
		}
	}
}

func helperArgv(t *testing.T, mode string) []string {
	t.Helper()
	t.Setenv("GLEAK_HELPER_ENGINE", mode)
	return []string{os.Args[0], "-test.run=^$"}
}

func TestEngineNotFound(t *testing.T) {
	_, err := startEngine([]string{"gleak-sarif-does-not-exist"})
	if err == nil || !strings.Contains(err.Error(), `engine "gleak-sarif-does-not-exist" not found in PATH`) {
		t.Fatalf("want a not-found-in-PATH error, got %v", err)
	}
}

func TestEngineCrashNamesExitStatusAndStderr(t *testing.T) {
	pl := newPool(helperArgv(t, "crash"), 1, 10*time.Second)
	if _, err := pl.call(request{Method: "hello"}); err != nil {
		t.Fatal(err)
	}
	_, err := pl.call(request{Method: "scan", Files: []string{"/x/a.go"}})
	if err == nil {
		t.Fatal("want an error")
	}
	for _, want := range []string{"the engine crashed", "exit status 7", "RuntimeError: rule GL999 exploded"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	// The dead process is not reused: the next request gets a fresh engine.
	if _, err := pl.call(request{Method: "hello"}); err != nil {
		t.Fatalf("pool did not recover after a crash: %v", err)
	}
	pl.closeAll()
}

func TestEngineTimeout(t *testing.T) {
	pl := newPool(helperArgv(t, "hang"), 1, 300*time.Millisecond)
	start := time.Now()
	_, err := pl.call(request{Method: "scan", Files: []string{"/x/a.go", "/x/b.go"}})
	if err == nil || !strings.Contains(err.Error(), "engine timed out after 300ms on /x/a.go and 1 more files") {
		t.Fatalf("want a timeout error, got %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatalf("timeout took %s", time.Since(start))
	}
}

// A hung engine that no longer reads stdin must not block a request bigger than the pipe buffer.
func TestEngineTimeoutWhileWriting(t *testing.T) {
	pl := newPool(helperArgv(t, "deaf"), 1, 500*time.Millisecond)
	if _, err := pl.call(request{Method: "hello"}); err != nil {
		t.Fatal(err)
	}
	files := make([]string, 20000)
	for i := range files {
		files[i] = fmt.Sprintf("/very/long/path/to/some/package/directory/file_%06d.go", i)
	}
	start := time.Now()
	_, err := pl.call(request{Method: "scan", Files: files})
	if err == nil || !strings.Contains(err.Error(), "engine timed out after 500ms") {
		t.Fatalf("want a timeout error, got %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatalf("timeout took %s", time.Since(start))
	}
}

func TestEngineGarbageOnStdout(t *testing.T) {
	pl := newPool(helperArgv(t, "garbage"), 1, 10*time.Second)
	_, err := pl.call(request{Method: "scan", Files: []string{"/x/a.go"}})
	if err == nil || !strings.Contains(err.Error(), "not protocol JSON") || !strings.Contains(err.Error(), "Loading rules") {
		t.Fatalf("want a protocol error quoting the line, got %v", err)
	}
}

func TestEngineProtocolMismatch(t *testing.T) {
	pl := newPool(helperArgv(t, "protocol2"), 1, 10*time.Second)
	_, err := pl.call(request{Method: "scan", Files: []string{"/x/a.go"}})
	if err == nil || !strings.Contains(err.Error(), "engine speaks protocol 2") {
		t.Fatalf("want a protocol mismatch error, got %v", err)
	}
}

func TestTailBufferKeepsTheEnd(t *testing.T) {
	tb := &tailBuffer{max: 8}
	_, _ = tb.Write([]byte("0123456789"))
	_, _ = tb.Write([]byte("ab"))
	if got := tb.String(); got != "456789ab" {
		t.Fatalf("got %q", got)
	}
}
