package dbverify_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protojson"

	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
	"github.com/openekyc/ekyc/services/dbverify"
	"github.com/openekyc/ekyc/services/reasons"
)

func signalOf(t *testing.T, r *ekycv1.CheckResult, name string) *ekycv1.Signal {
	t.Helper()
	for _, s := range r.GetSignals() {
		if s.GetName() == name {
			return s
		}
	}
	return nil
}

func TestCheckResult(t *testing.T) {
	m, nm, na := dbverify.StatusMatch, dbverify.StatusNoMatch, dbverify.StatusNotAvailable
	for _, tc := range []struct {
		name   string
		res    dbverify.Result
		status ekycv1.CheckStatus
		codes  []string
		score  float64
	}{
		{"match", dbverify.Result{Found: true, Fields: map[dbverify.Field]dbverify.Status{"name": m, "date_of_birth": m, "address": na}},
			ekycv1.CheckStatus_CHECK_STATUS_PASS, nil, 1},
		{"partial", dbverify.Result{Found: true, Fields: map[dbverify.Field]dbverify.Status{"name": m, "date_of_birth": nm}},
			ekycv1.CheckStatus_CHECK_STATUS_CONSIDER, []string{reasons.DatabasePartialMatch}, 0.5},
		{"no match", dbverify.Result{Found: true, Fields: map[dbverify.Field]dbverify.Status{"name": nm, "date_of_birth": nm}},
			ekycv1.CheckStatus_CHECK_STATUS_FAIL, []string{reasons.DatabaseNoMatch}, 0},
		{"not found", dbverify.Result{Found: false},
			ekycv1.CheckStatus_CHECK_STATUS_FAIL, []string{reasons.DatabaseNoMatch}, 0},
		{"inconclusive", dbverify.Result{Found: true, Fields: map[dbverify.Field]dbverify.Status{"name": na}},
			ekycv1.CheckStatus_CHECK_STATUS_CONSIDER, []string{reasons.DatabaseInconclusive}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.res.Connector, tc.res.Reference = "gov", "TX-1"
			r := dbverify.CheckResult(tc.res)
			require.Equal(t, ekycv1.CheckKind_CHECK_KIND_DATABASE, r.GetKind())
			require.Equal(t, tc.status, r.GetStatus())
			require.Equal(t, tc.codes, r.GetReasonCodes())
			require.InDelta(t, tc.score, r.GetScore(), 1e-9)
			require.Equal(t, "gov", signalOf(t, r, "connector").GetText())
			require.Equal(t, "TX-1", signalOf(t, r, "reference").GetText())
			require.Equal(t, tc.res.Found, signalOf(t, r, "record_found").GetFlag())
			require.Equal(t, string(tc.res.Outcome()), signalOf(t, r, "outcome").GetText())
			for f, st := range tc.res.Fields {
				s := signalOf(t, r, string(f)+".match")
				if st == na {
					require.Nil(t, s, "a field the registry did not compare has no signal")
					continue
				}
				require.NotNil(t, s, string(f))
				require.Equal(t, st == m, s.GetFlag())
			}
		})
	}
}

func TestErrorResult(t *testing.T) {
	for _, tc := range []struct {
		err    error
		status ekycv1.CheckStatus
		code   string
	}{
		{fmt.Errorf("%w: x", dbverify.ErrInsufficientData), ekycv1.CheckStatus_CHECK_STATUS_CONSIDER, reasons.DatabaseInsufficientData},
		{fmt.Errorf("%w: %w", dbverify.ErrUnavailable, dbverify.ErrCircuitOpen), ekycv1.CheckStatus_CHECK_STATUS_ERROR, reasons.DatabaseUnavailable},
		{fmt.Errorf("%w: HTTP 503", dbverify.ErrUnavailable), ekycv1.CheckStatus_CHECK_STATUS_ERROR, reasons.DatabaseUnavailable},
		{fmt.Errorf("%w: HTTP 401: %w", dbverify.ErrRejected, dbverify.ErrUnauthorized), ekycv1.CheckStatus_CHECK_STATUS_ERROR, reasons.DatabaseResponseInvalid},
		{fmt.Errorf("%w: malformed JSON", dbverify.ErrResponse), ekycv1.CheckStatus_CHECK_STATUS_ERROR, reasons.DatabaseResponseInvalid},
	} {
		r := dbverify.ErrorResult("gov", tc.err)
		require.Equal(t, tc.status, r.GetStatus(), tc.err)
		require.Equal(t, []string{tc.code}, r.GetReasonCodes())
		require.Equal(t, tc.err.Error(), r.GetError())
		require.Equal(t, "gov", signalOf(t, r, "connector").GetText())
	}
}

func TestQueryFromRequest(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "testdata", "requests", "approve.json"))
	require.NoError(t, err)
	req := &ekycv1.VerificationRequest{}
	require.NoError(t, protojson.Unmarshal(raw, req))
	q := dbverify.QueryFromRequest(req)
	require.Equal(t, "Anna Maria", q.GivenNames)
	require.Equal(t, "Eriksson", q.Surname)
	require.Equal(t, "1985-08-12", q.DateOfBirth)
	require.Equal(t, "UTO", q.Nationality)
	require.Equal(t, "L898902C3", q.DocumentNumber, "from the MRZ")
	require.Equal(t, "UTO", q.IssuingCountry, "the MRZ's issuing state when none is declared")
	require.Equal(t, "passport", q.DocumentType)
	require.Equal(t, "1 Specimen Street", q.AddressLine)
	require.Len(t, q.RequestID, 32)
	require.NotContains(t, q.RequestID, req.GetSessionId())

	// A document number whose check digit fails is not sent.
	req.Document.MrzLines[1] = "L898902C46" + req.Document.MrzLines[1][10:]
	require.Empty(t, dbverify.QueryFromRequest(req).DocumentNumber)
	// No document at all.
	req.Document = nil
	q2 := dbverify.QueryFromRequest(req)
	require.Empty(t, q2.DocumentNumber)
	require.Equal(t, q.RequestID, q2.RequestID, "stable per tenant/session/event")
}
