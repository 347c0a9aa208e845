// Package levels: at fail-level note the TST002 note is reported too; on a line with both, the warning
// is reported first (golangci-lint's uniq-by-line keeps the first issue of a line).
package levels

import "time"

func Wait() {
	time.Sleep(time.Duration(cap(make(chan int)))) // want `TST002 note: time.Sleep called` `TST001 warning: unbuffered channel of int made here`
}
