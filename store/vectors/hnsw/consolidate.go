package hnsw

import "sync/atomic"

// Consolidate removes the current tombstones from the graph and returns
// how many it freed.
//
// Phase one runs beside searches and inserts (mu held for reading): every
// live node whose list on some layer names a tombstone gets a new list,
// chosen with the neighbour heuristic from its live neighbours and the
// live neighbours of the tombstones it named (one hop through them, as
// FreshDiskANN consolidates deletes). Phase two holds mu for writing: it
// repairs the few lists that concurrent inserts pointed at the tombstones
// meanwhile, moves the entry point off them, drops their links and zeroes
// their vectors. Tombstones made during phase one wait for the next call.
func (x *Index) Consolidate() int {
	x.maint.Lock()
	defer x.maint.Unlock()

	x.mu.RLock()
	n := x.next.Load()
	dead := make([]uint64, (n+63)/64)
	count := 0
	for id := range n {
		if st := x.state(id); st&stDeleted != 0 && st&stFreed == 0 {
			dead[id/64] |= 1 << (id % 64)
			count++
		}
	}
	if count == 0 {
		x.mu.RUnlock()
		return 0
	}
	isDead := func(id uint32) bool { return id < n && dead[id/64]&(1<<(id%64)) != 0 }
	// The read lock is dropped between batches so that a growth waiting
	// for the write lock (and the searches queued behind it) is not held
	// up for the whole pass.
	const batch = 4096
	for start := uint32(0); start < n; start += batch {
		if start > 0 {
			x.mu.RLock()
		}
		s := x.getScratch(x.capacity)
		for p := start; p < min(start+batch, n); p++ {
			st := x.state(p)
			if st&stReady == 0 || st&stFreed != 0 || isDead(p) {
				continue
			}
			for l := 0; l <= x.nodeLevel(p); l++ {
				x.repair(p, l, isDead, s)
			}
		}
		x.putScratch(s)
		x.mu.RUnlock()
	}

	x.mu.Lock()
	defer x.mu.Unlock()
	total := x.next.Load()
	s := x.getScratch(x.capacity)
	defer x.putScratch(s)
	for p := range total {
		st := x.state(p)
		if st&stFreed != 0 || isDead(p) {
			continue
		}
		for l := 0; l <= x.nodeLevel(p); l++ {
			x.repair(p, l, isDead, s)
		}
	}
	if e := x.entry.Load(); e != emptyEntry && isDead(uint32(e)) {
		x.entry.Store(x.pickEntry(total, isDead))
	}
	for id := range n {
		if !isDead(id) {
			continue
		}
		c, o := x.at(id)
		clear(c.vecs[o*x.dim : (o+1)*x.dim])
		atomic.StoreUint32(&c.links[o*(x.m0+1)], 0)
		c.upper[o] = nil
		c.level[o] = 0
		atomic.StoreUint32(&c.state[o], stDeleted|stFreed)
	}
	x.deleted.Add(-int64(count))
	return count
}

// pickEntry returns the entry of the highest live node, else of the
// highest tombstone that is not freed, else emptyEntry. The caller holds mu
// for writing.
func (x *Index) pickEntry(n uint32, skip func(uint32) bool) uint64 {
	best, bestTomb := emptyEntry, emptyEntry
	for id := range n {
		st := x.state(id)
		if st&stFreed != 0 || st&stReady == 0 || skip(id) {
			continue
		}
		e := uint64(x.nodeLevel(id))<<32 | uint64(id)
		if st&stDeleted == 0 {
			if best == emptyEntry || e>>32 > best>>32 {
				best = e
			}
		} else if bestTomb == emptyEntry || e>>32 > bestTomb>>32 {
			bestTomb = e
		}
	}
	if best != emptyEntry {
		return best
	}
	return bestTomb
}

// repair rewrites p's list on level if it names a dead node.
func (x *Index) repair(p uint32, level int, isDead func(uint32) bool, s *scratch) {
	c, o := x.at(p)
	c.locks[o].Lock()
	defer c.locks[o].Unlock()
	l := x.linksAt(p, level)
	ids := readLinks(l, nil)
	hit := false
	for _, id := range ids {
		if isDead(id) {
			hit = true
			break
		}
	}
	if !hit {
		return
	}
	s.nextGen()
	vis, gen := s.visited, s.gen
	vis[p] = gen
	pv := x.vec(p)
	var cs []cand
	add := func(id uint32) {
		if vis[id] == gen || isDead(id) {
			return
		}
		vis[id] = gen
		if x.state(id)&stFreed != 0 {
			return
		}
		cs = append(cs, cand{id, Dot(pv, x.vec(id))})
	}
	for _, id := range ids {
		if !isDead(id) {
			add(id)
			continue
		}
		for _, nb := range readLinks(x.linksAt(id, level), nil) {
			add(nb)
		}
	}
	sortCands(cs)
	sel := x.selectNeighbors(cs, x.maxLinks(level), true)
	out := make([]uint32, len(sel))
	for i, v := range sel {
		out[i] = v.id
	}
	writeLinks(l, out)
}
