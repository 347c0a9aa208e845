package goshim

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/golangci/plugin-module-register/register"
	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/analysistest"
)

// realEngine returns the command of the real gleak-sarif engine: $GLEAK_ENGINE (split on spaces), else
// the repository's virtualenv (python -m gleak_sarif with the checkout on PYTHONPATH), else gleak-sarif
// on PATH. Without one the test fails under CI and is skipped locally.
func realEngine(t *testing.T) []any {
	t.Helper()
	if v := os.Getenv("GLEAK_ENGINE"); v != "" {
		return toAny(strings.Fields(v))
	}
	repo, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	py := filepath.Join(repo, ".venv", "bin", "python")
	if _, err := os.Stat(filepath.Join(repo, "gleak_sarif", "__main__.py")); err == nil {
		if _, err := os.Stat(py); err == nil {
			t.Setenv("PYTHONPATH", repo)
			return []any{py, "-m", "gleak_sarif"}
		}
	}
	if p, err := exec.LookPath("gleak-sarif"); err == nil {
		return []any{p}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("no gleak-sarif engine: set GLEAK_ENGINE or create the repository's .venv")
	}
	t.Skip("no gleak-sarif engine (set GLEAK_ENGINE or create the repository's .venv)")
	return nil
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// build goes through register.GetPlugin exactly as golangci-lint does, with raw settings as Viper
// would hand them over.
func build(t *testing.T, settings map[string]any) (*plugin, []*analysis.Analyzer) {
	t.Helper()
	newPlugin, err := register.GetPlugin(LinterName)
	if err != nil {
		t.Fatal(err)
	}
	lp, err := newPlugin(settings)
	if err != nil {
		t.Fatal(err)
	}
	if lp.GetLoadMode() != register.LoadModeSyntax {
		t.Fatalf("load mode %q", lp.GetLoadMode())
	}
	analyzers, err := lp.BuildAnalyzers()
	if err != nil {
		t.Fatal(err)
	}
	if err := analysis.Validate(analyzers); err != nil {
		t.Fatal(err)
	}
	p := lp.(*plugin)
	t.Cleanup(func() {
		if p.pool != nil {
			p.pool.closeAll()
		}
	})
	return p, analyzers
}

func testdata(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestBuiltinRules runs the real engine's built-in rules over fixtures whose `// want` comments name
// every expected finding (analysistest fails on missing and on unexpected diagnostics).
func TestBuiltinRules(t *testing.T) {
	_, analyzers := build(t, map[string]any{
		"engine": realEngine(t),
		// pinned, so that rules added later cannot break the fixtures
		"select": []any{"GL201", "GL202", "GL402", "GL501", "GL506"},
		// GL402 and GL501 are notes since the levels by evidence (bench/levels.py)
		"fail-level": "note",
	})
	analysistest.Run(t, testdata(t), analyzers[0], "leaks", "oldgo")
}

// TestSuggestedFix checks the fixed file against a .golden file.
func TestSuggestedFix(t *testing.T) {
	_, analyzers := build(t, map[string]any{
		"engine": realEngine(t),
		"rules":  []any{filepath.Join(testdata(t), "rules")},
		"select": []any{"TST"},
	})
	analysistest.RunWithSuggestedFixes(t, testdata(t), analyzers[0], "fixes")
}

// TestSelectAndGenerated: select narrows the rules; generated files are not sent to the engine.
func TestSelectAndGenerated(t *testing.T) {
	_, analyzers := build(t, map[string]any{
		"engine": realEngine(t),
		"rules":  []any{filepath.Join(testdata(t), "rules")},
		"select": []any{"TST001"},
	})
	analysistest.Run(t, testdata(t), analyzers[0], "selected")
}

// TestFailLevelDefaultDropsNotes: without fail-level, gleak reports what `scan` fails on (warning and up).
func TestFailLevelDefaultDropsNotes(t *testing.T) {
	_, analyzers := build(t, map[string]any{
		"engine": realEngine(t),
		"rules":  []any{filepath.Join(testdata(t), "rules")},
		"select": []any{"TST"},
	})
	analysistest.Run(t, testdata(t), analyzers[0], "quiet")
}

// TestFailLevelNote: fail-level note reports notes too, the most severe finding of a line first.
func TestFailLevelNote(t *testing.T) {
	_, analyzers := build(t, map[string]any{
		"engine":     realEngine(t),
		"rules":      []any{filepath.Join(testdata(t), "rules")},
		"select":     []any{"TST"},
		"fail-level": "note",
	})
	results := analysistest.Run(t, testdata(t), analyzers[0], "levels")
	var order []string
	for _, d := range results[0].Diagnostics {
		order = append(order, d.Category)
	}
	if strings.Join(order, " ") != "TST001 TST002" {
		t.Fatalf("diagnostics in order %v, want the warning (TST001) before the note on the same line", order)
	}
}

// TestFingerprintFollowsRules: the cache-stamp analyzer's name changes with the rule files.
func TestFingerprintFollowsRules(t *testing.T) {
	engine := realEngine(t)
	dir := t.TempDir()
	src, err := os.ReadFile(filepath.Join(testdata(t), "rules", "TST001-unbuffered-make.yml"))
	if err != nil {
		t.Fatal(err)
	}
	rule := filepath.Join(dir, "TST001.yml")
	stampFor := func() string {
		if err := os.WriteFile(rule, src, 0o644); err != nil {
			t.Fatal(err)
		}
		_, analyzers := build(t, map[string]any{"engine": engine, "rules": []any{dir}})
		return analyzers[1].Name
	}
	first := stampFor()
	again := stampFor()
	src = []byte(strings.Replace(string(src), "message: ", "message: changed ", 1))
	changed := stampFor()
	if !strings.HasPrefix(first, "gleak_") || first == "gleak_unavailable" {
		t.Fatalf("stamp %q", first)
	}
	if first != again {
		t.Fatalf("same rules, different stamps: %q %q", first, again)
	}
	if first == changed {
		t.Fatalf("a changed rule file did not change the stamp %q", first)
	}
}

// recorder collects analysistest's errors instead of failing, to assert on an expected failure.
type recorder struct {
	mu   sync.Mutex
	errs []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, strings.TrimSpace(fmt.Sprintf(format, args...)))
}

// TestMissingEngineFails: with on-engine-error fail (the default) Run returns an error naming the cause.
func TestMissingEngineFails(t *testing.T) {
	_, analyzers := build(t, map[string]any{"engine": "gleak-sarif-not-installed"})
	if analyzers[1].Name != "gleak_unavailable" {
		t.Fatalf("stamp %q", analyzers[1].Name)
	}
	rec := &recorder{}
	analysistest.Run(rec, testdata(t), analyzers[0], "missing")
	joined := strings.Join(rec.errs, "\n")
	if !strings.Contains(joined, `engine "gleak-sarif-not-installed" not found in PATH`) {
		t.Fatalf("errors do not name the missing engine:\n%s", joined)
	}
}

// TestMissingEngineWarns: with on-engine-error warn the failure is one diagnostic (see the fixture).
func TestMissingEngineWarns(t *testing.T) {
	_, analyzers := build(t, map[string]any{"engine": "gleak-sarif-not-installed", "on-engine-error": "warn"})
	analysistest.Run(t, testdata(t), analyzers[0], "missing")
}

func TestSettings(t *testing.T) {
	for _, tc := range []struct {
		name     string
		settings any
		wantErr  string
		check    func(*plugin) bool
	}{
		{name: "nil settings", settings: nil, check: func(p *plugin) bool {
			return p.argv[0] == "gleak-sarif" && p.settings.OnEngineError == "fail" && p.timeout == defaultTimeout
		}},
		{name: "engine list and timeout string", settings: map[string]any{
			"engine": []any{"python3", "-m", "gleak_sarif"}, "timeout": "90s",
		}, check: func(p *plugin) bool {
			return strings.Join(p.argv, " ") == "python3 -m gleak_sarif" && p.timeout.Seconds() == 90
		}},
		{name: "timeout seconds", settings: map[string]any{"timeout": 5}, check: func(p *plugin) bool {
			return p.timeout.Seconds() == 5
		}},
		{name: "relative paths become absolute", settings: map[string]any{
			"config": ".gleak.yml", "rules": []any{"rules"},
		}, check: func(p *plugin) bool {
			return filepath.IsAbs(p.settings.Config) && filepath.IsAbs(p.settings.Rules[0])
		}},
		{name: "unknown key", settings: map[string]any{"engnie": "x"}, wantErr: `unknown field "engnie"`},
		{name: "bad mode", settings: map[string]any{"on-engine-error": "ignore"}, wantErr: `on-engine-error must be "fail" or "warn"`},
		{name: "bad timeout", settings: map[string]any{"timeout": "soon"}, wantErr: "timeout"},
		{name: "fail level", settings: map[string]any{"fail-level": "error"}, check: func(p *plugin) bool {
			return p.baseRequest("scan").FailLevel == "error"
		}},
		{name: "bad fail level", settings: map[string]any{"fail-level": "fatal"},
			wantErr: "fail-level must be error, warning, note or none"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lp, err := New(tc.settings)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("want error containing %q, got %v", tc.wantErr, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(lp.(*plugin)) {
				t.Fatalf("unexpected settings %+v", lp.(*plugin).settings)
			}
		})
	}
}

// TestCrashWarnsPerPackage: with warn, an engine that fails mid-run yields one warning per unchecked
// package (each package's clean result would otherwise be cached as if it had been checked), and each
// package gets a fresh engine.
func TestCrashWarnsPerPackage(t *testing.T) {
	_, analyzers := build(t, map[string]any{
		"engine":          toAny(helperArgv(t, "crash")),
		"on-engine-error": "warn",
	})
	if analyzers[1].Name != "gleak_abc123" {
		t.Fatalf("stamp %q, want the helper's fingerprint", analyzers[1].Name)
	}
	rec := &recorder{}
	results := analysistest.Run(rec, testdata(t), analyzers[0], "fixes", "selected")
	if len(results) != 2 {
		t.Fatalf("%d results", len(results))
	}
	for _, r := range results {
		if len(r.Diagnostics) != 1 {
			t.Fatalf("%s: %d diagnostics, want 1", r.Pass.Pkg.Path(), len(r.Diagnostics))
		}
		msg := r.Diagnostics[0].Message
		if !strings.HasPrefix(msg, "gleak: engine failed, package not checked: the engine crashed") ||
			!strings.Contains(msg, "exit status 7) (engine stderr: see WARN [gleak] on stderr)") {
			t.Errorf("%s: %q", r.Pass.Pkg.Path(), msg)
		}
	}
}
