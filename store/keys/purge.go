package keys

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// scrubFS is the file system the Ring gives Pebble: before Pebble unlinks
// one of its data files (a WAL or an sstable), the file is overwritten with
// zeros and synced, so an obsolete file's blocks do not keep a shredded key
// on a file system that reuses blocks in place. (On copy-on-write file
// systems and SSDs with wear levelling no software overwrite is a
// guarantee; that residue is what the tenant-key layer covers, see the
// package doc.) Pebble hard-links files only for checkpoints and ingestion,
// which the Ring never does, so overwriting in place cannot damage another
// link.
type scrubFS struct{ vfs.FS }

func (f scrubFS) Remove(name string) error {
	if isDataFile(name) {
		// Best effort: a file that cannot be scrubbed is still removed.
		_ = f.scrub(name)
	}
	return f.FS.Remove(name)
}

func isDataFile(name string) bool {
	return strings.HasSuffix(name, ".log") || strings.HasSuffix(name, ".sst") || strings.HasSuffix(name, ".blob")
}

func (f scrubFS) scrub(name string) error {
	st, err := f.FS.Stat(name)
	if err != nil {
		return err
	}
	file, err := f.FS.OpenReadWrite(name, vfs.WriteCategoryUnspecified)
	if err != nil {
		return err
	}
	defer file.Close()
	zeros := make([]byte, 64<<10)
	for off := int64(0); off < st.Size(); off += int64(len(zeros)) {
		n := min(int64(len(zeros)), st.Size()-off)
		if _, err := file.WriteAt(zeros[:n], off); err != nil {
			return err
		}
	}
	return file.Sync()
}

// noRecycleCleaner deletes Pebble's obsolete files (DeleteCleaner, through
// scrubFS). It also embeds, one level deeper, pebble.ArchiveCleaner, only
// for that type's unexported marker method, which tells Pebble the cleaner
// needs the files' contents: Pebble then never recycles a WAL file. (A
// recycled WAL is renamed and overwritten from its start, so its tail would
// keep old records, shredded keys included, indefinitely.) The shallower
// DeleteCleaner's Clean and String win over ArchiveCleaner's.
type noRecycleCleaner struct {
	pebble.DeleteCleaner
	needsContents
}

type needsContents struct{ pebble.ArchiveCleaner }

// span is a key range [start, end).
type span struct{ start, end []byte }

// keySpan is the span of exactly one key.
func keySpan(k []byte) span {
	return span{start: k, end: append(append([]byte(nil), k...), 0)}
}

// prefixSpan is the span of every key starting with p (p is never empty
// and never all 0xff here: every prefix starts with a letter).
func prefixSpan(p []byte) span {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return span{start: p, end: end[:i+1]}
		}
	}
	return span{start: p, end: append(end, 0xff)} // unreachable for our prefixes
}

// purge makes deleted records in spans physically gone from the files
// under the Ring's directory: it flushes the memtable (so the WAL segments
// holding the records become obsolete), compacts each span down to the last
// level (where a deleted value and its tombstone are dropped), and then
// waits, polling the directory, until every WAL and every no-longer-live
// sstable that existed before the flush has been scrubbed and removed.
// Purges run one at a time. The caller holds closeMu for reading.
func (r *Ring) purge(ctx context.Context, spans ...span) error {
	r.purgeMu.Lock()
	defer r.purgeMu.Unlock()
	before, err := r.dataFiles()
	if err != nil {
		return err
	}
	if err := r.db.Flush(); err != nil {
		return fmt.Errorf("keys: purge: flush: %w", err)
	}
	for _, s := range spans {
		if err := r.db.Compact(ctx, s.start, s.end, false); err != nil {
			return fmt.Errorf("keys: purge: compact: %w", err)
		}
	}
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for {
		pending, err := r.pendingRemoval(before)
		if err != nil {
			return err
		}
		if !pending {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("keys: purge: obsolete files not yet removed: %w", ctx.Err())
		case <-tick.C:
		}
	}
}

// dataFile is one WAL or sstable in the directory.
type dataFile struct {
	name string
	num  uint64
	wal  bool
}

func (r *Ring) dataFiles() ([]dataFile, error) {
	names, err := r.fs.List(r.dir)
	if err != nil {
		return nil, fmt.Errorf("keys: purge: list %s: %w", r.dir, err)
	}
	var out []dataFile
	for _, n := range names {
		var stem string
		var wal bool
		switch {
		case strings.HasSuffix(n, ".log"):
			stem, wal = strings.TrimSuffix(n, ".log"), true
		case strings.HasSuffix(n, ".sst"):
			stem = strings.TrimSuffix(n, ".sst")
		default:
			continue
		}
		num, err := strconv.ParseUint(stem, 10, 64)
		if err != nil {
			continue
		}
		out = append(out, dataFile{name: n, num: num, wal: wal})
	}
	return out, nil
}

// pendingRemoval reports whether any of before is still on disk although it
// is obsolete: a WAL (after the flush every earlier WAL is), or an sstable
// that is not part of the current version.
func (r *Ring) pendingRemoval(before []dataFile) (bool, error) {
	now, err := r.dataFiles()
	if err != nil {
		return false, err
	}
	present := make(map[string]bool, len(now))
	for _, f := range now {
		present[f.name] = true
	}
	var live map[uint64]bool
	for _, f := range before {
		if !present[f.name] {
			continue
		}
		if f.wal {
			return true, nil
		}
		if live == nil {
			levels, err := r.db.SSTables()
			if err != nil {
				return false, fmt.Errorf("keys: purge: %w", err)
			}
			live = make(map[uint64]bool)
			for _, lvl := range levels {
				for _, t := range lvl {
					live[uint64(t.BackingSSTNum)] = true
				}
			}
		}
		if !live[f.num] {
			return true, nil
		}
	}
	return false, nil
}
