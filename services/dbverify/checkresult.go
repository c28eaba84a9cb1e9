package dbverify

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"

	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
	"github.com/openekyc/ekyc/services/document/mrz"
	"github.com/openekyc/ekyc/services/reasons"
	"github.com/openekyc/ekyc/services/signal"
)

// Signal names of the database check, as policies see them after the
// "database." prefix.
const (
	// SignalMatchSuffix: "<field>.match" is a flag per field the registry
	// compared (true: match, false: no_match); a field the registry did not
	// compare has no signal (read it with `database.?surname.?match`).
	SignalMatchSuffix = ".match"
	// SignalOutcome is match, partial_match, no_match or inconclusive.
	SignalOutcome = "outcome"
	// SignalRecordFound is false when the registry holds no record.
	SignalRecordFound = "record_found"
	// SignalComparedFields and SignalMatchedFields count fields (unit count).
	SignalComparedFields = "compared_fields"
	SignalMatchedFields  = "matched_fields"
	// SignalConnector names the connector that asked the registry.
	SignalConnector = "connector"
	// SignalReference is the registry's reference of the transaction,
	// when it gives one.
	SignalReference = "reference"
)

// CheckResult turns a registry answer into the database check's result:
// PASS when every compared field matched, CONSIDER with
// DATABASE_PARTIAL_MATCH when some did not, FAIL with DATABASE_NO_MATCH when
// there is no record or nothing matched, CONSIDER with
// DATABASE_INCONCLUSIVE when nothing was compared. The score is the share of
// compared fields that matched.
func CheckResult(res Result) *ekycv1.CheckResult {
	out := &ekycv1.CheckResult{Kind: ekycv1.CheckKind_CHECK_KIND_DATABASE}
	outcome := res.Outcome()
	switch outcome {
	case OutcomeNoMatch:
		out.ReasonCodes = []string{reasons.DatabaseNoMatch}
	case OutcomePartialMatch:
		out.ReasonCodes = []string{reasons.DatabasePartialMatch}
	case OutcomeInconclusive:
		out.ReasonCodes = []string{reasons.DatabaseInconclusive}
	}
	compared, matched := res.Counts()
	if !res.Found {
		compared, matched = 0, 0
	}
	out.Signals = []*ekycv1.Signal{
		signal.Text(SignalOutcome, string(outcome)),
		signal.Flag(SignalRecordFound, res.Found),
		signal.Number(SignalComparedFields, float64(compared), "count"),
		signal.Number(SignalMatchedFields, float64(matched), "count"),
		signal.Text(SignalConnector, res.Connector),
	}
	if res.Found {
		for _, f := range Fields {
			switch res.Fields[f] {
			case StatusMatch:
				out.Signals = append(out.Signals, signal.Flag(string(f)+SignalMatchSuffix, true))
			case StatusNoMatch:
				out.Signals = append(out.Signals, signal.Flag(string(f)+SignalMatchSuffix, false))
			}
		}
	}
	if res.Reference != "" {
		out.Signals = append(out.Signals, signal.Text(SignalReference, res.Reference))
	}
	out.Status = signal.Status(out.ReasonCodes)
	if compared > 0 {
		out.Score = float64(matched) / float64(compared)
	}
	return out
}

// ErrorResult is the database check's result for a failed Verify:
// DATABASE_INSUFFICIENT_DATA (CONSIDER: the registry was not asked) for
// ErrInsufficientData; otherwise status ERROR with DATABASE_UNAVAILABLE
// (ErrUnavailable, the circuit open included) or DATABASE_RESPONSE_INVALID
// (ErrRejected, ErrResponse, anything else). Error holds err's text, which
// names the connector and the failing field or status, never applicant data.
func ErrorResult(connector string, err error) *ekycv1.CheckResult {
	out := &ekycv1.CheckResult{Kind: ekycv1.CheckKind_CHECK_KIND_DATABASE, Status: ekycv1.CheckStatus_CHECK_STATUS_ERROR}
	if err != nil {
		out.Error = err.Error()
	}
	switch {
	case errors.Is(err, ErrInsufficientData):
		out.ReasonCodes = []string{reasons.DatabaseInsufficientData}
		out.Status = signal.Status(out.ReasonCodes)
	case errors.Is(err, ErrUnavailable):
		out.ReasonCodes = []string{reasons.DatabaseUnavailable}
	default:
		out.ReasonCodes = []string{reasons.DatabaseResponseInvalid}
	}
	out.Signals = []*ekycv1.Signal{signal.Text(SignalConnector, connector)}
	return out
}

// QueryFromRequest builds the registry query of a verification request:
// the declared applicant data, the declared document type and issuing
// country, and the document number read from the MRZ (when its check digit
// holds; the issuing state too, when none is declared). RequestID is a
// SHA-256 of tenant/session/event (32 hex digits): stable across retries,
// and it tells the registry nothing about the applicant or the client's ids.
func QueryFromRequest(req *ekycv1.VerificationRequest) Query {
	a := req.GetApplicant()
	q := Query{
		GivenNames:     strings.TrimSpace(a.GetGivenNames()),
		Surname:        strings.TrimSpace(a.GetSurname()),
		DateOfBirth:    strings.TrimSpace(a.GetDateOfBirth()),
		Nationality:    strings.TrimSpace(a.GetNationality()),
		AddressLine:    strings.Join(nonEmpty(a.GetAddress().GetLines()), ", "),
		City:           strings.TrimSpace(a.GetAddress().GetCity()),
		PostalCode:     strings.TrimSpace(a.GetAddress().GetPostalCode()),
		AddressCountry: strings.TrimSpace(a.GetAddress().GetCountry()),
		IssuingCountry: strings.TrimSpace(req.GetDocument().GetIssuingCountry()),
		DocumentType:   documentType(req.GetDocument().GetType()),
	}
	if lines := req.GetDocument().GetMrzLines(); len(lines) > 0 {
		if m, err := mrz.Parse(lines); err == nil {
			if c, ok := m.Check(mrz.FieldDocumentNumber); !ok || c.OK {
				q.DocumentNumber = m.DocumentNumber
			}
			if q.IssuingCountry == "" {
				q.IssuingCountry = m.IssuingState
			}
		}
	}
	sum := sha256.Sum256([]byte(req.GetTenantId() + "/" + req.GetSessionId() + "/" + req.GetEventId()))
	q.RequestID = hex.EncodeToString(sum[:16])
	return q
}

func nonEmpty(ss []string) []string {
	out := make([]string, 0, len(ss))
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func documentType(t ekycv1.DocumentType) string {
	switch t {
	case ekycv1.DocumentType_DOCUMENT_TYPE_PASSPORT:
		return "passport"
	case ekycv1.DocumentType_DOCUMENT_TYPE_ID_CARD:
		return "id_card"
	case ekycv1.DocumentType_DOCUMENT_TYPE_RESIDENCE_PERMIT:
		return "residence_permit"
	case ekycv1.DocumentType_DOCUMENT_TYPE_VISA:
		return "visa"
	case ekycv1.DocumentType_DOCUMENT_TYPE_DRIVING_LICENCE:
		return "driving_licence"
	}
	return ""
}
