package screening

import (
	"testing"

	"github.com/stretchr/testify/require"

	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
	"github.com/openekyc/ekyc/services/reasons"
	"github.com/openekyc/ekyc/services/screening/media"
)

func TestQueryFromRequest(t *testing.T) {
	q, ok := QueryFromRequest(&ekycv1.VerificationRequest{Applicant: &ekycv1.Applicant{GivenNames: "Anna Maria", Surname: "Eriksson", DateOfBirth: "1974-08-12", Nationality: "D"}})
	require.True(t, ok)
	require.Equal(t, "Anna Maria Eriksson", q.Name)
	require.True(t, q.DOB.Exact())
	require.Equal(t, []string{"DEU"}, q.Countries)
	_, ok = QueryFromRequest(&ekycv1.VerificationRequest{Applicant: &ekycv1.Applicant{DateOfBirth: "1974-08-12"}})
	require.False(t, ok)
	q, _ = QueryFromRequest(&ekycv1.VerificationRequest{Applicant: &ekycv1.Applicant{Surname: "X", Nationality: "XXA"}})
	require.Empty(t, q.Countries, "stateless: no country evidence")
}

func TestCheckResultThreshold(t *testing.T) {
	pep := &Entity{ID: "ftm-1", Topics: []string{"role.pep"}, Programs: []string{"peps"}}
	res := &Result{Versions: []string{"ofac@1", "ftm@2"}, Hits: []Hit{
		{EntityID: "ofac-1", Source: SourceOFAC, Score: 0.91, ListVersion: "ofac@1", Components: Components{Name: 0.88, DOB: 0.03}, Entity: &Entity{Programs: []string{"SDGT"}}},
		{EntityID: "ftm-1", Source: SourceFtM, Score: 0.86, ListVersion: "ftm@2", Entity: pep},
		{EntityID: "ofac-2", Source: SourceOFAC, Score: 0.70, ListVersion: "ofac@1"},
	}}
	c := CheckResult(res, 0.85)
	require.Equal(t, []string{reasons.ScreeningSanctionsHit, reasons.ScreeningPEPHit}, c.GetReasonCodes())
	require.Equal(t, ekycv1.CheckStatus_CHECK_STATUS_CONSIDER, c.GetStatus())
	require.Len(t, c.GetScreeningHits(), 2, "the 0.70 hit is under the threshold")
	require.Equal(t, []string{"SDGT"}, c.GetScreeningHits()[0].GetPrograms())
	require.True(t, c.GetScreeningHits()[1].GetPep())
	require.InDelta(t, 0.03, c.GetScreeningHits()[0].GetComponents()["dob"], 1e-9)

	c = CheckResult(res, 0.95) // nothing reaches it
	require.Empty(t, c.GetReasonCodes())
	require.Equal(t, ekycv1.CheckStatus_CHECK_STATUS_PASS, c.GetStatus())
	require.Empty(t, c.GetScreeningHits())
}

func TestAddMedia(t *testing.T) {
	res := CheckResult(&Result{}, 0.85)
	AddMedia(res, []media.Article{{ID: "a", Score: 0.9}, {ID: "b", Score: 0.4}}, 0.7, nil)
	require.Equal(t, []string{reasons.ScreeningAdverseMedia}, res.GetReasonCodes())
	require.Equal(t, ekycv1.CheckStatus_CHECK_STATUS_CONSIDER, res.GetStatus())

	res = CheckResult(&Result{}, 0.85)
	AddMedia(res, nil, 0.7, media.ErrCircuitOpen)
	require.Equal(t, []string{reasons.ScreeningMediaUnavailable}, res.GetReasonCodes())

	res = CheckResult(&Result{}, 0.85)
	AddMedia(res, []media.Article{{ID: "b", Score: 0.4}}, 0.7, nil)
	require.Empty(t, res.GetReasonCodes())
	require.Equal(t, ekycv1.CheckStatus_CHECK_STATUS_PASS, res.GetStatus())
}
