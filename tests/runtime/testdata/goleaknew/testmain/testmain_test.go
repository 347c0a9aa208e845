package testmain

import (
	"testing"

	"example.com/goleaknew"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestLeak(t *testing.T) {
	goleaknew.Leak()
}
