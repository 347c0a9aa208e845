module github.com/gleak-sarif/gleak-sarif/goshim

// Same go line and dependency versions as the pinned golangci-lint release (v2.15.0): the shim is
// compiled into golangci-lint's binary, and only published modules may be required (golangci-lint
// ignores replace directives in plugin modules).
go 1.26.0

require (
	github.com/golangci/plugin-module-register v0.1.2
	golang.org/x/tools v0.52.0
)

require (
	golang.org/x/mod v0.42.0 // indirect
	golang.org/x/sync v0.24.0 // indirect
)
