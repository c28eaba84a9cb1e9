// Package gate lets a store's calls run concurrently with each other and
// Close wait for them: calls Enter (ErrClosed once closed) and Leave;
// Close runs its release function once, after the calls in flight.
package gate

import (
	"sync"

	"github.com/openekyc/ekyc/store/analytics"
)

// Gate is the zero-value-ready open/closed state of a store.
type Gate struct {
	mu     sync.RWMutex
	closed bool
}

// Enter admits a call, or returns analytics.ErrClosed. A nil error must be
// followed by Leave.
func (g *Gate) Enter() error {
	g.mu.RLock()
	if g.closed {
		g.mu.RUnlock()
		return analytics.ErrClosed
	}
	return nil
}

// Leave ends a call admitted by Enter.
func (g *Gate) Leave() { g.mu.RUnlock() }

// Close waits for the calls in flight, closes the gate and runs release
// the first time; later calls return nil.
func (g *Gate) Close(release func() error) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil
	}
	g.closed = true
	return release()
}
