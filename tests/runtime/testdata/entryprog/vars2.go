package main

var second = func() {
	ch := make(chan int)
	go func() { <-ch }() // START: var-second
}

func init() {
	go func() { <-make(chan int) }() // START: init-1
}
