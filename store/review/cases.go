package review

import (
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/cockroachdb/pebble/v2"

	rv "github.com/openekyc/ekyc/services/review"
)

// caseRecord is a case at rest: the case with every comment blanked, and
// the comments sealed, by slot ("p" proposal, "d" decision, "h<i>" the
// i-th history entry).
type caseRecord struct {
	Case     rv.Case
	Comments map[string][]byte `json:",omitempty"`
}

func caseKey(tenant, id string) []byte { return append(tenantPrefix("c/", tenant), id...) }

func stateByte(st rv.State) byte { return byte(slices.Index(rv.States, st) + 1) }

// indexKey orders a tenant's cases of one state by priority, then due time
// (Unix ns, big-endian; clamped at 0), then id.
func indexKey(c rv.Case) []byte {
	k := append(tenantPrefix("i/", c.Tenant), stateByte(c.State), byte(c.Priority))
	k = binary.BigEndian.AppendUint64(k, uint64(max(c.Due.UnixNano(), 0)))
	return append(k, c.ID...)
}

// commentSlots lists the places a case keeps comments in, with a pointer
// to each.
func commentSlots(c *rv.Case) map[string]*string {
	m := make(map[string]*string, len(c.History)+2)
	if c.Proposal != nil {
		m["p"] = &c.Proposal.Comment
	}
	if c.Decision != nil {
		m["d"] = &c.Decision.Comment
	}
	for i := range c.History {
		m["h"+strconv.Itoa(i)] = &c.History[i].Comment
	}
	return m
}

func commentAAD(c *rv.Case, slot string) []byte {
	return []byte("ekyc/review-comment\x00" + c.Tenant + "\x00" + c.ID + "\x00" + slot)
}

// seal returns the record of c: its comments sealed, blanked in the copy.
func (s *Store) seal(ctx context.Context, c rv.Case) ([]byte, error) {
	c = cloneCase(c)
	rec := caseRecord{}
	for slot, p := range commentSlots(&c) {
		if *p == "" {
			continue
		}
		sealed, err := s.sealer.Seal(ctx, c.Tenant, c.SessionID, []byte(*p), commentAAD(&c, slot))
		if err != nil {
			return nil, fmt.Errorf("review store: seal comment: %w", err)
		}
		if rec.Comments == nil {
			rec.Comments = map[string][]byte{}
		}
		rec.Comments[slot] = sealed
		*p = ""
	}
	rec.Case = c
	b, err := json.Marshal(rec)
	if err != nil {
		return nil, fmt.Errorf("review store: encode case: %w", err)
	}
	return b, nil
}

func (s *Store) open(ctx context.Context, rec caseRecord) (rv.Case, error) {
	c := rec.Case
	slots := commentSlots(&c)
	for slot, sealed := range rec.Comments {
		p, ok := slots[slot]
		if !ok {
			return rv.Case{}, fmt.Errorf("%w: comment slot %q without its place", ErrCorrupt, slot)
		}
		pt, err := s.sealer.Open(ctx, c.Tenant, c.SessionID, sealed, commentAAD(&c, slot))
		if err != nil {
			return rv.Case{}, fmt.Errorf("review store: open comment: %w", err)
		}
		*p = string(pt)
	}
	return c, nil
}

// cloneCase copies the parts of c that seal blanks.
func cloneCase(c rv.Case) rv.Case {
	c.History = slices.Clone(c.History)
	if c.Proposal != nil {
		p := *c.Proposal
		c.Proposal = &p
	}
	if c.Decision != nil {
		d := *c.Decision
		c.Decision = &d
	}
	return c
}

// load reads a case; found is false when it is absent.
func (s *Store) load(ctx context.Context, tenant, id string) (rv.Case, bool, error) {
	var rec caseRecord
	found, err := s.getJSON(caseKey(tenant, id), &rec)
	if err != nil || !found {
		return rv.Case{}, found, err
	}
	if rec.Case.Tenant != tenant || rec.Case.ID != id {
		return rv.Case{}, true, fmt.Errorf("%w: case record under another key", ErrCorrupt)
	}
	c, err := s.open(ctx, rec)
	return c, true, err
}

func checkCase(c rv.Case) error {
	for _, id := range []struct{ name, v string }{
		{"tenant", c.Tenant}, {"case id", c.ID}, {"session id", c.SessionID}, {"decision id", c.DecisionID},
	} {
		if err := checkID(id.name, id.v); err != nil {
			return err
		}
	}
	if !c.State.Valid() {
		return fmt.Errorf("%w: unknown state", ErrInvalid)
	}
	if !c.Priority.Valid() {
		return fmt.Errorf("%w: unknown priority", ErrInvalid)
	}
	return nil
}

// Create stores a new case (from review.NewCase) with version 1. It is
// idempotent by case id, which review.CaseID derives from the decision id:
// when the case exists (a redelivered REVIEW decision), Create returns the
// stored case and created false, and changes nothing.
func (s *Store) Create(ctx context.Context, c rv.Case) (stored rv.Case, created bool, err error) {
	if err := checkCase(c); err != nil {
		return rv.Case{}, false, err
	}
	if c.ID != rv.CaseID(c.Tenant, c.DecisionID) {
		return rv.Case{}, false, fmt.Errorf("%w: case id is not review.CaseID of its decision", ErrInvalid)
	}
	if err := s.acquire(ctx); err != nil {
		return rv.Case{}, false, err
	}
	defer s.closeMu.RUnlock()
	key := caseKey(c.Tenant, c.ID)
	mu := s.stripe(key)
	mu.Lock()
	defer mu.Unlock()
	old, found, err := s.load(ctx, c.Tenant, c.ID)
	if err != nil {
		return rv.Case{}, false, err
	}
	if found {
		return old, false, nil
	}
	c.Version = 1
	val, err := s.seal(ctx, c)
	if err != nil {
		return rv.Case{}, false, err
	}
	b := s.db.NewBatch()
	defer b.Close()
	if err := b.Set(key, val, nil); err != nil {
		return rv.Case{}, false, err
	}
	if err := b.Set(indexKey(c), nil, nil); err != nil {
		return rv.Case{}, false, err
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return rv.Case{}, false, fmt.Errorf("review store: write case: %w", err)
	}
	return c, true, nil
}

// Get returns a tenant's case; ErrNotFound when the tenant has no such
// case.
func (s *Store) Get(ctx context.Context, tenant, id string) (rv.Case, error) {
	if err := checkID("tenant", tenant); err != nil {
		return rv.Case{}, err
	}
	if err := s.acquire(ctx); err != nil {
		return rv.Case{}, err
	}
	defer s.closeMu.RUnlock()
	c, found, err := s.load(ctx, tenant, id)
	if err != nil {
		return rv.Case{}, err
	}
	if !found {
		return rv.Case{}, ErrNotFound
	}
	return c, nil
}

// Update is a compare-and-set on a tenant's case: when its stored version
// is expectedVersion, fn computes the new case from it (a transition of
// services/review) and Update stores that with the next version and moves
// its queue index entry, atomically. A different version is ErrConflict;
// fn's error is returned as it is and nothing is written. Writers of one
// case are serialised, so of two reviewers racing from the same version
// exactly one wins. fn must not change the case's identity (tenant, ids,
// opening time) nor drop history entries.
func (s *Store) Update(ctx context.Context, tenant, id string, expectedVersion uint64, fn func(rv.Case) (rv.Case, error)) (rv.Case, error) {
	if err := checkID("tenant", tenant); err != nil {
		return rv.Case{}, err
	}
	if fn == nil {
		return rv.Case{}, fmt.Errorf("%w: nil update function", ErrInvalid)
	}
	if err := s.acquire(ctx); err != nil {
		return rv.Case{}, err
	}
	defer s.closeMu.RUnlock()
	key := caseKey(tenant, id)
	mu := s.stripe(key)
	mu.Lock()
	defer mu.Unlock()
	if err := ctx.Err(); err != nil { // the wait for the stripe may have been long
		return rv.Case{}, err
	}
	old, found, err := s.load(ctx, tenant, id)
	if err != nil {
		return rv.Case{}, err
	}
	if !found {
		return rv.Case{}, ErrNotFound
	}
	if old.Version != expectedVersion {
		return rv.Case{}, ErrConflict
	}
	n, err := fn(cloneCase(old))
	if err != nil {
		return rv.Case{}, err
	}
	if err := checkCase(n); err != nil {
		return rv.Case{}, err
	}
	if n.Tenant != old.Tenant || n.ID != old.ID || n.SessionID != old.SessionID ||
		n.DecisionID != old.DecisionID || !n.OpenedAt.Equal(old.OpenedAt) || len(n.History) < len(old.History) {
		return rv.Case{}, fmt.Errorf("%w: update changed the case's identity or dropped history", ErrInvalid)
	}
	n.Version = old.Version + 1
	val, err := s.seal(ctx, n)
	if err != nil {
		return rv.Case{}, err
	}
	b := s.db.NewBatch()
	defer b.Close()
	if err := b.Delete(indexKey(old), nil); err != nil {
		return rv.Case{}, err
	}
	if err := b.Set(indexKey(n), nil, nil); err != nil {
		return rv.Case{}, err
	}
	if err := b.Set(key, val, nil); err != nil {
		return rv.Case{}, err
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return rv.Case{}, fmt.Errorf("review store: write case: %w", err)
	}
	return n, nil
}

// Delete removes a tenant's case and its index entry (erasure). Deleting
// a missing case is not an error.
func (s *Store) Delete(ctx context.Context, tenant, id string) error {
	if err := checkID("tenant", tenant); err != nil {
		return err
	}
	if err := s.acquire(ctx); err != nil {
		return err
	}
	defer s.closeMu.RUnlock()
	key := caseKey(tenant, id)
	mu := s.stripe(key)
	mu.Lock()
	defer mu.Unlock()
	// The record is read without opening its comments: a shredded
	// session's case must still be deletable.
	var rec caseRecord
	found, err := s.getJSON(key, &rec)
	if err != nil || !found {
		return err
	}
	b := s.db.NewBatch()
	defer b.Close()
	if err := b.Delete(indexKey(rec.Case), nil); err != nil {
		return err
	}
	if err := b.Delete(key, nil); err != nil {
		return err
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("review store: delete case: %w", err)
	}
	return nil
}

// Filter selects cases for List. Zero fields select everything.
type Filter struct {
	// State selects one state; empty: every state.
	State rv.State
	// Priority selects one priority; zero: every priority.
	Priority rv.Priority
	// Limit bounds the result (DefaultListLimit when <= 0, at most
	// MaxListLimit).
	Limit int
}

type indexEntry struct {
	prio rv.Priority
	due  uint64
	id   string
}

// List returns a tenant's cases, most urgent first: by priority, then by
// SLA due time (then id). It reads the queue index, so its cost is the
// number of cases returned, not the tenant's total.
func (s *Store) List(ctx context.Context, tenant string, f Filter) ([]rv.Case, error) {
	if err := checkID("tenant", tenant); err != nil {
		return nil, err
	}
	if f.State != "" && !f.State.Valid() {
		return nil, fmt.Errorf("%w: unknown state", ErrInvalid)
	}
	if f.Priority != 0 && !f.Priority.Valid() {
		return nil, fmt.Errorf("%w: unknown priority", ErrInvalid)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultListLimit
	}
	limit = min(limit, MaxListLimit)
	states := rv.States
	if f.State != "" {
		states = []rv.State{f.State}
	}
	if err := s.acquire(ctx); err != nil {
		return nil, err
	}
	defer s.closeMu.RUnlock()
	snap := s.db.NewSnapshot()
	defer snap.Close()

	// Each state's range is already in (priority, due, id) order: take
	// the first limit of each, merge, cut.
	var entries []indexEntry
	for _, st := range states {
		prefix := append(tenantPrefix("i/", tenant), stateByte(st))
		if f.Priority != 0 {
			prefix = append(prefix, byte(f.Priority))
		}
		got, err := scanIndex(snap, tenant, prefix, limit)
		if err != nil {
			return nil, err
		}
		entries = append(entries, got...)
	}
	slices.SortFunc(entries, func(a, b indexEntry) int {
		return cmp.Or(cmp.Compare(a.prio, b.prio), cmp.Compare(a.due, b.due), cmp.Compare(a.id, b.id))
	})
	entries = entries[:min(len(entries), limit)]

	out := make([]rv.Case, 0, len(entries))
	for _, e := range entries {
		var rec caseRecord
		val, closer, err := snap.Get(caseKey(tenant, e.id))
		if errors.Is(err, pebble.ErrNotFound) {
			return nil, fmt.Errorf("%w: index entry without its case", ErrCorrupt)
		}
		if err != nil {
			return nil, fmt.Errorf("review store: read: %w", err)
		}
		err = json.Unmarshal(val, &rec)
		_ = closer.Close()
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
		}
		c, err := s.open(ctx, rec)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func scanIndex(snap *pebble.Snapshot, tenant string, prefix []byte, limit int) ([]indexEntry, error) {
	it, err := snap.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return nil, fmt.Errorf("review store: list: %w", err)
	}
	defer it.Close()
	base := len(tenantPrefix("i/", tenant)) + 1 // + state byte
	var out []indexEntry
	for ok := it.First(); ok && len(out) < limit; ok = it.Next() {
		k := it.Key()
		if len(k) < base+1+8+1 {
			return nil, fmt.Errorf("%w: short index key", ErrCorrupt)
		}
		out = append(out, indexEntry{
			prio: rv.Priority(k[base]),
			due:  binary.BigEndian.Uint64(k[base+1 : base+9]),
			id:   string(k[base+9:]),
		})
	}
	if err := it.Error(); err != nil {
		return nil, fmt.Errorf("review store: list: %w", err)
	}
	return out, nil
}

// QueueStats counts a tenant's waiting cases (every state but decided) by
// state and priority, with their SLA standing at now (rv.QueueStats). It
// reads the queue index only — no case is loaded or decrypted — so its
// cost is the number of waiting cases.
func (s *Store) QueueStats(ctx context.Context, tenant string, now time.Time) (rv.QueueStats, error) {
	q := rv.NewQueueStats(now)
	if err := checkID("tenant", tenant); err != nil {
		return q, err
	}
	if err := s.acquire(ctx); err != nil {
		return q, err
	}
	defer s.closeMu.RUnlock()
	snap := s.db.NewSnapshot()
	defer snap.Close()
	base := len(tenantPrefix("i/", tenant)) + 1 // + state byte
	for _, st := range rv.WaitingStates {
		prefix := append(tenantPrefix("i/", tenant), stateByte(st))
		it, err := snap.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
		if err != nil {
			return q, fmt.Errorf("review store: queue stats: %w", err)
		}
		for ok := it.First(); ok; ok = it.Next() {
			if err := ctx.Err(); err != nil {
				_ = it.Close()
				return q, err
			}
			k := it.Key()
			if len(k) < base+1+8+1 {
				_ = it.Close()
				return q, fmt.Errorf("%w: short index key", ErrCorrupt)
			}
			due := time.Unix(0, int64(binary.BigEndian.Uint64(k[base+1:base+9])))
			q.Add(st, rv.Priority(k[base]), due)
		}
		if err := it.Close(); err != nil {
			return q, fmt.Errorf("review store: queue stats: %w", err)
		}
	}
	return q, nil
}
