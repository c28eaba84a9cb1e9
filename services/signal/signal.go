// Package signal builds the pieces every check result shares: typed signals
// and the check status implied by a set of reason codes.
package signal

import (
	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
	"github.com/openekyc/ekyc/services/reasons"
)

// Flag is a boolean signal.
func Flag(name string, v bool) *ekycv1.Signal {
	return &ekycv1.Signal{Name: name, Value: &ekycv1.Signal_Flag{Flag: v}}
}

// Number is a numeric signal with its unit.
func Number(name string, v float64, unit string) *ekycv1.Signal {
	return &ekycv1.Signal{Name: name, Value: &ekycv1.Signal_Number{Number: v}, Unit: unit}
}

// Text is a text signal.
func Text(name, v string) *ekycv1.Signal {
	return &ekycv1.Signal{Name: name, Value: &ekycv1.Signal_Text{Text: v}}
}

// Status is FAIL when any code is critical, CONSIDER when the worst is a
// warning, PASS otherwise (unknown codes count as critical).
func Status(codes []string) ekycv1.CheckStatus {
	st := ekycv1.CheckStatus_CHECK_STATUS_PASS
	for _, c := range codes {
		switch reasons.SeverityOf(c) {
		case reasons.SeverityCritical:
			return ekycv1.CheckStatus_CHECK_STATUS_FAIL
		case reasons.SeverityWarning:
			st = ekycv1.CheckStatus_CHECK_STATUS_CONSIDER
		}
	}
	return st
}

// Penalties of the checks' score: 1 minus Critical per critical code minus
// Warning per warning, clamped to [0,1].
const (
	PenaltyCritical = 0.5
	PenaltyWarning  = 0.1
)

// Score is 1 − PenaltyCritical per critical code − PenaltyWarning per warning,
// before any check-specific terms; callers clamp after adding theirs.
func Score(codes []string) float64 {
	s := 1.0
	for _, c := range codes {
		switch reasons.SeverityOf(c) {
		case reasons.SeverityCritical:
			s -= PenaltyCritical
		case reasons.SeverityWarning:
			s -= PenaltyWarning
		}
	}
	return s
}
