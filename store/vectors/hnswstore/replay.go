package hnswstore

import (
	"context"
	"sync"
	"sync/atomic"
)

// replayer applies logged records at open. Runs of inserts of distinct
// sessions commute, so their graph inserts run in parallel; their
// registration (which replaces an earlier node of the session) and every
// delete are applied in log order.
type replayer struct {
	ctx     context.Context
	s       *Store
	batch   []record
	keys    map[[2]string]bool
	deletes int
}

const replayBatch = 4096

func newReplayer(ctx context.Context, s *Store) *replayer {
	return &replayer{ctx: ctx, s: s, keys: map[[2]string]bool{}}
}

func (r *replayer) add(rec record) error {
	if rec.typ == recInsert {
		k := [2]string{rec.tenant, rec.session}
		if r.keys[k] {
			if err := r.flush(); err != nil {
				return err
			}
		}
		r.keys[k] = true
		r.batch = append(r.batch, rec)
		if len(r.batch) >= replayBatch {
			return r.flush()
		}
		return nil
	}
	if err := r.flush(); err != nil {
		return err
	}
	r.deletes++
	t, _ := r.s.tenant(rec.tenant, false)
	if t == nil {
		return nil
	}
	if rec.typ == recDeleteSession {
		t.deleteSession(rec.session)
	} else {
		t.deleteApplicant(rec.applicant)
	}
	return nil
}

func (r *replayer) flush() error {
	if len(r.batch) == 0 {
		return nil
	}
	if err := r.ctx.Err(); err != nil {
		return err
	}
	ts := make([]*tenant, len(r.batch))
	for i, rec := range r.batch {
		t, err := r.s.tenant(rec.tenant, true)
		if err != nil {
			return err
		}
		ts[i] = t
	}
	ids := make([]uint32, len(r.batch))
	errs := make([]error, len(r.batch))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range max(1, r.s.cfg.replayWorkers) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(r.batch) {
					return
				}
				ids[i], errs[i] = ts[i].g.Add(r.batch[i].vec)
			}
		}()
	}
	wg.Wait()
	for i, rec := range r.batch {
		if errs[i] != nil {
			return errs[i]
		}
		ts[i].register(ids[i], rec.session, rec.applicant)
	}
	r.batch = r.batch[:0]
	clear(r.keys)
	return nil
}
