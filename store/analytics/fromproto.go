package analytics

import (
	"fmt"
	"strings"
	"time"

	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
)

// Signal names read from check results (services/document and
// services/screening define them; a test keeps them in step).
const (
	// SignalIssuingState is the document check's MRZ issuing state.
	SignalIssuingState = "doc.issuing_state"
	// SignalDocumentClass is the document check's class of the MRZ
	// document code (passport, id_card, travel_document, visa, unknown).
	SignalDocumentClass = "doc.class"
	// SignalListVersions is the screening check's comma-separated
	// "source@version" list versions.
	SignalListVersions = "list_versions"
)

// FromSession builds the row of a session at rest from its stored state:
// FromProto(st.Decision, st.Request). This is what the node's AfterDecided
// hook (or an analytics actor fed from it) writes.
func FromSession(st *ekycv1.SessionState) (Decision, error) {
	if st.GetDecision() == nil {
		return Decision{}, fmt.Errorf("%w: session %q has no decision", ErrInvalidArgument, st.GetSessionId())
	}
	return FromProto(st.GetDecision(), st.GetRequest())
}

// FromProto builds the row of a decision. req is the accepted request
// (nil if unknown): it gives the declared document type, the declared
// issuing country and the applicant's nationality; nothing else of the
// applicant is read. The checks are the decision's own (d.Checks). The row
// is validated (ErrInvalidArgument) and normalized (see Normalize).
//
//   - DocumentType is the declared type; when req is nil or carries no
//     document, the document check's MRZ class (signal doc.class:
//     PASSPORT, ID_CARD, TRAVEL_DOCUMENT, VISA, UNSPECIFIED), if any.
//   - IssuingCountry is the document check's MRZ issuing state (signal
//     doc.issuing_state, '<' fillers removed), else the declared issuing
//     country.
//   - ApplicantCountry (the declared nationality) needs req.
//   - ListVersions are the screening check's list_versions signal plus the
//     versions of its hits; HitListVersions the versions of its hits;
//     ScreeningHits their number.
//   - LatencyMS is d.processing_latency; when absent, decided_at minus
//     submitted_at (0 if that is unknown or negative).
func FromProto(d *ekycv1.Decision, req *ekycv1.VerificationRequest) (Decision, error) {
	if d == nil {
		return Decision{}, fmt.Errorf("%w: no decision", ErrInvalidArgument)
	}
	row := Decision{
		DecisionID:    d.GetDecisionId(),
		TenantID:      d.GetTenantId(),
		SessionID:     d.GetSessionId(),
		EventID:       d.GetEventId(),
		NodeID:        d.GetNodeId(),
		Outcome:       strings.TrimPrefix(d.GetOutcome().String(), "OUTCOME_"),
		Score:         d.GetScore(),
		ReasonCodes:   append([]string(nil), d.GetReasonCodes()...),
		PolicyID:      d.GetPolicyId(),
		PolicyVersion: d.GetPolicyVersion(),
	}
	if ts := d.GetDecidedAt(); ts != nil && ts.IsValid() {
		row.DecidedAt = ts.AsTime()
	}
	if ts := d.GetSubmittedAt(); ts != nil && ts.IsValid() {
		row.SubmittedAt = ts.AsTime()
	}
	switch pl := d.GetProcessingLatency(); {
	case pl != nil && pl.IsValid():
		row.LatencyMS = max(0, durationMS(pl.AsDuration()))
	case !row.SubmittedAt.IsZero() && !row.DecidedAt.IsZero():
		row.LatencyMS = max(0, durationMS(row.DecidedAt.Sub(row.SubmittedAt)))
	}
	if doc := req.GetDocument(); doc != nil {
		row.DocumentType = strings.TrimPrefix(doc.GetType().String(), "DOCUMENT_TYPE_")
		row.IssuingCountry = country(doc.GetIssuingCountry())
	}
	row.ApplicantCountry = country(req.GetApplicant().GetNationality())

	declaredDoc := req.GetDocument() != nil
	for _, c := range d.GetChecks() {
		kind := c.GetKind()
		row.Checks = append(row.Checks, Check{
			Kind:        strings.TrimPrefix(kind.String(), "CHECK_KIND_"),
			Status:      strings.TrimPrefix(c.GetStatus().String(), "CHECK_STATUS_"),
			Score:       c.GetScore(),
			LatencyMS:   max(0, durationMS(c.GetLatency().AsDuration())),
			Attempts:    c.GetAttempts(),
			ReasonCodes: append([]string(nil), c.GetReasonCodes()...),
		})
		switch kind {
		case ekycv1.CheckKind_CHECK_KIND_DOCUMENT:
			if s := country(textSignal(c, SignalIssuingState)); s != "" {
				row.IssuingCountry = s
			}
			if class := textSignal(c, SignalDocumentClass); !declaredDoc && class != "" {
				row.DocumentType = documentClass(class)
			}
		case ekycv1.CheckKind_CHECK_KIND_SCREENING:
			for _, v := range strings.Split(textSignal(c, SignalListVersions), ",") {
				if v = strings.TrimSpace(v); v != "" {
					row.ListVersions = append(row.ListVersions, v)
				}
			}
			for _, h := range c.GetScreeningHits() {
				row.ScreeningHits++
				if v := h.GetListVersion(); v != "" {
					row.HitListVersions = append(row.HitListVersions, v)
					row.ListVersions = append(row.ListVersions, v)
				}
			}
		}
	}
	if err := Validate(row); err != nil {
		return Decision{}, err
	}
	return Normalize(row), nil
}

// documentClass maps an MRZ document class to a DocumentType value.
func documentClass(class string) string {
	if class == "unknown" {
		return "UNSPECIFIED"
	}
	return strings.ToUpper(class)
}

func durationMS(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// country normalizes an ICAO country code: upper case, without '<'
// fillers and spaces.
func country(s string) string {
	return strings.ToUpper(strings.Trim(s, "< \t"))
}

func textSignal(c *ekycv1.CheckResult, name string) string {
	for _, s := range c.GetSignals() {
		if s.GetName() == name {
			return s.GetText()
		}
	}
	return ""
}
