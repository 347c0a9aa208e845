package pkg

// Run runs work in the background and waits until it is done.
func Run(work func()) {
	<-spawn(work)
}
