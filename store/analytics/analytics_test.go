package analytics_test

import (
	"bytes"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
	"github.com/openekyc/ekyc/services/document"
	"github.com/openekyc/ekyc/services/screening"
	"github.com/openekyc/ekyc/services/signal"
	"github.com/openekyc/ekyc/store/analytics"
)

var (
	decided   = time.Date(2026, 3, 1, 12, 0, 5, 750_000_000, time.UTC)
	submitted = time.Date(2026, 3, 1, 12, 0, 3, 500_000_000, time.UTC)
)

// The personal data of the request: none of it may reach a row.
var personal = []string{"Anna Maria", "ERIKSSON", "1985-08-12", "L898902C3", "Storgatan", "Stockholm", "11122",
	"P<UTOERIKSSON", "https://client.example/cb", "blob://front.jpg"}

func request() *ekycv1.VerificationRequest {
	return &ekycv1.VerificationRequest{
		TenantId: "acme", SessionId: "s-1", EventId: "e-1",
		Applicant: &ekycv1.Applicant{GivenNames: "Anna Maria", Surname: "ERIKSSON", DateOfBirth: "1985-08-12",
			Nationality: "swe", Address: &ekycv1.Address{Lines: []string{"Storgatan 1"}, City: "Stockholm", PostalCode: "11122", Country: "SWE"}},
		Document: &ekycv1.Document{Type: ekycv1.DocumentType_DOCUMENT_TYPE_PASSPORT, IssuingCountry: "gbr",
			MrzLines: []string{"P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "L898902C36UTO7408122F1204159ZE184226B<<<<<10"},
			Images:   []*ekycv1.ImageRef{{Uri: "blob://front.jpg", Side: "front"}}},
		CallbackUrl: "https://client.example/cb",
		SubmittedAt: timestamppb.New(submitted),
	}
}

func decision() *ekycv1.Decision {
	return &ekycv1.Decision{
		DecisionId: "d-1", TenantId: "acme", SessionId: "s-1", EventId: "e-1", NodeId: "node-a",
		Outcome: ekycv1.Outcome_OUTCOME_REVIEW, Score: 61.5,
		ReasonCodes: []string{"SCREENING_PEP_HIT", "FACE_BLURRY"},
		PolicyId:    "default", PolicyVersion: 3,
		DecidedAt:         timestamppb.New(decided),
		SubmittedAt:       timestamppb.New(submitted),
		ProcessingLatency: durationpb.New(2250 * time.Millisecond),
		Checks: []*ekycv1.CheckResult{
			{Kind: ekycv1.CheckKind_CHECK_KIND_SCREENING, Status: ekycv1.CheckStatus_CHECK_STATUS_CONSIDER, Score: 0.1,
				Latency: durationpb.New(1500 * time.Microsecond), Attempts: 1, ReasonCodes: []string{"SCREENING_PEP_HIT"},
				Signals: []*ekycv1.Signal{signal.Text(screening.SignalListVersions, "un@2026-01-15,ofac@2026-02-01")},
				ScreeningHits: []*ekycv1.ScreeningHit{
					{EntityId: "ftm:Q1", ListVersion: "ftm@2026-02-02", Name: "Listed Person"},
					{EntityId: "ftm:Q2", ListVersion: "ftm@2026-02-02", Name: "Other Listed"},
					{EntityId: "un:QDi.1", ListVersion: "un@2026-01-15", Name: "Third"},
				}},
			{Kind: ekycv1.CheckKind_CHECK_KIND_DOCUMENT, Status: ekycv1.CheckStatus_CHECK_STATUS_PASS, Score: 1,
				Latency: durationpb.New(250 * time.Microsecond), Attempts: 1,
				Signals: []*ekycv1.Signal{signal.Text(document.SignalIssuingState, "D<<"), signal.Text(document.SignalCode, "P"),
					signal.Text(document.SignalClass, document.ClassVisa)}},
			{Kind: ekycv1.CheckKind_CHECK_KIND_FACE, Status: ekycv1.CheckStatus_CHECK_STATUS_ERROR,
				Latency: durationpb.New(2 * time.Second), Attempts: 3, ReasonCodes: []string{"CHECK_TIMEOUT"}, Error: "deadline"},
		},
	}
}

func TestFromProto(t *testing.T) {
	got, err := analytics.FromProto(decision(), request())
	require.NoError(t, err)
	want := analytics.Decision{
		DecisionID: "d-1", TenantID: "acme", SessionID: "s-1", EventID: "e-1", NodeID: "node-a",
		Outcome: analytics.OutcomeReview, Score: 61.5, ReasonCodes: []string{"SCREENING_PEP_HIT", "FACE_BLURRY"},
		PolicyID: "default", PolicyVersion: 3,
		DocumentType: "PASSPORT", IssuingCountry: "D", ApplicantCountry: "SWE",
		ListVersions:    []string{"ftm@2026-02-02", "ofac@2026-02-01", "un@2026-01-15"},
		HitListVersions: []string{"ftm@2026-02-02", "un@2026-01-15"},
		ScreeningHits:   3,
		SubmittedAt:     time.Date(2026, 3, 1, 12, 0, 3, 0, time.UTC),
		DecidedAt:       time.Date(2026, 3, 1, 12, 0, 5, 0, time.UTC),
		LatencyMS:       2250,
		Checks: []analytics.Check{
			{Kind: "DOCUMENT", Status: "PASS", Score: 1, LatencyMS: 0.25, Attempts: 1, ReasonCodes: []string{}},
			{Kind: "FACE", Status: "ERROR", LatencyMS: 2000, Attempts: 3, ReasonCodes: []string{"CHECK_TIMEOUT"}},
			{Kind: "SCREENING", Status: "CONSIDER", Score: 0.1, LatencyMS: 1.5, Attempts: 1, ReasonCodes: []string{"SCREENING_PEP_HIT"}},
		},
	}
	require.Equal(t, want, got)
	requireNoPII(t, got)

	st := &ekycv1.SessionState{TenantId: "acme", SessionId: "s-1", Request: request(), Decision: decision()}
	fromSession, err := analytics.FromSession(st)
	require.NoError(t, err)
	require.Equal(t, got, fromSession)
}

// requireNoPII walks every string of the row.
func requireNoPII(t *testing.T, d analytics.Decision) {
	t.Helper()
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.String:
			for _, p := range personal {
				require.NotContains(t, strings.ToUpper(v.String()), strings.ToUpper(p))
			}
		case reflect.Slice:
			for i := range v.Len() {
				walk(v.Index(i))
			}
		case reflect.Struct:
			for i := range v.NumField() {
				walk(v.Field(i))
			}
		}
	}
	walk(reflect.ValueOf(d))
}

func TestFromProtoFallbacks(t *testing.T) {
	// Without a document check the declared issuing country is used;
	// without processing_latency the latency is decided - submitted.
	d := decision()
	d.Checks = d.Checks[2:]
	d.ProcessingLatency = nil
	d.Outcome = ekycv1.Outcome_OUTCOME_APPROVE
	got, err := analytics.FromProto(d, request())
	require.NoError(t, err)
	require.Equal(t, "GBR", got.IssuingCountry)
	require.Equal(t, analytics.OutcomeApprove, got.Outcome)
	require.InDelta(t, 2250, got.LatencyMS, 1e-9)
	require.Empty(t, got.ListVersions)
	require.Equal(t, 0, got.ScreeningHits)

	// Without a request (the decisions topic alone): the document type and
	// issuing country from the MRZ, no nationality.
	got, err = analytics.FromProto(decision(), nil)
	require.NoError(t, err)
	require.Equal(t, "VISA", got.DocumentType, "the MRZ class (the declared type wins when known)")
	require.Equal(t, "D", got.IssuingCountry)
	require.Empty(t, got.ApplicantCountry)

	// Without a request or a document check: no document, no country; no
	// submitted_at.
	d.SubmittedAt = nil
	got, err = analytics.FromProto(d, nil)
	require.NoError(t, err)
	require.Empty(t, got.DocumentType)
	require.Empty(t, got.IssuingCountry)
	require.Empty(t, got.ApplicantCountry)
	require.Equal(t, analytics.MinTime, got.SubmittedAt, "an unknown submitted_at is the epoch")
	require.Zero(t, got.LatencyMS)

	// A request without a document type still has a document.
	req := request()
	req.Document.Type = ekycv1.DocumentType_DOCUMENT_TYPE_UNSPECIFIED
	got, err = analytics.FromProto(decision(), req)
	require.NoError(t, err)
	require.Equal(t, "UNSPECIFIED", got.DocumentType)
}

func TestFromProtoInvalid(t *testing.T) {
	_, err := analytics.FromProto(nil, request())
	require.ErrorIs(t, err, analytics.ErrInvalidArgument)
	d := decision()
	d.DecidedAt = nil
	_, err = analytics.FromProto(d, request())
	require.ErrorIs(t, err, analytics.ErrInvalidArgument, "no decided_at")
	d = decision()
	d.DecisionId = ""
	_, err = analytics.FromProto(d, request())
	require.ErrorIs(t, err, analytics.ErrInvalidArgument)
	d = decision()
	d.Checks = append(d.Checks, d.Checks[0])
	_, err = analytics.FromProto(d, request())
	require.ErrorIs(t, err, analytics.ErrInvalidArgument, "two screening results")
	_, err = analytics.FromSession(&ekycv1.SessionState{SessionId: "s"})
	require.ErrorIs(t, err, analytics.ErrInvalidArgument)
}

// The signal names FromProto reads are the ones the checks emit.
func TestSignalNames(t *testing.T) {
	require.Equal(t, document.SignalIssuingState, analytics.SignalIssuingState)
	require.Equal(t, document.SignalClass, analytics.SignalDocumentClass)
	require.Equal(t, screening.SignalListVersions, analytics.SignalListVersions)
	for o := range ekycv1.Outcome_name {
		name := strings.TrimPrefix(ekycv1.Outcome(o).String(), "OUTCOME_")
		require.Contains(t, analytics.Outcomes, name, "every proto outcome is a valid row outcome")
	}
}

func TestNormalizeAndDedupe(t *testing.T) {
	d := analytics.Decision{DecisionID: "a", DecidedAt: decided.In(time.FixedZone("X", 3600)),
		ListVersions: []string{"b", "a", "b"}, Checks: []analytics.Check{{Kind: "FACE"}, {Kind: "DOCUMENT"}}}
	n := analytics.Normalize(d)
	require.Equal(t, time.Date(2026, 3, 1, 12, 0, 5, 0, time.UTC), n.DecidedAt)
	require.Equal(t, time.UTC, n.DecidedAt.Location())
	require.Equal(t, analytics.MinTime, n.SubmittedAt)
	require.Equal(t, []string{"a", "b"}, n.ListVersions)
	require.NotNil(t, n.ReasonCodes)
	require.NotNil(t, n.HitListVersions)
	require.Equal(t, "DOCUMENT", n.Checks[0].Kind)
	require.Equal(t, "FACE", d.Checks[0].Kind, "the argument is not modified")
	require.Equal(t, []string{"b", "a", "b"}, d.ListVersions)

	rows := []analytics.Decision{{DecisionID: "a", NodeID: "1"}, {DecisionID: "b"}, {DecisionID: "a", NodeID: "2"}}
	got := analytics.Dedupe(rows)
	require.Len(t, got, 2)
	require.Equal(t, "1", got[0].NodeID, "the first copy is kept")
}

func TestResolve(t *testing.T) {
	info, r, err := analytics.Resolve(analytics.ReportTopReasonCodes, analytics.Params{})
	require.NoError(t, err)
	require.Equal(t, analytics.ReportTopReasonCodes, info.Name)
	require.Equal(t, analytics.Resolved{From: analytics.MinTime, To: analytics.MaxTime, Limit: analytics.DefaultTopReasonCodes}, r)

	from := time.Date(2026, 1, 2, 3, 4, 5, 600, time.FixedZone("X", 7200))
	_, r, err = analytics.Resolve(analytics.ReportSTPRate, analytics.Params{Tenant: "t", From: from, To: time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC), Limit: 7})
	require.NoError(t, err)
	require.Equal(t, analytics.Resolved{Tenant: "t", From: time.Date(2026, 1, 2, 1, 4, 5, 0, time.UTC), To: analytics.MaxTime, Limit: 7}, r)

	_, _, err = analytics.Resolve("nope", analytics.Params{})
	require.ErrorIs(t, err, analytics.ErrInvalidArgument)
	_, _, err = analytics.Resolve(analytics.ReportSTPRate, analytics.Params{From: from, To: from.Add(-time.Second)})
	require.ErrorIs(t, err, analytics.ErrInvalidArgument)

	seen := map[string]bool{}
	for _, info := range analytics.Reports() {
		require.False(t, seen[info.Name])
		seen[info.Name] = true
		require.NotEmpty(t, info.Columns)
		require.NotEmpty(t, info.Description)
		require.Positive(t, info.DefaultLimit)
	}
	require.Len(t, seen, 7)
}

func TestTableOutput(t *testing.T) {
	info, _ := analytics.LookupReport(analytics.ReportSTPRate)
	tb := analytics.NewTable(info)
	tb.Rows = append(tb.Rows, []any{"acme", int64(3), int64(2), 2.0 / 3, int64(1), 1.0 / 3})
	var text, csv bytes.Buffer
	require.NoError(t, tb.WriteText(&text))
	require.Equal(t, "tenant  decisions  straight_through  stp_rate  auto_approved  auto_approve_rate\n"+
		"acme    3          2                 0.666667  1              0.333333\n", text.String())
	require.NoError(t, tb.WriteCSV(&csv))
	require.Equal(t, "tenant,decisions,straight_through,stp_rate,auto_approved,auto_approve_rate\n"+
		"acme,3,2,0.6666666666666666,1,0.3333333333333333\n", csv.String())
	require.Equal(t, "NaN", analytics.FormatValue(math.NaN()))
}
