module github.com/gleak-sarif/gleak-sarif/gohook

go 1.22
