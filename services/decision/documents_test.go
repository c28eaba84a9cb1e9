package decision

import (
	"testing"

	"github.com/stretchr/testify/require"

	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
	"github.com/openekyc/ekyc/services/document"
)

const documentsPolicy = testPolicy + `
documents:
  accept:
    - {class: passport}
    - {class: id_card, countries: [D, FRA, UTO]}
`

func TestDocumentClassesInStep(t *testing.T) {
	require.Equal(t, document.Classes, documentClasses)
}

// TestDocumentsAccepted: a tenant accepting passports of any state and
// identity cards of three states.
func TestDocumentsAccepted(t *testing.T) {
	p := mustParse(t, documentsPolicy)
	doc := func(class, state string) Input {
		return Input{Request: request(kDoc), Checks: []*ekycv1.CheckResult{goodDocument(text("doc.class", class), text("doc.issuing_state", state))}}
	}
	for _, c := range []struct {
		class, state string
		accepted     bool
	}{
		{"passport", "NLD", true}, {"passport", "UTO", true}, {"id_card", "D", true}, {"id_card", "UTO", true},
		{"id_card", "NLD", false}, {"visa", "UTO", false}, {"travel_document", "D", false}, {"unknown", "", false},
	} {
		res := decide(t, p, doc(c.class, c.state))
		if c.accepted {
			require.NotContains(t, res.ReasonCodes, ReasonDocNotAccepted, "%s/%s", c.class, c.state)
			require.Equal(t, approve, res.Outcome, "%s/%s", c.class, c.state)
		} else {
			require.Contains(t, res.ReasonCodes, ReasonDocNotAccepted, "%s/%s", c.class, c.state)
			require.Equal(t, reject, res.Outcome, "%s/%s", c.class, c.state)
		}
	}
	// A document check that did not classify (MRZ unreadable) is left to
	// the other rules.
	res := decide(t, p, Input{Request: request(kDoc), Checks: []*ekycv1.CheckResult{goodDocument()}})
	require.NotContains(t, res.ReasonCodes, ReasonDocNotAccepted)
}

func TestDocumentsSectionErrors(t *testing.T) {
	for _, bad := range []string{
		"documents: {accept: []}",
		"documents: {accept: [{class: driving_licence}]}",
		"documents: {accept: [{class: passport, countries: [germany]}]}",
		"documents: {accept: [{class: passport}], outcome: MAYBE}",
	} {
		_, err := ParsePolicy([]byte(testPolicy + bad))
		require.ErrorIs(t, err, ErrInvalidPolicy, bad)
	}
	p := mustParse(t, testPolicy+"documents: {accept: [{class: passport}], outcome: REVIEW}")
	res := decide(t, p, Input{Request: request(kDoc), Checks: []*ekycv1.CheckResult{goodDocument(text("doc.class", "visa"))}})
	require.Equal(t, review, res.Outcome)
	require.Contains(t, res.ReasonCodes, ReasonDocNotAccepted)
}
