// Package oldgo is a library in a go 1.21 module: time.Tick's ticker is never collected there.
package oldgo

import "time"

func Poll(f func()) {
	for range time.Tick(time.Second) { // want `GL501 note: time\.Tick creates a ticker that can never be stopped`
		f()
	}
}
