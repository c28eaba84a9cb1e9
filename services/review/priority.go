// Package review is the manual review queue's domain: the priority of a
// case from the reason codes of the decision that opened it, the SLA of
// each priority, and the case state machine as pure functions (no I/O, no
// clock: every transition takes the time it happens at).
//
// A REVIEW decision opens a Case (NewCase). Reviewers (Actor: id, tenant,
// Role) move it with Claim, Release, Decide, Confirm, RejectConfirmation
// and Escalate; each validates the actor's tenant and role, the state, the
// claim (its holder and expiry) and the four-eyes rule, and appends one
// Entry to the case's history. The store (store/review) persists cases
// with compare-and-set, so two reviewers racing on one case cannot both
// win; these functions decide what each of them may do.
//
// History entries hold ids, codes, outcomes and times only, except the
// comment: free text typed by a reviewer, which may contain personal data
// (an applicant's name, say). It is kept, because a decision must be
// explained, and it must be sealed at rest (store/review seals every
// comment with the session's data key, so erasing the session
// crypto-shreds its comments too). It never goes into logs or errors.
package review

import (
	"fmt"
	"strings"
	"time"

	"github.com/openekyc/ekyc/services/reasons"
)

// Priority orders cases: a lower value is more urgent. The zero value is
// not a priority.
type Priority uint8

// Priorities, most urgent first.
const (
	// PrioritySanctions: a sanctions or PEP list hit (SCREENING_*_HIT).
	PrioritySanctions Priority = 1 + iota
	// PriorityDuplicate: the face matches an earlier session
	// (FACE_DUPLICATE_*).
	PriorityDuplicate
	// PriorityLiveness: a failed liveness check (FACE_LIVENESS_*).
	PriorityLiveness
	// PriorityDocument: the document or the applicant's data against it
	// (categories document and data).
	PriorityDocument
	// PriorityOther: everything else (selfie quality and face match,
	// registry checks, adverse media, check errors, score bands, ...).
	PriorityOther
)

// Priorities lists every priority, most urgent first.
var Priorities = []Priority{PrioritySanctions, PriorityDuplicate, PriorityLiveness, PriorityDocument, PriorityOther}

var priorityNames = [...]string{"", "sanctions", "duplicate_identity", "liveness", "document", "other"}

// String is the priority's stable name (sanctions, duplicate_identity,
// liveness, document, other).
func (p Priority) String() string {
	if p.Valid() {
		return priorityNames[p]
	}
	return fmt.Sprintf("priority(%d)", uint8(p))
}

// Valid reports whether p is one of the defined priorities.
func (p Priority) Valid() bool { return p >= PrioritySanctions && p <= PriorityOther }

// ParsePriority is the inverse of String.
func ParsePriority(s string) (Priority, error) {
	for _, p := range Priorities {
		if priorityNames[p] == s {
			return p, nil
		}
	}
	return 0, fmt.Errorf("%w: unknown priority %q", ErrInvalid, truncate(s))
}

// categoryPriority is the priority of each category of codes.yaml, before
// the code-level rules of Classify. Every category of the table must be
// here (a test fails otherwise): a new category is a decision to make, not
// something to fall through silently.
var categoryPriority = map[string]Priority{
	"screening": PriorityOther, // list hits: see Classify
	"face":      PriorityOther, // duplicates and liveness: see Classify
	"document":  PriorityDocument,
	"data":      PriorityDocument,
	"database":  PriorityOther,
	"system":    PriorityOther,
	"decision":  PriorityOther,
	"input":     PriorityOther,
}

// Classify is the priority of one reason code, from its row in the
// reason-code table (services/reasons):
//
//   - category screening and a code ending in _HIT (a sanctions or PEP list
//     hit, which a human must confirm or clear): PrioritySanctions;
//   - category face and a code starting with FACE_DUPLICATE_:
//     PriorityDuplicate;
//   - category face and a code starting with FACE_LIVENESS_:
//     PriorityLiveness;
//   - otherwise the priority of the code's category (document and data:
//     PriorityDocument; anything else PriorityOther).
//
// The rules read the table's category and the code's shape, not a list of
// codes, so a new code lands in its class without an edit here. A code
// that is not in the table is PriorityOther.
func Classify(code string) Priority {
	info, ok := reasons.Lookup(code)
	if !ok {
		return PriorityOther
	}
	switch {
	case info.Category == "screening" && strings.HasSuffix(code, "_HIT"):
		return PrioritySanctions
	case info.Category == "face" && strings.HasPrefix(code, "FACE_DUPLICATE_"):
		return PriorityDuplicate
	case info.Category == "face" && strings.HasPrefix(code, "FACE_LIVENESS_"):
		return PriorityLiveness
	}
	if p, ok := categoryPriority[info.Category]; ok {
		return p
	}
	return PriorityOther
}

// PriorityOf is the most urgent priority among codes; PriorityOther when
// there are none.
func PriorityOf(codes []string) Priority {
	p := PriorityOther
	for _, c := range codes {
		p = min(p, Classify(c))
	}
	return p
}

// SLA is the time a case of each priority may stay undecided. Zero fields
// take the defaults (WithDefaults).
type SLA struct {
	Sanctions time.Duration `yaml:"sanctions" json:"sanctions"`
	Duplicate time.Duration `yaml:"duplicate_identity" json:"duplicate_identity"`
	Liveness  time.Duration `yaml:"liveness" json:"liveness"`
	Document  time.Duration `yaml:"document" json:"document"`
	Other     time.Duration `yaml:"other" json:"other"`
}

// DefaultSLA: sanctions 5 min, duplicate identity 30 min, liveness 4 h,
// document and other 24 h.
func DefaultSLA() SLA {
	return SLA{
		Sanctions: 5 * time.Minute,
		Duplicate: 30 * time.Minute,
		Liveness:  4 * time.Hour,
		Document:  24 * time.Hour,
		Other:     24 * time.Hour,
	}
}

// WithDefaults returns s with every zero field set to its default.
func (s SLA) WithDefaults() SLA {
	d := DefaultSLA()
	for _, f := range []struct{ v, def *time.Duration }{
		{&s.Sanctions, &d.Sanctions}, {&s.Duplicate, &d.Duplicate}, {&s.Liveness, &d.Liveness},
		{&s.Document, &d.Document}, {&s.Other, &d.Other},
	} {
		if *f.v == 0 {
			*f.v = *f.def
		}
	}
	return s
}

// Validate refuses a negative duration (zero means the default).
func (s SLA) Validate() error {
	for _, p := range Priorities {
		if s.durationOf(p) < 0 {
			return fmt.Errorf("%w: negative SLA for priority %s", ErrInvalid, p)
		}
	}
	return nil
}

func (s SLA) durationOf(p Priority) time.Duration {
	switch p {
	case PrioritySanctions:
		return s.Sanctions
	case PriorityDuplicate:
		return s.Duplicate
	case PriorityLiveness:
		return s.Liveness
	case PriorityDocument:
		return s.Document
	default:
		return s.Other
	}
}

// For is the SLA of priority p (zero fields and invalid priorities fall
// back to the defaults: an unknown priority is PriorityOther).
func (s SLA) For(p Priority) time.Duration { return s.WithDefaults().durationOf(p) }

// Due is when a case of priority p opened at openedAt must be decided.
func (s SLA) Due(p Priority, openedAt time.Time) time.Time { return openedAt.Add(s.For(p)) }

func truncate(s string) string {
	const n = 64
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
