package node_test

import (
	"context"
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

// TestFaceCheckEndToEnd runs document + face checks through the spine: the
// face check goes through the batching pools to the embedded ONNX Runtime
// backend, and the policy decides on its signals.
func TestFaceCheckEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test skipped in -short mode")
	}
	if _, err := os.Stat(filepath.Join(ort.DefaultDir(), "face_embed")); err != nil {
		t.Skipf("face models not in %s: run make models", ort.DefaultDir())
	}
	t.Run("onnx", func(t *testing.T) { faceEndToEnd(t, "onnx", "") })
	t.Run("triton", func(t *testing.T) {
		addr := os.Getenv("EKYC_TEST_TRITON")
		if addr == "" {
			t.Skip("EKYC_TEST_TRITON not set: no Triton server; run deploy/local/triton.sh start (make itest)")
		}
		faceEndToEnd(t, "triton", addr)
	})
}

func faceEndToEnd(t *testing.T, backend, tritonAddr string) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cfg := testConfig(t)
	cfg.Inference.Backend = backend
	cfg.Inference.Triton.Address = tritonAddr
	cfg.Checks.Timeout = config.Duration(30 * time.Second) // CPU inference on a busy 2-core machine
	cfg.Cluster.RequestTimeout = config.Duration(2 * time.Minute)
	// Two of these sessions use the same selfie: with dedup on, whichever is
	// decided second would be a duplicate (TestFaceDedupEndToEnd covers it).
	cfg.Vectors.Backend = "none"
	// The node reads file:// references from images.dir only.
	for _, f := range []string{"obama.jpg", "obama2.jpg", "biden.jpg", "two_people.jpg"} {
		b, err := os.ReadFile(filepath.Join("..", "testdata", "faces", f))
		require.NoError(t, err)
		require.NoError(t, os.MkdirAll(cfg.Images.Dir, 0o750))
		require.NoError(t, os.WriteFile(filepath.Join(cfg.Images.Dir, f), b, 0o600))
	}
	n, err := node.Start(ctx, cfg, node.WithLogger(quietLogger()), node.WithClock(func() time.Time { return fixedNow }))
	require.NoError(t, err)
	defer n.Close(true)

	p := testgen.TD3{Issuer: "UTO", Nationality: "UTO", Surname: "OBAMA", Given: "BARACK", Number: "L12345678", Sex: "M",
		Birth: time.Date(1961, 8, 4, 0, 0, 0, 0, time.UTC), Expiry: fixedNow.AddDate(5, 0, 0)}
	lines := p.Lines()
	cases := []struct {
		sid, selfie, doc string
		outcome          ekycv1.Outcome
		reason           string
	}{
		{"face-same", "obama.jpg", "obama2.jpg", ekycv1.Outcome_OUTCOME_APPROVE, ""},
		{"face-other", "obama.jpg", "biden.jpg", ekycv1.Outcome_OUTCOME_REJECT, "FACE_MISMATCH"},
		{"face-two", "two_people.jpg", "obama2.jpg", ekycv1.Outcome_OUTCOME_REJECT, "FACE_MULTIPLE"},
		{"face-missing", "nope.jpg", "obama2.jpg", ekycv1.Outcome_OUTCOME_REJECT, "FACE_IMAGE_UNREADABLE"},
	}
	var recs []*kgo.Record
	for _, c := range cases {
		req := &ekycv1.VerificationRequest{
			TenantId: "demo", SessionId: c.sid, EventId: "evt-" + c.sid,
			Applicant: &ekycv1.Applicant{GivenNames: "Barack", Surname: "Obama", DateOfBirth: "1961-08-04", Nationality: "UTO"},
			Document: &ekycv1.Document{Type: ekycv1.DocumentType_DOCUMENT_TYPE_PASSPORT, MrzLines: lines[:],
				Images: []*ekycv1.ImageRef{{Uri: "file://" + c.doc, Side: "front"}}},
			Selfies:         []*ekycv1.ImageRef{{Uri: "file://" + c.selfie}},
			RequestedChecks: []ekycv1.CheckKind{ekycv1.CheckKind_CHECK_KIND_DOCUMENT, ekycv1.CheckKind_CHECK_KIND_FACE},
		}
		v, err := proto.Marshal(req)
		require.NoError(t, err)
		recs = append(recs, &kgo.Record{Topic: cfg.Kafka.Topics.Requests, Key: []byte(c.sid), Value: v})
	}
	cl := mustClient(t, n.Brokers())
	require.NoError(t, cl.ProduceSync(ctx, recs...).FirstErr())
	out := collect(ctx, t, n.Brokers(), cfg, func(o *outputs) bool { return len(o.decisions) >= len(cases) })
	require.NoError(t, ctx.Err())
	for _, c := range cases {
		ds := out.decisions[c.sid]
		require.Len(t, ds, 1, c.sid)
		d := ds[0]
		require.Equal(t, c.outcome, d.GetOutcome(), "%s: reasons %v", c.sid, d.GetReasonCodes())
		if c.reason != "" {
			require.Contains(t, d.GetReasonCodes(), c.reason, c.sid)
		}
		var faceCheck *ekycv1.CheckResult
		for _, ch := range d.GetChecks() {
			if ch.GetKind() == ekycv1.CheckKind_CHECK_KIND_FACE {
				faceCheck = ch
			}
		}
		require.NotNil(t, faceCheck, c.sid)
		require.NotEqual(t, ekycv1.CheckStatus_CHECK_STATUS_ERROR, faceCheck.GetStatus(), "%s: %s", c.sid, faceCheck.GetError())
		if c.sid == "face-same" {
			sim := findSignal(faceCheck, "face.match.similarity")
			require.NotNil(t, sim)
			require.Greater(t, sim.GetNumber(), 0.65)
		}
	}
}

func findSignal(c *ekycv1.CheckResult, name string) *ekycv1.Signal {
	for _, s := range c.GetSignals() {
		if s.GetName() == name {
			return s
		}
	}
	return nil
}
