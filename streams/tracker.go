package streams

import (
	"github.com/twmb/franz-go/pkg/kgo"
)

// entry is one dispatched record of a partition.
type entry struct {
	rec  *kgo.Record
	key  string
	done bool
}

// keyQueue holds the records of one key that wait for the key's current
// record (in flight, or first in the ready queue) to complete. Its presence in
// partTracker.keys means the key is busy.
type keyQueue struct {
	waiting []*entry
}

// partTracker is the bookkeeping of one assigned partition. It is a plain data
// structure with no locking and no goroutines: the Consumer guards it with its
// mutex and does the I/O.
//
// It keeps
//   - window: every dispatched record in offset order, from the oldest record
//     that has not completed; the commit watermark is the offset at its head;
//   - keys: per-key FIFO queues, so a record starts only once the previous
//     record of its key completed;
//   - ready: records whose key is free, in offset order, waiting for an
//     in-flight slot.
type partTracker struct {
	window []*entry
	head   int

	// nextOffset is one past the last dispatched record, -1 before any.
	nextOffset int64
	// lastEpoch is the leader epoch of the last record that left the
	// window (completed with everything before it).
	lastEpoch int32

	keys map[string]*keyQueue

	ready     []*entry
	readyHead int

	inFlight int
	// backlog counts dispatched records that have not started.
	backlog int
}

func newPartTracker() *partTracker {
	return &partTracker{
		nextOffset: -1,
		lastEpoch:  -1,
		keys:       make(map[string]*keyQueue),
	}
}

// add dispatches rec. It returns false (and ignores rec) if rec is at or
// below an offset already dispatched, which can only be a re-fetch of a
// record the tracker already owns.
func (t *partTracker) add(rec *kgo.Record) bool {
	if rec.Offset < t.nextOffset {
		return false
	}
	e := &entry{rec: rec, key: string(rec.Key)}
	t.window = append(t.window, e)
	t.nextOffset = rec.Offset + 1
	t.backlog++
	if q, busy := t.keys[e.key]; busy {
		q.waiting = append(q.waiting, e)
		return true
	}
	t.keys[e.key] = &keyQueue{}
	t.ready = append(t.ready, e)
	return true
}

// next returns the next record to start, or nil if none is ready or
// maxInFlight records are already in flight.
func (t *partTracker) next(maxInFlight int) *entry {
	if t.inFlight >= maxInFlight || t.readyHead >= len(t.ready) {
		return nil
	}
	e := t.ready[t.readyHead]
	t.ready[t.readyHead] = nil
	t.readyHead++
	if t.readyHead == len(t.ready) {
		t.ready = t.ready[:0]
		t.readyHead = 0
	} else if t.readyHead >= 64 && t.readyHead*2 >= len(t.ready) {
		n := copy(t.ready, t.ready[t.readyHead:])
		clear(t.ready[n:])
		t.ready = t.ready[:n]
		t.readyHead = 0
	}
	t.inFlight++
	t.backlog--
	return e
}

// complete marks a started record as completed, frees its key for the next
// record of that key and advances the watermark.
func (t *partTracker) complete(e *entry) {
	t.inFlight--
	e.done = true
	if q := t.keys[e.key]; q != nil {
		if len(q.waiting) > 0 {
			nx := q.waiting[0]
			q.waiting[0] = nil
			q.waiting = q.waiting[1:]
			t.ready = append(t.ready, nx)
		} else {
			delete(t.keys, e.key)
		}
	}
	for t.head < len(t.window) && t.window[t.head].done {
		t.lastEpoch = t.window[t.head].rec.LeaderEpoch
		t.window[t.head] = nil
		t.head++
	}
	if t.head == len(t.window) {
		t.window = t.window[:0]
		t.head = 0
	} else if t.head >= 64 && t.head*2 >= len(t.window) {
		n := copy(t.window, t.window[t.head:])
		clear(t.window[n:])
		t.window = t.window[:n]
		t.head = 0
	}
}

// abandon gives up a started record without completing it (the consumer is
// stopping). The record stays in the window, so the watermark never passes
// it, and its key stays busy, so no later record of the key starts.
func (t *partTracker) abandon(*entry) {
	t.inFlight--
}

// watermark returns the offset to commit: the offset of the oldest
// dispatched record that has not completed, or one past the last dispatched
// record if all completed. ok is false before any record was dispatched.
// epoch is the leader epoch of the last completed record below the
// watermark, -1 if unknown.
func (t *partTracker) watermark() (offset int64, epoch int32, ok bool) {
	if t.head < len(t.window) {
		return t.window[t.head].rec.Offset, t.lastEpoch, true
	}
	if t.nextOffset < 0 {
		return 0, -1, false
	}
	return t.nextOffset, t.lastEpoch, true
}
