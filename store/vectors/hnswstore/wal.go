package hnswstore

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/openekyc/ekyc/store/vectors"
)

// The write-ahead log is a sequence of segment files wal-<seq>.log
// (16 hex digits). A record is framed as
//
//	uint32 payload length | uint32 CRC-32C of the payload | payload
//
// and its payload is a record type byte followed by its fields (strings as
// uvarint length + bytes, the vector as Dim little-endian float32s).
// A snapshot records the first segment it does not contain; opening
// replays that segment and the later ones. A record cut short at the end of
// the last segment was never acknowledged (it is dropped and the file
// truncated); any other damage is ErrCorrupt.

const (
	recInsert          byte = 1
	recDeleteSession   byte = 2
	recDeleteApplicant byte = 3
)

// maxRecord bounds a record's payload (three ids and a vector).
const maxRecord = 1 + 3*(binary.MaxVarintLen64+vectors.MaxIDLen) + 4*vectors.Dim

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// record is one logged operation.
type record struct {
	typ       byte
	tenant    string
	session   string // insert, delete session
	applicant string // insert, delete applicant
	vec       []float32
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func (r record) encode() []byte {
	b := make([]byte, 8, 8+maxRecord)
	b = append(b, r.typ)
	b = appendString(b, r.tenant)
	switch r.typ {
	case recInsert:
		b = appendString(b, r.session)
		b = appendString(b, r.applicant)
		for _, f := range r.vec {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(f))
		}
	case recDeleteSession:
		b = appendString(b, r.session)
	case recDeleteApplicant:
		b = appendString(b, r.applicant)
	}
	binary.LittleEndian.PutUint32(b[0:], uint32(len(b)-8))
	binary.LittleEndian.PutUint32(b[4:], crc32.Checksum(b[8:], crcTable))
	return b
}

var errRecord = errors.New("bad record")

func readString(b []byte) (string, []byte, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) || n > vectors.MaxIDLen {
		return "", nil, errRecord
	}
	return string(b[k : k+int(n)]), b[k+int(n):], nil
}

func decodeRecord(p []byte) (record, error) {
	if len(p) < 1 {
		return record{}, errRecord
	}
	r := record{typ: p[0]}
	var err error
	b := p[1:]
	if r.tenant, b, err = readString(b); err != nil {
		return r, err
	}
	switch r.typ {
	case recInsert:
		if r.session, b, err = readString(b); err != nil {
			return r, err
		}
		if r.applicant, b, err = readString(b); err != nil {
			return r, err
		}
		if len(b) != 4*vectors.Dim {
			return r, errRecord
		}
		r.vec = make([]float32, vectors.Dim)
		for i := range r.vec {
			r.vec[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
		b = nil
	case recDeleteSession:
		if r.session, b, err = readString(b); err != nil {
			return r, err
		}
	case recDeleteApplicant:
		if r.applicant, b, err = readString(b); err != nil {
			return r, err
		}
	default:
		return r, errRecord
	}
	if len(b) != 0 {
		return r, errRecord
	}
	return r, nil
}

func segmentName(seq uint64) string { return fmt.Sprintf("wal-%016x.log", seq) }

// listSeqs returns the sequence numbers of the files named prefix-<seq>suffix
// in dir, ascending.
func listSeqs(dir, prefix, suffix string) ([]uint64, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []uint64
	for _, e := range ents {
		name := e.Name()
		if !strings.HasPrefix(name, prefix) || !strings.HasSuffix(name, suffix) {
			continue
		}
		hex := strings.TrimSuffix(strings.TrimPrefix(name, prefix), suffix)
		if len(hex) != 16 {
			continue
		}
		seq, err := strconv.ParseUint(hex, 16, 64)
		if err != nil {
			continue
		}
		out = append(out, seq)
	}
	slices.Sort(out)
	return out, nil
}

// replaySegment calls apply for every record of a segment. last says it
// is the newest segment: a torn record at its end is cut off (the file is
// truncated to the last whole record).
func replaySegment(path string, last bool, apply func(record) error) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<20)
	var off int64
	var hdr [8]byte
	buf := make([]byte, maxRecord)
	for {
		_, err := io.ReadFull(br, hdr[:])
		if err == io.EOF {
			return nil
		}
		torn := func(what string) error {
			if !last {
				return fmt.Errorf("%w: %s: %s at offset %d", vectors.ErrCorrupt, filepath.Base(path), what, off)
			}
			if err := f.Truncate(off); err != nil {
				return err
			}
			return f.Sync()
		}
		if err != nil {
			return torn("torn record header")
		}
		size := binary.LittleEndian.Uint32(hdr[0:])
		sum := binary.LittleEndian.Uint32(hdr[4:])
		if size == 0 || size > maxRecord {
			return torn(fmt.Sprintf("record length %d", size))
		}
		p := buf[:size]
		if _, err := io.ReadFull(br, p); err != nil {
			return torn("torn record")
		}
		if crc32.Checksum(p, crcTable) != sum {
			// A record whose bytes are all there but wrong is damage,
			// unless it is the very last one (a torn write that left
			// stale bytes).
			if last {
				if _, err := br.Peek(1); err == io.EOF {
					return torn("checksum mismatch in the last record")
				}
			}
			return fmt.Errorf("%w: %s: checksum mismatch at offset %d", vectors.ErrCorrupt, filepath.Base(path), off)
		}
		r, err := decodeRecord(p)
		if err != nil {
			return fmt.Errorf("%w: %s: undecodable record at offset %d", vectors.ErrCorrupt, filepath.Base(path), off)
		}
		if err := apply(r); err != nil {
			return err
		}
		off += 8 + int64(size)
	}
}

// wal appends records to the current segment with group commit: Append
// writes, Sync makes everything up to a position durable with one fsync
// shared by the writers that wait at the same time.
type wal struct {
	dir string

	mu      sync.Mutex // guards f, seq, written
	f       *os.File
	seq     uint64
	written int64 // logical position: bytes appended since open

	syncMu sync.Mutex   // serialises fsyncs and rotation
	synced atomic.Int64 // logical position known durable

	sinceSnapshot atomic.Int64 // bytes appended since the last rotation
}

// openWAL starts a new segment seq in dir.
func openWAL(dir string, seq uint64) (*wal, error) {
	w := &wal{dir: dir}
	if err := w.openSegment(seq); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *wal) openSegment(seq uint64) error {
	f, err := os.OpenFile(filepath.Join(w.dir, segmentName(seq)), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	if err := syncDir(w.dir); err != nil {
		f.Close()
		return err
	}
	w.f, w.seq = f, seq
	return nil
}

// append writes a framed record and returns its end position.
func (w *wal) append(rec []byte) (int64, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, err := w.f.Write(rec); err != nil {
		return 0, err
	}
	w.written += int64(len(rec))
	w.sinceSnapshot.Add(int64(len(rec)))
	return w.written, nil
}

// sync makes the log durable up to pos.
func (w *wal) sync(pos int64) error {
	if w.synced.Load() >= pos {
		return nil
	}
	w.syncMu.Lock()
	defer w.syncMu.Unlock()
	if w.synced.Load() >= pos {
		return nil
	}
	w.mu.Lock()
	f, target := w.f, w.written
	w.mu.Unlock()
	if err := f.Sync(); err != nil {
		return err
	}
	w.synced.Store(target)
	return nil
}

// rotate closes the current segment (durable) and starts the next one;
// it returns the new segment's sequence number. The caller makes sure no
// append is in flight.
func (w *wal) rotate() (uint64, error) {
	w.syncMu.Lock()
	defer w.syncMu.Unlock()
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.f.Sync(); err != nil {
		return 0, err
	}
	if err := w.f.Close(); err != nil {
		return 0, err
	}
	w.synced.Store(w.written)
	if err := w.openSegment(w.seq + 1); err != nil {
		return 0, err
	}
	w.sinceSnapshot.Store(0)
	return w.seq, nil
}

func (w *wal) close() error {
	w.syncMu.Lock()
	defer w.syncMu.Unlock()
	w.mu.Lock()
	defer w.mu.Unlock()
	err := w.f.Sync()
	return errors.Join(err, w.f.Close())
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
