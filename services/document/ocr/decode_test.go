package ocr

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// classOf finds a class of the table that reads as ch (the plain ASCII one).
func classOf(t *testing.T, ch byte) int {
	best := -1
	for cls, c := range mrzClasses {
		if c == ch && (best < 0 || cls < best) {
			best = cls
		}
	}
	require.GreaterOrEqual(t, best, 0, "no class for %q", ch)
	return best
}

func TestDecodeCTC(t *testing.T) {
	// steps: A, A (repeat, collapsed), blank, A, space (a blank), '<' split
	// over two classes, a weak 3 (0.35) under the blank, a class outside
	// the MRZ alphabet.
	row := func(pairs ...float64) []float32 {
		r := make([]float32, NumClasses)
		for i := 0; i < len(pairs); i += 2 {
			r[int(pairs[i])] = float32(pairs[i+1])
		}
		return r
	}
	a, lt, three := float64(classOf(t, 'A')), float64(classOf(t, '<')), float64(classOf(t, '3'))
	fullLt := float64(6294) // ＜
	var probs []float32
	for _, r := range [][]float32{
		row(a, 0.9, 0, 0.1),
		row(a, 0.8, 0, 0.2),
		row(0, 1),
		row(a, 0.9, 0, 0.1),
		row(NumClasses-1, 0.9, 0, 0.1),
		row(lt, 0.3, fullLt, 0.3, 0, 0.4),
		row(0, 1),
		row(three, 0.35, 0, 0.65),
		row(0, 1),
		row(1, 0.9, 0, 0.1), // class 1 is an apostrophe, outside the MRZ
	} {
		probs = append(probs, r...)
	}
	text, conf := DecodeCTC(probs, 10)
	require.Equal(t, "AA<3", text)
	require.InDelta(t, (0.9+0.9+0.6+0.35)/4, conf, 1e-6)
}
