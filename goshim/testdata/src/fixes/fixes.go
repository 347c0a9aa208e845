package fixes

func Produce() int {
	ch := make(chan int) // want `TST001 warning: unbuffered channel of int made here`
	go func() { ch <- 1 }()
	return <-ch
}

func Strings() chan string {
	return make(chan string) // want `TST001 warning: unbuffered channel of string made here`
}
