package labels_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/timestamppb"

	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
	"github.com/openekyc/ekyc/services/signal"
	"github.com/openekyc/ekyc/store/labels"
)

var at = time.Date(2026, 11, 26, 13, 0, 0, 0, time.UTC)

// reviewed is a session a reviewer rejected, whose checks carry numeric,
// flag and text signals, two of them identifying (a registry reference and
// a duplicate's session id).
func reviewed(tenant, sid, caseID string) *ekycv1.SessionState {
	checks := []*ekycv1.CheckResult{
		{Kind: ekycv1.CheckKind_CHECK_KIND_DOCUMENT, Status: ekycv1.CheckStatus_CHECK_STATUS_CONSIDER, Score: 0.4, Signals: []*ekycv1.Signal{
			signal.Flag("document.mrz.valid", true), signal.Number("document.expiry.days", 12, "days"),
			signal.Text("mrz.format", "TD3"), signal.Text("doc.code", "P"),
		}},
		{Kind: ekycv1.CheckKind_CHECK_KIND_FACE, Status: ekycv1.CheckStatus_CHECK_STATUS_FAIL, Score: 0.1, Signals: []*ekycv1.Signal{
			signal.Number("face.dedup.similarity", 0.93, "cosine"), signal.Text("face.dedup.session", "SECRET-OTHER-SESSION"),
		}},
		{Kind: ekycv1.CheckKind_CHECK_KIND_DATABASE, Status: ekycv1.CheckStatus_CHECK_STATUS_PASS, Score: 1, Signals: []*ekycv1.Signal{
			signal.Text("outcome", "match"), signal.Text("reference", "SECRET-REGISTRY-REF"),
		}},
	}
	prev := &ekycv1.Decision{DecisionId: "dec-review", Outcome: ekycv1.Outcome_OUTCOME_REVIEW, ReasonCodes: []string{"DOCUMENT_EXPIRED"}, Checks: checks, Score: 55}
	return &ekycv1.SessionState{TenantId: tenant, SessionId: sid, Status: ekycv1.SessionStatus_SESSION_STATUS_DECIDED,
		Decision: &ekycv1.Decision{DecisionId: "dec-final-" + caseID, TenantId: tenant, SessionId: sid, Outcome: ekycv1.Outcome_OUTCOME_REJECT,
			ReasonCodes: []string{"DOCUMENT_TAMPERED"}, Reviewed: true, CaseId: caseID, SupersedesDecisionId: "dec-review",
			PolicyId: "default", PolicyVersion: 3, Score: 55, Checks: checks, DecidedAt: timestamppb.New(at)},
		PreviousDecisions: []*ekycv1.Decision{prev}}
}

func open(t *testing.T) (*labels.Store, string) {
	t.Helper()
	dir := t.TempDir()
	s, err := labels.Open(context.Background(), dir)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s, dir
}

func TestFromSessionKeepsMeasurementsNotIdentifiers(t *testing.T) {
	ex, ok := labels.FromSession(reviewed("t1", "s1", "c1"))
	require.True(t, ok)
	require.Equal(t, labels.LabelReject, ex.Label)
	require.Equal(t, []string{"DOCUMENT_EXPIRED"}, ex.ReviewReasons)
	require.Equal(t, []string{"DOCUMENT_TAMPERED"}, ex.LabelReasons)
	require.Equal(t, "dec-review", ex.ReviewDecisionID)
	require.Equal(t, "default", ex.PolicyID)
	require.EqualValues(t, 3, ex.PolicyVersion)
	require.Equal(t, at, ex.DecidedAt)
	f := ex.Features
	require.True(t, *f["document.mrz.valid"].Flag)
	require.Equal(t, 12.0, *f["document.expiry.days"].Number)
	require.Equal(t, "TD3", *f["document.mrz.format"].Text)
	require.Equal(t, "P", *f["document.doc.code"].Text)
	require.Equal(t, 0.93, *f["face.dedup.similarity"].Number)
	require.Equal(t, "FAIL", *f["face.status"].Text)
	require.Equal(t, 0.4, *f["document.score"].Number)
	require.Equal(t, "match", *f["database.outcome"].Text)
	require.NotContains(t, f, "face.dedup.session")
	require.NotContains(t, f, "database.reference")

	for _, st := range []*ekycv1.SessionState{
		{Decision: &ekycv1.Decision{Outcome: ekycv1.Outcome_OUTCOME_REJECT}},                              // not reviewed
		{Decision: &ekycv1.Decision{Outcome: ekycv1.Outcome_OUTCOME_REVIEW, Reviewed: true, CaseId: "c"}}, // not final
		{},
	} {
		_, ok := labels.FromSession(st)
		require.False(t, ok)
	}
}

func TestPutIsIdempotentByCase(t *testing.T) {
	s, _ := open(t)
	ctx := context.Background()
	ex, _ := labels.FromSession(reviewed("t1", "s1", "c1"))
	created, err := s.Put(ctx, ex)
	require.NoError(t, err)
	require.True(t, created)

	again := ex
	again.Label = labels.LabelApprove
	created, err = s.Put(ctx, again)
	require.NoError(t, err)
	require.False(t, created)
	got, err := s.Get(ctx, "t1", "c1")
	require.NoError(t, err)
	require.Equal(t, labels.LabelReject, got.Label, "the first example is kept")
	require.Equal(t, ex.Features, got.Features)

	_, err = s.Get(ctx, "t2", "c1")
	require.ErrorIs(t, err, labels.ErrNotFound, "another tenant's case")
}

func TestPutRejectsInvalidExamples(t *testing.T) {
	s, _ := open(t)
	ctx := context.Background()
	good, _ := labels.FromSession(reviewed("t1", "s1", "c1"))
	for name, mut := range map[string]func(*labels.Example){
		"no tenant":   func(e *labels.Example) { e.Tenant = "" },
		"no case":     func(e *labels.Example) { e.CaseID = "" },
		"bad label":   func(e *labels.Example) { e.Label = "REVIEW" },
		"empty value": func(e *labels.Example) { e.Features = map[string]labels.Feature{"x": {}} },
	} {
		ex := good
		mut(&ex)
		_, err := s.Put(ctx, ex)
		require.ErrorIs(t, err, labels.ErrInvalid, name)
	}
}

func TestRangeAndExport(t *testing.T) {
	s, dir := open(t)
	ctx := context.Background()
	const n = 600 // more than one page
	for i := range n {
		ex, _ := labels.FromSession(reviewed(fmt.Sprintf("t%d", i%3), fmt.Sprintf("s%03d", i), fmt.Sprintf("c%03d", i)))
		_, err := s.Put(ctx, ex)
		require.NoError(t, err)
	}
	seen := map[string]bool{}
	require.NoError(t, s.Range(ctx, func(ex labels.Example) error {
		require.False(t, seen[ex.CaseID])
		seen[ex.CaseID] = true
		return nil
	}))
	require.Len(t, seen, n)

	stop := fmt.Errorf("stop")
	calls := 0
	require.ErrorIs(t, s.Range(ctx, func(labels.Example) error { calls++; return stop }), stop)
	require.Equal(t, 1, calls)

	var buf bytes.Buffer
	wrote, err := s.Export(ctx, &buf)
	require.NoError(t, err)
	require.Equal(t, n, wrote)
	sc := bufio.NewScanner(&buf)
	lines := 0
	for sc.Scan() {
		var m map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &m))
		f := m["features"].(map[string]any)
		require.Equal(t, true, f["document.mrz.valid"])
		require.Equal(t, 12.0, f["document.expiry.days"])
		require.Equal(t, "TD3", f["document.mrz.format"])
		require.Equal(t, "REJECT", m["label"])
		lines++
	}
	require.Equal(t, n, lines)
	require.NotContains(t, buf.String(), "SECRET-")

	// Nothing identifying reaches the database files either.
	require.NoError(t, s.Close())
	require.NoError(t, filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		require.NotContains(t, string(b), "SECRET-", p)
		return nil
	}))
	_, err = s.Put(ctx, labels.Example{})
	require.Error(t, err)
	_, err = s.Get(ctx, "t0", "c000")
	require.ErrorIs(t, err, labels.ErrClosed)
}
