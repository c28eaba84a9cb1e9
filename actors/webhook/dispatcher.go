// Package webhook delivers webhook events (decisions, review outcomes,
// monitoring alerts) to tenants' URLs from the persisted outbox of
// store/webhooks.
//
// A Dispatcher is a goroutine pool, not a Proto.Actor actor: delivery needs
// no placement or activation, only a loop over the store's due index and a
// bounded number of concurrent HTTP attempts, and the store (not a mailbox)
// is the queue, so nothing accepted lives only in memory. The domain rules
// are small pure functions (policy.go: the schedule, the fate of a status,
// Retry-After; sign.go: the signature).
//
// # Delivery
//
// Each attempt is a POST of the event's body with the headers
//
//	Content-Type: application/json
//	Ekyc-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "t.body">[,v1=...]
//	Idempotency-Key: <event id>
//	Ekyc-Event-Id: <event id>
//	Ekyc-Event-Type: <type>
//	User-Agent: ekyc-webhooks/1
//
// with one v1 per valid tenant secret (current first), so a receiver that
// knows the old or the new secret verifies during a rotation (Verify). The
// outcome is written to the store before the event is released; a crash
// between the request and that write re-sends the event after the restart.
// Delivery is thus at least once, with the event id as Idempotency-Key for
// the receiver to de-duplicate; the store never forgets a pending event.
//
// Redirects are not followed (a 3xx is a failed attempt): following them
// would send the signed body to a host the tenant did not configure.
//
// # Concurrency
//
// One loop reads due events (earliest first) and hands each to a goroutine;
// an event is taken by at most one goroutine at a time. A goroutine waits
// for a slot of its endpoint (scheme, host and port: WithEndpointConcurrency
// attempts at a time), so one slow receiver cannot take more than its
// slots of attempts, but the events it holds count against WithMaxInFlight.
// The loop wakes on Enqueue, Replay and Wake, when an attempt ends, at the
// earliest retry it scheduled, at the store's earliest due time, and at
// least every poll interval.
//
// # SSRF
//
// Tenants choose the URLs, so a multi-tenant deployment must not let them
// reach the node's own network: WithAllowPrivate(false) refuses, at connect
// time (after DNS resolution, so a name that resolves to an internal address
// is caught too), loopback, private, link-local, CGNAT, unspecified and
// multicast addresses, and disables proxies from the environment (a proxy
// would hide the destination). The default allows them, for the embedded
// single-tenant node and tests that deliver to 127.0.0.1.
package webhook

import (
	"bytes"
	"container/heap"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/openekyc/ekyc/store/webhooks"
)

// UserAgent is sent with every attempt.
const UserAgent = "ekyc-webhooks/1"

// maxResponseDrain is how much of a response body is read (and discarded,
// so the connection can be reused); the rest is dropped with the
// connection. Response bodies are never stored or logged.
const maxResponseDrain = 64 << 10

// recordTimeout bounds the store write of an attempt's outcome.
const recordTimeout = 10 * time.Second

var (
	// ErrInvalidConfig reports a bad option or a missing required one.
	ErrInvalidConfig = errors.New("webhook: invalid configuration")
	// ErrClosed is returned by Start after Close.
	ErrClosed = errors.New("webhook: dispatcher closed")
	// ErrStarted is returned by a second Start.
	ErrStarted = errors.New("webhook: dispatcher already started")
)

// SecretsFunc returns a tenant's valid signing secrets, the current one
// first (two during a rotation). An error or no secret fails the attempt,
// which is retried on the schedule.
type SecretsFunc func(ctx context.Context, tenant string) ([]string, error)

type config struct {
	secrets      SecretsFunc
	timeout      time.Duration
	policy       policy
	perEndpoint  int
	maxInFlight  int
	batch        int
	poll         time.Duration
	allowPrivate bool
	drain        time.Duration
	now          func() time.Time
	logger       *slog.Logger
	metrics      *Metrics
	reg          prometheus.Registerer
	tlsConfig    *tls.Config
	errs         []error
}

// Option configures New.
type Option func(*config)

// WithSecrets sets where the tenants' signing secrets come from (required).
func WithSecrets(f SecretsFunc) Option { return func(c *config) { c.secrets = f } }

// WithTimeout bounds one attempt: connect, TLS, request and response
// headers and the drained part of the body (default 10 s).
func WithTimeout(d time.Duration) Option {
	return func(c *config) {
		if d <= 0 {
			c.errs = append(c.errs, fmt.Errorf("%w: timeout must be positive", ErrInvalidConfig))
		}
		c.timeout = d
	}
}

// WithSchedule sets the delays before each retry (default DefaultSchedule):
// len(delays)+1 attempts, then the event is dead-lettered.
func WithSchedule(delays ...time.Duration) Option {
	return func(c *config) {
		for _, d := range delays {
			if d <= 0 {
				c.errs = append(c.errs, fmt.Errorf("%w: schedule delays must be positive", ErrInvalidConfig))
			}
		}
		c.policy.schedule = append([]time.Duration(nil), delays...)
	}
}

// WithJitter sets the spread of each retry delay, as a fraction in [0, 1)
// (default 0.2: ±20%, uniform). 0 makes the schedule exact.
func WithJitter(f float64) Option {
	return func(c *config) {
		if f < 0 || f >= 1 {
			c.errs = append(c.errs, fmt.Errorf("%w: jitter must be in [0, 1)", ErrInvalidConfig))
		}
		c.policy.jitter = f
	}
}

// WithMaxRetryAfter bounds how long a receiver's Retry-After (429, 503) may
// push a retry back (default 1 h).
func WithMaxRetryAfter(d time.Duration) Option {
	return func(c *config) {
		if d < 0 {
			c.errs = append(c.errs, fmt.Errorf("%w: max Retry-After must not be negative", ErrInvalidConfig))
		}
		c.policy.maxRetryAfter = d
	}
}

// WithEndpointConcurrency sets how many attempts may be in progress at once
// to one endpoint (scheme, host, port; default 4).
func WithEndpointConcurrency(n int) Option {
	return func(c *config) {
		if n <= 0 {
			c.errs = append(c.errs, fmt.Errorf("%w: endpoint concurrency must be positive", ErrInvalidConfig))
		}
		c.perEndpoint = n
	}
}

// WithMaxInFlight bounds the events the dispatcher holds at once, waiting
// for an endpoint slot or being attempted (default 1024).
func WithMaxInFlight(n int) Option {
	return func(c *config) {
		if n <= 0 {
			c.errs = append(c.errs, fmt.Errorf("%w: max in flight must be positive", ErrInvalidConfig))
		}
		c.maxInFlight = n
	}
}

// WithBatch sets how many new due events one pass of the loop takes at most
// (default 64).
func WithBatch(n int) Option {
	return func(c *config) {
		if n <= 0 {
			c.errs = append(c.errs, fmt.Errorf("%w: batch must be positive", ErrInvalidConfig))
		}
		c.batch = n
	}
}

// WithPollInterval sets the longest the loop sleeps without a wake-up
// (default 1 s). It bounds how late an event enqueued straight into the
// store (not through the Dispatcher) is noticed.
func WithPollInterval(d time.Duration) Option {
	return func(c *config) {
		if d <= 0 {
			c.errs = append(c.errs, fmt.Errorf("%w: poll interval must be positive", ErrInvalidConfig))
		}
		c.poll = d
	}
}

// WithAllowPrivate sets whether receivers may be on loopback, private,
// link-local or otherwise internal addresses (default true; see the
// package's SSRF notes — a multi-tenant deployment sets false).
func WithAllowPrivate(allow bool) Option { return func(c *config) { c.allowPrivate = allow } }

// WithDrainTimeout bounds how long Close waits for attempts in progress
// before it cancels them (default: the attempt timeout).
func WithDrainTimeout(d time.Duration) Option {
	return func(c *config) {
		if d < 0 {
			c.errs = append(c.errs, fmt.Errorf("%w: drain timeout must not be negative", ErrInvalidConfig))
		}
		c.drain = d
	}
}

// WithTLSConfig sets the TLS client configuration (e.g. a private CA).
func WithTLSConfig(t *tls.Config) Option { return func(c *config) { c.tlsConfig = t } }

// WithClock sets the clock of attempt times, schedules and signatures.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithLogger sets the logger (default slog.Default()). Logs carry tenant
// and event ids, never URLs, bodies or responses.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithRegisterer registers the metrics on reg (default: unregistered).
func WithRegisterer(reg prometheus.Registerer) Option { return func(c *config) { c.reg = reg } }

// WithMetrics uses m (shared with other dispatchers) instead of new metrics.
func WithMetrics(m *Metrics) Option { return func(c *config) { c.metrics = m } }

// Dispatcher delivers the store's pending events. Create it with New, run it
// with Start, stop it with Close.
type Dispatcher struct {
	store   webhooks.Store
	cfg     config
	client  *http.Client
	metrics *Metrics
	log     *slog.Logger

	wake chan struct{}

	mu        sync.Mutex
	started   bool
	closed    bool
	tracked   map[string]struct{} // events held by a goroutine
	endpoints map[string]*endpoint
	timers    timeHeap // retry times this dispatcher scheduled
	rndMu     sync.Mutex
	rnd       *rand.Rand

	stopLoop       context.CancelFunc
	loopDone       chan struct{}
	stopping       chan struct{} // closed by Close: no new attempts
	attemptCtx     context.Context
	cancelAttempts context.CancelCauseFunc
	wg             sync.WaitGroup // delivery goroutines
}

type endpoint struct {
	slots chan struct{}
	refs  int
}

// New returns a Dispatcher over store. WithSecrets is required.
func New(store webhooks.Store, opts ...Option) (*Dispatcher, error) {
	cfg := config{
		timeout:      10 * time.Second,
		policy:       policy{schedule: DefaultSchedule, jitter: 0.2, maxRetryAfter: time.Hour},
		perEndpoint:  4,
		maxInFlight:  1024,
		batch:        64,
		poll:         time.Second,
		allowPrivate: true,
		drain:        -1,
		now:          time.Now,
	}
	for _, o := range opts {
		o(&cfg)
	}
	if store == nil {
		cfg.errs = append(cfg.errs, fmt.Errorf("%w: no store", ErrInvalidConfig))
	}
	if cfg.secrets == nil {
		cfg.errs = append(cfg.errs, fmt.Errorf("%w: no secrets (WithSecrets)", ErrInvalidConfig))
	}
	if err := errors.Join(cfg.errs...); err != nil {
		return nil, err
	}
	if cfg.drain < 0 {
		cfg.drain = cfg.timeout
	}
	if cfg.logger == nil {
		cfg.logger = slog.Default()
	}
	if cfg.metrics == nil {
		cfg.metrics = NewMetrics(cfg.reg)
	}
	d := &Dispatcher{
		store:     store,
		cfg:       cfg,
		client:    newClient(cfg),
		metrics:   cfg.metrics,
		log:       cfg.logger.With("component", "webhook"),
		wake:      make(chan struct{}, 1),
		tracked:   map[string]struct{}{},
		endpoints: map[string]*endpoint{},
		rnd:       rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())),
		stopping:  make(chan struct{}),
	}
	return d, nil
}

func newClient(cfg config) *http.Client {
	dialer := &net.Dialer{Timeout: cfg.timeout, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		TLSClientConfig:       cfg.tlsConfig,
		TLSHandshakeTimeout:   cfg.timeout,
		ResponseHeaderTimeout: cfg.timeout,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   cfg.perEndpoint,
		MaxConnsPerHost:       cfg.perEndpoint,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
	}
	if !cfg.allowPrivate {
		tr.Proxy = nil
		dialer.Control = refusePrivate
	}
	return &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// cgnat is the shared address space of RFC 6598, not covered by IsPrivate.
var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// refusePrivate is a net.Dialer Control: it runs after DNS resolution, on
// the address actually dialled.
func refusePrivate(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return errPrivateAddress
	}
	if !PublicAddr(ap.Addr()) {
		return errPrivateAddress
	}
	return nil
}

// PublicAddr reports whether a receiver may be at ip when private addresses
// are not allowed.
func PublicAddr(ip netip.Addr) bool {
	ip = ip.Unmap()
	return ip.IsValid() && !ip.IsLoopback() && !ip.IsPrivate() && !ip.IsLinkLocalUnicast() &&
		!ip.IsLinkLocalMulticast() && !ip.IsInterfaceLocalMulticast() && !ip.IsMulticast() &&
		!ip.IsUnspecified() && !cgnat.Contains(ip)
}

// Start runs the delivery loop until Close (or until ctx is done, which
// stops the loop like Close but does not wait).
func (d *Dispatcher) Start(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case d.closed:
		return ErrClosed
	case d.started:
		return ErrStarted
	}
	d.started = true
	runCtx, cancel := context.WithCancel(ctx)
	d.stopLoop = cancel
	d.attemptCtx, d.cancelAttempts = context.WithCancelCause(context.WithoutCancel(ctx))
	d.loopDone = make(chan struct{})
	go d.loop(runCtx)
	return nil
}

// Close stops taking events, lets the attempts in progress finish (up to
// the drain timeout, then cancels them; a cancelled attempt is recorded as
// failed and retried later) and returns when every outcome is recorded.
// Events waiting for an endpoint slot are released untouched: they stay
// pending in the store. Close does not close the store. It is idempotent.
func (d *Dispatcher) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	started := d.started
	d.mu.Unlock()
	close(d.stopping)
	if !started {
		return nil
	}
	d.stopLoop()
	<-d.loopDone
	done := make(chan struct{})
	go func() { d.wg.Wait(); close(done) }()
	t := time.NewTimer(d.cfg.drain)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		d.cancelAttempts(errClosing)
		<-done
	}
	d.cancelAttempts(errClosing)
	return nil
}

// Enqueue stores e durably (webhooks.Store.Enqueue: idempotent by tenant
// and id) and wakes the loop.
func (d *Dispatcher) Enqueue(ctx context.Context, e webhooks.Event) (bool, error) {
	created, err := d.store.Enqueue(ctx, e)
	if err != nil {
		return false, err
	}
	if created {
		d.metrics.QueueDepth.Inc()
	}
	d.Wake()
	return created, nil
}

// Replay re-arms an event for delivery now (webhooks.Store.Replay: a new
// delivery with the same event id for a delivered or dead event) and wakes
// the loop.
func (d *Dispatcher) Replay(ctx context.Context, tenant, id string) (webhooks.Record, error) {
	r, err := d.store.Replay(ctx, tenant, id, d.cfg.now())
	if err != nil {
		return webhooks.Record{}, err
	}
	d.Wake()
	return r, nil
}

// Wake makes the loop look for due events now (for events enqueued straight
// into the store).
func (d *Dispatcher) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

func (d *Dispatcher) loop(ctx context.Context) {
	defer close(d.loopDone)
	for ctx.Err() == nil {
		wait := time.Duration(0)
		if !d.pass(ctx) {
			wait = d.nextWait(ctx)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-d.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// pass takes the due events that no goroutine holds, up to the batch and
// the in-flight bound. full reports a whole batch taken: there may be more.
func (d *Dispatcher) pass(ctx context.Context) (full bool) {
	d.mu.Lock()
	held := len(d.tracked)
	d.mu.Unlock()
	room := min(d.cfg.batch, d.cfg.maxInFlight-held)
	if room <= 0 {
		return false // a goroutine's end wakes the loop
	}
	// Held events are still due in the store: ask for enough to see room
	// new ones past them.
	recs, err := d.store.Due(ctx, d.cfg.now(), held+room)
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		d.log.Error("webhook: reading due events", "error", err)
		if !errors.Is(err, webhooks.ErrCorrupt) {
			return false
		}
	}
	if n, err := d.store.Pending(ctx); err == nil {
		d.metrics.QueueDepth.Set(float64(n))
	}
	taken := 0
	for _, r := range recs {
		if taken == room {
			break
		}
		if d.take(r) {
			taken++
		}
	}
	return taken == room
}

func trackKey(tenant, id string) string { return tenant + "\x00" + id }

// take starts a goroutine for r unless one holds it already.
func (d *Dispatcher) take(r webhooks.Record) bool {
	key := trackKey(r.Tenant, r.ID)
	ep := endpointKey(r.URL)
	d.mu.Lock()
	if _, ok := d.tracked[key]; ok {
		d.mu.Unlock()
		return false
	}
	d.tracked[key] = struct{}{}
	e := d.endpoints[ep]
	if e == nil {
		e = &endpoint{slots: make(chan struct{}, d.cfg.perEndpoint)}
		d.endpoints[ep] = e
	}
	e.refs++
	d.mu.Unlock()
	d.metrics.InFlight.Inc()
	d.wg.Add(1)
	go d.deliver(r, key, ep, e)
	return true
}

func (d *Dispatcher) release(key, ep string, e *endpoint) {
	d.mu.Lock()
	delete(d.tracked, key)
	e.refs--
	if e.refs == 0 {
		delete(d.endpoints, ep)
	}
	d.mu.Unlock()
	d.metrics.InFlight.Dec()
	d.Wake()
}

// endpointKey is the concurrency domain of a URL: scheme, host and port.
func endpointKey(raw string) string {
	u, err := webhooks.ValidateURL(raw)
	if err != nil {
		return "invalid"
	}
	scheme := strings.ToLower(u.Scheme)
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[scheme]
	}
	return scheme + "://" + net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}

func (d *Dispatcher) deliver(r webhooks.Record, key, ep string, e *endpoint) {
	defer d.wg.Done()
	defer d.release(key, ep, e)
	select {
	case e.slots <- struct{}{}:
	case <-d.stopping:
		return // not attempted: it stays pending as it is
	}
	defer func() { <-e.slots }()
	select {
	case <-d.stopping:
		return
	default:
	}
	// The record was read from a snapshot, possibly just before another
	// goroutine recorded its last attempt, and may have waited for the
	// slot: attempt only what is still due as read.
	if cur, err := d.store.Get(d.attemptCtx, r.Tenant, r.ID); err != nil || !sameAttempt(cur, r, d.cfg.now()) {
		return
	}

	a, o := d.attempt(r)
	d.metrics.AttemptDuration.Observe(a.Duration.Seconds())
	d.rndMu.Lock()
	next := d.cfg.policy.decide(o, r.Attempts+1, a.At, d.rnd.Float64)
	d.rndMu.Unlock()

	ctx, cancel := context.WithTimeout(context.WithoutCancel(d.attemptCtx), recordTimeout)
	defer cancel()
	_, err := d.store.RecordAttempt(ctx, r.Tenant, r.ID, a, next)
	if err != nil {
		// The event stays pending at its old time: it is attempted again
		// (after a restart if the store is gone). At least once.
		if !errors.Is(err, webhooks.ErrStale) {
			d.metrics.RecordErrors.Inc()
			d.log.Error("webhook: recording attempt", "tenant", r.Tenant, "event", r.ID, "error", err)
		}
		return
	}
	switch next.State {
	case webhooks.StateDelivered:
		d.metrics.Attempts.WithLabelValues(resultDelivered).Inc()
		d.metrics.QueueDepth.Dec()
	case webhooks.StateDead:
		d.metrics.Attempts.WithLabelValues(resultDead).Inc()
		d.metrics.DeadLettered.Inc()
		d.metrics.QueueDepth.Dec()
		d.log.Warn("webhook: event dead-lettered", "tenant", r.Tenant, "event", r.ID, "type", r.Type,
			"delivery", r.Delivery, "attempts", r.Attempts+1, "last_status", a.Status, "last_error", a.Error)
	default:
		d.metrics.Attempts.WithLabelValues(resultRetry).Inc()
		d.noteRetry(next.At)
	}
}

// sameAttempt reports whether cur (just read) is still the pending attempt
// taken as r, and due.
func sameAttempt(cur, r webhooks.Record, now time.Time) bool {
	return cur.State == webhooks.StatePending && cur.Delivery == r.Delivery && cur.Attempts == r.Attempts &&
		!cur.NextAttemptAt.After(now)
}

// attempt makes one HTTP attempt of r.
func (d *Dispatcher) attempt(r webhooks.Record) (webhooks.Attempt, outcome) {
	start := d.cfg.now()
	a := webhooks.Attempt{Delivery: r.Delivery, N: r.Attempts + 1, At: start}
	finish := func(o outcome, class string) (webhooks.Attempt, outcome) {
		a.Status = o.status
		a.Error = class
		a.Duration = max(d.cfg.now().Sub(start), 0)
		return a, o
	}
	ctx, cancel := context.WithTimeout(d.attemptCtx, d.cfg.timeout)
	defer cancel()
	if _, err := webhooks.ValidateURL(r.URL); err != nil {
		return finish(outcome{invalid: true}, "invalid URL")
	}
	secrets, err := d.cfg.secrets(ctx, r.Tenant)
	if err != nil {
		return finish(outcome{}, "signing secret unavailable")
	}
	sig, err := SignatureValue(start, r.Body, secrets)
	if err != nil {
		return finish(outcome{}, "no signing secret")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.URL, bytes.NewReader(r.Body))
	if err != nil {
		return finish(outcome{invalid: true}, "invalid URL")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(SignatureHeader, sig)
	req.Header.Set("Idempotency-Key", r.ID)
	req.Header.Set("Ekyc-Event-Id", r.ID)
	req.Header.Set("Ekyc-Event-Type", r.Type)
	req.Header.Set("User-Agent", UserAgent)
	resp, err := d.client.Do(req)
	if err != nil {
		return finish(outcome{}, errorClass(0, err, d.attemptCtx))
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseDrain))
	_ = resp.Body.Close()
	o := outcome{status: resp.StatusCode}
	if ra, ok := parseRetryAfter(resp.Header.Get("Retry-After"), d.cfg.now()); ok {
		o.retryAfter = ra
	}
	return finish(o, errorClass(resp.StatusCode, nil, d.attemptCtx))
}

// noteRetry remembers a retry time so the loop wakes for it.
func (d *Dispatcher) noteRetry(at time.Time) {
	d.mu.Lock()
	heap.Push(&d.timers, at)
	d.mu.Unlock()
	d.Wake()
}

// nextWait is how long the loop may sleep: until the earliest retry this
// dispatcher scheduled or the store's earliest due time, whichever is
// first and still ahead, at most the poll interval.
func (d *Dispatcher) nextWait(ctx context.Context) time.Duration {
	now := d.cfg.now()
	wait := d.cfg.poll
	d.mu.Lock()
	for len(d.timers) > 0 && !d.timers[0].After(now) {
		heap.Pop(&d.timers)
	}
	if len(d.timers) > 0 {
		wait = min(wait, d.timers[0].Sub(now))
	}
	d.mu.Unlock()
	// Due events held by goroutines make NextDue a past time: only a
	// future one is useful here (their ends wake the loop).
	if at, ok, err := d.store.NextDue(ctx); err == nil && ok && at.After(now) {
		wait = min(wait, at.Sub(now))
	}
	return max(wait, 0)
}

// timeHeap is a min-heap of times.
type timeHeap []time.Time

func (h timeHeap) Len() int           { return len(h) }
func (h timeHeap) Less(i, j int) bool { return h[i].Before(h[j]) }
func (h timeHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *timeHeap) Push(x any)        { *h = append(*h, x.(time.Time)) }
func (h *timeHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
