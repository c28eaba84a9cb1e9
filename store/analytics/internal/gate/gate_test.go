package gate

import (
	"errors"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openekyc/ekyc/store/analytics"
)

func TestGate(t *testing.T) {
	var g Gate
	require.NoError(t, g.Enter())
	var left atomic.Bool
	closed := make(chan error)
	go func() {
		closed <- g.Close(func() error {
			if !left.Load() {
				return errors.New("released while a call was in flight")
			}
			return errors.New("released")
		})
	}()
	runtime.Gosched()
	left.Store(true)
	g.Leave()
	require.EqualError(t, <-closed, "released", "Close waits for the call and returns the release error")
	require.NoError(t, g.Close(func() error { panic("released twice") }))
	require.ErrorIs(t, g.Enter(), analytics.ErrClosed)
}
