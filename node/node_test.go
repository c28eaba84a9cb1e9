package node_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/openekyc/ekyc/config"
	"github.com/openekyc/ekyc/internal/testgen"
	"github.com/openekyc/ekyc/node"
	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
	"github.com/openekyc/ekyc/store/analytics"
	"github.com/openekyc/ekyc/streams/codec"
)

// fixedNow is the decision clock of the tests, so expiry and age are stable.
var fixedNow = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func testConfig(t *testing.T) config.Config {
	t.Helper()
	cfg, err := config.Load("", []string{
		"EKYC_DATA_DIR=" + t.TempDir(),
		"EKYC_ADMIN_LISTEN=127.0.0.1:0", "EKYC_GATEWAY_LISTEN=127.0.0.1:0",
		"EKYC_KAFKA_EMBEDDED_PORT=0",
		"EKYC_KAFKA_PARTITIONS=4",
		"EKYC_KAFKA_COMMIT_INTERVAL=200ms",
		"EKYC_POLICIES_DIR=" + filepath.Join("..", "deploy", "policies"),
		"EKYC_NODE_ID=test",
	})
	require.NoError(t, err)
	return cfg
}

func quietLogger() *slog.Logger {
	if os.Getenv("EKYC_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// outputs collects decisions and dead letters by session id.
type outputs struct {
	decisions map[string][]*ekycv1.Decision
	dlq       map[string][]*kgo.Record
}

func header(r *kgo.Record, k string) string {
	for _, h := range r.Headers {
		if h.Key == k {
			return string(h.Value)
		}
	}
	return ""
}

// collect reads the decisions and DLQ topics from the start until done says
// so, or ctx ends.
func collect(ctx context.Context, t *testing.T, brokers []string, cfg config.Config, done func(o *outputs) bool) *outputs {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(cfg.Kafka.Topics.Decisions, cfg.Kafka.Topics.DLQ),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	require.NoError(t, err)
	defer cl.Close()
	o := &outputs{decisions: map[string][]*ekycv1.Decision{}, dlq: map[string][]*kgo.Record{}}
	for !done(o) {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return o
		}
		fs.EachRecord(func(r *kgo.Record) {
			if r.Topic == cfg.Kafka.Topics.DLQ {
				o.dlq[string(r.Key)] = append(o.dlq[string(r.Key)], r)
				return
			}
			d, err := codec.DecodeDecision(r)
			require.NoError(t, err)
			require.Equal(t, string(r.Key), d.GetSessionId())
			o.decisions[d.GetSessionId()] = append(o.decisions[d.GetSessionId()], d)
		})
	}
	return o
}

func produceAll(ctx context.Context, t *testing.T, brokers []string, cases []testgen.Case) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	require.NoError(t, err)
	defer cl.Close()
	recs := make([]*kgo.Record, len(cases))
	for i := range cases {
		recs[i] = cases[i].Record
	}
	require.NoError(t, cl.ProduceSync(ctx, recs...).FirstErr())
}

// TestEndToEnd1000 drives the whole spine through the embedded Kafka: 1,000
// requests (valid, invalid MRZ, other outcomes, malformed), exactly one
// decision per valid request with the expected outcome and reason codes, and
// every malformed record in the DLQ with its reason.
func TestEndToEnd1000(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test skipped in -short mode")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cfg := testConfig(t)
	n, err := node.Start(ctx, cfg, node.WithLogger(quietLogger()), node.WithClock(func() time.Time { return fixedNow }))
	require.NoError(t, err)
	defer n.Close(true)

	gen := testgen.New(1, fixedNow, "demo", cfg.Kafka.Topics.Requests, "e2e")
	cases := make([]testgen.Case, 1000)
	kinds := map[testgen.Kind]int{}
	valid, malformed := 0, 0
	for i := range cases {
		cases[i] = gen.Next()
		kinds[cases[i].Kind]++
		if cases[i].Malformed() {
			malformed++
		} else {
			valid++
		}
	}
	t.Logf("mix: %v (%d to decide, %d malformed)", kinds, valid, malformed)
	require.Greater(t, malformed, 50)
	produceAll(ctx, t, n.Brokers(), cases)

	out := collect(ctx, t, n.Brokers(), cfg, func(o *outputs) bool { return len(o.decisions) >= valid && len(o.dlq) >= malformed })
	require.NoError(t, ctx.Err(), "timed out: %d/%d decisions, %d/%d dead letters", len(out.decisions), valid, len(out.dlq), malformed)

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

	// Offsets are committed once everything completed.
	adm := kadm.NewClient(mustClient(t, n.Brokers()))
	require.Eventually(t, func() bool {
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
	}, time.Minute, 100*time.Millisecond, "committed offsets reach the end of the request topic")

	// Every decision reaches the embedded analytics store, once: its
	// outcome counts equal the decisions published.
	want := map[ekycv1.Outcome]int64{}
	for _, ds := range out.decisions {
		want[ds[0].GetOutcome()]++
	}
	require.Eventually(t, func() bool {
		tb, err := n.Analytics().Report(ctx, analytics.ReportOutcomesDaily, analytics.Params{Tenant: "demo"})
		if err != nil {
			return false
		}
		var total, approve, review, reject int64
		for _, r := range tb.Rows {
			total, approve, review, reject = total+r[2].(int64), approve+r[3].(int64), review+r[4].(int64), reject+r[5].(int64)
		}
		return total == int64(valid) && approve == want[ekycv1.Outcome_OUTCOME_APPROVE] &&
			review == want[ekycv1.Outcome_OUTCOME_REVIEW] && reject == want[ekycv1.Outcome_OUTCOME_REJECT]
	}, time.Minute, 200*time.Millisecond, "analytics outcome counts match the decisions (%v)", want)

	// The admin endpoints answer.
	for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
		resp, err := http.Get("http://" + n.AdminAddr() + p)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, p)
		if p == "/metrics" {
			require.True(t, strings.Contains(string(body), `ekyc_decisions_total{outcome="OUTCOME_APPROVE"}`), "metrics expose decisions")
		}
	}
}

func mustClient(t *testing.T, brokers []string) *kgo.Client {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	require.NoError(t, err)
	t.Cleanup(cl.Close)
	return cl
}

// TestStartFailureCleansUp: a node whose start fails (Triton unreachable)
// returns the error and releases what it had started, without panicking.
func TestStartFailureCleansUp(t *testing.T) {
	cfg := testConfig(t)
	cfg.Inference.Backend = "triton"
	cfg.Inference.Triton.Address = "127.0.0.1:1"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n, err := node.Start(ctx, cfg, node.WithLogger(quietLogger()))
	require.Error(t, err)
	require.Nil(t, n)
	require.Contains(t, err.Error(), "triton")
}
