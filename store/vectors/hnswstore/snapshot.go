package hnswstore

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"

	"github.com/openekyc/ekyc/store/vectors"
	"github.com/openekyc/ekyc/store/vectors/hnsw"
)

// A snapshot file snapshot-<seq>.snap (16 hex digits) holds every tenant's
// graph as of the cut that started WAL segment seq:
//
//	"EKYCVEC1\n" | uint32 dim | uint32 M | uint64 seq | uint32 tenants
//	per tenant: uvarint+name | uint32 nodes |
//	            per node: uvarint+session uvarint+applicant |
//	            the graph (hnsw.WriteView)
//	uint32 CRC-32C of everything before it
//
// Node i of a tenant's metadata is node i of its graph. It is written to
// snapshot-<seq>.tmp, fsynced and renamed; then the older snapshots and
// WAL segments are removed.

const snapMagic = "EKYCVEC1\n"

func snapshotName(seq uint64) string { return fmt.Sprintf("snapshot-%016x.snap", seq) }

// frozen is one tenant's part of a snapshot, taken at the cut.
type frozen struct {
	name string
	g    *hnsw.Index
	view *hnsw.View
	meta []nodeMeta // by position in view.IDs()
}

type crcWriter struct {
	w io.Writer
	h hash.Hash32
}

func (c crcWriter) Write(p []byte) (int, error) {
	c.h.Write(p)
	return c.w.Write(p)
}

// writeSnapshot writes the snapshot of seq into dir.
func writeSnapshot(dir string, seq uint64, dim, m int, tenants []frozen) (err error) {
	tmp := filepath.Join(dir, snapshotName(seq)+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<20)
	cw := crcWriter{bw, crc32.New(crcTable)}
	hdr := []byte(snapMagic)
	hdr = binary.LittleEndian.AppendUint32(hdr, uint32(dim))
	hdr = binary.LittleEndian.AppendUint32(hdr, uint32(m))
	hdr = binary.LittleEndian.AppendUint64(hdr, seq)
	hdr = binary.LittleEndian.AppendUint32(hdr, uint32(len(tenants)))
	if _, err := cw.Write(hdr); err != nil {
		return err
	}
	var b []byte
	for _, t := range tenants {
		b = appendString(b[:0], t.name)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(t.meta)))
		for _, nm := range t.meta {
			b = appendString(b, nm.session)
			b = appendString(b, nm.applicant)
			if len(b) > 1<<20 {
				if _, err := cw.Write(b); err != nil {
					return err
				}
				b = b[:0]
			}
		}
		if _, err := cw.Write(b); err != nil {
			return err
		}
		if err := t.g.WriteView(cw, t.view); err != nil {
			return err
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if _, err := f.Write(binary.LittleEndian.AppendUint32(nil, cw.h.Sum32())); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, snapshotName(seq))); err != nil {
		return err
	}
	return syncDir(dir)
}

// loadedTenant is one tenant read from a snapshot.
type loadedTenant struct {
	name string
	g    *hnsw.Index
	meta []nodeMeta
}

// readSnapshot reads a snapshot file; cfg gives the graphs' parameters.
func readSnapshot(path string, dim int, cfg hnsw.Config) (seq uint64, out []loadedTenant, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, nil, err
	}
	corrupt := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", vectors.ErrCorrupt, filepath.Base(path), fmt.Sprintf(format, args...))
	}
	if fi.Size() < int64(len(snapMagic))+24 {
		return 0, nil, corrupt("too short (%d bytes)", fi.Size())
	}
	// Check the checksum before parsing, so damaged lengths never size an
	// allocation.
	h := crc32.New(crcTable)
	if _, err := io.Copy(h, io.NewSectionReader(f, 0, fi.Size()-4)); err != nil {
		return 0, nil, err
	}
	var sum [4]byte
	if _, err := f.ReadAt(sum[:], fi.Size()-4); err != nil {
		return 0, nil, err
	}
	if binary.LittleEndian.Uint32(sum[:]) != h.Sum32() {
		return 0, nil, corrupt("checksum mismatch")
	}
	br := bufio.NewReaderSize(io.NewSectionReader(f, 0, fi.Size()-4), 1<<20)
	hdr := make([]byte, len(snapMagic)+20)
	if _, err := io.ReadFull(br, hdr); err != nil {
		return 0, nil, corrupt("header: %v", err)
	}
	if string(hdr[:len(snapMagic)]) != snapMagic {
		return 0, nil, corrupt("not a vector snapshot")
	}
	p := hdr[len(snapMagic):]
	gotDim, gotM := binary.LittleEndian.Uint32(p), binary.LittleEndian.Uint32(p[4:])
	seq = binary.LittleEndian.Uint64(p[8:])
	nt := binary.LittleEndian.Uint32(p[16:])
	if int(gotDim) != dim || int(gotM) != cfg.M {
		return 0, nil, corrupt("written with dim %d and M %d; this store has dim %d and M %d (M cannot change without a rebuild)", gotDim, gotM, dim, cfg.M)
	}
	readStr := func() (string, error) {
		n, err := binary.ReadUvarint(br)
		if err != nil {
			return "", err
		}
		if n > vectors.MaxIDLen {
			return "", errors.New("id too long")
		}
		b := make([]byte, n)
		_, err = io.ReadFull(br, b)
		return string(b), err
	}
	var u32 [4]byte
	for i := range nt {
		name, err := readStr()
		if err != nil {
			return 0, nil, corrupt("tenant %d: %v", i, err)
		}
		if _, err := io.ReadFull(br, u32[:]); err != nil {
			return 0, nil, corrupt("tenant %q: %v", name, err)
		}
		n := binary.LittleEndian.Uint32(u32[:])
		if int64(n)*int64(4*dim) > fi.Size() {
			return 0, nil, corrupt("tenant %q: %d nodes", name, n)
		}
		meta := make([]nodeMeta, n)
		for j := range meta {
			if meta[j].session, err = readStr(); err == nil {
				meta[j].applicant, err = readStr()
			}
			if err != nil {
				return 0, nil, corrupt("tenant %q node %d: %v", name, j, err)
			}
		}
		g, err := hnsw.Read(br, cfg)
		if err != nil {
			return 0, nil, corrupt("tenant %q graph: %v", name, err)
		}
		if g.Len() != int(n) {
			return 0, nil, corrupt("tenant %q: %d nodes of metadata, %d in the graph", name, n, g.Len())
		}
		out = append(out, loadedTenant{name: name, g: g, meta: meta})
	}
	if _, err := br.ReadByte(); err != io.EOF {
		return 0, nil, corrupt("trailing bytes")
	}
	return seq, out, nil
}
