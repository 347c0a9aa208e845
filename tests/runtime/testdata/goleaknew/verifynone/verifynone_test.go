package verifynone

import (
	"testing"

	"example.com/goleaknew"
	"go.uber.org/goleak"
)

func TestLeak(t *testing.T) {
	defer goleak.VerifyNone(t)
	goleaknew.Leak()
}
