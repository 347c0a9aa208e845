package verifynone

import (
	"testing"

	"example.com/goleakold"
	"go.uber.org/goleak"
)

func TestLeak(t *testing.T) {
	defer goleak.VerifyNone(t)
	goleakold.Leak()
}
