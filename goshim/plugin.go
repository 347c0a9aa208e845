// Package goshim is the golangci-lint module plugin for gleak-sarif: a thin go/analysis analyzer that
// sends each package's Go files to one long-lived `gleak-sarif serve --stdio` engine process and
// reports its findings (docs/engine-protocol.md in the gleak-sarif repository).
//
// All Go code lives in this module's root package on purpose: golangci-lint's `custom` command hashes
// only the top-level files of a local plugin directory into its cache salt.
package goshim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/golangci/plugin-module-register/register"
	"golang.org/x/tools/go/analysis"
)

// repositoryURL is where gleak-sarif is developed (installable with pip from git before any release).
const repositoryURL = "https://github.com/gleak-sarif/gleak-sarif"

// LinterName is the name users write in .golangci.yml (linters.settings.custom.gleak) and //nolint.
const LinterName = "gleak"

const (
	defaultTimeout   = 2 * time.Minute
	defaultProcesses = 1
	onErrorFail      = "fail"
	onErrorWarn      = "warn"
)

// realStderr is the process's stderr as it was at start-up. golangci-lint points os.Stderr at
// /dev/null while linters run, but this *os.File still writes to file descriptor 2.
var realStderr = os.Stderr

func init() {
	register.Plugin(LinterName, New)
}

// Settings are linters.settings.custom.gleak.settings. Keys are kebab-case: golangci-lint passes them
// through Viper, which lowercases keys, and DecodeSettings rejects unknown ones.
type Settings struct {
	// Engine is the command that starts the engine; "serve --stdio" is appended.
	// A string is one program; a list is a program and its arguments.
	Engine commandLine `json:"engine"`
	// Config is the .gleak.yml to use (default: the engine looks upward from the scanned files).
	Config string `json:"config"`
	// Rules are extra rule files or folders.
	Rules []string `json:"rules"`
	// Select and Ignore are rule IDs or ID prefixes.
	Select []string `json:"select"`
	Ignore []string `json:"ignore"`
	// FailLevel is the lowest severity reported: "error", "warning", "note" or "none" (the words of
	// `gleak-sarif scan --fail-level` and .gleak.yml's fail-level). golangci-lint fails on every issue it
	// prints, so gleak reports exactly what `scan` fails on. Empty: .gleak.yml's, else "warning".
	FailLevel string `json:"fail-level"`
	// OnEngineError is "fail" (default: golangci-lint stops with the error and prints no issues) or
	// "warn" (a warning diagnostic per unchecked package; other linters' issues still print).
	OnEngineError string `json:"on-engine-error"`
	// Timeout bounds one request (one package), e.g. "90s"; a bare number is seconds.
	Timeout duration `json:"timeout"`
	// Processes is how many engine processes may run at once (packages are linted in parallel).
	Processes int `json:"processes"`
}

// commandLine accepts "gleak-sarif" or ["python", "-m", "gleak_sarif"].
type commandLine []string

func (c *commandLine) UnmarshalJSON(data []byte) error {
	var one string
	if err := json.Unmarshal(data, &one); err == nil {
		*c = commandLine{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(data, &many); err != nil {
		return fmt.Errorf("engine must be a string or a list of strings: %w", err)
	}
	*c = many
	return nil
}

// duration accepts "90s", "2m" or a number of seconds.
type duration time.Duration

func (d *duration) UnmarshalJSON(data []byte) error {
	var secs float64
	if err := json.Unmarshal(data, &secs); err == nil {
		*d = duration(time.Duration(secs * float64(time.Second)))
		return nil
	}
	var text string
	if err := json.Unmarshal(data, &text); err != nil {
		return fmt.Errorf("timeout must be a duration such as \"90s\" or a number of seconds")
	}
	v, err := time.ParseDuration(text)
	if err != nil {
		return fmt.Errorf("timeout: %w", err)
	}
	*d = duration(v)
	return nil
}

type plugin struct {
	settings Settings
	argv     []string
	timeout  time.Duration

	startOnce sync.Once
	pool      *pool
	hello     *response
	startErr  error // set when the engine could not start or rejected the configuration

	warnStartOnce sync.Once // warn mode: one diagnostic for a start-up failure
	stderrOnce    sync.Once // warn mode: one line on the real stderr
}

// New is the register.NewPlugin for "gleak".
func New(conf any) (register.LinterPlugin, error) {
	s, err := register.DecodeSettings[Settings](conf)
	if err != nil {
		return nil, fmt.Errorf("gleak settings: %w", err)
	}
	return newPlugin(s)
}

func newPlugin(s Settings) (*plugin, error) {
	switch s.OnEngineError {
	case "":
		s.OnEngineError = onErrorFail
	case onErrorFail, onErrorWarn:
	default:
		return nil, fmt.Errorf("gleak settings: on-engine-error must be %q or %q, not %q",
			onErrorFail, onErrorWarn, s.OnEngineError)
	}
	switch s.FailLevel {
	case "", "error", "warning", "note", "none":
	default:
		return nil, fmt.Errorf("gleak settings: fail-level must be error, warning, note or none, not %q", s.FailLevel)
	}
	if len(s.Engine) == 0 {
		s.Engine = commandLine{"gleak-sarif"}
	}
	for _, part := range s.Engine {
		if part == "" {
			return nil, errors.New("gleak settings: engine has an empty element")
		}
	}
	if s.Timeout < 0 {
		return nil, errors.New("gleak settings: timeout must not be negative")
	}
	timeout := time.Duration(s.Timeout)
	if timeout == 0 {
		timeout = defaultTimeout
	}
	if s.Processes < 0 {
		return nil, errors.New("gleak settings: processes must not be negative")
	}
	if s.Processes == 0 {
		s.Processes = defaultProcesses
	}
	// golangci-lint does not tell plugins where .golangci.yml is; relative paths are taken from the
	// working directory, which is where golangci-lint is run.
	var err error
	if s.Config, err = absPath(s.Config); err != nil {
		return nil, err
	}
	rules := make([]string, len(s.Rules))
	for i, r := range s.Rules {
		if rules[i], err = absPath(r); err != nil {
			return nil, err
		}
	}
	s.Rules = rules
	return &plugin{settings: s, argv: s.Engine, timeout: timeout}, nil
}

func absPath(p string) (string, error) {
	if p == "" {
		return "", nil
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", fmt.Errorf("gleak settings: %w", err)
	}
	return abs, nil
}

// GetLoadMode: the engine parses files itself, so golangci-lint need not type-check anything.
func (p *plugin) GetLoadMode() string { return register.LoadModeSyntax }

// BuildAnalyzers returns the reporting analyzer "gleak" and a no-op analyzer whose name carries the
// engine's fingerprint (engine version, rule files, config, select/ignore). golangci-lint keys its
// per-package result cache on analyzer names, not on our rule files, so this name is what makes a
// rule change or an engine upgrade visible on the next run.
func (p *plugin) BuildAnalyzers() ([]*analysis.Analyzer, error) {
	p.start()
	stamp := "unavailable"
	if p.startErr == nil {
		stamp = identifierSafe(p.hello.Fingerprint, 16)
	}
	return []*analysis.Analyzer{
		{
			Name: LinterName,
			Doc:  "reports goroutine leaks found by the gleak-sarif engine",
			URL:  repositoryURL,
			Run:  p.run,
		},
		{
			Name: LinterName + "_" + stamp,
			Doc:  "no-op; its name keys golangci-lint's cache to the gleak rules and engine version",
			Run:  func(*analysis.Pass) (any, error) { return nil, nil },
		},
	}, nil
}

func identifierSafe(s string, n int) string {
	var b strings.Builder
	for _, r := range s {
		if b.Len() == n {
			break
		}
		if r < 128 && (r == '_' || ('0' <= r && r <= '9') || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z')) {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return "nofingerprint"
	}
	return b.String()
}

// start launches the first engine process once and asks it for its fingerprint.
func (p *plugin) start() {
	p.startOnce.Do(func() {
		p.pool = newPool(p.argv, p.settings.Processes, p.timeout)
		resp, err := p.pool.call(p.baseRequest("hello"))
		switch {
		case err != nil:
			p.startErr = err
		case !resp.OK:
			p.startErr = answerError(resp)
		default:
			p.hello = resp
		}
	})
}

func (p *plugin) baseRequest(method string) request {
	return request{Method: method, Config: p.settings.Config, Rules: p.settings.Rules,
		Select: p.settings.Select, Ignore: p.settings.Ignore, FailLevel: p.settings.FailLevel}
}

func answerError(resp *response) error {
	if resp.Error == nil {
		return errors.New("engine answered ok=false without an error")
	}
	if resp.Error.Code == "config" {
		return fmt.Errorf("engine rejected the configuration: %s", resp.Error.Message)
	}
	return fmt.Errorf("engine error (%s): %s", resp.Error.Code, resp.Error.Message)
}

// warnStderr writes the full error, stderr tail included, once per process to the real stderr.
func (p *plugin) warnStderr(err error) {
	p.stderrOnce.Do(func() {
		var buf bytes.Buffer
		fmt.Fprintf(&buf, "WARN [gleak] %v\n", err)
		_, _ = realStderr.Write(buf.Bytes())
	})
}
