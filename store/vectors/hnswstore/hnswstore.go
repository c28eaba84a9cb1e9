// Package hnswstore is the embedded vectors.Store: face embeddings in our
// own HNSW index (store/vectors/hnsw), persisted in a data directory
// (<data_dir>/vectors in a node).
//
// # Tenants
//
// Each tenant has its own graph. A search walks the graph of every tenant
// it names and merges the results, so isolation is structural (a graph
// holds one tenant's vectors; nothing has to be filtered out of it) and a
// tenant's recall does not depend on how many vectors other tenants have.
// A filtered traversal of one shared graph would degrade for small tenants
// (most neighbours on the path belong to others, so the beam fills with
// nodes it must skip) unless it fell back to a scan. The cost of per-tenant
// graphs is one graph search per tenant of a consortium query; tenants of
// up to ExactBelow embeddings are scanned exhaustively, which is exact and,
// at that size, as fast as the graph.
//
// # Durability
//
// Every insert and delete is appended to a write-ahead log and fsynced
// (concurrent writers share an fsync) before it is applied in memory and
// acknowledged. A snapshot (every tenant's graph with its metadata, CRC
// checked) is written in the background when the log has grown by
// SnapshotBytes since the last one, when an erasure has waited ErasureDelay,
// on Close, and by Snapshot. Opening reads the newest snapshot and replays
// the log written after it (inserts in parallel), so a restart never
// rebuilds the graphs from scratch.
//
// # Erasure
//
// A delete makes the embedding unsearchable at once (a tombstone in the
// graph). Its vector leaves memory when the graph is consolidated (the
// tombstone's neighbours are relinked and its vector zeroed) and leaves the
// disk when the next snapshot replaces the log and the previous snapshot;
// both happen at the latest ErasureDelay after the delete (and on Close).
//
// # Concurrency
//
// Searches never wait for writes. Inserts into one tenant run in parallel
// (inserts of the same session are serialised); a delete excludes the
// tenant's inserts while it runs, so the log order of conflicting
// operations is the order they were applied in. The snapshot cut briefly
// excludes all writes.
package hnswstore

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/openekyc/ekyc/store/vectors"
	"github.com/openekyc/ekyc/store/vectors/hnsw"
)

// Store is a vectors.Store over per-tenant HNSW graphs in a directory.
type Store struct {
	dir  string
	cfg  config
	hcfg hnsw.Config
	lock *os.File

	// opMu: calls hold it for reading while they use the store, Close for
	// writing.
	opMu   sync.RWMutex
	closed bool

	// cutMu: writes hold it for reading from their log append to their
	// in-memory apply; the snapshot cut holds it for writing.
	cutMu sync.RWMutex

	tmu     sync.RWMutex // guards tenants
	tenants map[string]*tenant

	wal *wal

	failMu sync.Mutex
	failed error // first write failure: later writes are refused

	snapMu       sync.Mutex // one snapshot at a time
	eraseMu      sync.Mutex
	erasureSince time.Time // first delete not yet in a snapshot

	kick chan struct{}
	stop chan struct{}
	done chan struct{}
}

var _ vectors.Store = (*Store)(nil)

// nodeMeta is what a graph node stands for.
type nodeMeta struct {
	session   string
	applicant string
}

type tenant struct {
	name string
	g    *hnsw.Index

	// wmu: inserts hold it for reading, deletes for writing.
	wmu     sync.RWMutex
	stripes [64]sync.Mutex // inserts of one session, by hash

	metaMu      sync.RWMutex
	nodes       []nodeMeta          // by graph id; zero: not (yet) registered
	bySession   map[string]uint32   // the current node of each session
	byApplicant map[string][]uint32 // current nodes of each applicant
}

var stripeSeed = maphash.MakeSeed()

type config struct {
	m, efConstruction, efSearch, exactBelow int
	snapshotBytes                           int64
	erasureDelay                            time.Duration
	snapshotOnClose                         bool
	logger                                  *slog.Logger
	replayWorkers                           int
}

// Option configures Open.
type Option func(*config)

// WithM sets the HNSW M (links per node; 2·M on layer 0). Default 16. It is
// fixed when the first snapshot is written: reopening with another M fails
// with vectors.ErrCorrupt.
func WithM(m int) Option { return func(c *config) { c.m = m } }

// WithEfConstruction sets the beam width of inserts. Default 200.
func WithEfConstruction(ef int) Option { return func(c *config) { c.efConstruction = ef } }

// WithEfSearch sets the beam width of searches (at least K). Default 192:
// recall@10 0.99 at 1M clustered embeddings (bench/vectors/README.md).
func WithEfSearch(ef int) Option { return func(c *config) { c.efSearch = ef } }

// WithExactBelow sets the size up to which a tenant's graph is searched
// exhaustively. Default 2048.
func WithExactBelow(n int) Option { return func(c *config) { c.exactBelow = n } }

// WithSnapshotBytes sets how much the log may grow before a snapshot is
// written in the background. Default 64 MiB (about 30,000 inserts).
func WithSnapshotBytes(n int64) Option { return func(c *config) { c.snapshotBytes = n } }

// WithErasureDelay sets how long a deleted vector may stay in memory and on
// disk before a consolidation and snapshot remove it. Default 10 minutes.
func WithErasureDelay(d time.Duration) Option { return func(c *config) { c.erasureDelay = d } }

// WithSnapshotOnClose sets whether Close writes a snapshot when the log is
// not empty (default true), so the next Open replays nothing.
func WithSnapshotOnClose(b bool) Option { return func(c *config) { c.snapshotOnClose = b } }

// WithLogger sets the logger of background snapshot failures (default
// slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// Open opens (creating it if needed) the store in dir: it reads the newest
// snapshot and replays the log written after it, giving up when ctx ends.
// It fails if another Store, in this process or another, has dir open, and
// with vectors.ErrCorrupt if the snapshot or log cannot be read.
func Open(ctx context.Context, dir string, opts ...Option) (*Store, error) {
	if dir == "" {
		return nil, fmt.Errorf("vectors hnswstore: %w: empty directory", vectors.ErrInvalidArgument)
	}
	cfg := config{
		m: 16, efConstruction: 200, efSearch: 192, exactBelow: 2048,
		snapshotBytes: 64 << 20, erasureDelay: 10 * time.Minute, snapshotOnClose: true,
		logger: slog.Default(), replayWorkers: runtime.GOMAXPROCS(0),
	}
	for _, o := range opts {
		o(&cfg)
	}
	hcfg := hnsw.Config{Dim: vectors.Dim, M: cfg.m, EfConstruction: cfg.efConstruction, EfSearch: cfg.efSearch, ExactBelow: cfg.exactBelow}
	if _, err := hnsw.New(hcfg); err != nil {
		return nil, fmt.Errorf("vectors hnswstore: %w: %w", vectors.ErrInvalidArgument, err)
	}
	if cfg.snapshotBytes <= 0 || cfg.erasureDelay <= 0 {
		return nil, fmt.Errorf("vectors hnswstore: %w: snapshot bytes and erasure delay must be positive", vectors.ErrInvalidArgument)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("vectors hnswstore: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, "LOCK"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("vectors hnswstore: %w", err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		return nil, fmt.Errorf("vectors hnswstore: %s is in use by another store: %w", dir, err)
	}
	s := &Store{
		dir: dir, cfg: cfg, hcfg: hcfg, lock: lock,
		tenants: map[string]*tenant{},
		kick:    make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
	}
	if err := s.recover(ctx); err != nil {
		lock.Close()
		return nil, fmt.Errorf("vectors hnswstore: open %s: %w", dir, err)
	}
	go s.maintain()
	return s, nil
}

// recover loads the newest snapshot, replays the log after it and starts
// a new log segment.
func (s *Store) recover(ctx context.Context) error {
	snaps, err := listSeqs(s.dir, "snapshot-", ".snap")
	if err != nil {
		return err
	}
	var from uint64
	if len(snaps) > 0 {
		seq, ts, err := readSnapshot(filepath.Join(s.dir, snapshotName(snaps[len(snaps)-1])), vectors.Dim, s.hcfg)
		if err != nil {
			return err
		}
		from = seq
		for _, lt := range ts {
			t := newTenant(lt.name, lt.g)
			t.nodes = lt.meta
			for id, nm := range lt.meta {
				t.bySession[nm.session] = uint32(id)
				t.byApplicant[nm.applicant] = append(t.byApplicant[nm.applicant], uint32(id))
			}
			s.tenants[lt.name] = t
		}
	}
	segs, err := listSeqs(s.dir, "wal-", ".log")
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	r := newReplayer(ctx, s)
	last := from
	for i, seq := range segs {
		if seq < from {
			continue
		}
		if err := replaySegment(filepath.Join(s.dir, segmentName(seq)), i == len(segs)-1, r.add); err != nil {
			return err
		}
		last = seq + 1
	}
	if err := r.flush(); err != nil {
		return err
	}
	if r.deletes > 0 {
		s.erasureSince = time.Now()
	}
	s.wal, err = openWAL(s.dir, max(last, from))
	if err != nil {
		return err
	}
	// The replayed segments count towards the next snapshot.
	for _, seq := range segs {
		if seq >= from {
			if fi, err := os.Stat(filepath.Join(s.dir, segmentName(seq))); err == nil {
				s.wal.sinceSnapshot.Add(fi.Size())
			}
		}
	}
	s.removeBefore(from)
	return nil
}

func newTenant(name string, g *hnsw.Index) *tenant {
	return &tenant{name: name, g: g, bySession: map[string]uint32{}, byApplicant: map[string][]uint32{}}
}

// tenant returns the tenant's state, creating it when create is set (nil
// otherwise when it has none).
func (s *Store) tenant(name string, create bool) (*tenant, error) {
	s.tmu.RLock()
	t := s.tenants[name]
	s.tmu.RUnlock()
	if t != nil || !create {
		return t, nil
	}
	s.tmu.Lock()
	defer s.tmu.Unlock()
	if t = s.tenants[name]; t != nil {
		return t, nil
	}
	g, err := hnsw.New(s.hcfg)
	if err != nil {
		return nil, err
	}
	t = newTenant(name, g)
	s.tenants[name] = t
	return t, nil
}

func (s *Store) acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.opMu.RLock()
	if s.closed {
		s.opMu.RUnlock()
		return vectors.ErrClosed
	}
	return nil
}

func (s *Store) release() { s.opMu.RUnlock() }

// logged appends rec to the log and waits until it is durable. A failure
// disables writes: after a failed write or fsync the log's state is not
// known, and only a reopen (which replays what reached the disk) is safe.
func (s *Store) logged(rec record) error {
	s.failMu.Lock()
	failed := s.failed
	s.failMu.Unlock()
	if failed != nil {
		return fmt.Errorf("vectors hnswstore: %w: an earlier write failed (%v); reopen the store", vectors.ErrUnavailable, failed)
	}
	pos, err := s.wal.append(rec.encode())
	if err == nil {
		err = s.wal.sync(pos)
	}
	if err != nil {
		s.failMu.Lock()
		if s.failed == nil {
			s.failed = err
		}
		s.failMu.Unlock()
		return fmt.Errorf("vectors hnswstore: %w: write log: %w", vectors.ErrUnavailable, err)
	}
	if s.wal.sinceSnapshot.Load() >= s.cfg.snapshotBytes {
		s.poke()
	}
	return nil
}

func (s *Store) poke() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// Insert implements vectors.Store.
func (s *Store) Insert(ctx context.Context, e vectors.Embedding) error {
	vec, err := vectors.ValidateEmbedding(e)
	if err != nil {
		return err
	}
	if err := s.acquire(ctx); err != nil {
		return err
	}
	defer s.release()
	s.cutMu.RLock()
	defer s.cutMu.RUnlock()
	t, err := s.tenant(e.Tenant, true)
	if err != nil {
		return err
	}
	t.wmu.RLock()
	defer t.wmu.RUnlock()
	stripe := &t.stripes[maphash.String(stripeSeed, e.Session)%uint64(len(t.stripes))]
	stripe.Lock()
	defer stripe.Unlock()
	if t.same(e.Session, e.Applicant, vec) {
		return nil // a redelivery: already stored, durably
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.logged(record{typ: recInsert, tenant: e.Tenant, session: e.Session, applicant: e.Applicant, vec: vec}); err != nil {
		return err
	}
	return t.insert(e.Session, e.Applicant, vec)
}

// same reports whether session already has this applicant and vector.
func (t *tenant) same(session, applicant string, vec []float32) bool {
	t.metaMu.RLock()
	id, ok := t.bySession[session]
	var nm nodeMeta
	if ok {
		nm = t.nodes[id]
	}
	t.metaMu.RUnlock()
	return ok && nm.applicant == applicant && slices.Equal(t.g.Vector(id), vec)
}

// insert adds the node and makes it the session's, replacing an earlier
// one. The caller holds the session's stripe.
func (t *tenant) insert(session, applicant string, vec []float32) error {
	id, err := t.g.Add(vec)
	if err != nil {
		return err
	}
	t.register(id, session, applicant)
	return nil
}

func (t *tenant) register(id uint32, session, applicant string) {
	t.metaMu.Lock()
	defer t.metaMu.Unlock()
	for len(t.nodes) <= int(id) {
		t.nodes = append(t.nodes, nodeMeta{})
	}
	t.nodes[id] = nodeMeta{session: session, applicant: applicant}
	if old, ok := t.bySession[session]; ok {
		t.unlinkLocked(old)
		t.g.Delete(old)
	}
	t.bySession[session] = id
	t.byApplicant[applicant] = append(t.byApplicant[applicant], id)
}

// unlinkLocked removes node id from the indexes (not from the graph).
func (t *tenant) unlinkLocked(id uint32) {
	nm := t.nodes[id]
	if cur, ok := t.bySession[nm.session]; ok && cur == id {
		delete(t.bySession, nm.session)
	}
	ids := slices.DeleteFunc(t.byApplicant[nm.applicant], func(x uint32) bool { return x == id })
	if len(ids) == 0 {
		delete(t.byApplicant, nm.applicant)
	} else {
		t.byApplicant[nm.applicant] = ids
	}
}

// deleteSession removes a session's node; it reports whether there was one.
func (t *tenant) deleteSession(session string) bool {
	t.metaMu.Lock()
	defer t.metaMu.Unlock()
	id, ok := t.bySession[session]
	if !ok {
		return false
	}
	t.unlinkLocked(id)
	t.g.Delete(id)
	return true
}

// deleteApplicant removes an applicant's nodes and returns how many.
func (t *tenant) deleteApplicant(applicant string) int {
	t.metaMu.Lock()
	defer t.metaMu.Unlock()
	ids := slices.Clone(t.byApplicant[applicant])
	for _, id := range ids {
		t.unlinkLocked(id)
		t.g.Delete(id)
	}
	return len(ids)
}

func (t *tenant) hasSession(session string) bool {
	t.metaMu.RLock()
	defer t.metaMu.RUnlock()
	_, ok := t.bySession[session]
	return ok
}

func (t *tenant) hasApplicant(applicant string) bool {
	t.metaMu.RLock()
	defer t.metaMu.RUnlock()
	return len(t.byApplicant[applicant]) > 0
}

// DeleteSession implements vectors.Store.
func (s *Store) DeleteSession(ctx context.Context, tenantID, session string) error {
	if err := vectors.ValidateKey(tenantID, session); err != nil {
		return err
	}
	return s.delete(ctx, tenantID, func(t *tenant) bool { return t.hasSession(session) },
		record{typ: recDeleteSession, tenant: tenantID, session: session},
		func(t *tenant) { t.deleteSession(session) })
}

// DeleteApplicant implements vectors.Store.
func (s *Store) DeleteApplicant(ctx context.Context, tenantID, applicant string) error {
	if err := vectors.ValidateApplicant(tenantID, applicant); err != nil {
		return err
	}
	return s.delete(ctx, tenantID, func(t *tenant) bool { return t.hasApplicant(applicant) },
		record{typ: recDeleteApplicant, tenant: tenantID, applicant: applicant},
		func(t *tenant) { t.deleteApplicant(applicant) })
}

func (s *Store) delete(ctx context.Context, name string, exists func(*tenant) bool, rec record, apply func(*tenant)) error {
	if err := s.acquire(ctx); err != nil {
		return err
	}
	defer s.release()
	s.cutMu.RLock()
	defer s.cutMu.RUnlock()
	t, _ := s.tenant(name, false)
	if t == nil {
		return nil
	}
	t.wmu.Lock()
	defer t.wmu.Unlock()
	if !exists(t) {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.logged(rec); err != nil {
		return err
	}
	apply(t)
	s.eraseMu.Lock()
	if s.erasureSince.IsZero() {
		s.erasureSince = time.Now()
	}
	s.eraseMu.Unlock()
	return nil
}

// Search implements vectors.Store.
func (s *Store) Search(ctx context.Context, q vectors.Query) ([]vectors.Match, error) {
	tenants, vec, err := vectors.ValidateQuery(q)
	if err != nil {
		return nil, err
	}
	if err := s.acquire(ctx); err != nil {
		return nil, err
	}
	defer s.release()
	var out []vectors.Match
	for _, name := range tenants {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		t, _ := s.tenant(name, false)
		if t == nil {
			continue
		}
		hits := t.g.Search(vec, q.K, max(s.cfg.efSearch, q.K))
		t.metaMu.RLock()
		for _, h := range hits {
			if h.Score < q.MinScore {
				break // hits are sorted
			}
			if int(h.ID) >= len(t.nodes) {
				continue // inserted, not registered yet
			}
			nm := t.nodes[h.ID]
			if cur, ok := t.bySession[nm.session]; !ok || cur != h.ID {
				continue // replaced or deleted meanwhile
			}
			out = append(out, vectors.Match{Tenant: name, Session: nm.session, Applicant: nm.applicant, Score: h.Score})
		}
		t.metaMu.RUnlock()
	}
	vectors.SortMatches(out)
	if len(out) > q.K {
		out = out[:q.K]
	}
	return out, nil
}

// Snapshot consolidates the graphs (freeing deleted vectors) and writes a
// snapshot, then removes the log and the older snapshot: after it returns,
// no deleted embedding is left in memory or in the directory.
func (s *Store) Snapshot(ctx context.Context) error {
	if err := s.acquire(ctx); err != nil {
		return err
	}
	defer s.release()
	return s.snapshot()
}

func (s *Store) snapshot() error {
	s.snapMu.Lock()
	defer s.snapMu.Unlock()
	s.failMu.Lock()
	failed := s.failed
	s.failMu.Unlock()
	if failed != nil {
		return fmt.Errorf("vectors hnswstore: %w: an earlier write failed (%v)", vectors.ErrUnavailable, failed)
	}
	s.eraseMu.Lock()
	erasing := !s.erasureSince.IsZero()
	s.eraseMu.Unlock()

	s.tmu.RLock()
	all := make([]*tenant, 0, len(s.tenants))
	for _, t := range s.tenants {
		all = append(all, t)
	}
	s.tmu.RUnlock()
	slices.SortFunc(all, func(a, b *tenant) int { return compare(a.name, b.name) })
	// Consolidate beside the traffic; the few deletes that land between
	// this and the cut stay tombstones (dropped from the snapshot, freed
	// next time).
	for _, t := range all {
		if t.g.Deleted() > 0 {
			t.g.Consolidate()
		}
	}

	s.cutMu.Lock()
	seq, err := s.wal.rotate()
	if err != nil {
		s.cutMu.Unlock()
		s.failMu.Lock()
		if s.failed == nil {
			s.failed = err
		}
		s.failMu.Unlock()
		return fmt.Errorf("vectors hnswstore: %w: rotate log: %w", vectors.ErrUnavailable, err)
	}
	s.tmu.RLock()
	all = all[:0]
	for _, t := range s.tenants {
		all = append(all, t)
	}
	s.tmu.RUnlock()
	slices.SortFunc(all, func(a, b *tenant) int { return compare(a.name, b.name) })
	frozenAt := time.Now()
	fr := make([]frozen, 0, len(all))
	for _, t := range all {
		v := t.g.Freeze()
		t.metaMu.RLock()
		meta := make([]nodeMeta, len(v.IDs()))
		for i, id := range v.IDs() {
			meta[i] = t.nodes[id]
		}
		t.metaMu.RUnlock()
		if len(meta) > 0 {
			fr = append(fr, frozen{name: t.name, g: t.g, view: v, meta: meta})
		}
	}
	s.cutMu.Unlock()

	if err := writeSnapshot(s.dir, seq, vectors.Dim, s.cfg.m, fr); err != nil {
		// The log still holds everything since the previous snapshot.
		s.wal.sinceSnapshot.Add(s.cfg.snapshotBytes) // retry soon
		return fmt.Errorf("vectors hnswstore: write snapshot: %w", err)
	}
	s.removeBefore(seq)
	if erasing {
		s.eraseMu.Lock()
		// Deletes after the cut wait for the next snapshot.
		if !s.erasureSince.After(frozenAt) {
			s.erasureSince = time.Time{}
			for _, t := range all {
				if t.g.Deleted() > 0 {
					s.erasureSince = frozenAt
					break
				}
			}
		}
		s.eraseMu.Unlock()
	}
	return nil
}

func compare(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// removeBefore deletes the snapshots and log segments older than seq.
func (s *Store) removeBefore(seq uint64) {
	snaps, _ := listSeqs(s.dir, "snapshot-", ".snap")
	for _, q := range snaps {
		if q < seq {
			os.Remove(filepath.Join(s.dir, snapshotName(q)))
		}
	}
	segs, _ := listSeqs(s.dir, "wal-", ".log")
	for _, q := range segs {
		if q < seq {
			os.Remove(filepath.Join(s.dir, segmentName(q)))
		}
	}
	// Leftovers of a snapshot interrupted by a crash.
	tmps, _ := filepath.Glob(filepath.Join(s.dir, "snapshot-*.snap.tmp"))
	for _, p := range tmps {
		os.Remove(p)
	}
	_ = syncDir(s.dir)
}

// maintain writes snapshots in the background.
func (s *Store) maintain() {
	defer close(s.done)
	tick := time.NewTicker(maintainTick(s.cfg.erasureDelay))
	defer tick.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-s.kick:
		case <-tick.C:
		}
		due := s.wal.sinceSnapshot.Load() >= s.cfg.snapshotBytes
		s.eraseMu.Lock()
		if !s.erasureSince.IsZero() && time.Since(s.erasureSince) >= s.cfg.erasureDelay {
			due = true
		}
		s.eraseMu.Unlock()
		if !due {
			continue
		}
		if err := s.snapshot(); err != nil {
			s.cfg.logger.Error("vector store snapshot failed", "dir", s.dir, "err", err)
		}
	}
}

func maintainTick(erasure time.Duration) time.Duration {
	return min(max(erasure/10, 10*time.Millisecond), 10*time.Second)
}

// Close implements vectors.Store: it stops the background snapshots,
// writes a last snapshot if the log is not empty (WithSnapshotOnClose),
// and releases the directory.
func (s *Store) Close() error {
	s.opMu.Lock()
	if s.closed {
		s.opMu.Unlock()
		return nil
	}
	s.closed = true
	s.opMu.Unlock()
	close(s.stop)
	<-s.done
	var errs []error
	if s.cfg.snapshotOnClose && s.wal.sinceSnapshot.Load() > 0 {
		if err := s.snapshot(); err != nil {
			errs = append(errs, err)
		}
	}
	errs = append(errs, s.wal.close(), s.lock.Close())
	return errors.Join(errs...)
}

// Stats is a tenant's index size.
type Stats struct {
	Tenant string
	hnsw.Stats
}

// Stats returns the size of every tenant's index, by tenant name.
func (s *Store) Stats() []Stats {
	s.tmu.RLock()
	defer s.tmu.RUnlock()
	out := make([]Stats, 0, len(s.tenants))
	for name, t := range s.tenants {
		out = append(out, Stats{Tenant: name, Stats: t.g.Stats()})
	}
	slices.SortFunc(out, func(a, b Stats) int { return compare(a.Tenant, b.Tenant) })
	return out
}
