// Package streams is the Kafka layer of the verification spine, built on
// franz-go (kgo). It knows nothing of eKYC rules: it moves records, keeps
// their per-key order, retries, dead-letters and commits.
//
// It provides an embedded in-process broker for development and tests
// (StartEmbedded, wrapping kfake), topic creation (EnsureTopics, via kadm), a
// synchronous idempotent Producer, and a consumer-group Consumer.
//
// # Consumer design
//
// One goroutine polls the client (PollRecords) and dispatches the records to
// a tracker per assigned partition; handlers run in their own goroutines.
//
// Per-partition trackers. A tracker holds every dispatched record of its
// partition in offset order (the window), per-key FIFO queues, and a ready
// queue. A record whose key has no earlier record pending goes to the ready
// queue; otherwise it waits in its key's queue and becomes ready only when
// the previous record of the key completes. Ready records start while fewer
// than MaxInFlightPerPartition records of the partition are in flight. So
// records of one key are handled strictly in offset order, one at a time,
// while different keys run concurrently. Records with an empty or nil key
// all share one key (they are serialised). When the backlog of records not
// yet started exceeds MaxBufferedPerPartition the partition is paused
// (PauseFetchPartitions; kgo drops its buffered records of the partition and
// refetches them after ResumeFetchPartitions), and it is resumed once the
// backlog halves, so buffering is bounded.
//
// Completion. A handler returning nil completes its record. A *RejectError
// sends the record, with its key, value and headers plus the ekyc-dlq-*
// and ekyc-source-* headers, to the dead-letter topic (synchronously, acks
// all, retried until acknowledged) and then completes it. Any other error,
// or a panic, is retried with capped, jittered exponential backoff until it
// succeeds or the consumer stops: a failing record occupies one in-flight
// slot and blocks only the later records of its own key.
//
// Commit watermark. The offset committed for a partition is the offset of
// the oldest dispatched record that has not completed, or one past the last
// dispatched record if all completed: every record below it completed, and
// it never passes an incomplete record. After a crash the records at or
// above it are redelivered (at-least-once); records above it that did
// complete are handled again.
//
// Committing. The client runs with kgo.DisableAutoCommit and we commit
// ourselves with CommitOffsetsSync: periodically (CommitInterval), on
// revocation and on graceful shutdown, serialised by one mutex. kgo's
// AutoCommitMarks would also work with careful re-marking, but its
// autocommit and revoke commits run on kgo's own schedule, which makes it
// harder to guarantee that a commit never lands after a partition was
// handed over or covers a record that has not completed. The client also
// runs with kgo.BlockRebalanceOnPoll: rebalance callbacks never run while a
// poll's records are being dispatched, and once a revoke callback returned
// kgo returns no more records of the revoked partitions, so no record of a
// revoked partition is ever dispatched to a dropped tracker.
//
// Revocation. OnPartitionsRevoked stops starting records of the revoked
// partitions, waits for their in-flight records up to the drain timeout,
// commits their watermark synchronously, cancels the contexts of records
// still running and drops the trackers; records not started are redelivered
// to the new owner from the committed offset. OnPartitionsLost drops the
// trackers without committing, as the partitions may already belong to
// another member.
//
// Shutdown. Close(true), or cancelling Run's context, stops polling, waits
// for in-flight records up to the drain timeout, commits, cancels the
// handler contexts and leaves the group. Close(false) cancels the handler
// contexts and closes the client at once, committing nothing more.
//
// Record keys and values are never logged; they may contain personal data.
package streams
