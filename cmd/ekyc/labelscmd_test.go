package main

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openekyc/ekyc/store/labels"
)

func TestLabelsExportCLI(t *testing.T) {
	dir := adminEnv(t)
	ctx := context.Background()
	s, err := labels.Open(ctx, filepath.Join(dir, "labels"))
	require.NoError(t, err)
	for _, c := range []string{"c1", "c2"} {
		_, err := s.Put(ctx, labels.Example{Tenant: "demo", SessionID: "s-" + c, CaseID: c, DecisionID: "d-" + c, Label: labels.LabelReject,
			Features: map[string]labels.Feature{"document.mrz.valid": labels.FlagOf(false)}, DecidedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)})
		require.NoError(t, err)
	}
	require.NoError(t, s.Close())

	code, out, errs := runCLI(t, "labels", "export")
	require.Equal(t, 0, code, errs)
	got := jsonLines[map[string]any](t, out)
	require.Len(t, got, 2)
	require.Equal(t, "c1", got[0]["case_id"])
	require.Equal(t, "REJECT", got[1]["label"])
	require.Equal(t, false, got[1]["features"].(map[string]any)["document.mrz.valid"])
	require.Contains(t, errs, "2 examples")

	code, _, _ = runCLI(t, "labels", "import")
	require.Equal(t, 2, code)
}
