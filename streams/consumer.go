package streams

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Handler processes one record. It returns nil when the record is done, a
// *RejectError (see Reject) when the record is permanently bad, and any other
// error to have the record retried. ctx is cancelled when the consumer stops
// or the record's partition is taken away; a handler should then return
// promptly (its record is not completed and will be redelivered).
//
// A Handler runs concurrently for records of different keys, never for two
// records of the same key of one partition.
type Handler func(ctx context.Context, rec *kgo.Record) error

// ConsumerConfig configures a Consumer. Zero values take the defaults noted.
type ConsumerConfig struct {
	Brokers  []string // seed brokers, required
	Group    string   // consumer group, required
	Topic    string   // topic to consume, required
	DLQTopic string   // dead-letter topic for rejected records, required

	// MaxInFlightPerPartition bounds the records handled concurrently per
	// partition (default 64).
	MaxInFlightPerPartition int
	// MaxBufferedPerPartition bounds the fetched records of a partition
	// that have not started yet; above it fetching of the partition is
	// paused until the backlog halves (default 1024).
	MaxBufferedPerPartition int
	// MaxPollRecords bounds the records taken from the client per poll
	// (default 500).
	MaxPollRecords int
	// CommitInterval is the period of offset commits (default 1s).
	CommitInterval time.Duration
	// RetryBackoffMin and RetryBackoffMax bound the exponential, jittered
	// backoff between attempts of a failing record (defaults 100ms, 30s).
	RetryBackoffMin time.Duration
	RetryBackoffMax time.Duration
	// ClientID is the Kafka client id (default kgo's).
	ClientID string
}

// ConsumerOption configures optional Consumer behaviour.
type ConsumerOption func(*consumerOptions)

type consumerOptions struct {
	logger       *slog.Logger
	registerer   prometheus.Registerer
	drainTimeout time.Duration
	kopts        []kgo.Opt
}

// WithLogger sets the logger (default: discard). Record keys and values are
// never logged.
func WithLogger(l *slog.Logger) ConsumerOption {
	return func(o *consumerOptions) { o.logger = l }
}

// WithRegisterer registers the consumer metrics on reg (default: none).
func WithRegisterer(reg prometheus.Registerer) ConsumerOption {
	return func(o *consumerOptions) { o.registerer = reg }
}

// WithDrainTimeout bounds how long a revocation or a graceful Close waits for
// in-flight records (default 10s).
func WithDrainTimeout(d time.Duration) ConsumerOption {
	return func(o *consumerOptions) { o.drainTimeout = d }
}

// WithKgoOpts adds client options, e.g. kgo.FetchMaxWait or
// kgo.HeartbeatInterval. Options that change the group or commit semantics
// (ConsumerGroup, ConsumeTopics, autocommit, BlockRebalanceOnPoll, the
// OnPartitions callbacks) are overridden.
func WithKgoOpts(opts ...kgo.Opt) ConsumerOption {
	return func(o *consumerOptions) { o.kopts = append(o.kopts, opts...) }
}

// ErrConsumerClosed is returned by Run on a closed or already run Consumer.
var ErrConsumerClosed = errors.New("streams: consumer closed")

// Consumer consumes one topic in a consumer group, handling records with a
// Handler (see the package documentation for the design).
//
// Offsets are committed with kgo.DisableAutoCommit and CommitOffsetsSync
// rather than AutoCommitMarks + MarkCommitOffsets: kgo's marks are a single
// "mark" per partition that autocommit and the default revoke commit on
// their own schedule, so the committed offset would have to be kept below
// every incomplete record by re-marking, and a commit could race with our
// revocation drain. Committing ourselves, under commitMu, from one place (the
// periodic committer, the revocation callback, and shutdown) keeps the
// invariant "committed = lowest incomplete offset" simple to check and
// lets a revocation commit exactly what it drained before the partition is
// handed over.
type Consumer struct {
	cfg     ConsumerConfig
	h       Handler
	log     *slog.Logger
	drain   time.Duration
	metrics *consumerMetrics
	cl      *kgo.Client

	// baseCtx is the parent of every handler context; baseCancel is
	// called when the consumer stops.
	baseCtx    context.Context
	baseCancel context.CancelFunc

	// commitMu serializes commits with each other and with the drop of
	// revoked partitions, so no commit for a partition can land after
	// the partition was handed over.
	commitMu sync.Mutex

	// abandoned is set by Close(false): nothing is committed anymore.
	abandoned atomic.Bool

	mu       sync.Mutex
	parts    map[tp]*partState
	stopping bool // no record starts anymore
	closing  bool // the client is being closed after the shutdown drain
	started  bool
	closed   bool
	stopPoll context.CancelFunc

	runDone      chan struct{}
	shutdownOnce sync.Once
}

type tp struct {
	topic     string
	partition int32
}

// partState is the consumer's state of one assigned partition.
type partState struct {
	tp
	*partTracker

	ctx    context.Context
	cancel context.CancelFunc

	stopping   bool
	drained    chan struct{} // closed once stopping and nothing is in flight
	drainedSet bool
	paused     bool
	dropped    bool

	committed int64 // last committed offset, -1 if none by us
	hwm       int64 // high watermark from the last fetch, -1 if unknown
}

// NewConsumer creates a consumer and its client; the group is joined in the
// background. Call Run to process records and Close to stop.
func NewConsumer(cfg ConsumerConfig, h Handler, opts ...ConsumerOption) (*Consumer, error) {
	switch {
	case h == nil:
		return nil, errors.New("streams: nil handler")
	case len(cfg.Brokers) == 0:
		return nil, errors.New("streams: no brokers")
	case cfg.Group == "":
		return nil, errors.New("streams: empty group")
	case cfg.Topic == "":
		return nil, errors.New("streams: empty topic")
	case cfg.DLQTopic == "":
		return nil, errors.New("streams: empty dead-letter topic")
	case cfg.DLQTopic == cfg.Topic:
		return nil, errors.New("streams: dead-letter topic equals the consumed topic")
	}
	if cfg.MaxInFlightPerPartition <= 0 {
		cfg.MaxInFlightPerPartition = 64
	}
	if cfg.MaxBufferedPerPartition <= 0 {
		cfg.MaxBufferedPerPartition = 1024
	}
	if cfg.MaxPollRecords <= 0 {
		cfg.MaxPollRecords = 500
	}
	if cfg.CommitInterval <= 0 {
		cfg.CommitInterval = time.Second
	}
	if cfg.RetryBackoffMin <= 0 {
		cfg.RetryBackoffMin = 100 * time.Millisecond
	}
	if cfg.RetryBackoffMax <= 0 {
		cfg.RetryBackoffMax = 30 * time.Second
	}
	if cfg.RetryBackoffMax < cfg.RetryBackoffMin {
		cfg.RetryBackoffMax = cfg.RetryBackoffMin
	}

	o := consumerOptions{drainTimeout: 10 * time.Second}
	for _, opt := range opts {
		opt(&o)
	}
	if o.logger == nil {
		o.logger = slog.New(slog.DiscardHandler)
	}
	if o.drainTimeout <= 0 {
		o.drainTimeout = 10 * time.Second
	}
	m, err := newConsumerMetrics(o.registerer, cfg.Group, cfg.Topic)
	if err != nil {
		return nil, fmt.Errorf("streams: register metrics: %w", err)
	}

	c := &Consumer{
		cfg:     cfg,
		h:       h,
		log:     o.logger.With("component", "streams.consumer", "group", cfg.Group, "topic", cfg.Topic),
		drain:   o.drainTimeout,
		metrics: m,
		parts:   make(map[tp]*partState),
		runDone: make(chan struct{}),
	}
	c.baseCtx, c.baseCancel = context.WithCancel(context.Background())

	kopts := []kgo.Opt{
		kgo.SeedBrokers(cfg.Brokers...),
		kgo.WithLogger(kgoLogger{c.log}),
	}
	if cfg.ClientID != "" {
		kopts = append(kopts, kgo.ClientID(cfg.ClientID))
	}
	kopts = append(kopts, o.kopts...)
	kopts = append(kopts,
		kgo.ConsumerGroup(cfg.Group),
		kgo.ConsumeTopics(cfg.Topic),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.OnPartitionsAssigned(c.onAssigned),
		kgo.OnPartitionsRevoked(c.onRevoked),
		kgo.OnPartitionsLost(c.onLost),
		kgo.RequiredAcks(kgo.AllISRAcks()),
	)
	cl, err := kgo.NewClient(kopts...)
	if err != nil {
		c.baseCancel()
		return nil, fmt.Errorf("streams: new consumer client: %w", err)
	}
	c.cl = cl
	return c, nil
}

// Client returns the consumer's client (also used to produce dead letters).
func (c *Consumer) Client() *kgo.Client { return c.cl }

// Run polls and dispatches records until ctx is cancelled or Close is
// called, then stops the consumer: after ctx cancellation or Close(true) it
// drains in-flight records (bounded by the drain timeout), commits and leaves
// the group; after Close(false) it commits nothing more. It returns nil once
// stopped, ErrConsumerClosed if the consumer was closed or already run.
func (c *Consumer) Run(ctx context.Context) error {
	c.mu.Lock()
	if c.started || c.closed {
		c.mu.Unlock()
		return ErrConsumerClosed
	}
	c.started = true
	pollCtx, stop := context.WithCancel(ctx)
	c.stopPoll = stop
	c.mu.Unlock()
	defer close(c.runDone)
	defer stop()

	var wg sync.WaitGroup
	wg.Go(func() { c.commitLoop(pollCtx) })

	for {
		fetches := c.cl.PollRecords(pollCtx, c.cfg.MaxPollRecords)
		if pollCtx.Err() != nil {
			// The records not dispatched are above the watermark
			// and get redelivered.
			c.cl.AllowRebalance()
			break
		}
		closed := false
		for _, fe := range fetches.Errors() {
			if errors.Is(fe.Err, kgo.ErrClientClosed) {
				closed = true
				continue
			}
			c.log.Warn("fetch error", "partition", fe.Partition, "err", fe.Err)
		}
		c.dispatch(fetches)
		c.cl.AllowRebalance()
		if closed {
			break
		}
	}
	stop()
	wg.Wait()
	c.shutdown(!c.abandoned.Load())
	return nil
}

// Close stops the consumer. graceful: stop fetching, wait for in-flight
// records (bounded by the drain timeout), cancel the handler contexts,
// commit what completed and leave the group. !graceful: cancel the handler
// contexts and close the client at once, committing nothing more (records
// not committed are redelivered to the next member). Close waits for Run to
// return and is safe to call more than once.
func (c *Consumer) Close(graceful bool) {
	c.mu.Lock()
	if !graceful {
		// Nothing starts and nothing is committed anymore.
		c.abandoned.Store(true)
		c.stopping = true
		c.baseCancel()
	}
	c.closed = true
	started, stop := c.started, c.stopPoll
	c.mu.Unlock()
	if started {
		stop()
		<-c.runDone
		return
	}
	c.shutdown(graceful)
}

// shutdown stops the consumer once.
func (c *Consumer) shutdown(graceful bool) {
	c.shutdownOnce.Do(func() {
		if graceful && !c.abandoned.Load() {
			waits := c.stopParts(nil)
			c.waitDrained(waits)
			c.commit(nil)
		}
		c.mu.Lock()
		c.closing = true
		c.mu.Unlock()
		c.baseCancel()
		// Leaving the group revokes everything: onRevoked commits once
		// more (records that completed after the drain) unless
		// abandoned, and drops the state.
		c.cl.Close()
		c.log.Info("consumer stopped", "graceful", graceful && !c.abandoned.Load())
	})
}

// dispatch adds polled records to their partition trackers and starts what
// can start. It never blocks on handlers.
func (c *Consumer) dispatch(fetches kgo.Fetches) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopping {
		return
	}
	fetches.EachPartition(func(p kgo.FetchTopicPartition) {
		if len(p.Records) == 0 {
			return
		}
		ps := c.partLocked(tp{p.Topic, p.Partition})
		if p.HighWatermark > ps.hwm {
			ps.hwm = p.HighWatermark
		}
		n := 0
		for _, r := range p.Records {
			if ps.add(r) {
				n++
			}
		}
		c.metrics.consumed.Add(float64(n))
		c.startLocked(ps)
		if !ps.paused && ps.backlog > c.cfg.MaxBufferedPerPartition {
			ps.paused = true
			c.cl.PauseFetchPartitions(map[string][]int32{ps.topic: {ps.partition}})
			c.log.Debug("paused partition", "partition", ps.partition, "backlog", ps.backlog)
		}
	})
}

// partLocked returns the state of a partition, creating it if needed.
func (c *Consumer) partLocked(k tp) *partState {
	ps := c.parts[k]
	if ps == nil {
		ps = &partState{
			tp:          k,
			partTracker: newPartTracker(),
			drained:     make(chan struct{}),
			committed:   -1,
			hwm:         -1,
		}
		ps.ctx, ps.cancel = context.WithCancel(c.baseCtx)
		c.parts[k] = ps
	}
	return ps
}

// startLocked starts ready records of ps up to the in-flight bound.
func (c *Consumer) startLocked(ps *partState) {
	if c.stopping || ps.stopping || ps.dropped || ps.ctx.Err() != nil {
		return
	}
	for {
		e := ps.next(c.cfg.MaxInFlightPerPartition)
		if e == nil {
			return
		}
		c.metrics.inFlight.Inc()
		go c.process(ps, e)
	}
}

// process handles one record until it completes or the partition's context
// is cancelled, then updates the tracker.
func (c *Consumer) process(ps *partState, e *entry) {
	completed := c.handle(ps, e.rec)

	c.mu.Lock()
	defer c.mu.Unlock()
	c.metrics.inFlight.Dec()
	if completed {
		ps.complete(e)
		c.metrics.completed.Inc()
	} else {
		ps.abandon(e)
	}
	if ps.stopping {
		c.maybeDrainedLocked(ps)
		return
	}
	c.startLocked(ps)
	if ps.paused && !ps.dropped && ps.backlog <= c.cfg.MaxBufferedPerPartition/2 {
		ps.paused = false
		c.cl.ResumeFetchPartitions(map[string][]int32{ps.topic: {ps.partition}})
		c.log.Debug("resumed partition", "partition", ps.partition, "backlog", ps.backlog)
	}
}

// handle runs the handler with retries; it reports whether the record
// completed.
func (c *Consumer) handle(ps *partState, rec *kgo.Record) bool {
	ctx := ps.ctx
	for attempt := 0; ; attempt++ {
		err := c.call(ctx, rec)
		if err == nil {
			return true
		}
		var rej *RejectError
		if errors.As(err, &rej) {
			return c.deadLetter(ctx, rec, rej)
		}
		if ctx.Err() != nil {
			return false
		}
		c.metrics.retried.Inc()
		d := backoff(attempt, c.cfg.RetryBackoffMin, c.cfg.RetryBackoffMax)
		c.log.Warn("handler failed, retrying",
			"partition", rec.Partition, "offset", rec.Offset, "attempt", attempt+1, "backoff", d, "err", err)
		if !sleep(ctx, d) {
			return false
		}
	}
}

// call runs the handler, turning a panic into an error.
func (c *Consumer) call(ctx context.Context, rec *kgo.Record) (err error) {
	defer func() {
		if r := recover(); r != nil {
			c.metrics.panics.Inc()
			c.log.Error("handler panicked",
				"partition", rec.Partition, "offset", rec.Offset, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			err = fmt.Errorf("streams: handler panicked: %v", r)
		}
	}()
	return c.h(ctx, rec)
}

// deadLetter produces rec to the dead-letter topic, retrying until it is
// acknowledged or ctx is cancelled; it reports whether it was produced.
func (c *Consumer) deadLetter(ctx context.Context, rec *kgo.Record, rej *RejectError) bool {
	dl := &kgo.Record{
		Topic: c.cfg.DLQTopic,
		Key:   rec.Key,
		Value: rec.Value,
	}
	for _, h := range rec.Headers {
		switch h.Key {
		case HeaderDLQReason, HeaderDLQDetail, HeaderDLQSourceTopic, HeaderDLQSourcePartition, HeaderDLQSourceOffset, HeaderDLQAt:
			// Replaced below (a dead letter consumed and rejected again).
		default:
			dl.Headers = append(dl.Headers, h)
		}
	}
	dl.Headers = append(dl.Headers,
		kgo.RecordHeader{Key: HeaderDLQReason, Value: []byte(rej.Reason)},
		kgo.RecordHeader{Key: HeaderDLQDetail, Value: []byte(rej.Detail)},
		kgo.RecordHeader{Key: HeaderDLQSourceTopic, Value: []byte(rec.Topic)},
		kgo.RecordHeader{Key: HeaderDLQSourcePartition, Value: []byte(strconv.FormatInt(int64(rec.Partition), 10))},
		kgo.RecordHeader{Key: HeaderDLQSourceOffset, Value: []byte(strconv.FormatInt(rec.Offset, 10))},
		kgo.RecordHeader{Key: HeaderDLQAt, Value: []byte(time.Now().UTC().Format(time.RFC3339))},
	)
	for attempt := 0; ; attempt++ {
		err := c.cl.ProduceSync(ctx, dl).FirstErr()
		if err == nil {
			c.metrics.rejected.WithLabelValues(rej.Reason).Inc()
			c.log.Info("record dead-lettered",
				"partition", rec.Partition, "offset", rec.Offset, "reason", rej.Reason)
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		d := backoff(attempt, c.cfg.RetryBackoffMin, c.cfg.RetryBackoffMax)
		c.log.Warn("dead-letter produce failed, retrying",
			"partition", rec.Partition, "offset", rec.Offset, "backoff", d, "err", err)
		if !sleep(ctx, d) {
			return false
		}
	}
}

// backoff returns the delay before retry attempt+1: min·2^attempt capped at
// max, with the upper half jittered.
func backoff(attempt int, lo, hi time.Duration) time.Duration {
	d := hi
	if attempt < 40 {
		if x := lo << attempt; x > 0 && x < hi {
			d = x
		}
	}
	half := d / 2
	return half + rand.N(d-half+1)
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// commitLoop commits every CommitInterval until ctx is cancelled.
func (c *Consumer) commitLoop(ctx context.Context) {
	t := time.NewTicker(c.cfg.CommitInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			c.commit(nil)
		}
	}
}

// commit commits the watermark of the given partitions (all if only is
// nil) where it moved past the last commit. It returns the first error.
func (c *Consumer) commit(only map[string][]int32) error {
	c.commitMu.Lock()
	defer c.commitMu.Unlock()
	return c.commitLocked(only)
}

func (c *Consumer) commitLocked(only map[string][]int32) error {
	if c.abandoned.Load() {
		return nil
	}
	offsets := make(map[string]map[int32]kgo.EpochOffset)
	states := make(map[tp]*partState)
	c.mu.Lock()
	add := func(ps *partState) {
		if ps == nil || ps.dropped {
			return
		}
		off, epoch, ok := ps.watermark()
		if !ok || off <= ps.committed {
			return
		}
		if offsets[ps.topic] == nil {
			offsets[ps.topic] = make(map[int32]kgo.EpochOffset)
		}
		offsets[ps.topic][ps.partition] = kgo.EpochOffset{Epoch: epoch, Offset: off}
		states[ps.tp] = ps
	}
	if only == nil {
		for _, ps := range c.parts {
			add(ps)
		}
	} else {
		for t, parts := range only {
			for _, p := range parts {
				add(c.parts[tp{t, p}])
			}
		}
	}
	c.mu.Unlock()
	if len(offsets) == 0 {
		return nil
	}

	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var rerr error
	c.cl.CommitOffsetsSync(ctx, offsets, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		if err != nil {
			rerr = err
			return
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				if perr := kerr.ErrorForCode(p.ErrorCode); perr != nil {
					if rerr == nil {
						rerr = perr
					}
					continue
				}
				ps := states[tp{t.Topic, p.Partition}]
				if ps == nil {
					continue
				}
				off := offsets[t.Topic][p.Partition].Offset
				if off > ps.committed {
					ps.committed = off
				}
				if ps.hwm >= 0 {
					c.metrics.lag.WithLabelValues(strconv.Itoa(int(p.Partition))).Set(float64(max(ps.hwm-off, 0)))
				}
			}
		}
	})
	if rerr != nil {
		c.metrics.commits.WithLabelValues("error").Inc()
		c.log.Warn("offset commit failed", "err", rerr)
		return rerr
	}
	c.metrics.commits.WithLabelValues("ok").Inc()
	c.log.Debug("committed offsets", "offsets", commitLogValue(offsets))
	return nil
}

func commitLogValue(offsets map[string]map[int32]kgo.EpochOffset) map[string]int64 {
	out := make(map[string]int64)
	for _, ps := range offsets {
		for p, o := range ps {
			out[strconv.Itoa(int(p))] = o.Offset
		}
	}
	return out
}

// stopParts marks the given partitions (all if only is nil, which also
// stops the whole consumer) as stopping and returns their drained channels.
func (c *Consumer) stopParts(only map[string][]int32) []chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	var waits []chan struct{}
	stop := func(ps *partState) {
		if ps == nil || ps.dropped {
			return
		}
		ps.stopping = true
		c.maybeDrainedLocked(ps)
		waits = append(waits, ps.drained)
	}
	if only == nil {
		c.stopping = true
		for _, ps := range c.parts {
			stop(ps)
		}
		return waits
	}
	for t, parts := range only {
		for _, p := range parts {
			stop(c.parts[tp{t, p}])
		}
	}
	return waits
}

func (c *Consumer) maybeDrainedLocked(ps *partState) {
	if ps.stopping && ps.inFlight == 0 && !ps.drainedSet {
		ps.drainedSet = true
		close(ps.drained)
	}
}

// waitDrained waits for the channels, at most the drain timeout in total.
func (c *Consumer) waitDrained(waits []chan struct{}) bool {
	if len(waits) == 0 {
		return true
	}
	t := time.NewTimer(c.drain)
	defer t.Stop()
	for _, ch := range waits {
		select {
		case <-ch:
		case <-t.C:
			c.log.Warn("drain timeout: records still in flight are abandoned", "timeout", c.drain)
			return false
		}
	}
	return true
}

// dropParts forgets partitions: their handler contexts are cancelled, their
// fetch is resumed if we paused it (pauses outlive assignments) and any late
// completion only touches the orphaned state.
func (c *Consumer) dropParts(parts map[string][]int32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var resume map[string][]int32
	for t, ps := range parts {
		for _, p := range ps {
			k := tp{t, p}
			st := c.parts[k]
			if st == nil {
				continue
			}
			delete(c.parts, k)
			st.dropped = true
			st.cancel()
			if st.paused {
				st.paused = false
				if resume == nil {
					resume = make(map[string][]int32)
				}
				resume[t] = append(resume[t], p)
			}
			c.metrics.lag.DeleteLabelValues(strconv.Itoa(int(p)))
		}
	}
	if resume != nil {
		c.cl.ResumeFetchPartitions(resume)
	}
}

// onAssigned drops any state left for newly assigned partitions (there
// should be none: revoke and lost drop it), so they start fresh.
func (c *Consumer) onAssigned(_ context.Context, _ *kgo.Client, assigned map[string][]int32) {
	c.log.Info("partitions assigned", "partitions", assigned)
	c.mu.Lock()
	var stale map[string][]int32
	for t, ps := range assigned {
		for _, p := range ps {
			if c.parts[tp{t, p}] != nil {
				if stale == nil {
					stale = make(map[string][]int32)
				}
				stale[t] = append(stale[t], p)
			}
		}
	}
	c.mu.Unlock()
	if stale != nil {
		c.log.Warn("dropping stale state of assigned partitions", "partitions", stale)
		c.dropParts(stale)
	}
}

// onRevoked stops starting records of the revoked partitions, waits (up to
// the drain timeout) for their in-flight records, commits their watermark
// and drops them. With BlockRebalanceOnPoll it never runs concurrently with
// dispatch, and kgo returns no records of these partitions afterwards.
func (c *Consumer) onRevoked(_ context.Context, _ *kgo.Client, revoked map[string][]int32) {
	if len(revoked) == 0 {
		return
	}
	c.log.Info("partitions revoked", "partitions", revoked)
	if c.abandoned.Load() {
		c.dropParts(revoked)
		return
	}
	waits := c.stopParts(revoked)
	c.mu.Lock()
	closing := c.closing
	c.mu.Unlock()
	if !closing {
		// During shutdown the drain already happened.
		c.waitDrained(waits)
	}
	c.commitMu.Lock()
	defer c.commitMu.Unlock()
	if err := c.commitLocked(revoked); err != nil {
		c.log.Warn("commit on revoke failed; records since the last commit will be redelivered", "err", err)
	}
	c.dropParts(revoked)
}

// onLost drops the lost partitions without committing: they may already
// belong to another member.
func (c *Consumer) onLost(_ context.Context, _ *kgo.Client, lost map[string][]int32) {
	if len(lost) == 0 {
		return
	}
	c.log.Warn("partitions lost", "partitions", lost)
	c.commitMu.Lock()
	defer c.commitMu.Unlock()
	c.dropParts(lost)
}

// kgoLogger forwards kgo warnings and errors to slog.
type kgoLogger struct{ l *slog.Logger }

func (k kgoLogger) Level() kgo.LogLevel { return kgo.LogLevelWarn }

func (k kgoLogger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	lv := slog.LevelInfo
	switch level {
	case kgo.LogLevelError:
		lv = slog.LevelError
	case kgo.LogLevelWarn:
		lv = slog.LevelWarn
	case kgo.LogLevelDebug:
		lv = slog.LevelDebug
	}
	k.l.Log(context.Background(), lv, "kgo: "+msg, keyvals...)
}
