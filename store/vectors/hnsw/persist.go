package hnsw

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"sync/atomic"
)

// ErrFormat reports an index stream that cannot be read.
var ErrFormat = errors.New("hnsw: bad index data")

const magic = "EKYCHNSW1\n"

// View is a cut of an index: the nodes that were live when Freeze was
// called, renumbered densely in id order. Writing it later gives the graph
// as of that cut even while inserts and deletes go on.
type View struct {
	ids    []uint32 // live ids at the cut, ascending
	entry  uint64
	chunks []*chunk
}

// IDs returns the ids of the view's nodes, ascending. The node written at
// position i (its id after Read) is IDs()[i].
func (v *View) IDs() []uint32 { return v.ids }

// Freeze returns the cut of the index now. It waits for in-flight inserts
// (it holds the index lock for writing while it scans the node states).
func (x *Index) Freeze() *View {
	x.mu.Lock()
	defer x.mu.Unlock()
	n := x.next.Load()
	v := &View{chunks: append([]*chunk(nil), x.chunks...), entry: x.entry.Load()}
	for id := range n {
		if x.state(id) == stReady {
			v.ids = append(v.ids, id)
		}
	}
	if v.entry != emptyEntry && x.state(uint32(v.entry)) != stReady {
		// The entry is a tombstone: the written graph drops it.
		v.entry = emptyEntry
		for _, id := range v.ids {
			if e := uint64(x.nodeLevel(id))<<32 | uint64(id); v.entry == emptyEntry || e>>32 > v.entry>>32 {
				v.entry = e
			}
		}
	}
	if len(v.ids) == 0 {
		v.entry = emptyEntry
	}
	return v
}

// WriteView writes the graph of v: header, then per node its level,
// vector and link lists. Links to nodes outside the view are dropped, so
// tombstones at the cut leave holes: call Consolidate before Freeze.
// It excludes Consolidate while it runs but not inserts, deletes or
// searches.
func (x *Index) WriteView(w io.Writer, v *View) error {
	x.maint.Lock()
	defer x.maint.Unlock()
	at := func(id uint32) (*chunk, int) { return v.chunks[id>>chunkBits], int(id & chunkMask) }
	var remap []uint32 // old id -> position + 1 (0: not in the view)
	if len(v.ids) > 0 {
		remap = make([]uint32, v.ids[len(v.ids)-1]+1)
	}
	for i, id := range v.ids {
		remap[id] = uint32(i) + 1
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	hdr := make([]byte, 0, 64)
	hdr = append(hdr, magic...)
	for _, u := range []uint32{uint32(x.dim), uint32(x.m), uint32(len(v.ids))} {
		hdr = binary.LittleEndian.AppendUint32(hdr, u)
	}
	entry, top := none, uint32(0)
	if v.entry != emptyEntry {
		entry, top = remap[uint32(v.entry)]-1, uint32(v.entry>>32)
	}
	hdr = binary.LittleEndian.AppendUint32(hdr, entry)
	hdr = binary.LittleEndian.AppendUint32(hdr, top)
	if _, err := bw.Write(hdr); err != nil {
		return err
	}
	buf := make([]byte, 0, 1+4*x.dim+4*(x.m0+1)+maxLevels*4*(x.m+1))
	var links []uint32
	for _, id := range v.ids {
		c, o := at(id)
		level := int(c.level[o])
		buf = append(buf[:0], byte(level))
		for _, f := range c.vecs[o*x.dim : (o+1)*x.dim] {
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(f))
		}
		for l := 0; l <= level; l++ {
			var ll []uint32
			if l == 0 {
				ll = c.links[o*(x.m0+1) : (o+1)*(x.m0+1)]
			} else {
				ll = c.upper[o][(l-1)*(x.m+1) : l*(x.m+1)]
			}
			links = readLinks(ll, links[:0])
			kept := links[:0]
			for _, nb := range links {
				if int(nb) < len(remap) && remap[nb] != 0 {
					kept = append(kept, remap[nb]-1)
				}
			}
			buf = binary.LittleEndian.AppendUint32(buf, uint32(len(kept)))
			for _, r := range kept {
				buf = binary.LittleEndian.AppendUint32(buf, r)
			}
		}
		if _, err := bw.Write(buf); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// Read reads a graph written by WriteView. cfg supplies the search
// parameters; its Dim and M must be those the graph was built with. Node
// i of the stream gets id i. Given a *bufio.Reader, Read consumes exactly
// the graph's bytes from it.
func Read(r io.Reader, cfg Config) (*Index, error) {
	x, err := New(cfg)
	if err != nil {
		return nil, err
	}
	// A *bufio.Reader is used as it is, so a caller that embeds the graph
	// in a larger stream can read on after it.
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(r, 1<<20)
	}
	hdr := make([]byte, len(magic)+5*4)
	if _, err := io.ReadFull(br, hdr); err != nil {
		return nil, fmt.Errorf("%w: header: %w", ErrFormat, err)
	}
	if string(hdr[:len(magic)]) != magic {
		return nil, fmt.Errorf("%w: not an index", ErrFormat)
	}
	u := func(i int) uint32 { return binary.LittleEndian.Uint32(hdr[len(magic)+4*i:]) }
	dim, m, n, entry, top := u(0), u(1), u(2), u(3), u(4)
	if int(dim) != x.dim || int(m) != x.m {
		return nil, fmt.Errorf("%w: index has dim %d, M %d; configured dim %d, M %d", ErrFormat, dim, m, x.dim, x.m)
	}
	if (n == 0) != (entry == none) || (n > 0 && (entry >= n || top >= maxLevels)) {
		return nil, fmt.Errorf("%w: entry point %d (level %d) of %d nodes", ErrFormat, entry, top, n)
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	x.growLocked(int(n))
	vb := make([]byte, 4*x.dim)
	lb := make([]byte, 4*x.m0)
	var cnt [4]byte
	readList := func(l []uint32) error {
		if _, err := io.ReadFull(br, cnt[:]); err != nil {
			return err
		}
		k := binary.LittleEndian.Uint32(cnt[:])
		if int(k) > len(l)-1 {
			return fmt.Errorf("%w: %d links, at most %d", ErrFormat, k, len(l)-1)
		}
		b := lb[:4*k]
		if _, err := io.ReadFull(br, b); err != nil {
			return err
		}
		for i := range int(k) {
			id := binary.LittleEndian.Uint32(b[4*i:])
			if id >= n {
				return fmt.Errorf("%w: link to node %d of %d", ErrFormat, id, n)
			}
			l[i+1] = id
		}
		l[0] = k
		return nil
	}
	for id := range n {
		c, o := x.at(id)
		lv, err := br.ReadByte()
		if err != nil {
			return nil, fmt.Errorf("%w: node %d: %w", ErrFormat, id, err)
		}
		if lv >= maxLevels || (id == entry && uint32(lv) != top) {
			return nil, fmt.Errorf("%w: node %d has level %d (top %d)", ErrFormat, id, lv, top)
		}
		if _, err := io.ReadFull(br, vb); err != nil {
			return nil, fmt.Errorf("%w: node %d: %w", ErrFormat, id, err)
		}
		vec := c.vecs[o*x.dim : (o+1)*x.dim]
		for i := range vec {
			vec[i] = math.Float32frombits(binary.LittleEndian.Uint32(vb[4*i:]))
		}
		c.level[o] = lv
		if lv > 0 {
			c.upper[o] = make([]uint32, int(lv)*(x.m+1))
		}
		for l := 0; l <= int(lv); l++ {
			if err := readList(x.linksAt(id, l)); err != nil {
				return nil, fmt.Errorf("%w: node %d layer %d: %w", ErrFormat, id, l, err)
			}
		}
		atomic.StoreUint32(&c.state[o], stReady)
	}
	// A link to a node must be on a layer the node has.
	for id := range n {
		for l := 1; l <= x.nodeLevel(id); l++ {
			ll := x.linksAt(id, l)
			for i := 1; i <= int(ll[0]); i++ {
				if x.nodeLevel(ll[i]) < l {
					return nil, fmt.Errorf("%w: node %d links node %d on layer %d above its level", ErrFormat, id, ll[i], l)
				}
			}
		}
	}
	x.next.Store(n)
	x.live.Store(int64(n))
	if n > 0 {
		x.entry.Store(uint64(top)<<32 | uint64(entry))
	}
	return x, nil
}
