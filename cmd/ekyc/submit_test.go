package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/openekyc/ekyc/config"
	"github.com/openekyc/ekyc/inference/ort"
	"github.com/openekyc/ekyc/node"
	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
)

// TestSubmitSamples runs `ekyc submit` on every sample request against a node
// on embedded defaults and checks the outcome the samples' README promises.
func TestSubmitSamples(t *testing.T) {
	if testing.Short() {
		t.Skip("needs a node; skipped in -short mode")
	}
	cfg, err := config.Load("", []string{
		"EKYC_DATA_DIR=" + t.TempDir(),
		"EKYC_ADMIN_LISTEN=", "EKYC_GATEWAY_LISTEN=",
		"EKYC_KAFKA_EMBEDDED_PORT=0",
		"EKYC_POLICIES_DIR=" + filepath.Join("..", "..", "deploy", "policies"),
		"EKYC_CHECKS_TIMEOUT=20s", "EKYC_CLUSTER_REQUEST_TIMEOUT=90s",
		"EKYC_SCREENING_LISTS=ofac=" + filepath.Join("..", "..", "testdata", "screening", "ofac"),
	})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n, err := node.Start(ctx, cfg, node.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	require.NoError(t, err)
	defer n.Close(true)
	brokers := strings.Join(n.Brokers(), ",")
	for _, f := range []string{"obama.jpg", "obama2.jpg"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "faces", f))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(cfg.Images.Dir, f), b, 0o600))
	}
	_, modelsErr := os.Stat(filepath.Join(ort.DefaultDir(), "face_embed"))

	for file, want := range map[string]struct {
		code    int
		outcome ekycv1.Outcome
		reasons []string
	}{
		"approve.json":          {0, ekycv1.Outcome_OUTCOME_APPROVE, nil},
		"reject-bad-mrz.json":   {0, ekycv1.Outcome_OUTCOME_REJECT, []string{"DOC_MRZ_CHECK_BIRTH_DATE", "DOC_MRZ_CHECK_COMPOSITE"}},
		"review-underage.json":  {0, ekycv1.Outcome_OUTCOME_REVIEW, []string{"DOC_HOLDER_UNDERAGE"}},
		"malformed.json":        {3, 0, nil},
		"approve-face.json":     {0, ekycv1.Outcome_OUTCOME_APPROVE, nil},
		"review-sanctions.json": {0, ekycv1.Outcome_OUTCOME_REVIEW, []string{"SCREENING_SANCTIONS_HIT"}},
	} {
		t.Run(file, func(t *testing.T) {
			if file == "approve-face.json" && modelsErr != nil {
				t.Skipf("face models not in %s: run make models", ort.DefaultDir())
			}
			var out, errb bytes.Buffer
			code := run([]string{"submit", "-brokers", brokers, "-timeout", "30s", "-file", filepath.Join("..", "..", "testdata", "requests", file)}, nil, &out, &errb)
			require.Equal(t, want.code, code, "stderr: %s", errb.String())
			if code != 0 {
				require.Contains(t, errb.String(), "INPUT_VALIDATION_ERROR")
				return
			}
			d := &ekycv1.Decision{}
			require.NoError(t, protojson.Unmarshal(out.Bytes(), d))
			require.Equal(t, want.outcome, d.GetOutcome(), "reasons %v", d.GetReasonCodes())
			for _, r := range want.reasons {
				require.Contains(t, d.GetReasonCodes(), r)
			}
		})
	}
}

func TestUsageErrors(t *testing.T) {
	var out, errb bytes.Buffer
	require.Equal(t, 2, run(nil, nil, &out, &errb))
	require.Equal(t, 2, run([]string{"frobnicate"}, nil, &out, &errb))
	require.Contains(t, errb.String(), "unknown command")
	require.Equal(t, 2, run([]string{"submit"}, nil, &out, &errb))
	require.Equal(t, 2, run([]string{"mrz"}, nil, &out, &errb))
}
