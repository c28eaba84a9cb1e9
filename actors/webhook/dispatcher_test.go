package webhook_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/openekyc/ekyc/actors/webhook"
	"github.com/openekyc/ekyc/internal/envelope"
	"github.com/openekyc/ekyc/store/webhooks"
	"github.com/openekyc/ekyc/store/webhooks/pebblestore"
)

// receiver is a local webhook endpoint that de-duplicates by
// Idempotency-Key and verifies every signature.
type receiver struct {
	t       *testing.T
	secrets []string
	handler func(r *receiver, key string, n int) (status int, header http.Header) // n: this key's request count

	mu          sync.Mutex
	addr        string
	srv         *http.Server
	view        map[string][]byte // de-duplicated: first accepted body per key
	accepted    map[string]int    // 2xx answers per key
	requests    map[string]int
	arrivals    map[string][]time.Time
	badSigs     []error
	badHeaders  []string
	inFlight    int
	maxInFlight int
	gate        chan struct{} // when set, requests wait until it is closed
}

func newReceiver(t *testing.T, secrets []string, handler func(r *receiver, key string, n int) (int, http.Header)) *receiver {
	r := &receiver{t: t, secrets: secrets, handler: handler, view: map[string][]byte{}, accepted: map[string]int{},
		requests: map[string]int{}, arrivals: map[string][]time.Time{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	r.addr = ln.Addr().String()
	r.serve(ln)
	t.Cleanup(r.down)
	return r
}

func (r *receiver) url() string { return "http://" + r.addr + "/hooks" }

func (r *receiver) serve(ln net.Listener) {
	srv := &http.Server{Handler: r}
	r.mu.Lock()
	r.srv = srv
	r.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
}

// down closes the listener and every connection: the receiver is gone.
func (r *receiver) down() {
	r.mu.Lock()
	srv := r.srv
	r.srv = nil
	r.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
}

// up listens again on the same address.
func (r *receiver) up() {
	var ln net.Listener
	require.Eventually(r.t, func() bool {
		var err error
		ln, err = net.Listen("tcp", r.addr)
		return err == nil
	}, 10*time.Second, 10*time.Millisecond, "re-listen on %s", r.addr)
	r.serve(ln)
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return
	}
	key := req.Header.Get("Idempotency-Key")
	r.mu.Lock()
	r.requests[key]++
	n := r.requests[key]
	r.arrivals[key] = append(r.arrivals[key], time.Now())
	r.inFlight++
	r.maxInFlight = max(r.maxInFlight, r.inFlight)
	gate := r.gate
	if err := webhook.Verify(req.Header.Get(webhook.SignatureHeader), body, r.secrets, time.Minute, time.Now()); err != nil {
		r.badSigs = append(r.badSigs, err)
	}
	if req.Header.Get("Content-Type") != "application/json" || req.Header.Get("User-Agent") != webhook.UserAgent ||
		req.Header.Get("Ekyc-Event-Type") == "" || req.Header.Get("Ekyc-Event-Id") != key || key == "" {
		r.badHeaders = append(r.badHeaders, key)
	}
	r.mu.Unlock()
	if gate != nil {
		<-gate
	}
	status, header := r.handler(r, key, n)
	r.mu.Lock()
	r.inFlight--
	if status >= 200 && status < 300 {
		r.accepted[key]++
		if _, ok := r.view[key]; !ok {
			r.view[key] = body
		}
	}
	r.mu.Unlock()
	for k, vs := range header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.WriteHeader(status)
}

// with runs f under the receiver's lock, released even when f fails the
// test (FailNow exits the goroutine through deferred calls).
func (r *receiver) with(f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f()
}

func (r *receiver) unique() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.view)
}

func keyring(t *testing.T) *envelope.Keyring {
	t.Helper()
	key := make([]byte, envelope.KeySize)
	_, err := rand.Read(key)
	require.NoError(t, err)
	k, err := envelope.New(key)
	require.NoError(t, err)
	return k
}

func openStore(t *testing.T, dir string, k *envelope.Keyring) *pebblestore.Store {
	t.Helper()
	s, err := pebblestore.Open(dir, k)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func secretsOf(m map[string][]string) webhook.SecretsFunc {
	return func(_ context.Context, tenant string) ([]string, error) {
		s, ok := m[tenant]
		if !ok {
			return nil, errors.New("unknown tenant")
		}
		return s, nil
	}
}

func start(t *testing.T, s webhooks.Store, opts ...webhook.Option) *webhook.Dispatcher {
	t.Helper()
	base := []webhook.Option{
		webhook.WithSecrets(secretsOf(map[string][]string{"tenant-a": {"new-secret", "old-secret"}, "tenant-b": {"b-secret"}})),
		webhook.WithJitter(0), webhook.WithPollInterval(5 * time.Millisecond), webhook.WithTimeout(5 * time.Second),
		webhook.WithDrainTimeout(5 * time.Second),
	}
	d, err := webhook.New(s, append(base, opts...)...)
	require.NoError(t, err)
	require.NoError(t, d.Start(context.Background()))
	t.Cleanup(func() { _ = d.Close() })
	return d
}

func event(tenant, id, url string) webhooks.Event {
	return webhooks.Event{ID: id, Tenant: tenant, Type: webhooks.TypeVerificationDecided, URL: url,
		Body: []byte(fmt.Sprintf(`{"event_id":%q,"outcome":"APPROVED"}`, id))}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	require.Eventually(t, cond, 60*time.Second, 5*time.Millisecond, what)
}

func record(t *testing.T, s webhooks.Store, tenant, id string) webhooks.Record {
	t.Helper()
	r, err := s.Get(context.Background(), tenant, id)
	require.NoError(t, err)
	return r
}

// countAttempts counts, over the events, the logged attempts with status.
func countAttempts(t *testing.T, s webhooks.Store, tenant string, ids []string, status int) int {
	n := 0
	for _, id := range ids {
		for _, a := range record(t, s, tenant, id).Log {
			if a.Status == status {
				n++
			}
		}
	}
	return n
}

// TestFlakyReceiverDownAndRestart is the test: a receiver that
// fails the first attempts of every event, accepts only 20 events and then
// goes down; the dispatcher and its store are restarted while it is down;
// the receiver comes back on the same address. Every event ends in the
// receiver's de-duplicated view exactly once, with a verified signature,
// and the delivery log shows the failures.
func TestFlakyReceiverDownAndRestart(t *testing.T) {
	const events, budget = 50, 20
	ctx := context.Background()
	var (
		mu        sync.Mutex
		unlimited bool
	)
	rcv := newReceiver(t, []string{"old-secret"}, func(r *receiver, key string, n int) (int, http.Header) {
		if n <= 2 {
			return http.StatusInternalServerError, nil // the first two attempts of every event fail
		}
		mu.Lock()
		defer mu.Unlock()
		if _, seen := r.view[key]; !seen && !unlimited && len(r.view) >= budget {
			return http.StatusServiceUnavailable, nil
		}
		return http.StatusOK, nil
	})

	dir := t.TempDir()
	keys := keyring(t)
	schedule := []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond}
	for range 300 {
		schedule = append(schedule, 50*time.Millisecond) // ≈15 s of outage tolerated
	}
	opts := []webhook.Option{webhook.WithSchedule(schedule...), webhook.WithEndpointConcurrency(4)}
	st := openStore(t, dir, keys)
	d := start(t, st, opts...)

	ids := make([]string, events)
	for i := range ids {
		ids[i] = fmt.Sprintf("evt-%03d", i)
		created, err := d.Enqueue(ctx, event("tenant-a", ids[i], rcv.url()))
		require.NoError(t, err)
		require.True(t, created)
	}
	waitFor(t, "the receiver's budget is used", func() bool { return rcv.unique() == budget })
	rcv.down()
	waitFor(t, "attempts against the downed receiver", func() bool {
		return countAttempts(t, st, "tenant-a", ids, 0) >= 10
	})

	// Restart the node's webhook side in the middle.
	require.NoError(t, d.Close())
	require.NoError(t, st.Close())
	st = openStore(t, dir, keys)
	pending, err := st.Pending(ctx)
	require.NoError(t, err)
	require.GreaterOrEqual(t, pending, events-budget, "nothing lost by the restart")
	downBefore := countAttempts(t, st, "tenant-a", ids, 0)
	d = start(t, st, opts...)
	waitFor(t, "the restarted dispatcher retries", func() bool {
		return countAttempts(t, st, "tenant-a", ids, 0) >= downBefore+10
	})

	mu.Lock()
	unlimited = true
	mu.Unlock()
	rcv.up()
	waitFor(t, "every event delivered", func() bool {
		n, err := st.Pending(ctx)
		return err == nil && n == 0 && rcv.unique() == events
	})

	rcv.with(func() {
		require.Empty(t, rcv.badSigs, "every signature verifies with the old secret alone")
		require.Empty(t, rcv.badHeaders)
		require.Len(t, rcv.view, events)
		for _, id := range ids {
			require.JSONEq(t, string(event("tenant-a", id, "").Body), string(rcv.view[id]), id)
			require.Greater(t, rcv.requests[id], 2, "%s: failed first", id)
		}
	})

	for _, id := range ids {
		r := record(t, st, "tenant-a", id)
		require.Equal(t, webhooks.StateDelivered, r.State, id)
		require.GreaterOrEqual(t, len(r.Log), 3, id)
		require.Equal(t, http.StatusInternalServerError, r.Log[0].Status, id)
		require.Equal(t, "HTTP 500 Internal Server Error", r.Log[0].Error, id)
		require.Equal(t, http.StatusOK, r.Log[len(r.Log)-1].Status, id)
		for i, a := range r.Log {
			require.Equal(t, i+1, a.N, id)
			require.Equal(t, 1, a.Delivery, id)
		}
	}
	var refused int
	for _, id := range ids {
		for _, a := range record(t, st, "tenant-a", id).Log {
			if a.Status == 0 {
				require.Contains(t, []string{"connection refused", "connection reset", "connection closed by receiver", "transport error"}, a.Error)
				refused++
			}
		}
	}
	require.GreaterOrEqual(t, refused, downBefore+10)
}

func TestDeadLetterThenReplay(t *testing.T) {
	ctx := context.Background()
	var (
		mu     sync.Mutex
		status = http.StatusInternalServerError
	)
	rcv := newReceiver(t, []string{"b-secret"}, func(*receiver, string, int) (int, http.Header) {
		mu.Lock()
		defer mu.Unlock()
		return status, nil
	})
	reg := prometheus.NewRegistry()
	st := openStore(t, t.TempDir(), keyring(t))
	d := start(t, st, webhook.WithSchedule(5*time.Millisecond, 5*time.Millisecond), webhook.WithRegisterer(reg))
	m := webhook.NewMetrics(reg) // the registered collectors

	_, err := d.Enqueue(ctx, event("tenant-b", "evt-dead", rcv.url()))
	require.NoError(t, err)
	waitFor(t, "dead-lettered", func() bool { return record(t, st, "tenant-b", "evt-dead").State == webhooks.StateDead })
	r := record(t, st, "tenant-b", "evt-dead")
	require.Len(t, r.Log, 3, "one attempt and one per delay")
	for _, a := range r.Log {
		require.Equal(t, http.StatusInternalServerError, a.Status)
	}
	// The metrics follow the store write: wait for them.
	waitFor(t, "dead-letter counted", func() bool { return testutil.ToFloat64(m.DeadLettered) == 1 })
	require.Equal(t, 1.0, testutil.ToFloat64(m.Attempts.WithLabelValues("dead")))
	require.Equal(t, 2.0, testutil.ToFloat64(m.Attempts.WithLabelValues("retry")))

	// Another tenant cannot replay it.
	_, err = d.Replay(ctx, "tenant-a", "evt-dead")
	require.ErrorIs(t, err, webhooks.ErrNotFound)

	mu.Lock()
	status = http.StatusNoContent
	mu.Unlock()
	_, err = d.Replay(ctx, "tenant-b", "evt-dead")
	require.NoError(t, err)
	waitFor(t, "replay delivered", func() bool { return record(t, st, "tenant-b", "evt-dead").State == webhooks.StateDelivered })
	r = record(t, st, "tenant-b", "evt-dead")
	require.Equal(t, 2, r.Delivery)
	require.Len(t, r.Log, 4)
	require.Equal(t, webhooks.Attempt{Delivery: 2, N: 1, Status: http.StatusNoContent}, webhooks.Attempt{
		Delivery: r.Log[3].Delivery, N: r.Log[3].N, Status: r.Log[3].Status})
	rcv.with(func() {
		require.Equal(t, 4, rcv.requests["evt-dead"], "same Idempotency-Key for the replay")
		require.Empty(t, rcv.badSigs)
	})
	waitFor(t, "delivery counted", func() bool { return testutil.ToFloat64(m.Attempts.WithLabelValues("delivered")) == 1 })
	require.Equal(t, 1.0, testutil.ToFloat64(m.DeadLettered))
}

func TestGoneIsDeadAtOnce(t *testing.T) {
	ctx := context.Background()
	rcv := newReceiver(t, []string{"b-secret"}, func(*receiver, string, int) (int, http.Header) { return http.StatusGone, nil })
	st := openStore(t, t.TempDir(), keyring(t))
	d := start(t, st, webhook.WithSchedule(5*time.Millisecond, 5*time.Millisecond))
	_, err := d.Enqueue(ctx, event("tenant-b", "evt-gone", rcv.url()))
	require.NoError(t, err)
	waitFor(t, "dead", func() bool { return record(t, st, "tenant-b", "evt-gone").State == webhooks.StateDead })
	require.Len(t, record(t, st, "tenant-b", "evt-gone").Log, 1)
}

// TestEndpointConcurrency: requests wait at two receivers until both hold
// the limit at once (the limit is per endpoint, not global); neither ever
// sees more.
func TestEndpointConcurrency(t *testing.T) {
	const limit, perReceiver = 3, 12
	ctx := context.Background()
	ok := func(*receiver, string, int) (int, http.Header) { return http.StatusOK, nil }
	a := newReceiver(t, []string{"b-secret"}, ok)
	b := newReceiver(t, []string{"b-secret"}, ok)
	gate := make(chan struct{})
	a.gate, b.gate = gate, gate
	st := openStore(t, t.TempDir(), keyring(t))
	d := start(t, st, webhook.WithEndpointConcurrency(limit))
	for i := range perReceiver {
		for _, r := range []*receiver{a, b} {
			_, err := d.Enqueue(ctx, event("tenant-b", fmt.Sprintf("evt-%s-%d", r.addr, i), r.url()))
			require.NoError(t, err)
		}
	}
	inFlight := func(r *receiver) int { r.mu.Lock(); defer r.mu.Unlock(); return r.inFlight }
	waitFor(t, "both endpoints at their limit", func() bool { return inFlight(a) >= limit && inFlight(b) >= limit })
	close(gate)
	waitFor(t, "all delivered", func() bool { return a.unique() == perReceiver && b.unique() == perReceiver })
	for _, r := range []*receiver{a, b} {
		r.with(func() {
			require.Equal(t, limit, r.maxInFlight)
			require.Empty(t, r.badSigs)
		})
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	ctx := context.Background()
	rcv := newReceiver(t, []string{"b-secret"}, func(_ *receiver, _ string, n int) (int, http.Header) {
		if n == 1 {
			return http.StatusTooManyRequests, http.Header{"Retry-After": {"1"}}
		}
		return http.StatusOK, nil
	})
	st := openStore(t, t.TempDir(), keyring(t))
	d := start(t, st, webhook.WithSchedule(5*time.Millisecond))
	_, err := d.Enqueue(ctx, event("tenant-b", "evt-429", rcv.url()))
	require.NoError(t, err)
	waitFor(t, "delivered", func() bool { return record(t, st, "tenant-b", "evt-429").State == webhooks.StateDelivered })
	r := record(t, st, "tenant-b", "evt-429")
	require.Len(t, r.Log, 2)
	require.Equal(t, http.StatusTooManyRequests, r.Log[0].Status)
	require.GreaterOrEqual(t, r.Log[1].At.Sub(r.Log[0].At), time.Second, "not before the receiver asked")
	var arr []time.Time
	rcv.with(func() { arr = append(arr, rcv.arrivals["evt-429"]...) })
	require.Len(t, arr, 2)
	require.GreaterOrEqual(t, arr[1].Sub(r.Log[0].At), time.Second)
}

func TestRefusesPrivateWhenNotAllowed(t *testing.T) {
	ctx := context.Background()
	rcv := newReceiver(t, []string{"b-secret"}, func(*receiver, string, int) (int, http.Header) { return http.StatusOK, nil })
	st := openStore(t, t.TempDir(), keyring(t))
	d := start(t, st, webhook.WithSchedule(), webhook.WithAllowPrivate(false))
	_, err := d.Enqueue(ctx, event("tenant-b", "evt-ssrf", rcv.url()))
	require.NoError(t, err)
	waitFor(t, "dead", func() bool { return record(t, st, "tenant-b", "evt-ssrf").State == webhooks.StateDead })
	r := record(t, st, "tenant-b", "evt-ssrf")
	require.Len(t, r.Log, 1)
	require.Equal(t, "destination address not allowed", r.Log[0].Error)
	require.Zero(t, rcv.unique())
	rcv.with(func() {
		require.Empty(t, rcv.requests)
	})
}

func TestSecretUnavailableIsRetried(t *testing.T) {
	ctx := context.Background()
	rcv := newReceiver(t, []string{"late-secret"}, func(*receiver, string, int) (int, http.Header) { return http.StatusOK, nil })
	var (
		mu      sync.Mutex
		secrets []string
	)
	st := openStore(t, t.TempDir(), keyring(t))
	d := start(t, st, webhook.WithSchedule(5*time.Millisecond, 5*time.Millisecond, 5*time.Millisecond, time.Hour),
		webhook.WithSecrets(func(context.Context, string) ([]string, error) {
			mu.Lock()
			defer mu.Unlock()
			return secrets, nil
		}))
	_, err := d.Enqueue(ctx, event("tenant-c", "evt-1", rcv.url()))
	require.NoError(t, err)
	waitFor(t, "failed attempts", func() bool { return record(t, st, "tenant-c", "evt-1").Attempts >= 2 })
	rcv.with(func() {
		require.Empty(t, rcv.requests, "nothing unsigned is sent")
	})
	require.Equal(t, "no signing secret", record(t, st, "tenant-c", "evt-1").Log[0].Error)
	mu.Lock()
	secrets = []string{"late-secret"}
	mu.Unlock()
	_, err = d.Replay(ctx, "tenant-c", "evt-1") // bring a possibly long retry forward
	require.NoError(t, err)
	waitFor(t, "delivered", func() bool { return rcv.unique() == 1 })
}

func TestNewValidates(t *testing.T) {
	st := openStore(t, t.TempDir(), keyring(t))
	_, err := webhook.New(st)
	require.ErrorIs(t, err, webhook.ErrInvalidConfig, "secrets are required")
	sec := webhook.WithSecrets(secretsOf(nil))
	for i, o := range []webhook.Option{webhook.WithTimeout(0), webhook.WithSchedule(time.Second, 0), webhook.WithJitter(1),
		webhook.WithEndpointConcurrency(0), webhook.WithMaxInFlight(-1), webhook.WithBatch(0), webhook.WithPollInterval(0)} {
		_, err := webhook.New(st, sec, o)
		require.ErrorIs(t, err, webhook.ErrInvalidConfig, strconv.Itoa(i))
	}
	d, err := webhook.New(st, sec)
	require.NoError(t, err)
	require.NoError(t, d.Start(context.Background()))
	require.ErrorIs(t, d.Start(context.Background()), webhook.ErrStarted)
	require.NoError(t, d.Close())
	require.NoError(t, d.Close())
	require.ErrorIs(t, d.Start(context.Background()), webhook.ErrClosed)
}
