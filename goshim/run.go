package goshim

import (
	"go/ast"
	"go/token"
	"path/filepath"
	"strings"

	"golang.org/x/tools/go/analysis"
)

// run scans one package. golangci-lint calls it for many packages at once (the pool serialises the
// engine use) and only for packages missing from its cache.
func (p *plugin) run(pass *analysis.Pass) (any, error) {
	p.start()

	files := map[string]*token.File{}
	var paths []string
	var first *ast.File
	for _, f := range pass.Files {
		tf := pass.Fset.File(f.Pos())
		if tf == nil {
			continue
		}
		name := tf.Name()
		// cgo packages list files generated into the build cache (no .go suffix, or "Code generated
		// by cmd/cgo"), and generated files' issues are dropped by golangci-lint anyway.
		if !strings.HasSuffix(name, ".go") || ast.IsGenerated(f) {
			continue
		}
		abs, err := filepath.Abs(name)
		if err != nil {
			continue
		}
		if _, dup := files[abs]; dup {
			continue
		}
		files[abs] = tf
		paths = append(paths, abs)
		if first == nil {
			first = f
		}
	}
	if len(paths) == 0 {
		return nil, nil
	}

	if p.startErr != nil {
		return p.engineFailure(pass, first, p.startErr, true)
	}
	req := p.baseRequest("scan")
	req.Files = paths
	resp, err := p.pool.call(req)
	if err == nil && !resp.OK {
		err = answerError(resp)
	}
	if err != nil {
		return p.engineFailure(pass, first, err, false)
	}

	// The engine sends what `scan` fails on at the fail level, ordered by line with the most severe
	// finding first: golangci-lint's uniq-by-line keeps the first issue of a line, so keep that order.
	for _, fd := range resp.Findings {
		tf := files[fd.Path]
		if tf == nil {
			continue // not one of this package's files: nothing golangci-lint could show
		}
		pos, ok := position(tf, fd.StartByte, fd.Line, fd.Column)
		if !ok {
			continue
		}
		end, ok := position(tf, fd.EndByte, fd.EndLine, fd.EndColumn)
		if !ok || end < pos {
			end = token.NoPos
		}
		diag := analysis.Diagnostic{Pos: pos, End: end, Category: fd.RuleID, Message: fd.Message}
		if sf, ok := suggestedFix(files, fd.Fix); ok {
			// golangci-lint applies every SuggestedFix of a diagnostic, so never more than one.
			diag.SuggestedFixes = []analysis.SuggestedFix{sf}
		}
		// Related locations are left out on purpose: golangci-lint turns each into a separate issue
		// that a //nolint:gleak on the finding's own line would not silence.
		pass.Report(diag)
	}
	return nil, nil
}

// position maps an engine byte offset to a token.Pos, falling back to line/column when the offset is
// out of range (the engine reads the file from disk; golangci-lint parsed it a moment earlier).
func position(tf *token.File, offset, line, column int) (token.Pos, bool) {
	if offset >= 0 && offset <= tf.Size() {
		return tf.Pos(offset), true
	}
	if line >= 1 && line <= tf.LineCount() && column >= 1 {
		off := tf.Offset(tf.LineStart(line)) + column - 1
		if off <= tf.Size() {
			return tf.Pos(off), true
		}
	}
	return token.NoPos, false
}

// suggestedFix converts the engine's fix; a fix with any edit that cannot be placed is dropped whole,
// since applying part of a fix can leave code that does not compile.
func suggestedFix(files map[string]*token.File, f *fix) (analysis.SuggestedFix, bool) {
	if f == nil || len(f.Edits) == 0 {
		return analysis.SuggestedFix{}, false
	}
	sf := analysis.SuggestedFix{Message: f.Description}
	for _, e := range f.Edits {
		tf := files[e.Path]
		if tf == nil || e.StartByte < 0 || e.EndByte < e.StartByte || e.EndByte > tf.Size() {
			return analysis.SuggestedFix{}, false
		}
		sf.TextEdits = append(sf.TextEdits, analysis.TextEdit{
			Pos: tf.Pos(e.StartByte), End: tf.Pos(e.EndByte), NewText: []byte(e.NewText),
		})
	}
	return sf, true
}

// engineFailure applies on-engine-error. "fail" returns the error, which makes golangci-lint stop
// with "can't run linter gleak" and print no issues at all (exit code 3). "warn" reports a warning
// diagnostic instead, so the other linters' issues still print: once for a start-up failure (the
// analyzer name then says "unavailable", so nothing is cached under the real fingerprint), and once per
// package for a failure mid-run (that package's clean result would otherwise be cached as if checked).
func (p *plugin) engineFailure(pass *analysis.Pass, at *ast.File, err error, startup bool) (any, error) {
	if p.settings.OnEngineError == onErrorFail {
		return nil, err
	}
	p.warnStderr(err)
	msg := "gleak: engine failed, package not checked: " + firstLine(err.Error())
	report := func() { pass.Report(analysis.Diagnostic{Pos: at.Package, Category: "engine-error", Message: msg}) }
	if startup {
		p.warnStartOnce.Do(report)
	} else {
		report()
	}
	return nil, nil
}

// firstLine shortens an error for a one-line diagnostic; the full text (with the engine's stderr) has
// gone to the real stderr.
func firstLine(s string) string {
	if i := strings.Index(s, "; engine stderr (tail):"); i >= 0 {
		s = s[:i] + " (engine stderr: see WARN [gleak] on stderr)"
	}
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i] + " ..."
	}
	return s
}
