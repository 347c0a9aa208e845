package goshim

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// maxResponseLine bounds one answer line; a package with thousands of findings stays far below it.
const maxResponseLine = 256 << 20

// stderrTailBytes is how much of the engine's stderr an error message quotes.
const stderrTailBytes = 2048

// engineProc is one running `gleak-sarif serve --stdio` process. It is used by one goroutine at a
// time (the pool hands it out), so requests and answers on it never interleave.
type engineProc struct {
	argv   []string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan []byte // answer lines; closed when stdout ends
	stderr *tailBuffer
	exited chan struct{} // closed once the process has been waited for
	err    error         // cmd.Wait's result, valid after exited is closed
	nextID int64
	dead   bool
}

// startEngine starts the engine process. The child's stdout is the protocol channel and its stderr is
// kept (tail only) for error messages: golangci-lint points os.Stdout/os.Stderr at /dev/null while
// linting, so anything the child printed directly would be lost.
func startEngine(argv []string) (*engineProc, error) {
	if len(argv) == 0 {
		return nil, errors.New("empty engine command")
	}
	args := append(append([]string{}, argv[1:]...), "serve", "--stdio")
	cmd := exec.Command(argv[0], args...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	tail := &tailBuffer{max: stderrTailBytes}
	cmd.Stderr = tail
	if err := cmd.Start(); err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			// Installs that work today first; the PyPI name exists only after the first release.
			return nil, fmt.Errorf("engine %q not found in PATH: install gleak-sarif from a checkout "+
				"(pip install ./gleak-sarif) or from git (pip install git+%s), "+
				"or set linters.settings.custom.gleak.settings.engine (a list such as "+
				"[python, -m, gleak_sarif] for a command with arguments); "+
				"pip install gleak-sarif works after the first release", argv[0], repositoryURL)
		}
		return nil, fmt.Errorf("cannot start engine %q: %w", strings.Join(argv, " "), err)
	}
	p := &engineProc{argv: argv, cmd: cmd, stdin: stdin, lines: make(chan []byte, 1), stderr: tail,
		exited: make(chan struct{})}
	go p.readLines(stdout)
	return p, nil
}

func (p *engineProc) readLines(stdout io.Reader) {
	r := bufio.NewReaderSize(stdout, 1<<16)
	for {
		line, err := readLine(r)
		if len(line) > 0 {
			p.lines <- line
		}
		if err != nil {
			break
		}
	}
	close(p.lines)
	// Wait only after stdout is drained (os/exec requires all reads to finish first).
	p.err = p.cmd.Wait()
	close(p.exited)
}

func readLine(r *bufio.Reader) ([]byte, error) {
	var buf []byte
	for {
		chunk, isPrefix, err := r.ReadLine()
		buf = append(buf, chunk...)
		if len(buf) > maxResponseLine {
			return nil, fmt.Errorf("engine answer longer than %d bytes", maxResponseLine)
		}
		if err != nil || !isPrefix {
			return buf, err
		}
	}
}

// call sends one request and waits for its answer, at most timeout long. Any error leaves the process
// dead (killed if needed): the next request starts a fresh one.
func (p *engineProc) call(req request, timeout time.Duration) (*response, error) {
	p.nextID++
	req.Protocol = protocolVersion
	req.ID = p.nextID
	data, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	data = append(data, '\n')
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	// A hung engine stops reading stdin; a large request would then block Write for good, so the
	// write is bounded by the same timer.
	written := make(chan error, 1)
	go func() {
		_, err := p.stdin.Write(data)
		written <- err
	}()
	select {
	case err := <-written:
		if err != nil {
			return nil, p.fail("the engine stopped accepting requests")
		}
	case <-timer.C:
		p.kill()
		return nil, p.timeoutError(req, timeout)
	}
	select {
	case line, ok := <-p.lines:
		if !ok {
			return nil, p.fail("the engine crashed")
		}
		var resp response
		if err := json.Unmarshal(line, &resp); err != nil {
			p.kill()
			return nil, fmt.Errorf("engine wrote a line that is not protocol JSON (%v): %.200q%s",
				err, line, p.stderrNote())
		}
		if string(resp.ID) != fmt.Sprint(req.ID) {
			p.kill()
			return nil, fmt.Errorf("engine answered request %s, expected %d", resp.ID, req.ID)
		}
		if resp.Protocol != protocolVersion {
			p.kill()
			return nil, fmt.Errorf("engine speaks protocol %d, this plugin speaks %d: "+
				"install matching versions of gleak-sarif and the golangci-lint plugin", resp.Protocol, protocolVersion)
		}
		return &resp, nil
	case <-timer.C:
		p.kill()
		return nil, p.timeoutError(req, timeout)
	}
}

func (p *engineProc) timeoutError(req request, timeout time.Duration) error {
	return fmt.Errorf("engine timed out after %s on %s (raise "+
		"linters.settings.custom.gleak.settings.timeout)%s", timeout, describe(req), p.stderrNote())
}

func describe(req request) string {
	if req.Method != "scan" || len(req.Files) == 0 {
		return req.Method
	}
	if len(req.Files) == 1 {
		return req.Files[0]
	}
	return fmt.Sprintf("%s and %d more files", req.Files[0], len(req.Files)-1)
}

// fail builds the error for a process that went away, naming its exit status and stderr tail.
func (p *engineProc) fail(what string) error {
	p.dead = true
	_ = p.stdin.Close()
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
	status := "exit status 0"
	if p.err != nil {
		status = p.err.Error()
	}
	return fmt.Errorf("%s (%s: %s)%s", what, strings.Join(p.argv, " "), status, p.stderrNote())
}

func (p *engineProc) stderrNote() string {
	tail := strings.TrimSpace(p.stderr.String())
	if tail == "" {
		return ""
	}
	return "; engine stderr (tail):\n" + tail
}

func (p *engineProc) kill() {
	p.dead = true
	_ = p.stdin.Close()
	_ = p.cmd.Process.Kill()
	go func() { // drain so the reader goroutine can finish and reap the child
		for range p.lines { //nolint:revive // draining
		}
	}()
}

// close ends the process the polite way: the engine exits on stdin EOF.
func (p *engineProc) close() {
	if p.dead {
		return
	}
	p.dead = true
	_ = p.stdin.Close()
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailBuffer) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, b...)
	if len(t.buf) > t.max {
		t.buf = append([]byte(nil), t.buf[len(t.buf)-t.max:]...)
	}
	return len(b), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(bytes.ToValidUTF8(t.buf, []byte("?")))
}

// pool hands out engine processes to concurrent Runs: at most size processes, started on demand.
type pool struct {
	argv    []string
	timeout time.Duration
	slots   chan struct{}
	mu      sync.Mutex
	idle    []*engineProc
}

func newPool(argv []string, size int, timeout time.Duration) *pool {
	return &pool{argv: argv, timeout: timeout, slots: make(chan struct{}, size)}
}

// call runs one request on some live process, starting one if none is idle.
func (pl *pool) call(req request) (*response, error) {
	pl.slots <- struct{}{}
	defer func() { <-pl.slots }()
	pl.mu.Lock()
	var p *engineProc
	if n := len(pl.idle); n > 0 {
		p, pl.idle = pl.idle[n-1], pl.idle[:n-1]
	}
	pl.mu.Unlock()
	if p == nil {
		var err error
		if p, err = startEngine(pl.argv); err != nil {
			return nil, err
		}
	}
	resp, err := p.call(req, pl.timeout)
	if !p.dead {
		pl.mu.Lock()
		pl.idle = append(pl.idle, p)
		pl.mu.Unlock()
	}
	return resp, err
}

// closeAll stops the idle processes (tests; golangci-lint has no shutdown hook, and the engines exit
// on their own when golangci-lint exits and their stdin reaches EOF).
func (pl *pool) closeAll() {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	for _, p := range pl.idle {
		p.close()
		<-p.exited
	}
	pl.idle = nil
}
