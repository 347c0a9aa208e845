package selected

import "time"

func Wait() chan bool {
	time.Sleep(time.Millisecond) // TST002 is not selected
	return make(chan bool)       // want `TST001 warning: unbuffered channel of bool made here`
}
