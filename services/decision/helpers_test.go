package decision

import (
	"testing"

	"github.com/stretchr/testify/require"

	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
)

// testPolicy is the policy of the brief, used by most engine tests.
const testPolicy = `
id: default
version: 3
description: test policy
score:
  weights:
    - {signal: document.mrz.valid, weight: 50}
    - {signal: document.data.name_match, weight: 20}
    - {signal: document.data.dob_match, weight: 20}
    - {signal: document.mrz.days_to_expiry, weight: 10, min: 0, max: 180}
  bands: {approve: 80, review: 50}
status_outcomes: {FAIL: REJECT, CONSIDER: REVIEW, ERROR: REVIEW}
rules:
  - name: mrz_invalid
    when: document.mrz.valid == false
    requires: [document]
    outcome: REJECT
    reason: DOC_MRZ_UNREADABLE
  - name: expired
    when: document.mrz.expired
    requires: [document]
    outcome: REJECT
    reason: DOC_EXPIRED
  - name: screening_hit
    when: screening.hits > 0
    requires: [screening]
    outcome: REVIEW
`

const (
	kDoc       = ekycv1.CheckKind_CHECK_KIND_DOCUMENT
	kFace      = ekycv1.CheckKind_CHECK_KIND_FACE
	kScreening = ekycv1.CheckKind_CHECK_KIND_SCREENING
	kDatabase  = ekycv1.CheckKind_CHECK_KIND_DATABASE

	sPass     = ekycv1.CheckStatus_CHECK_STATUS_PASS
	sFail     = ekycv1.CheckStatus_CHECK_STATUS_FAIL
	sConsider = ekycv1.CheckStatus_CHECK_STATUS_CONSIDER
	sError    = ekycv1.CheckStatus_CHECK_STATUS_ERROR

	approve = ekycv1.Outcome_OUTCOME_APPROVE
	review  = ekycv1.Outcome_OUTCOME_REVIEW
	reject  = ekycv1.Outcome_OUTCOME_REJECT
)

func mustParse(t testing.TB, src string, opts ...Option) *Policy {
	t.Helper()
	p, err := ParsePolicy([]byte(src), opts...)
	require.NoError(t, err)
	return p
}

func flag(name string, v bool) *ekycv1.Signal {
	return &ekycv1.Signal{Name: name, Value: &ekycv1.Signal_Flag{Flag: v}}
}

func num(name string, v float64) *ekycv1.Signal {
	return &ekycv1.Signal{Name: name, Value: &ekycv1.Signal_Number{Number: v}}
}

func text(name, v string) *ekycv1.Signal {
	return &ekycv1.Signal{Name: name, Value: &ekycv1.Signal_Text{Text: v}}
}

func check(kind ekycv1.CheckKind, status ekycv1.CheckStatus, reasons []string, signals ...*ekycv1.Signal) *ekycv1.CheckResult {
	return &ekycv1.CheckResult{Kind: kind, Status: status, ReasonCodes: reasons, Signals: signals, Score: 0.5}
}

// goodDocument is a document check of a valid, unexpired MRZ matching the
// declared data: the test policy scores it 100.
func goodDocument(extra ...*ekycv1.Signal) *ekycv1.CheckResult {
	sigs := []*ekycv1.Signal{
		flag("mrz.valid", true),
		flag("mrz.expired", false),
		num("mrz.days_to_expiry", 400),
		num("data.name_match", 1),
		flag("data.dob_match", true),
	}
	return check(kDoc, sPass, nil, append(sigs, extra...)...)
}

func request(checks ...ekycv1.CheckKind) *ekycv1.VerificationRequest {
	return &ekycv1.VerificationRequest{
		TenantId:        "demo",
		SessionId:       "s1",
		EventId:         "e1",
		Applicant:       &ekycv1.Applicant{GivenNames: "ANNA", Surname: "ERIKSSON", DateOfBirth: "1974-08-12", Nationality: "UTO"},
		RequestedChecks: checks,
	}
}

func decide(t testing.TB, p *Policy, in Input) Result {
	t.Helper()
	res, err := p.Decide(in)
	require.NoError(t, err)
	return res
}
