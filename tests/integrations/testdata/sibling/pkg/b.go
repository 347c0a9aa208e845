package pkg

// spawn runs work in a goroutine; the returned channel is closed when it is done.
func spawn(work func()) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		work()
	}()
	return done
}
