// Command stdtypes writes the standard-library type table that gleak_sarif/gotypes reads
// (gleak_sarif/gotypes/std.json): for each listed package, its exported functions' result types, its
// exported variables' types, and for each exported named type its fields (promoted ones too) and the
// result types of its methods (the pointer's method set: promoted methods too). Types are written as
// go/types prints them, qualified by import path (`*net/http.Response`, `[]byte`).
//
// Run: cd scripts/stdtypes && go run . > ../../gleak_sarif/gotypes/std.json
// (tests/gotypes/test_std_table.py checks that the committed file is this program's output).
package main

import (
	"encoding/json"
	"fmt"
	"go/importer"
	"go/token"
	"go/types"
	"os"
	"runtime"
	"sort"
)

// The packages whose values goroutine-leak rules ask about: HTTP clients and servers, sync primitives,
// contexts, timers, processes, connections, databases, readers and signals.
var packages = []string{
	"bufio", "bytes", "context", "crypto/tls", "database/sql", "errors", "fmt", "io", "log", "net",
	"net/http", "net/http/httptest", "net/url", "os", "os/exec", "os/signal", "runtime", "strings",
	"sync", "sync/atomic", "testing", "time",
}

type typeInfo struct {
	Kind     string              `json:"kind"` // struct | interface | other
	Fields   map[string]string   `json:"fields,omitempty"`
	Methods  map[string][]string `json:"methods,omitempty"`
	Embedded []string            `json:"embedded,omitempty"`
}

type pkgInfo struct {
	Funcs map[string][]string  `json:"funcs"`
	Vars  map[string]string    `json:"vars"`
	Types map[string]*typeInfo `json:"types"`
	// type aliases (`os.FileMode = io/fs.FileMode`): the name as written -> the type it stands for
	Aliases map[string]string `json:"aliases"`
}

func qualifier(p *types.Package) string { return p.Path() }

func typeString(t types.Type) string { return types.TypeString(t, qualifier) }

func results(sig *types.Signature) []string {
	out := []string{}
	for i := 0; i < sig.Results().Len(); i++ {
		out = append(out, typeString(sig.Results().At(i).Type()))
	}
	return out
}

// fields: every exported field reachable by selection, the shallowest one winning (Go's rule; an
// ambiguous name at one depth is left out, as the compiler rejects it).
func fields(named *types.Named) map[string]string {
	out := map[string]string{}
	for _, name := range fieldNames(named) {
		obj, _, _ := types.LookupFieldOrMethod(types.NewPointer(named), true, named.Obj().Pkg(), name)
		if v, ok := obj.(*types.Var); ok && v.IsField() && v.Exported() {
			out[name] = typeString(v.Type())
		}
	}
	return out
}

func fieldNames(named *types.Named) []string {
	seen := map[string]bool{}
	var walk func(t types.Type, depth int)
	walk = func(t types.Type, depth int) {
		if depth > 6 {
			return
		}
		if p, ok := t.(*types.Pointer); ok {
			t = p.Elem()
		}
		st, ok := t.Underlying().(*types.Struct)
		if !ok {
			return
		}
		for i := 0; i < st.NumFields(); i++ {
			f := st.Field(i)
			seen[f.Name()] = true
			if f.Embedded() {
				walk(f.Type(), depth+1)
			}
		}
	}
	walk(named, 0)
	names := make([]string, 0, len(seen))
	for name := range seen {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

func describe(named *types.Named) *typeInfo {
	info := &typeInfo{Kind: "other", Methods: map[string][]string{}}
	var set *types.MethodSet
	switch u := named.Underlying().(type) {
	case *types.Struct:
		info.Kind = "struct"
		info.Fields = fields(named)
		for i := 0; i < u.NumFields(); i++ {
			if u.Field(i).Embedded() {
				info.Embedded = append(info.Embedded, typeString(u.Field(i).Type()))
			}
		}
		set = types.NewMethodSet(types.NewPointer(named))
	case *types.Interface:
		info.Kind = "interface"
		set = types.NewMethodSet(named)
	default:
		set = types.NewMethodSet(types.NewPointer(named))
	}
	for i := 0; i < set.Len(); i++ {
		fn := set.At(i).Obj().(*types.Func)
		if fn.Exported() {
			info.Methods[fn.Name()] = results(fn.Type().(*types.Signature))
		}
	}
	return info
}

func main() {
	imp := importer.ForCompiler(token.NewFileSet(), "source", nil)
	out := map[string]*pkgInfo{}
	for _, path := range packages {
		pkg, err := imp.Import(path)
		if err != nil {
			fmt.Fprintf(os.Stderr, "stdtypes: %s: %v\n", path, err)
			os.Exit(1)
		}
		info := &pkgInfo{Funcs: map[string][]string{}, Vars: map[string]string{}, Types: map[string]*typeInfo{},
			Aliases: map[string]string{}}
		scope := pkg.Scope()
		for _, name := range scope.Names() {
			obj := scope.Lookup(name)
			if !obj.Exported() {
				continue
			}
			switch o := obj.(type) {
			case *types.Func:
				info.Funcs[name] = results(o.Type().(*types.Signature))
			case *types.Var:
				info.Vars[name] = typeString(o.Type())
			case *types.TypeName:
				if o.IsAlias() {
					info.Aliases[name] = typeString(types.Unalias(o.Type()))
				} else if named, ok := o.Type().(*types.Named); ok {
					info.Types[name] = describe(named)
				}
			}
		}
		out[path] = info
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", " ")
	if err := enc.Encode(map[string]any{
		"generator": "scripts/stdtypes",
		"go":        runtime.Version(),
		"packages":  out,
	}); err != nil {
		fmt.Fprintln(os.Stderr, "stdtypes:", err)
		os.Exit(1)
	}
}
