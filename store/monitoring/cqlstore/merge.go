package cqlstore

import (
	"context"
	"fmt"
	"sync"
)

// row is one stored subject as read: its session id and its sealed record
// (decrypted only when it is handed to the caller).
type row struct {
	session string
	record  []byte
}

// fetchFunc reads up to limit rows of one bucket whose session id is
// greater than after, in session id order. It may be called concurrently
// for different buckets.
type fetchFunc func(ctx context.Context, bucket int, after string, limit int) ([]row, error)

// merger yields the rows of every bucket of a tenant in session id order: a
// k-way merge of the buckets' partitions, each read a page at a time by
// key (session_id > the last one read, LIMIT page), so at most one page
// per bucket is held and nothing (no cursor, no paging state) stays open
// between two pages. A bucket is read again when its page is used up; a
// page shorter than the limit ends the bucket.
//
// Each bucket yields increasing session ids and a refill only returns ids
// greater than the bucket's last, so the merged sequence increases
// strictly (a session is in exactly one bucket). A row written during the
// iteration is yielded if its bucket is read past its place later, which
// the monitoring.Store contract allows ("may or may not be seen").
type merger struct {
	fetch   fetchFunc
	limit   int
	buckets []bucketStream
}

type bucketStream struct {
	buf  []row
	last string // session id of the last row read; "" before the first page
	done bool   // the last page was short: nothing more to read
}

func newMerger(buckets, limit int, fetch fetchFunc) *merger {
	return &merger{fetch: fetch, limit: limit, buckets: make([]bucketStream, buckets)}
}

// prime reads the first page of every bucket, parallel at a time, instead
// of one after the other on the first call of next.
func (m *merger) prime(ctx context.Context, parallel int) error {
	parallel = max(parallel, 1)
	var (
		wg   sync.WaitGroup
		sem  = make(chan struct{}, parallel)
		errs = make([]error, len(m.buckets))
	)
	for i := range m.buckets {
		if m.buckets[i].done || len(m.buckets[i].buf) > 0 {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			errs[i] = m.refill(ctx, i)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// refill reads the page of bucket i that follows its last row.
func (m *merger) refill(ctx context.Context, i int) error {
	b := &m.buckets[i]
	rows, err := m.fetch(ctx, i, b.last, m.limit)
	if err != nil {
		return err
	}
	if len(rows) > m.limit {
		return fmt.Errorf("monitoring cqlstore: bucket %d: page of %d rows, asked for %d", i, len(rows), m.limit)
	}
	prev := b.last
	for _, r := range rows {
		// The order is the store's guarantee to its caller: refuse a
		// page that would break it rather than pass it on.
		if r.session <= prev {
			return fmt.Errorf("monitoring cqlstore: bucket %d: session ids out of order (%q after %q)", i, r.session, prev)
		}
		prev = r.session
	}
	b.buf, b.last, b.done = rows, prev, len(rows) < m.limit
	return nil
}

// next returns the row with the least session id not yet returned; ok is
// false when every bucket is exhausted.
func (m *merger) next(ctx context.Context) (r row, ok bool, err error) {
	best := -1
	for i := range m.buckets {
		b := &m.buckets[i]
		if len(b.buf) == 0 && !b.done {
			if err := m.refill(ctx, i); err != nil {
				return row{}, false, err
			}
		}
		if len(b.buf) == 0 {
			continue
		}
		if best < 0 || b.buf[0].session < m.buckets[best].buf[0].session {
			best = i
		}
	}
	if best < 0 {
		return row{}, false, nil
	}
	b := &m.buckets[best]
	r = b.buf[0]
	b.buf[0] = row{} // drop the sealed record with the row
	b.buf = b.buf[1:]
	return r, true, nil
}
