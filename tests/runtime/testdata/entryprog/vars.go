package main

// Function literals in package-level variables are numbered init.func1, init.func2, ... across the
// package's files in name order; init functions are init.0, init.1, ...

var first = func() {
	go func() { <-make(chan int) }() // START: var-first
}

func init() {
	go func() { <-make(chan int) }() // START: init-0
}

func startFromVars() {
	first()
	second()
}
