package node_test

// Integration tests of the spine against a real Apache Kafka broker (KRaft),
// started by deploy/local/kafka.sh. They run only when EKYC_TEST_KAFKA names
// the broker (make itest sets it); TestKafkaBrokerRestart, which restarts the
// shared broker, also needs EKYC_TEST_KAFKA_RESTART=1.
//
//	deploy/local/kafka.sh start single
//	EKYC_TEST_KAFKA=127.0.0.1:29092 EKYC_TEST_KAFKA_RESTART=1 go test -count=1 -run TestKafka ./node/
//	deploy/local/kafka.sh stop single
//
// Every test uses its own topics and consumer group (deleted afterwards when
// it passed), so runs never see each other's records.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/openekyc/ekyc/config"
	"github.com/openekyc/ekyc/internal/testgen"
	"github.com/openekyc/ekyc/node"
	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
	"github.com/openekyc/ekyc/store/sessions"
	"github.com/openekyc/ekyc/store/sessions/pebblestore"
	"github.com/openekyc/ekyc/streams"
	"github.com/openekyc/ekyc/streams/codec"
)

const (
	kitEnv        = "EKYC_TEST_KAFKA"
	kitRestartEnv = "EKYC_TEST_KAFKA_RESTART"
	// kitSingle is the client listener of `deploy/local/kafka.sh start single`.
	kitSingle = "127.0.0.1:29092"
)

// kitBrokers returns the real brokers of EKYC_TEST_KAFKA or skips.
func kitBrokers(t *testing.T) []string {
	t.Helper()
	v := os.Getenv(kitEnv)
	if v == "" {
		t.Skip("EKYC_TEST_KAFKA not set: no real Kafka broker; run make itest (deploy/local/kafka.sh)")
	}
	if testing.Short() {
		t.Skip("Kafka integration test skipped in -short mode")
	}
	return strings.Split(v, ",")
}

// kitConfig is testConfig on the real brokers with fresh topics and group.
func kitConfig(t *testing.T, brokers []string, name string) config.Config {
	t.Helper()
	var b [4]byte
	_, _ = rand.Read(b[:])
	id := fmt.Sprintf("%s-%s-%s", name, time.Now().UTC().Format("150405"), hex.EncodeToString(b[:]))
	cfg := testConfig(t)
	cfg.NodeID = name
	cfg.Kafka.Brokers = brokers
	cfg.Kafka.Group = "itest-" + id
	cfg.Kafka.Topics.Requests = "itest." + id + ".requests"
	cfg.Kafka.Topics.Decisions = "itest." + id + ".decisions"
	cfg.Kafka.Topics.DLQ = "itest." + id + ".dlq"
	cfg.Kafka.Topics.Monitoring = "itest." + id + ".monitoring"
	cfg.Kafka.Partitions = 4
	cfg.Kafka.Replication = 1
	return cfg
}

// kitTopics creates the test's topics and deletes them (and the group)
// after a passing test, so the shared broker does not fill up.
func kitTopics(ctx context.Context, t *testing.T, brokers []string, cfg config.Config) {
	t.Helper()
	cl := mustClient(t, brokers)
	topics := []string{cfg.Kafka.Topics.Requests, cfg.Kafka.Topics.Decisions, cfg.Kafka.Topics.DLQ, cfg.Kafka.Topics.Monitoring}
	require.NoError(t, streams.EnsureTopics(ctx, cl, cfg.Kafka.Partitions, cfg.Kafka.Replication, topics...))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("kept topics %v and group %s for inspection", topics, cfg.Kafka.Group)
			return
		}
		cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
		if err != nil {
			return
		}
		defer cl.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		adm := kadm.NewClient(cl)
		_, _ = adm.DeleteGroups(ctx, cfg.Kafka.Group)
		_, _ = adm.DeleteTopics(ctx, topics...)
	})
}

// kitCases generates n requests of the default mix and counts them.
func kitCases(seed uint64, topic, prefix string, n int) (cases []testgen.Case, valid, malformed int) {
	gen := testgen.New(seed, fixedNow, "demo", topic, prefix)
	cases = make([]testgen.Case, n)
	for i := range cases {
		cases[i] = gen.Next()
		if cases[i].Malformed() {
			malformed++
		} else {
			valid++
		}
	}
	return cases, valid, malformed
}

// kitCollect reads decisions and dead letters into out in the background
// until the returned stop is called; the client reconnects by itself when
// the broker goes away and comes back.
func kitCollect(t *testing.T, brokers []string, cfg config.Config) (out *liveOutputs, stop func()) {
	t.Helper()
	out = &liveOutputs{decisions: map[string][]*ekycv1.Decision{}, dlq: map[string][]string{}}
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(cfg.Kafka.Topics.Decisions, cfg.Kafka.Topics.DLQ),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer cl.Close()
		for ctx.Err() == nil {
			fs := cl.PollFetches(ctx)
			out.mu.Lock()
			fs.EachRecord(func(r *kgo.Record) {
				out.records++
				if r.Topic == cfg.Kafka.Topics.DLQ {
					out.dlq[string(r.Key)] = append(out.dlq[string(r.Key)], header(r, "ekyc-dlq-reason"))
					return
				}
				if d, err := codec.DecodeDecision(r); err == nil {
					out.decisions[d.GetSessionId()] = append(out.decisions[d.GetSessionId()], d)
				}
			})
			out.mu.Unlock()
		}
	}()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return out, stop
}

// kitCheckOutcomes asserts that every request ended with exactly one decision
// outcome (re-emits only with the same decision id, outcome and score) or its
// dead letters, and that nothing else was decided. It returns the number of
// re-emitted duplicates.
func kitCheckOutcomes(t *testing.T, cases []testgen.Case, out *liveOutputs) int {
	t.Helper()
	out.mu.Lock()
	defer out.mu.Unlock()
	dups, valid := 0, 0
	for _, c := range cases {
		if c.Malformed() {
			key := c.SessionID
			if c.Kind == testgen.KeyMismatch {
				key = "other-" + c.SessionID
			}
			reasons := out.dlq[key]
			require.NotEmpty(t, reasons, "dead letter of %s %s", c.Kind, c.SessionID)
			for _, r := range reasons {
				require.Equal(t, c.DLQReason, r, "case %s %s", c.Kind, c.SessionID)
			}
			require.Empty(t, out.decisions[c.SessionID], "no decision for malformed %s", c.SessionID)
			continue
		}
		valid++
		ds := out.decisions[c.SessionID]
		require.NotEmpty(t, ds, "decision of %s %s lost", c.Kind, c.SessionID)
		first := ds[0]
		require.Equal(t, c.Outcome, first.GetOutcome(), "case %s %s: reasons %v", c.Kind, c.SessionID, first.GetReasonCodes())
		for _, r := range c.Reasons {
			require.Contains(t, first.GetReasonCodes(), r, "case %s %s", c.Kind, c.SessionID)
		}
		for _, d := range ds[1:] {
			dups++
			require.Equal(t, first.GetDecisionId(), d.GetDecisionId(), "re-emit of %s keeps the decision id", c.SessionID)
			require.Equal(t, first.GetOutcome(), d.GetOutcome(), "re-emit of %s keeps the outcome", c.SessionID)
			require.Equal(t, first.GetScore(), d.GetScore(), "re-emit of %s keeps the score", c.SessionID)
		}
	}
	require.Len(t, out.decisions, valid, "no decision for a session that was not requested")
	return dups
}

// kitWaitAll waits (bounded by ctx) until every request has an outcome.
func kitWaitAll(ctx context.Context, t *testing.T, out *liveOutputs, valid, malformed int, what string) {
	t.Helper()
	for {
		d, dl, _ := out.counts()
		if d >= valid && dl >= malformed {
			return
		}
		if ctx.Err() != nil {
			require.FailNowf(t, "timed out", "%s: %d/%d decisions, %d/%d dead letters", what, d, valid, dl, malformed)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kitCommittedToEnd reports whether the group's committed offsets reached
// the end of every partition of the request topic.
func kitCommittedToEnd(ctx context.Context, adm *kadm.Client, cfg config.Config) bool {
	ends, err := adm.ListEndOffsets(ctx, cfg.Kafka.Topics.Requests)
	if err != nil {
		return false
	}
	committed, err := adm.FetchOffsets(ctx, cfg.Kafka.Group)
	if err != nil {
		return false
	}
	ok := true
	ends.Each(func(e kadm.ListedOffset) {
		c, found := committed.Lookup(e.Topic, e.Partition)
		if !found || c.At != e.Offset {
			ok = false
		}
	})
	return ok
}

// kitMetric sums the samples of a counter or gauge of the node's registry,
// e.g. ekyc_streams_records_completed_total, ekyc_streams_records_in_flight.
func kitMetric(t *testing.T, n *node.Node, name string) float64 {
	t.Helper()
	mfs, err := n.Registry().Gather()
	require.NoError(t, err)
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			sum += metricValue(m)
		}
	}
	return sum
}

func metricValue(m *dto.Metric) float64 {
	switch {
	case m.GetCounter() != nil:
		return m.GetCounter().GetValue()
	case m.GetGauge() != nil:
		return m.GetGauge().GetValue()
	}
	return 0
}

const (
	kitCompleted = "ekyc_streams_records_completed_total"
	kitInFlight  = "ekyc_streams_records_in_flight"
)

// kitSlowStore adds a fixed latency to every write of a session store, like
// a replicated store across a network (an LWT write to Cassandra takes
// milliseconds). With a small kafka.max_in_flight_per_partition it keeps a
// 2,000-request run going for seconds, long enough for a consumer-group
// rebalance or a broker restart to happen while records are in flight; the
// writes themselves are the real Pebble store's.
type kitSlowStore struct {
	sessions.Store
	delay time.Duration
}

func (s kitSlowStore) Put(ctx context.Context, st *ekycv1.SessionState, expectedVersion int64) error {
	if !sleepCtx(ctx, s.delay) {
		return ctx.Err()
	}
	return s.Store.Put(ctx, st, expectedVersion)
}

// Close leaves the wrapped store open: the test owns it.
func (s kitSlowStore) Close() error { return nil }

func sleepCtx(ctx context.Context, d time.Duration) bool {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-tm.C:
		return true
	}
}

// kitStore opens a Pebble store for the test and wraps it in kitSlowStore.
func kitStore(t *testing.T, delay time.Duration) sessions.Store {
	t.Helper()
	st, err := pebblestore.Open(filepath.Join(t.TempDir(), "sessions"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	return kitSlowStore{Store: st, delay: delay}
}

// kitOutcomes is the number of requests that have an outcome (a decision or
// a dead letter) so far.
func kitOutcomes(out *liveOutputs) int {
	d, dl, _ := out.counts()
	return d + dl
}

// TestKafkaEndToEnd is TestEndToEnd1000 against a real broker: 1,000 mixed
// requests, exactly one decision per valid request with the expected outcome
// and reason codes, every malformed record in the DLQ with its reason, and
// the committed offsets at the end of the request topic once all completed.
func TestKafkaEndToEnd(t *testing.T) {
	brokers := kitBrokers(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cfg := kitConfig(t, brokers, "e2e")
	kitTopics(ctx, t, brokers, cfg)

	cases, valid, malformed := kitCases(11, cfg.Kafka.Topics.Requests, "kafka-e2e", 1000)
	require.Greater(t, malformed, 50)

	t0 := time.Now()
	n, err := node.Start(ctx, cfg, node.WithLogger(quietLogger()), node.WithClock(func() time.Time { return fixedNow }))
	require.NoError(t, err)
	defer n.Close(true)
	require.Equal(t, brokers, n.Brokers(), "the node uses the real broker, not the embedded one")
	t.Logf("node started on %v in %v", brokers, time.Since(t0).Round(time.Millisecond))

	t1 := time.Now()
	produceAll(ctx, t, brokers, cases)
	out := collect(ctx, t, brokers, cfg, func(o *outputs) bool { return len(o.decisions) >= valid && len(o.dlq) >= malformed })
	require.NoError(t, ctx.Err(), "timed out: %d/%d decisions, %d/%d dead letters", len(out.decisions), valid, len(out.dlq), malformed)
	t.Logf("%d decisions and %d dead letters in %v", valid, malformed, time.Since(t1).Round(time.Millisecond))

	for _, c := range cases {
		if c.Malformed() {
			recs := out.dlq[c.SessionID]
			if c.Kind == testgen.KeyMismatch {
				recs = out.dlq["other-"+c.SessionID]
			}
			require.Len(t, recs, 1, "case %s %s: dead letters", c.Kind, c.SessionID)
			r := recs[0]
			require.Equal(t, c.DLQReason, header(r, "ekyc-dlq-reason"), "case %s", c.Kind)
			require.NotEmpty(t, header(r, "ekyc-dlq-detail"))
			require.Equal(t, cfg.Kafka.Topics.Requests, header(r, "ekyc-source-topic"))
			require.NotEmpty(t, header(r, "ekyc-source-offset"))
			require.Equal(t, c.Record.Value, r.Value, "the dead letter keeps the original value")
			require.Empty(t, out.decisions[c.SessionID], "no decision for a malformed record")
			continue
		}
		ds := out.decisions[c.SessionID]
		require.Len(t, ds, 1, "case %s %s: exactly one decision", c.Kind, c.SessionID)
		d := ds[0]
		require.Equal(t, c.Outcome, d.GetOutcome(), "case %s %s: reasons %v", c.Kind, c.SessionID, d.GetReasonCodes())
		for _, r := range c.Reasons {
			require.Contains(t, d.GetReasonCodes(), r, "case %s", c.Kind)
		}
		if c.Kind == testgen.Approve {
			require.Empty(t, d.GetReasonCodes())
			require.GreaterOrEqual(t, d.GetScore(), 80.0)
		}
		require.Equal(t, "default", d.GetPolicyId())
		require.NotZero(t, d.GetPolicyVersion())
		require.NotEmpty(t, d.GetDecisionId())
		require.NotEmpty(t, d.GetChecks())
		require.Equal(t, c.SessionID, d.GetSessionId())
	}
	require.Len(t, out.decisions, valid, "no decision for an unknown session")

	adm := kadm.NewClient(mustClient(t, brokers))
	require.Eventually(t, func() bool { return kitCommittedToEnd(ctx, adm, cfg) }, time.Minute, 100*time.Millisecond,
		"committed offsets reach the end of the request topic")

	for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
		resp, err := http.Get("http://" + n.AdminAddr() + p)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, p)
		if p == "/metrics" {
			require.Contains(t, string(body), `ekyc_decisions_total{outcome="OUTCOME_APPROVE"}`, "metrics expose decisions")
		}
	}
}

// TestKafkaRebalanceInFlight runs two nodes of one consumer group on the real
// broker, sharing one session store: B joins while A has records in flight,
// then A is closed gracefully halfway through 2,000 requests. Every request
// ends with exactly one decision outcome (re-emits only with the same
// decision id and outcome) or its dead letter; none is lost, and the group's
// committed offsets reach the end.
func TestKafkaRebalanceInFlight(t *testing.T) {
	brokers := kitBrokers(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cfg := kitConfig(t, brokers, "rebalance")
	cfg.Kafka.MaxInFlightPerPartition = 2
	kitTopics(ctx, t, brokers, cfg)
	store := kitStore(t, 20*time.Millisecond)

	cases, valid, malformed := kitCases(12, cfg.Kafka.Topics.Requests, "kafka-rebalance", 2000)
	produceAll(ctx, t, brokers, cases)
	out, stopCollect := kitCollect(t, brokers, cfg)

	opts := []node.Option{node.WithLogger(quietLogger()), node.WithClock(func() time.Time { return fixedNow }), node.WithStore(store)}
	cfgA, cfgB := cfg, cfg
	cfgA.NodeID, cfgB.NodeID = "rebalance-a", "rebalance-b"
	cfgB, err := cfgB.WithDataDir(t.TempDir()) // its own vector index, keys, blobs...
	require.NoError(t, err)
	a, err := node.Start(ctx, cfgA, opts...)
	require.NoError(t, err)
	defer a.Close(true)

	require.Eventually(t, func() bool { return kitMetric(t, a, kitCompleted) >= 100 && kitMetric(t, a, kitInFlight) > 0 },
		2*time.Minute, 10*time.Millisecond, "node A makes progress")
	atJoin := kitOutcomes(out)
	require.Less(t, atJoin, len(cases), "A has records left when B starts")
	b, err := node.Start(ctx, cfgB, opts...)
	require.NoError(t, err)
	defer b.Close(true)
	t.Logf("node B started after %d outcomes (A completed %.0f records)", atJoin, kitMetric(t, a, kitCompleted))

	// The rebalance gave B partitions that A had been working on.
	require.Eventually(t, func() bool { return kitMetric(t, b, kitCompleted) >= 1 }, 2*time.Minute, 10*time.Millisecond,
		"node B gets partitions and completes records")
	require.Eventually(t, func() bool { return kitOutcomes(out) >= len(cases)/2 }, 2*time.Minute, 10*time.Millisecond,
		"half of the requests have an outcome")
	atClose := kitOutcomes(out)
	require.Less(t, atClose, len(cases), "A is closed while requests remain")
	inFlightA := kitMetric(t, a, kitInFlight)
	t0 := time.Now()
	a.Close(true)
	t.Logf("closed A gracefully after %d outcomes with %.0f records in flight on A, in %v", atClose, inFlightA, time.Since(t0).Round(time.Millisecond))

	kitWaitAll(ctx, t, out, valid, malformed, "every request ends with an outcome after A left")
	adm := kadm.NewClient(mustClient(t, brokers))
	require.Eventually(t, func() bool { return kitCommittedToEnd(ctx, adm, cfg) }, time.Minute, 100*time.Millisecond,
		"committed offsets reach the end of the request topic")
	b.Close(true)
	stopCollect()

	dups := kitCheckOutcomes(t, cases, out)
	t.Logf("%d decisions (%d re-emitted duplicates, same id and outcome), %d dead letters; completed by A %.0f, by B %.0f",
		valid, dups, malformed, kitMetric(t, a, kitCompleted), kitMetric(t, b, kitCompleted))
}

// TestKafkaBrokerRestart restarts the single broker with
// `deploy/local/kafka.sh restart single` (data kept) while a node works
// through 2,000 requests: the node reconnects and every request ends with
// exactly one decision outcome or its dead letter, none lost.
func TestKafkaBrokerRestart(t *testing.T) {
	brokers := kitBrokers(t)
	if os.Getenv(kitRestartEnv) != "1" {
		t.Skip("EKYC_TEST_KAFKA_RESTART=1 not set: this test restarts the shared broker (deploy/local/kafka.sh restart single)")
	}
	if len(brokers) != 1 || brokers[0] != kitSingle {
		t.Skipf("EKYC_TEST_KAFKA=%s: the restart test restarts the single broker of deploy/local/kafka.sh (%s)", strings.Join(brokers, ","), kitSingle)
	}
	script, err := filepath.Abs(filepath.Join("..", "deploy", "local", "kafka.sh"))
	require.NoError(t, err)
	require.FileExists(t, script)

	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	cfg := kitConfig(t, brokers, "restart")
	cfg.Kafka.MaxInFlightPerPartition = 2
	kitTopics(ctx, t, brokers, cfg)

	cases, valid, malformed := kitCases(13, cfg.Kafka.Topics.Requests, "kafka-restart", 2000)
	produceAll(ctx, t, brokers, cases)
	out, stopCollect := kitCollect(t, brokers, cfg)

	n, err := node.Start(ctx, cfg, node.WithLogger(quietLogger()), node.WithClock(func() time.Time { return fixedNow }),
		node.WithStore(kitStore(t, 20*time.Millisecond)))
	require.NoError(t, err)
	defer n.Close(true)
	require.Eventually(t, func() bool { return kitMetric(t, n, kitCompleted) >= 100 && kitMetric(t, n, kitInFlight) > 0 },
		2*time.Minute, 10*time.Millisecond, "the node makes progress")

	before := kitOutcomes(out)
	require.Less(t, before, len(cases), "requests remain when the broker restarts")
	t0 := time.Now()
	cmd := exec.CommandContext(ctx, "bash", script, "restart", "single")
	cmd.WaitDelay = 10 * time.Second
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, "kafka.sh restart single:\n%s", b)
	restarted := time.Since(t0)
	completed := kitMetric(t, n, kitCompleted)
	t.Logf("broker restarted in %v after %d outcomes: %s", restarted.Round(time.Millisecond), before, strings.TrimSpace(string(b)))

	require.Eventually(t, func() bool { return kitMetric(t, n, kitCompleted) > completed }, 2*time.Minute, 10*time.Millisecond,
		"the node completes records again after the broker restart")
	t.Logf("node resumed %v after the restart script returned (%v after the restart began)",
		(time.Since(t0) - restarted).Round(time.Millisecond), time.Since(t0).Round(time.Millisecond))

	kitWaitAll(ctx, t, out, valid, malformed, "every request ends with an outcome after the broker restart")
	adm := kadm.NewClient(mustClient(t, brokers))
	require.Eventually(t, func() bool { return kitCommittedToEnd(ctx, adm, cfg) }, time.Minute, 100*time.Millisecond,
		"committed offsets reach the end of the request topic")
	n.Close(true)
	stopCollect()

	dups := kitCheckOutcomes(t, cases, out)
	t.Logf("%d decisions (%d re-emitted duplicates, same id and outcome), %d dead letters", valid, dups, malformed)
}
