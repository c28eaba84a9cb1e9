package node_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/protobuf/proto"

	"github.com/openekyc/ekyc/config"
	"github.com/openekyc/ekyc/inference/ort"
	"github.com/openekyc/ekyc/internal/testgen"
	"github.com/openekyc/ekyc/node"
	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
)

// TestFaceDedupEndToEnd: the second session of the same face (another photo)
// is flagged FACE_DUPLICATE_IDENTITY with the first session in
// face.dedup.session and goes to review; another person is not; another
// tenant does not see the first tenant's faces; the embedded vector index
// keeps the embeddings across a restart of the node. It runs on the embedded
// index and, with EKYC_TEST_MILVUS=host:port (deploy/local/itest.sh), on Milvus.
func TestFaceDedupEndToEnd(t *testing.T) {
	t.Run("hnsw", func(t *testing.T) { testFaceDedup(t, func(*config.Config) {}) })
	t.Run("milvus", func(t *testing.T) {
		addr := os.Getenv("EKYC_TEST_MILVUS")
		if addr == "" {
			t.Skip("EKYC_TEST_MILVUS not set: no Milvus server; deploy/local/itest.sh starts Milvus Lite (deploy/local/milvus.sh)")
		}
		testFaceDedup(t, func(cfg *config.Config) {
			cfg.Vectors.Backend = "milvus"
			cfg.Vectors.Milvus = config.Milvus{Address: addr, Collection: fmt.Sprintf("ekyc_node_test_%d", time.Now().UnixNano())}
		})
	})
}

func testFaceDedup(t *testing.T, configure func(*config.Config)) {
	if testing.Short() {
		t.Skip("end-to-end test skipped in -short mode")
	}
	if _, err := os.Stat(filepath.Join(ort.DefaultDir(), "face_embed")); err != nil {
		t.Skipf("face models not in %s: run make models", ort.DefaultDir())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cfg := testConfig(t)
	cfg.Checks.Timeout = config.Duration(30 * time.Second)
	cfg.Cluster.RequestTimeout = config.Duration(2 * time.Minute)
	cfg.Tenants = append(cfg.Tenants, config.Tenant{ID: "other", DefaultPolicy: "default"})
	configure(&cfg)
	for _, f := range []string{"obama.jpg", "obama2.jpg", "biden.jpg"} {
		b, err := os.ReadFile(filepath.Join("..", "testdata", "faces", f))
		require.NoError(t, err)
		require.NoError(t, os.MkdirAll(cfg.Images.Dir, 0o750))
		require.NoError(t, os.WriteFile(filepath.Join(cfg.Images.Dir, f), b, 0o600))
	}
	start := func() *node.Node {
		n, err := node.Start(ctx, cfg, node.WithLogger(quietLogger()), node.WithClock(func() time.Time { return fixedNow }))
		require.NoError(t, err)
		return n
	}
	p := testgen.TD3{Issuer: "UTO", Nationality: "UTO", Surname: "OBAMA", Given: "BARACK", Number: "L12345678", Sex: "M",
		Birth: time.Date(1961, 8, 4, 0, 0, 0, 0, time.UTC), Expiry: fixedNow.AddDate(5, 0, 0)}
	lines := p.Lines()
	// decide submits one session and waits for its decision: the previous
	// session's embedding is inserted before its decision is emitted.
	decide := func(n *node.Node, tenant, sid, selfie, doc string) (*ekycv1.Decision, *ekycv1.CheckResult) {
		t.Helper()
		req := &ekycv1.VerificationRequest{
			TenantId: tenant, SessionId: sid, EventId: "evt-" + sid,
			Applicant: &ekycv1.Applicant{GivenNames: "Barack", Surname: "Obama", DateOfBirth: "1961-08-04", Nationality: "UTO"},
			Document: &ekycv1.Document{Type: ekycv1.DocumentType_DOCUMENT_TYPE_PASSPORT, MrzLines: lines[:],
				Images: []*ekycv1.ImageRef{{Uri: "file://" + doc, Side: "front"}}},
			Selfies:         []*ekycv1.ImageRef{{Uri: "file://" + selfie}},
			RequestedChecks: []ekycv1.CheckKind{ekycv1.CheckKind_CHECK_KIND_DOCUMENT, ekycv1.CheckKind_CHECK_KIND_FACE},
		}
		v, err := proto.Marshal(req)
		require.NoError(t, err)
		require.NoError(t, mustClient(t, n.Brokers()).ProduceSync(ctx, &kgo.Record{Topic: cfg.Kafka.Topics.Requests, Key: []byte(sid), Value: v}).FirstErr())
		out := collect(ctx, t, n.Brokers(), cfg, func(o *outputs) bool { return len(o.decisions[sid]) > 0 })
		require.NoError(t, ctx.Err(), sid)
		d := out.decisions[sid][0]
		for _, c := range d.GetChecks() {
			if c.GetKind() == ekycv1.CheckKind_CHECK_KIND_FACE {
				require.NotEqual(t, ekycv1.CheckStatus_CHECK_STATUS_ERROR, c.GetStatus(), "%s: %s", sid, c.GetError())
				return d, c
			}
		}
		t.Fatalf("%s: no face check", sid)
		return nil, nil
	}

	n := start()
	d, fc := decide(n, "demo", "dup-first", "obama.jpg", "obama2.jpg")
	require.Equal(t, ekycv1.Outcome_OUTCOME_APPROVE, d.GetOutcome(), "%v", d.GetReasonCodes())
	require.NotNil(t, findSignal(fc, "face.dedup.match"))
	require.False(t, findSignal(fc, "face.dedup.match").GetFlag(), "nothing stored yet")

	d, fc = decide(n, "demo", "dup-second", "obama2.jpg", "obama.jpg")
	require.Equal(t, ekycv1.Outcome_OUTCOME_REVIEW, d.GetOutcome(), "%v", d.GetReasonCodes())
	require.Contains(t, d.GetReasonCodes(), "FACE_DUPLICATE_IDENTITY")
	require.True(t, findSignal(fc, "face.dedup.match").GetFlag())
	require.Equal(t, "dup-first", findSignal(fc, "face.dedup.session").GetText())
	require.Greater(t, findSignal(fc, "face.dedup.similarity").GetNumber(), cfg.Face.DedupThreshold)

	d, fc = decide(n, "demo", "dup-biden", "biden.jpg", "biden.jpg")
	require.NotContains(t, d.GetReasonCodes(), "FACE_DUPLICATE_IDENTITY")
	require.False(t, findSignal(fc, "face.dedup.match").GetFlag())

	d, _ = decide(n, "other", "dup-other-tenant", "obama.jpg", "obama2.jpg")
	require.NotContains(t, d.GetReasonCodes(), "FACE_DUPLICATE_IDENTITY", "another tenant's faces are not searched")

	// The index is durable: after a restart the face is still known.
	n.Close(true)
	n = start()
	defer n.Close(true)
	d, fc = decide(n, "demo", "dup-after-restart", "obama.jpg", "obama2.jpg")
	require.Contains(t, d.GetReasonCodes(), "FACE_DUPLICATE_IDENTITY")
	require.Contains(t, []string{"dup-first", "dup-second"}, findSignal(fc, "face.dedup.session").GetText())
}
