package streams

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

const (
	inTopic  = "in"
	dlqTopic = "in.dlq"
)

// keyedRecords returns keys×perKey records, interleaved by sequence, with
// value = sequence number, placed on partition hash(key) % partitions.
func keyedRecords(keys, perKey int, partitions int32) []*kgo.Record {
	var recs []*kgo.Record
	for seq := range perKey {
		for k := range keys {
			recs = append(recs, &kgo.Record{
				Topic:     inTopic,
				Partition: int32(k) % partitions,
				Key:       []byte(fmt.Sprintf("key-%02d", k)),
				Value:     []byte(strconv.Itoa(seq)),
			})
		}
	}
	return recs
}

// keyOrder records, per key, the sequence numbers handled and detects
// overlapping handling of one key.
type keyOrder struct {
	mu       sync.Mutex
	seqs     map[string][]int
	busy     map[string]bool
	overlaps int
	cur, max int
}

func newKeyOrder() *keyOrder {
	return &keyOrder{seqs: make(map[string][]int), busy: make(map[string]bool)}
}

func (k *keyOrder) start(key string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.busy[key] {
		k.overlaps++
	}
	k.busy[key] = true
	k.cur++
	k.max = max(k.max, k.cur)
}

func (k *keyOrder) finish(key string, seq int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.busy[key] = false
	k.cur--
	k.seqs[key] = append(k.seqs[key], seq)
}

func (k *keyOrder) total() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	n := 0
	for _, s := range k.seqs {
		n += len(s)
	}
	return n
}

func TestConsumerPerKeyOrdering(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t, 40*time.Second)
	env := newTestEnv(t, 4, inTopic, dlqTopic)
	const keys, perKey = 20, 50
	env.produce(ctx, keyedRecords(keys, perKey, 4)...)

	order := newKeyOrder()
	h := func(ctx context.Context, r *kgo.Record) error {
		key := string(r.Key)
		order.start(key)
		time.Sleep(time.Duration(rand.IntN(1500)) * time.Microsecond)
		seq, err := strconv.Atoi(string(r.Value))
		if err != nil {
			return Reject("bad_value", err.Error())
		}
		order.finish(key, seq)
		return nil
	}
	env.runConsumer(ctx, env.testConfig("g-order", inTopic, dlqTopic), h)

	waitUntil(t, ctx, "all records handled", func() bool { return order.total() >= keys*perKey })
	env.waitCommittedEnds(ctx, "g-order", inTopic)

	order.mu.Lock()
	defer order.mu.Unlock()
	require.Zero(t, order.overlaps, "two records of one key were handled concurrently")
	require.Len(t, order.seqs, keys)
	for key, seqs := range order.seqs {
		require.Len(t, seqs, perKey, "key %s", key)
		for i, s := range seqs {
			require.Equal(t, i, s, "key %s handled out of order: %v", key, seqs)
		}
	}
	require.Greater(t, order.max, 1, "records of different keys never ran concurrently")
}

func TestConsumerCommitNeverPassesIncompleteRecord(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t, 40*time.Second)
	env := newTestEnv(t, 1, inTopic, dlqTopic)
	mk := func(from, to int) []*kgo.Record {
		var recs []*kgo.Record
		for i := from; i < to; i++ {
			recs = append(recs, &kgo.Record{Topic: inTopic, Key: []byte(fmt.Sprintf("k%d", i)), Value: []byte("v")})
		}
		return recs
	}
	env.produce(ctx, mk(0, 30)...)

	const blocked = int64(10)
	release := make(chan struct{})
	var others atomic.Int64
	blockedDone := make(chan error, 1)
	h := func(ctx context.Context, r *kgo.Record) error {
		if r.Offset == blocked {
			err := blockUntil(ctx, release)
			blockedDone <- err
			return err
		}
		others.Add(1)
		return nil
	}
	env.runConsumer(ctx, env.testConfig("g-commit", inTopic, dlqTopic), h)

	exceeded := false
	check := func() int64 {
		o, ok := env.committed(ctx, "g-commit", inTopic)[0]
		if !ok {
			return -1
		}
		if o > blocked {
			exceeded = true
		}
		return o
	}
	waitUntil(t, ctx, "later records complete", func() bool { check(); return others.Load() == 29 })
	waitUntil(t, ctx, "commit reaches the blocked record", func() bool { return check() == blocked })

	// More records complete while the blocked one is still in flight.
	env.produce(ctx, mk(30, 50)...)
	waitUntil(t, ctx, "records produced later complete", func() bool { check(); return others.Load() == 49 })
	require.Equal(t, blocked, check())
	require.False(t, exceeded, "committed offset passed the incomplete record %d", blocked)

	close(release)
	require.NoError(t, <-blockedDone)
	env.waitCommittedEnds(ctx, "g-commit", inTopic)
	require.Equal(t, int64(50), check())
}

func TestConsumerRejectsGoToDLQ(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t, 40*time.Second)
	env := newTestEnv(t, 2, inTopic, dlqTopic)
	var recs []*kgo.Record
	for i := range 40 {
		v := fmt.Sprintf("ok-%d", i)
		if i%5 == 0 {
			v = fmt.Sprintf("bad-%d", i)
		}
		recs = append(recs, &kgo.Record{
			Topic:     inTopic,
			Partition: int32(i % 2),
			Key:       []byte(fmt.Sprintf("k%d", i%8)),
			Value:     []byte(v),
			Headers:   []kgo.RecordHeader{{Key: "trace-id", Value: []byte(fmt.Sprintf("t-%d", i))}},
		})
	}
	env.produce(ctx, recs...)
	byValue := make(map[string]*kgo.Record)
	for _, r := range recs {
		byValue[string(r.Value)] = r
	}

	var handled atomic.Int64
	h := func(ctx context.Context, r *kgo.Record) error {
		handled.Add(1)
		if strings.HasPrefix(string(r.Value), "bad-") {
			return fmt.Errorf("validate: %w", Reject("invalid_payload", "field x missing"))
		}
		return nil
	}
	reg := prometheus.NewRegistry()
	start := time.Now().UTC().Truncate(time.Second)
	var logs logBuffer
	env.runConsumer(ctx, env.testConfig("g-dlq", inTopic, dlqTopic), h, WithRegisterer(reg), WithLogger(logs.logger()))
	env.waitCommittedEnds(ctx, "g-dlq", inTopic)
	require.Contains(t, logs.String(), "record dead-lettered")
	require.NotContains(t, logs.String(), "bad-", "record values logged")
	require.NotContains(t, logs.String(), "ok-", "record values logged")
	require.EqualValues(t, 40, handled.Load(), "each record handled once, rejected ones are not retried")

	dl, err := kgo.NewClient(kgo.SeedBrokers(env.addrs...), kgo.ConsumeTopics(dlqTopic))
	require.NoError(t, err)
	defer dl.Close()
	var got []*kgo.Record
	for len(got) < 8 {
		fs := dl.PollFetches(ctx)
		require.NoError(t, ctx.Err(), "dead letters not all found")
		fs.EachRecord(func(r *kgo.Record) { got = append(got, r) })
	}
	require.Len(t, got, 8)
	for _, r := range got {
		orig := byValue[string(r.Value)]
		require.NotNil(t, orig, "unexpected dead letter")
		require.True(t, strings.HasPrefix(string(r.Value), "bad-"))
		require.Equal(t, orig.Key, r.Key)
		hs := make(map[string]string)
		for _, h := range r.Headers {
			hs[h.Key] = string(h.Value)
		}
		require.Equal(t, string(orig.Headers[0].Value), hs["trace-id"])
		require.Equal(t, "invalid_payload", hs[HeaderDLQReason])
		require.Equal(t, "field x missing", hs[HeaderDLQDetail])
		require.Equal(t, inTopic, hs[HeaderDLQSourceTopic])
		require.Equal(t, strconv.Itoa(int(orig.Partition)), hs[HeaderDLQSourcePartition])
		require.Equal(t, strconv.FormatInt(orig.Offset, 10), hs[HeaderDLQSourceOffset])
		at, err := time.Parse(time.RFC3339, hs[HeaderDLQAt])
		require.NoError(t, err)
		require.False(t, at.Before(start))
		require.Len(t, r.Headers, 7)
	}
	labels := map[string]string{"group": "g-dlq", "topic": inTopic}
	require.EqualValues(t, 40, metricValue(t, reg, "ekyc_streams_records_completed_total", labels))
	require.EqualValues(t, 40, metricValue(t, reg, "ekyc_streams_records_consumed_total", labels))
	require.EqualValues(t, 8, metricValue(t, reg, "ekyc_streams_records_rejected_total",
		map[string]string{"group": "g-dlq", "topic": inTopic, "reason": "invalid_payload"}))
	require.Zero(t, metricValue(t, reg, "ekyc_streams_records_retried_total", labels))
	// The counter moves once CommitOffsetsSync returned, just after the
	// broker stored the commit.
	waitUntil(t, ctx, "commit counted", func() bool {
		return metricValue(t, reg, "ekyc_streams_commits_total", map[string]string{"result": "ok"}) > 0
	})
}

func TestConsumerRetriesWithoutBlockingOtherKeys(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t, 40*time.Second)
	env := newTestEnv(t, 1, inTopic, dlqTopic)
	const others = 30
	recs := []*kgo.Record{{Topic: inTopic, Key: []byte("retry"), Value: []byte("first")}}
	for i := range others {
		recs = append(recs, &kgo.Record{Topic: inTopic, Key: []byte(fmt.Sprintf("k%d", i)), Value: []byte("v")})
	}
	recs = append(recs, &kgo.Record{Topic: inTopic, Key: []byte("retry"), Value: []byte("second")})
	env.produce(ctx, recs...)

	var (
		attempts        atomic.Int64
		firstDone       atomic.Int64
		othersDone      atomic.Int64
		allOthers       = make(chan struct{})
		secondEarly     atomic.Bool
		secondCompleted atomic.Int64
	)
	h := func(ctx context.Context, r *kgo.Record) error {
		switch {
		case string(r.Value) == "first":
			switch attempts.Add(1) {
			case 1:
				return errTransient
			case 2:
				panic("boom")
			case 3:
				// Other keys must make progress while this record
				// fails; if they were blocked this would wait
				// until the test deadline.
				if err := blockUntil(ctx, allOthers); err != nil {
					return err
				}
				return errTransient
			default:
				firstDone.Add(1)
				return nil
			}
		case string(r.Value) == "second":
			if firstDone.Load() != 1 {
				secondEarly.Store(true)
			}
			secondCompleted.Add(1)
			return nil
		default:
			if othersDone.Add(1) == others {
				close(allOthers)
			}
			return nil
		}
	}
	reg := prometheus.NewRegistry()
	env.runConsumer(ctx, env.testConfig("g-retry", inTopic, dlqTopic), h, WithRegisterer(reg))
	env.waitCommittedEnds(ctx, "g-retry", inTopic)

	require.EqualValues(t, 4, attempts.Load())
	require.EqualValues(t, 1, firstDone.Load())
	require.EqualValues(t, others, othersDone.Load())
	require.EqualValues(t, 1, secondCompleted.Load())
	require.False(t, secondEarly.Load(), "the next record of the key started before the retried one completed")
	labels := map[string]string{"group": "g-retry", "topic": inTopic}
	require.EqualValues(t, 3, metricValue(t, reg, "ekyc_streams_records_retried_total", labels))
	require.EqualValues(t, 1, metricValue(t, reg, "ekyc_streams_handler_panics_total", labels))
	require.EqualValues(t, others+2, metricValue(t, reg, "ekyc_streams_records_completed_total", labels))
	require.Zero(t, metricValue(t, reg, "ekyc_streams_records_in_flight", labels))
}

func TestConsumerCrashRedeliversIncomplete(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t, 40*time.Second)
	env := newTestEnv(t, 4, inTopic, dlqTopic)
	const keys, perKey = 20, 10
	recs := env.produce(ctx, keyedRecords(keys, perKey, 4)...)
	blockedKey := map[string]bool{"key-03": true, "key-06": true} // partitions 3 and 2

	// Expected watermark per partition: the first record of a blocked key,
	// or the end.
	expect := make(map[int32]int64)
	for _, r := range recs {
		if _, ok := expect[r.Partition]; !ok {
			expect[r.Partition] = -1
		}
	}
	for _, r := range recs {
		if blockedKey[string(r.Key)] && (expect[r.Partition] == -1 || r.Offset < expect[r.Partition]) {
			expect[r.Partition] = r.Offset
		}
	}
	ends := env.ends(ctx, inTopic)
	for p, o := range expect {
		if o == -1 {
			expect[p] = ends[p]
		}
	}

	done1 := newRecordSet()
	var blockedReturned atomic.Int64
	h1 := func(ctx context.Context, r *kgo.Record) error {
		if blockedKey[string(r.Key)] {
			<-ctx.Done() // blocked until the consumer stops
			blockedReturned.Add(1)
			if string(r.Key) == "key-06" {
				// Completes during the crash: must not be
				// committed, so it is redelivered.
				return nil
			}
			return ctx.Err()
		}
		done1.add(r)
		return nil
	}
	cfg := env.testConfig("g-crash", inTopic, dlqTopic)
	c1, run1 := env.runConsumer(ctx, cfg, h1)
	want1 := keys*perKey - len(blockedKey)*perKey
	waitUntil(t, ctx, "first consumer completes the unblocked keys", func() bool { return done1.len() == want1 })
	waitUntil(t, ctx, "first consumer commits up to the blocked records", func() bool {
		got := env.committed(ctx, "g-crash", inTopic)
		for p, o := range expect {
			if got[p] != o {
				return false
			}
		}
		return true
	})

	c1.Close(false)
	require.NoError(t, <-run1)
	require.EqualValues(t, len(blockedKey), blockedReturned.Load(), "handler contexts cancelled on close")
	atCrash := env.committed(ctx, "g-crash", inTopic)
	require.Equal(t, expect, atCrash)

	done2 := newRecordSet()
	h2 := func(ctx context.Context, r *kgo.Record) error {
		done2.add(r)
		return nil
	}
	env.runConsumer(ctx, cfg, h2)
	env.waitCommittedEnds(ctx, "g-crash", inTopic)

	for _, r := range recs {
		in1, in2 := done1.has(r.Partition, r.Offset), done2.has(r.Partition, r.Offset)
		require.True(t, in1 || in2, "record %d/%d lost", r.Partition, r.Offset)
		if !in1 {
			require.True(t, in2, "incomplete record %d/%d not redelivered", r.Partition, r.Offset)
		}
		// The second consumer resumes exactly at the committed offsets.
		require.Equal(t, r.Offset >= atCrash[r.Partition], in2, "record %d/%d", r.Partition, r.Offset)
	}
}

func TestConsumerRebalanceSecondMemberJoins(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t, 50*time.Second)
	env := newTestEnv(t, 4, inTopic, dlqTopic)
	const keys = 40
	const group = "g-rebalance"

	var produced atomic.Int64 // batches produced
	stopProducing := make(chan struct{})
	prodDone := make(chan error, 1)
	go func() {
		batch := 0
		produce := func() error {
			var recs []*kgo.Record
			for k := range keys {
				recs = append(recs, &kgo.Record{
					Topic:     inTopic,
					Partition: int32(k % 4),
					Key:       []byte(fmt.Sprintf("key-%02d", k)),
					Value:     []byte(strconv.Itoa(batch)),
				})
			}
			if err := env.cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
				return err
			}
			batch++
			produced.Store(int64(batch))
			return nil
		}
		for {
			select {
			case <-stopProducing:
				for range 5 {
					if err := produce(); err != nil {
						prodDone <- err
						return
					}
				}
				prodDone <- nil
				return
			case <-ctx.Done():
				prodDone <- ctx.Err()
				return
			case <-time.After(5 * time.Millisecond):
				if err := produce(); err != nil {
					prodDone <- err
					return
				}
			}
		}
	}()

	seen := struct {
		sync.Mutex
		m map[string]map[int]bool
	}{m: make(map[string]map[int]bool)}
	mkHandler := func(order *keyOrder, done *recordSet) Handler {
		return func(ctx context.Context, r *kgo.Record) error {
			key := string(r.Key)
			order.start(key)
			time.Sleep(time.Duration(rand.IntN(2000)) * time.Microsecond)
			seq, _ := strconv.Atoi(string(r.Value))
			order.finish(key, seq)
			done.add(r)
			seen.Lock()
			if seen.m[key] == nil {
				seen.m[key] = make(map[int]bool)
			}
			seen.m[key][seq] = true
			seen.Unlock()
			return nil
		}
	}
	o1, o2 := newKeyOrder(), newKeyOrder()
	done1, done2 := newRecordSet(), newRecordSet()
	cfg := env.testConfig(group, inTopic, dlqTopic)
	// The first member never commits periodically: what the second one
	// resumes from is committed by the revocation.
	cfg1 := cfg
	cfg1.CommitInterval = time.Hour
	c1, _ := env.runConsumer(ctx, cfg1, mkHandler(o1, done1))
	waitUntil(t, ctx, "first consumer handles records", func() bool { return o1.total() >= 200 })
	env.runConsumer(ctx, cfg, mkHandler(o2, done2))
	waitUntil(t, ctx, "second consumer takes partitions over", func() bool { return o2.total() >= 200 })
	close(stopProducing)
	require.NoError(t, <-prodDone)
	batches := int(produced.Load())

	waitUntil(t, ctx, "every record handled at least once", func() bool {
		seen.Lock()
		defer seen.Unlock()
		for k := range keys {
			if len(seen.m[fmt.Sprintf("key-%02d", k)]) != batches {
				return false
			}
		}
		return true
	})
	// The first member commits its remaining partitions when it leaves.
	c1.Close(true)
	env.waitCommittedEnds(ctx, group, inTopic)

	// For every partition the second member took over, it resumed exactly
	// at the first offset the first member had not completed: the
	// revocation drained and committed.
	s1, s2 := done1.snapshot(), done2.snapshot()
	firstIncomplete1 := func(p int32) int64 {
		o := int64(0)
		for s1[[2]int64{int64(p), o}] > 0 {
			o++
		}
		return o
	}
	moved := 0
	for p := range int32(4) {
		min2 := int64(-1)
		for k := range s2 {
			if int32(k[0]) == p && (min2 == -1 || k[1] < min2) {
				min2 = k[1]
			}
		}
		if min2 == -1 {
			continue
		}
		moved++
		require.Equal(t, firstIncomplete1(p), min2, "partition %d", p)
	}
	require.Positive(t, moved)

	for i, o := range []*keyOrder{o1, o2} {
		o.mu.Lock()
		require.Zero(t, o.overlaps, "consumer %d handled one key concurrently", i+1)
		for key, seqs := range o.seqs {
			for j := 1; j < len(seqs); j++ {
				require.Greater(t, seqs[j], seqs[j-1], "consumer %d key %s out of order: %v", i+1, key, seqs)
			}
		}
		o.mu.Unlock()
	}
}

func TestConsumerGracefulCloseWaitsForInFlight(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t, 40*time.Second)
	env := newTestEnv(t, 1, inTopic, dlqTopic)
	var recs []*kgo.Record
	for i := range 10 {
		recs = append(recs, &kgo.Record{Topic: inTopic, Key: []byte(fmt.Sprintf("k%d", i)), Value: []byte("v")})
	}
	env.produce(ctx, recs...)

	release := make(chan struct{})
	var started, completed atomic.Int64
	var ctxErrAtEnd atomic.Value
	h := func(hctx context.Context, r *kgo.Record) error {
		if r.Offset == 3 || r.Offset == 7 {
			started.Add(1)
			if err := blockUntil(ctx, release); err != nil {
				return err
			}
			if err := hctx.Err(); err != nil {
				ctxErrAtEnd.Store(err)
			}
		}
		completed.Add(1)
		return nil
	}
	c, run := env.runConsumer(ctx, env.testConfig("g-graceful", inTopic, dlqTopic), h, WithDrainTimeout(30*time.Second))
	waitUntil(t, ctx, "blocked records in flight, others complete", func() bool {
		return started.Load() == 2 && completed.Load() == 8
	})

	closed := make(chan struct{})
	go func() {
		c.Close(true)
		close(closed)
	}()
	waitUntil(t, ctx, "consumer stopping", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.stopping
	})
	select {
	case <-closed:
		require.FailNow(t, "Close returned with records in flight")
	default:
	}
	close(release)
	require.NoError(t, blockUntil(ctx, closed))
	require.NoError(t, <-run)
	require.Nil(t, ctxErrAtEnd.Load(), "handler context cancelled before the drain")
	require.EqualValues(t, 10, completed.Load())
	require.Equal(t, map[int32]int64{0: 10}, env.committed(ctx, "g-graceful", inTopic))
}

func TestConsumerGracefulCloseDrainTimeout(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t, 40*time.Second)
	env := newTestEnv(t, 1, inTopic, dlqTopic)
	var recs []*kgo.Record
	for i := range 10 {
		recs = append(recs, &kgo.Record{Topic: inTopic, Key: []byte(fmt.Sprintf("k%d", i)), Value: []byte("v")})
	}
	env.produce(ctx, recs...)

	var completed, cancelled atomic.Int64
	stuck := make(chan struct{})
	h := func(hctx context.Context, r *kgo.Record) error {
		if r.Offset == 4 {
			close(stuck)
			<-hctx.Done() // ignores everything but cancellation
			cancelled.Add(1)
			return hctx.Err()
		}
		completed.Add(1)
		return nil
	}
	c, run := env.runConsumer(ctx, env.testConfig("g-drain", inTopic, dlqTopic), h, WithDrainTimeout(200*time.Millisecond))
	require.NoError(t, blockUntil(ctx, stuck))
	waitUntil(t, ctx, "other records complete", func() bool { return completed.Load() == 9 })
	c.Close(true)
	require.NoError(t, <-run)
	require.EqualValues(t, 1, cancelled.Load(), "stuck handler's context cancelled after the drain timeout")
	require.Equal(t, map[int32]int64{0: 4}, env.committed(ctx, "g-drain", inTopic))
}

func TestConsumerBackPressurePausesPartition(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t, 40*time.Second)
	env := newTestEnv(t, 1, inTopic, dlqTopic)
	const n = 200
	var recs []*kgo.Record
	for i := range n {
		recs = append(recs, &kgo.Record{Topic: inTopic, Key: []byte(fmt.Sprintf("k%d", i)), Value: []byte("v")})
	}
	env.produce(ctx, recs...)

	release := make(chan struct{})
	var completed atomic.Int64
	h := func(hctx context.Context, r *kgo.Record) error {
		if err := blockUntil(hctx, release); err != nil {
			return err
		}
		completed.Add(1)
		return nil
	}
	cfg := env.testConfig("g-pressure", inTopic, dlqTopic)
	cfg.MaxInFlightPerPartition = 2
	cfg.MaxBufferedPerPartition = 8
	cfg.MaxPollRecords = 4
	reg := prometheus.NewRegistry()
	c, _ := env.runConsumer(ctx, cfg, h, WithRegisterer(reg))

	paused := func() bool { return len(c.Client().PauseFetchPartitions(nil)[inTopic]) > 0 }
	waitUntil(t, ctx, "partition paused", paused)
	labels := map[string]string{"group": "g-pressure", "topic": inTopic}
	consumed := metricValue(t, reg, "ekyc_streams_records_consumed_total", labels)
	// At most: in flight + backlog bound + one poll that crossed it.
	require.LessOrEqual(t, consumed, float64(2+8+4))
	require.EqualValues(t, 2, metricValue(t, reg, "ekyc_streams_records_in_flight", labels))

	close(release)
	env.waitCommittedEnds(ctx, "g-pressure", inTopic)
	require.EqualValues(t, n, completed.Load())
	require.False(t, paused(), "partition left paused")
	require.EqualValues(t, n, metricValue(t, reg, "ekyc_streams_records_consumed_total", labels))
}

func TestNewConsumerValidates(t *testing.T) {
	t.Parallel()
	h := func(context.Context, *kgo.Record) error { return nil }
	good := ConsumerConfig{Brokers: []string{"127.0.0.1:1"}, Group: "g", Topic: "t", DLQTopic: "d"}
	for name, mut := range map[string]func(*ConsumerConfig){
		"brokers": func(c *ConsumerConfig) { c.Brokers = nil },
		"group":   func(c *ConsumerConfig) { c.Group = "" },
		"topic":   func(c *ConsumerConfig) { c.Topic = "" },
		"dlq":     func(c *ConsumerConfig) { c.DLQTopic = "" },
		"same":    func(c *ConsumerConfig) { c.DLQTopic = "t" },
	} {
		cfg := good
		mut(&cfg)
		_, err := NewConsumer(cfg, h)
		require.Error(t, err, name)
	}
	_, err := NewConsumer(good, nil)
	require.Error(t, err)

	c, err := NewConsumer(good, h)
	require.NoError(t, err)
	require.Equal(t, 64, c.cfg.MaxInFlightPerPartition)
	require.Equal(t, time.Second, c.cfg.CommitInterval)
	c.Close(true)
	require.ErrorIs(t, c.Run(context.Background()), ErrConsumerClosed)
}

func TestConsumerPartitionsLostDropsStateWithoutCommit(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t, 40*time.Second)
	env := newTestEnv(t, 1, inTopic, dlqTopic)
	const n = 20
	var recs []*kgo.Record
	for i := range n {
		recs = append(recs, &kgo.Record{Topic: inTopic, Key: []byte(fmt.Sprintf("k%d", i)), Value: []byte("v")})
	}
	env.produce(ctx, recs...)

	const stuck = int64(5)
	var (
		mu       sync.Mutex
		handled  = make(map[int64]int)
		lostOnce atomic.Bool
		cancels  atomic.Int64
	)
	h := func(hctx context.Context, r *kgo.Record) error {
		mu.Lock()
		handled[r.Offset]++
		mu.Unlock()
		if r.Offset == stuck && !lostOnce.Load() {
			<-hctx.Done() // until the partition is lost
			cancels.Add(1)
			return hctx.Err()
		}
		return nil
	}
	count := func(off int64) int {
		mu.Lock()
		defer mu.Unlock()
		return handled[off]
	}
	var logs logBuffer
	env.runConsumer(ctx, env.testConfig("g-lost", inTopic, dlqTopic), h, WithLogger(logs.logger()))
	waitUntil(t, ctx, "records after the stuck one complete", func() bool { return count(n-1) == 1 })
	waitUntil(t, ctx, "commit reaches the stuck record", func() bool {
		return env.committed(ctx, "g-lost", inTopic)[0] == stuck
	})

	// One heartbeat fails with a fatal group error: kgo calls
	// OnPartitionsLost and rejoins.
	lostOnce.Store(true)
	env.emb.cluster.ControlKey(int16(kmsg.Heartbeat), func(req kmsg.Request) (kmsg.Response, error, bool) {
		resp := req.(*kmsg.HeartbeatRequest).ResponseKind().(*kmsg.HeartbeatResponse)
		resp.ErrorCode = kerr.IllegalGeneration.Code
		return resp, nil, true
	})
	waitUntil(t, ctx, "stuck record redelivered after the loss", func() bool { return count(stuck) == 2 })
	require.EqualValues(t, 1, cancels.Load(), "handler context cancelled when the partition was lost")
	require.Contains(t, logs.String(), "partitions lost")
	env.waitCommittedEnds(ctx, "g-lost", inTopic)
	for off := range int64(n) {
		if off < stuck {
			require.Equal(t, 1, count(off), "offset %d below the commit redelivered", off)
		} else {
			require.Equal(t, 2, count(off), "offset %d not redelivered from the committed offset", off)
		}
	}
}
