// Only read by the gleak engine (GL501 applies to modules with go < 1.23); analysistest loads the
// fixtures in GOPATH mode and ignores this file.
module example.com/oldgo

go 1.21
