// Package hnsw is an in-memory approximate nearest-neighbour index over
// L2-normalised float32 vectors, by inner product (= cosine similarity):
// a Hierarchical Navigable Small World graph (Malkov & Yashunin, 2016), with
// the neighbour-selection heuristic of the paper's algorithm 4 as hnswlib
// implements it (no kept pruned connections; M links per new node, up to
// 2·M on layer 0).
//
// # Concurrency
//
// Add, Delete and Search may be called concurrently. Inserts run in
// parallel: each node's link lists are guarded by their own mutex for
// writers, and readers load link slots with atomic loads, so a search never
// blocks on an insert (it may see a list half way through an update; every
// id it can read names a node whose vector was written before the id was
// published). Only an insert that raises the top layer holds the entry-point
// lock for its whole duration, as in hnswlib. Growing the first storage
// chunk, appending a chunk (every 16384 nodes) and the final step of
// Consolidate take the index's exclusive lock briefly.
//
// # Deletion
//
// Delete marks a node as a tombstone: searches still walk through it (the
// graph stays navigable) but never return it. Consolidate later repairs the
// neighbours of tombstones (their lists get the tombstones' live neighbours,
// pruned with the same heuristic) and frees them: their links are dropped
// and their vectors zeroed, so the vector of an erased face does not stay in
// memory. Freed slots are not reused; WriteView renumbers the live nodes,
// so a reload does not carry them.
//
// # Small graphs
//
// A graph of at most Config.ExactBelow nodes is searched exhaustively:
// exact, and as fast as the graph at that size.
package hnsw

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
)

const (
	chunkBits = 14
	chunkSize = 1 << chunkBits
	chunkMask = chunkSize - 1
	// firstChunk is the initial capacity of a new index; the first chunk
	// doubles until it reaches chunkSize, then chunks are appended.
	firstChunk = 64
	// maxLevels bounds the layer of a node (with M=16 level 16 has a
	// probability of 16^-16).
	maxLevels = 16
	none      = ^uint32(0)
)

// Node states (bit flags).
const (
	stReady   uint32 = 1 << iota // vector and level written
	stDeleted                    // tombstone: never returned
	stFreed                      // consolidated: unlinked, vector zeroed
)

// ErrDimension is returned by Add for a vector of the wrong length.
var ErrDimension = errors.New("hnsw: wrong vector dimension")

// Config holds the parameters of an index.
type Config struct {
	// Dim is the vector dimension (required).
	Dim int
	// M is the number of links a new node gets on each of its layers;
	// nodes keep up to M links on layers ≥ 1 and 2·M on layer 0.
	// Default 16.
	M int
	// EfConstruction is the beam width of the search that finds a new
	// node's neighbours. Default 200.
	EfConstruction int
	// EfSearch is the default beam width of Search (raised to k when
	// smaller). Default 100.
	EfSearch int
	// ExactBelow: a graph of at most this many nodes (tombstones
	// included) is searched exhaustively. Default 0 (never); hnswstore
	// sets it.
	ExactBelow int
	// Seed seeds the random layer assignment.
	Seed uint64
}

func (c *Config) setDefaults() error {
	if c.Dim <= 0 {
		return fmt.Errorf("hnsw: dimension %d", c.Dim)
	}
	if c.M == 0 {
		c.M = 16
	}
	if c.M < 2 || c.M > 256 {
		return fmt.Errorf("hnsw: M %d out of 2..256", c.M)
	}
	if c.EfConstruction == 0 {
		c.EfConstruction = 200
	}
	if c.EfConstruction < 1 {
		return fmt.Errorf("hnsw: EfConstruction %d", c.EfConstruction)
	}
	if c.EfSearch == 0 {
		c.EfSearch = 100
	}
	if c.EfSearch < 1 {
		return fmt.Errorf("hnsw: EfSearch %d", c.EfSearch)
	}
	if c.ExactBelow < 0 {
		return fmt.Errorf("hnsw: ExactBelow %d", c.ExactBelow)
	}
	return nil
}

// chunk stores the nodes of one id range.
type chunk struct {
	vecs  []float32  // cap·dim
	links []uint32   // layer 0: cap·(m0+1), [count, ids...] per node
	upper [][]uint32 // layers 1..level: level·(m+1) per node, nil for level 0
	state []uint32
	level []uint8
	locks []sync.Mutex
}

func newChunk(capacity, dim, m0 int) *chunk {
	return &chunk{
		vecs:  make([]float32, capacity*dim),
		links: make([]uint32, capacity*(m0+1)),
		upper: make([][]uint32, capacity),
		state: make([]uint32, capacity),
		level: make([]uint8, capacity),
		locks: make([]sync.Mutex, capacity),
	}
}

// Result is one search hit.
type Result struct {
	ID    uint32
	Score float32
}

// Index is an HNSW graph. The zero value is not usable; call New.
type Index struct {
	cfg   Config
	dim   int
	m, m0 int
	mult  float64

	// mu: Add, Delete and Search hold it for reading; growth and the last
	// step of Consolidate for writing.
	mu       sync.RWMutex
	chunks   []*chunk // guarded by mu
	capacity int      // guarded by mu

	// maint serialises Consolidate and WriteView.
	maint sync.Mutex

	next  atomic.Uint32 // ids handed out
	entry atomic.Uint64 // level<<32 | id, or emptyEntry
	epMu  sync.Mutex    // held by an insert that raises the top layer

	live    atomic.Int64 // ready, not deleted
	deleted atomic.Int64 // tombstones not yet freed

	rngMu sync.Mutex
	rng   *rand.Rand

	scratch sync.Pool
}

const emptyEntry = ^uint64(0)

// New returns an empty index.
func New(cfg Config) (*Index, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	x := &Index{
		cfg:  cfg,
		dim:  cfg.Dim,
		m:    cfg.M,
		m0:   2 * cfg.M,
		mult: 1 / math.Log(float64(cfg.M)),
		rng:  rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
	}
	x.entry.Store(emptyEntry)
	return x, nil
}

// Config returns the index's parameters (defaults filled in).
func (x *Index) Config() Config { return x.cfg }

// Len returns the number of ids handed out (live, tombstones and freed).
func (x *Index) Len() int { return int(x.next.Load()) }

// Live returns the number of nodes a search can return.
func (x *Index) Live() int { return int(x.live.Load()) }

// Deleted returns the number of tombstones not yet consolidated.
func (x *Index) Deleted() int { return int(x.deleted.Load()) }

// at returns the chunk and offset of id. Callers hold mu (either mode).
func (x *Index) at(id uint32) (*chunk, int) {
	return x.chunks[id>>chunkBits], int(id & chunkMask)
}

func (x *Index) vec(id uint32) []float32 {
	c, o := x.at(id)
	return c.vecs[o*x.dim : (o+1)*x.dim : (o+1)*x.dim]
}

// linksAt returns the link list of id on level (count first). Callers
// hold mu.
func (x *Index) linksAt(id uint32, level int) []uint32 {
	c, o := x.at(id)
	if level == 0 {
		return c.links[o*(x.m0+1) : (o+1)*(x.m0+1) : (o+1)*(x.m0+1)]
	}
	u := c.upper[o]
	return u[(level-1)*(x.m+1) : level*(x.m+1) : level*(x.m+1)]
}

func (x *Index) state(id uint32) uint32 {
	c, o := x.at(id)
	return atomic.LoadUint32(&c.state[o])
}

func (x *Index) nodeLevel(id uint32) int {
	c, o := x.at(id)
	return int(c.level[o])
}

// readLinks appends the ids of a link list to dst with atomic loads.
func readLinks(l []uint32, dst []uint32) []uint32 {
	n := atomic.LoadUint32(&l[0])
	if int(n) > len(l)-1 {
		n = uint32(len(l) - 1)
	}
	for i := 1; i <= int(n); i++ {
		dst = append(dst, atomic.LoadUint32(&l[i]))
	}
	return dst
}

// writeLinks stores ids into a link list. The caller holds the node's lock.
func writeLinks(l []uint32, ids []uint32) {
	for i, id := range ids {
		atomic.StoreUint32(&l[i+1], id)
	}
	atomic.StoreUint32(&l[0], uint32(len(ids)))
}

func (x *Index) maxLinks(level int) int {
	if level == 0 {
		return x.m0
	}
	return x.m
}

func (x *Index) randomLevel() int {
	x.rngMu.Lock()
	u := x.rng.Float64()
	x.rngMu.Unlock()
	l := int(-math.Log(1-u) * x.mult)
	return min(l, maxLevels-1)
}

// reserve hands out an id with storage for it. It returns with mu held
// for reading.
// next never exceeds the capacity, so every id below next has storage.
func (x *Index) reserve() uint32 {
	for {
		x.mu.RLock()
		id := x.next.Load()
		if int(id) < x.capacity {
			if x.next.CompareAndSwap(id, id+1) {
				return id
			}
			x.mu.RUnlock()
			continue
		}
		x.mu.RUnlock()
		x.mu.Lock()
		x.growLocked(int(id) + 1)
		x.mu.Unlock()
	}
}

// growLocked makes room for n nodes. The caller holds mu for writing.
func (x *Index) growLocked(n int) {
	for x.capacity < n {
		switch {
		case len(x.chunks) == 0:
			x.chunks = []*chunk{newChunk(firstChunk, x.dim, x.m0)}
			x.capacity = firstChunk
		case len(x.chunks) == 1 && x.capacity < chunkSize:
			old := x.chunks[0]
			nc := newChunk(min(2*x.capacity, chunkSize), x.dim, x.m0)
			copy(nc.vecs, old.vecs)
			copy(nc.links, old.links)
			copy(nc.upper, old.upper)
			copy(nc.state, old.state)
			copy(nc.level, old.level)
			// Node locks are not held while mu is held for writing.
			x.chunks = []*chunk{nc}
			x.capacity = len(nc.state)
		default:
			chunks := make([]*chunk, len(x.chunks), len(x.chunks)+1)
			copy(chunks, x.chunks)
			x.chunks = append(chunks, newChunk(chunkSize, x.dim, x.m0))
			x.capacity += chunkSize
		}
	}
}

// scratch is the per-search working memory.
type scratch struct {
	visited []uint16
	gen     uint16
	cands   maxHeap
	res     minHeap
	ids     []uint32
	sel     []cand
	tmp     []cand
	sink    float32 // keeps the prefetching loads of searchLayer
}

func (x *Index) getScratch(n int) *scratch {
	s, _ := x.scratch.Get().(*scratch)
	if s == nil {
		s = &scratch{}
	}
	if len(s.visited) < n {
		s.visited = make([]uint16, n+n/4)
		s.gen = 0
	}
	s.nextGen()
	return s
}

// nextGen starts a new generation of visited marks.
func (s *scratch) nextGen() {
	s.gen++
	if s.gen == 0 {
		clear(s.visited)
		s.gen = 1
	}
}

func (x *Index) putScratch(s *scratch) {
	s.cands = s.cands[:0]
	s.res = s.res[:0]
	x.scratch.Put(s)
}

// Add inserts a vector (copied; it must have Config.Dim components and
// should be L2-normalised) and returns its id. Ids are dense, in the order
// they are handed out.
func (x *Index) Add(vec []float32) (uint32, error) {
	if len(vec) != x.dim {
		return 0, fmt.Errorf("%w: %d, want %d", ErrDimension, len(vec), x.dim)
	}
	id := x.reserve()
	defer x.mu.RUnlock()

	level := x.randomLevel()
	c, o := x.at(id)
	copy(c.vecs[o*x.dim:(o+1)*x.dim], vec)
	c.level[o] = uint8(level)
	if level > 0 {
		c.upper[o] = make([]uint32, level*(x.m+1))
	}
	q := x.vec(id)

	e := x.entry.Load()
	if e == emptyEntry {
		x.epMu.Lock()
		e = x.entry.Load()
		if e == emptyEntry {
			atomic.StoreUint32(&c.state[o], stReady)
			x.live.Add(1)
			x.entry.Store(uint64(level)<<32 | uint64(id))
			x.epMu.Unlock()
			return id, nil
		}
		x.epMu.Unlock()
	}
	if level > int(e>>32) {
		x.epMu.Lock()
		defer x.epMu.Unlock()
		e = x.entry.Load()
	}
	ep, top := uint32(e), int(e>>32)

	s := x.getScratch(x.capacity)
	defer x.putScratch(s)

	cur := cand{ep, Dot(q, x.vec(ep))}
	for l := top; l > level; l-- {
		cur = x.greedy(q, cur, l, s)
	}
	// First the node's own lists on every layer, then the links to it:
	// the node is reachable only once its lists are complete, so a
	// concurrent insert that finds it can walk on from it.
	sels := make([][]cand, min(level, top)+1)
	eps := append(s.tmp[:0], cur)
	for l := min(level, top); l >= 0; l-- {
		w := x.searchLayer(q, eps, x.cfg.EfConstruction, l, false, s)
		// w is sorted most similar first; it is the entry set of the next
		// layer down.
		eps = append(eps[:0], w...)
		sels[l] = x.selectNeighbors(w, x.m, true)
		if len(sels[l]) == 0 && len(w) > 0 {
			// Everything the search found is a tombstone (a small or
			// heavily deleted graph): link to them anyway, or the node
			// would be unreachable from the entry point. Tombstones keep
			// their links until Consolidate, which repairs this list.
			sels[l] = x.selectNeighbors(w, x.m, false)
		}
		ids := s.ids[:0]
		for _, n := range sels[l] {
			ids = append(ids, n.id)
		}
		s.ids = ids
		c.locks[o].Lock()
		writeLinks(x.linksAt(id, l), ids)
		c.locks[o].Unlock()
	}
	s.tmp = eps
	for l := len(sels) - 1; l >= 0; l-- {
		for _, n := range sels[l] {
			x.connect(n.id, id, n.score, l)
		}
	}
	atomic.StoreUint32(&c.state[o], stReady)
	x.live.Add(1)
	if level > top {
		x.entry.Store(uint64(level)<<32 | uint64(id))
	}
	return id, nil
}

// greedy walks level from cur to the most similar node it can reach one
// link at a time.
func (x *Index) greedy(q []float32, cur cand, level int, s *scratch) cand {
	for changed := true; changed; {
		changed = false
		s.ids = readLinks(x.linksAt(cur.id, level), s.ids[:0])
		for _, nb := range s.ids {
			if sc := Dot(q, x.vec(nb)); sc > cur.score {
				cur = cand{nb, sc}
				changed = true
			}
		}
	}
	return cur
}

// searchLayer is the beam search of level from eps with width ef. With
// skipDeleted, tombstones are walked through but not returned. It returns
// the results most similar first, in s.sel (valid until the next call).
func (x *Index) searchLayer(q []float32, eps []cand, ef, level int, skipDeleted bool, s *scratch) []cand {
	gen := s.gen
	vis := s.visited
	cands := s.cands[:0]
	res := s.res[:0]
	for _, e := range eps {
		if vis[e.id] == gen {
			continue
		}
		vis[e.id] = gen
		cands.push(e)
		if !skipDeleted || x.state(e.id)&stDeleted == 0 {
			res.push(e)
			if len(res) > ef {
				res.pop()
			}
		}
	}
	for len(cands) > 0 {
		c := cands.pop()
		if len(res) >= ef && c.score < res[0].score {
			break
		}
		s.ids = readLinks(x.linksAt(c.id, level), s.ids[:0])
		// Keep the unvisited neighbours and touch the first cache line of
		// each vector before computing any distance: the loads are
		// independent, so their cache misses overlap instead of being
		// paid one after another inside Dot.
		fresh := s.ids[:0]
		var touch float32
		for _, nb := range s.ids {
			if vis[nb] == gen {
				continue
			}
			vis[nb] = gen
			fresh = append(fresh, nb)
			ch, o := x.at(nb)
			touch += ch.vecs[o*x.dim]
		}
		s.sink += touch
		for _, nb := range fresh {
			ch, o := x.at(nb)
			sc := Dot(q, ch.vecs[o*x.dim:(o+1)*x.dim:(o+1)*x.dim])
			if len(res) < ef || sc > res[0].score {
				cands.push(cand{nb, sc})
				if !skipDeleted || atomic.LoadUint32(&ch.state[o])&stDeleted == 0 {
					res.push(cand{nb, sc})
					if len(res) > ef {
						res.pop()
					}
				}
			}
		}
	}
	// Drain the min-heap into s.sel, most similar first.
	out := s.sel[:0]
	for range res {
		out = append(out, cand{})
	}
	for i := len(out) - 1; i >= 0; i-- {
		out[i] = res.pop()
	}
	s.cands, s.res, s.sel = cands, res, out
	// A later layer's search reuses the visited marks: start a new
	// generation.
	s.nextGen()
	return out
}

// selectNeighbors applies the neighbour-selection heuristic to cands
// (sorted most similar to the base first): a candidate is kept when it is
// more similar to the base than to every candidate kept before it, up to
// max. With skipDeleted, tombstones are not selected. The result is a
// fresh slice.
func (x *Index) selectNeighbors(cands []cand, max int, skipDeleted bool) []cand {
	out := make([]cand, 0, max)
	for _, c := range cands {
		if len(out) >= max {
			break
		}
		if skipDeleted && x.state(c.id)&stDeleted != 0 {
			continue
		}
		cv := x.vec(c.id)
		good := true
		for _, o := range out {
			if Dot(cv, x.vec(o.id)) > c.score {
				good = false
				break
			}
		}
		if good {
			out = append(out, c)
		}
	}
	return out
}

// connect adds a link from n to id on level (sc is their similarity),
// pruning n's list with the heuristic when it is full.
func (x *Index) connect(n, id uint32, sc float32, level int) {
	c, o := x.at(n)
	c.locks[o].Lock()
	defer c.locks[o].Unlock()
	l := x.linksAt(n, level)
	cnt := int(atomic.LoadUint32(&l[0]))
	for i := 1; i <= cnt; i++ {
		if atomic.LoadUint32(&l[i]) == id {
			return
		}
	}
	max := x.maxLinks(level)
	if cnt < max {
		atomic.StoreUint32(&l[cnt+1], id)
		atomic.StoreUint32(&l[0], uint32(cnt+1))
		return
	}
	nv := x.vec(n)
	cs := make([]cand, 0, cnt+1)
	cs = append(cs, cand{id, sc})
	for i := 1; i <= cnt; i++ {
		m := atomic.LoadUint32(&l[i])
		cs = append(cs, cand{m, Dot(nv, x.vec(m))})
	}
	sortCands(cs)
	sel := x.selectNeighbors(cs, max, true)
	ids := make([]uint32, len(sel))
	for i, v := range sel {
		ids[i] = v.id
	}
	writeLinks(l, ids)
}

// sortCands sorts most similar first (insertion sort: lists are short).
func sortCands(cs []cand) {
	for i := 1; i < len(cs); i++ {
		v := cs[i]
		j := i - 1
		for j >= 0 && cs[j].score < v.score {
			cs[j+1] = cs[j]
			j--
		}
		cs[j+1] = v
	}
}

// Search returns the k nodes most similar to q (most similar first),
// exploring with beam width ef (Config.EfSearch when ef ≤ 0, at least k).
// Tombstones are never returned.
func (x *Index) Search(q []float32, k, ef int) []Result {
	if k <= 0 || len(q) != x.dim {
		return nil
	}
	if ef <= 0 {
		ef = x.cfg.EfSearch
	}
	ef = max(ef, k)
	x.mu.RLock()
	defer x.mu.RUnlock()
	if x.live.Load() == 0 {
		return nil
	}
	n := x.next.Load()
	if int(n) <= x.cfg.ExactBelow {
		return x.exact(q, k, n)
	}
	e := x.entry.Load()
	if e == emptyEntry {
		return nil
	}
	s := x.getScratch(x.capacity)
	defer x.putScratch(s)
	ep, top := uint32(e), int(e>>32)
	cur := cand{ep, Dot(q, x.vec(ep))}
	for l := top; l > 0; l-- {
		cur = x.greedy(q, cur, l, s)
	}
	w := x.searchLayer(q, []cand{cur}, ef, 0, true, s)
	if len(w) > k {
		w = w[:k]
	}
	out := make([]Result, len(w))
	for i, c := range w {
		out[i] = Result{c.id, c.score}
	}
	return out
}

// exact scans the first n ids. The caller holds mu.
func (x *Index) exact(q []float32, k int, n uint32) []Result {
	var res minHeap
	for id := range n {
		if x.state(id) != stReady {
			continue
		}
		sc := Dot(q, x.vec(id))
		if len(res) < k {
			res.push(cand{id, sc})
		} else if sc > res[0].score {
			res.replaceTop(cand{id, sc})
		}
	}
	out := make([]Result, len(res))
	for i := len(out) - 1; i >= 0; i-- {
		c := res.pop()
		out[i] = Result{c.id, c.score}
	}
	return out
}

// Delete marks id as a tombstone. It reports whether id was live.
func (x *Index) Delete(id uint32) bool {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if id >= x.next.Load() {
		return false
	}
	c, o := x.at(id)
	for {
		st := atomic.LoadUint32(&c.state[o])
		if st != stReady {
			return false
		}
		if atomic.CompareAndSwapUint32(&c.state[o], st, st|stDeleted) {
			x.live.Add(-1)
			x.deleted.Add(1)
			return true
		}
	}
}

// IsLive reports whether id is a node a search can return.
func (x *Index) IsLive(id uint32) bool {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return id < x.next.Load() && x.state(id) == stReady
}

// Vector returns a copy of the vector of a live node, or nil.
func (x *Index) Vector(id uint32) []float32 {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if id >= x.next.Load() || x.state(id) != stReady {
		return nil
	}
	out := make([]float32, x.dim)
	copy(out, x.vec(id))
	return out
}

// Stats describes an index's size.
type Stats struct {
	Nodes   int // ids handed out
	Live    int
	Deleted int // tombstones not yet consolidated
	// Layers[l] is the number of nodes on layer l (layer 0: every node
	// not freed).
	Layers []int
	// Bytes is the memory of the index's storage: vectors, link lists,
	// node states and locks, allocated capacity included.
	Bytes int64
}

// Stats returns the index's size. It scans the node levels (O(nodes)).
func (x *Index) Stats() Stats {
	x.mu.RLock()
	defer x.mu.RUnlock()
	st := Stats{Nodes: x.Len(), Live: x.Live(), Deleted: x.Deleted()}
	for _, c := range x.chunks {
		n := int64(len(c.state))
		st.Bytes += 4*int64(len(c.vecs)) + 4*int64(len(c.links)) + 24*n + 4*n + n + 8*n
	}
	for id := range x.next.Load() {
		if x.state(id)&stFreed != 0 {
			continue
		}
		lv := x.nodeLevel(id)
		for len(st.Layers) <= lv {
			st.Layers = append(st.Layers, 0)
		}
		for l := 0; l <= lv; l++ {
			st.Layers[l]++
		}
		if lv > 0 {
			st.Bytes += 4 * int64(lv*(x.m+1))
		}
	}
	return st
}
