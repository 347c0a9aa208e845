package testmain

import (
	"testing"

	"example.com/goleakold"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestLeak(t *testing.T) {
	goleakold.Leak()
}
