module github.com/gleak-sarif/gleak-sarif/scripts/stdtypes

go 1.22
