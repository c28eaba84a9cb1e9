package screening

import (
	"context"
	"sync/atomic"
)

// Screener serves queries from the current index and lets a new index
// (new list versions) replace it atomically: a query runs entirely on the
// index it started with. The zero value holds no index. Safe for concurrent
// use.
type Screener struct {
	idx atomic.Pointer[Index]
}

// NewScreener returns a Screener serving idx (which may be nil).
func NewScreener(idx *Index) *Screener {
	s := &Screener{}
	if idx != nil {
		s.idx.Store(idx)
	}
	return s
}

// Swap installs idx and returns the previous index (nil if none).
func (s *Screener) Swap(idx *Index) *Index { return s.idx.Swap(idx) }

// Index returns the current index (nil if none).
func (s *Screener) Index() *Index { return s.idx.Load() }

// Versions returns the list versions of the current index.
func (s *Screener) Versions() []Version {
	if ix := s.idx.Load(); ix != nil {
		return ix.Versions()
	}
	return nil
}

// Screen screens q against the current index. It returns ErrNoIndex
// before the first index is installed, and ctx's error if ctx is already
// done (a query itself takes well under a millisecond and is not
// interrupted).
func (s *Screener) Screen(ctx context.Context, q Query, opts ...ScreenOption) (*Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ix := s.idx.Load()
	if ix == nil {
		return nil, ErrNoIndex
	}
	return ix.Screen(q, opts...)
}
