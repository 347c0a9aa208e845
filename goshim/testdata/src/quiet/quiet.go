// Package quiet: at the default fail level (warning) the TST002 note is not reported.
package quiet

import "time"

func Wait() chan bool {
	time.Sleep(time.Millisecond) // a note: not reported
	return make(chan bool)       // want `TST001 warning: unbuffered channel of bool made here`
}
