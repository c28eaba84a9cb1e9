package intake

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
)

func valid() *ekycv1.VerificationRequest {
	return &ekycv1.VerificationRequest{
		TenantId: "demo", SessionId: "sess-1", EventId: "evt-1",
		RequestedChecks: []ekycv1.CheckKind{ekycv1.CheckKind_CHECK_KIND_DOCUMENT},
		Applicant:       &ekycv1.Applicant{GivenNames: "Anna", Surname: "Eriksson", DateOfBirth: "1974-08-12", Nationality: "UTO"},
		Document:        &ekycv1.Document{MrzLines: []string{"P<UTO", "L898"}},
		CallbackUrl:     "https://example.test/hook",
		SubmittedAt:     timestamppb.Now(),
	}
}

func TestValidateAcceptsAWellFormedRequest(t *testing.T) {
	require.NoError(t, Validate(valid()))
}

func TestValidateNamesTheBadField(t *testing.T) {
	for field, mutate := range map[string]func(r *ekycv1.VerificationRequest){
		"request":                 nil,
		"tenant_id":               func(r *ekycv1.VerificationRequest) { r.TenantId = "Demo/x" },
		"session_id":              func(r *ekycv1.VerificationRequest) { r.SessionId = "" },
		"event_id":                func(r *ekycv1.VerificationRequest) { r.EventId = "" },
		"requested_checks":        func(r *ekycv1.VerificationRequest) { r.RequestedChecks = nil },
		"applicant.date_of_birth": func(r *ekycv1.VerificationRequest) { r.Applicant.DateOfBirth = "12/08/1974" },
		"applicant.nationality":   func(r *ekycv1.VerificationRequest) { r.Applicant.Nationality = "uto" },
		"document.mrz_lines":      func(r *ekycv1.VerificationRequest) { r.Document.MrzLines = []string{"a", "b", "c", "d"} },
		"document.images":         func(r *ekycv1.VerificationRequest) { r.Document.Images = []*ekycv1.ImageRef{{}} },
		"selfies":                 func(r *ekycv1.VerificationRequest) { r.Selfies = make([]*ekycv1.ImageRef, 9) },
		"callback_url":            func(r *ekycv1.VerificationRequest) { r.CallbackUrl = "ftp://x" },
		"policy_id":               func(r *ekycv1.VerificationRequest) { r.PolicyId = "Bad Policy" },
		"applicant.address.country": func(r *ekycv1.VerificationRequest) {
			r.Applicant.Address = &ekycv1.Address{Country: "Utopia"}
		},
	} {
		t.Run(field, func(t *testing.T) {
			var r *ekycv1.VerificationRequest
			if mutate != nil {
				r = proto.Clone(valid()).(*ekycv1.VerificationRequest)
				mutate(r)
			}
			err := Validate(r)
			var ve *ValidationError
			require.True(t, errors.As(err, &ve), "err %v", err)
			require.Equal(t, field, ve.Field)
		})
	}
	r := valid()
	r.RequestedChecks = []ekycv1.CheckKind{99}
	require.ErrorContains(t, Validate(r), "unknown check kind")
}
