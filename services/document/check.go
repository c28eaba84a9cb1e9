// Package document implements the document check: it reads the MRZ sent with
// a verification request, validates it (ICAO Doc 9303, see package mrz) and
// compares it with the applicant's declared data.
package document

import (
	"strings"
	"time"

	"github.com/openekyc/ekyc/services/document/mrz"

	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
	"github.com/openekyc/ekyc/services/reasons"
	"github.com/openekyc/ekyc/services/signal"
)

// DefaultMinimumAge is the holder age below which DOC_HOLDER_UNDERAGE is
// reported unless WithMinimumAge says otherwise.
const DefaultMinimumAge = 18

// Signal names, as policies see them after the "document." prefix.
const (
	SignalMRZPresent          = "mrz.present"
	SignalMRZValid            = "mrz.valid"
	SignalMRZFormat           = "mrz.format"
	SignalCheckDigitFailures  = "mrz.check_digit_failures"
	SignalExpired             = "mrz.expired"
	SignalDaysToExpiry        = "mrz.days_to_expiry"
	SignalHolderAgeYears      = "holder.age_years"
	SignalNameMatch           = "data.name_match"
	SignalDOBMatch            = "data.dob_match"
	SignalNationalityMatch    = "data.nationality_match"
	SignalDocumentTypeMatches = "doc.type_match"
)

// penaltyName weighs the declared-name mismatch in score (the critical and
// warning penalties are signal.PenaltyCritical / PenaltyWarning).
const penaltyName = 0.5

type config struct {
	minimumAge    int
	nameThreshold float64
}

// Option tunes CheckMRZData.
type Option func(*config)

// WithMinimumAge sets the minimum holder age in years; 0 (or less) disables
// the age check.
func WithMinimumAge(years int) Option {
	return func(c *config) { c.minimumAge = max(years, 0) }
}

// WithNameThreshold sets the name similarity (0..1) below which the declared
// name is a mismatch (default mrz.DefaultNameThreshold); values outside 0..1
// are ignored.
func WithNameThreshold(t float64) Option {
	return func(c *config) {
		if t >= 0 && t <= 1 {
			c.nameThreshold = t
		}
	}
}

// CheckMRZData runs the document check on the MRZ lines of req, deciding as
// of now. It is a pure function: no I/O, no clock, no logging. Latency and
// attempts are left for the caller to fill in.
//
//   - No MRZ lines and no images: FAIL, DOC_MISSING.
//   - Images but no MRZ lines: ERROR, DOC_OCR_UNAVAILABLE. Reading the MRZ
//     from document images (OCR) arrives in a later issue; until then such
//     requests cannot be checked here.
//   - Lines that are not an MRZ: FAIL, DOC_MRZ_UNREADABLE.
//   - Otherwise the signals listed in the Signal* constants (a signal that
//     needs declared data is emitted only when that data was declared), and
//     as reason codes the codes of every problem found: MRZ structure and
//     check digits, expiry, minimum age, declared document type, and the
//     comparison with the declared applicant data.
//
// Status: FAIL if any reason code is critical in services/reasons/codes.yaml
// (invalid MRZ, expired, name or date-of-birth mismatch, …), CONSIDER if there
// are only warnings (nationality mismatch, underage, type mismatch, invalid
// sex or name field), PASS otherwise.
//
// The holder's age is computed from the MRZ birth date with the century
// resolved as the most recent past one (mrz.BirthCentury), never from the
// declared date: the MRZ has two-digit years, and trusting a declared
// century would let an applicant age themselves by a hundred years. The cost
// is that holders over 100 look young and are sent to review.
func CheckMRZData(req *ekycv1.VerificationRequest, now time.Time, opts ...Option) *ekycv1.CheckResult {
	cfg := config{minimumAge: DefaultMinimumAge, nameThreshold: mrz.DefaultNameThreshold}
	for _, o := range opts {
		o(&cfg)
	}
	res := &ekycv1.CheckResult{Kind: ekycv1.CheckKind_CHECK_KIND_DOCUMENT}
	doc := req.GetDocument()

	var lines []string
	for _, l := range doc.GetMrzLines() {
		if strings.TrimSpace(l) != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		res.Signals = []*ekycv1.Signal{signal.Flag(SignalMRZPresent, false)}
		if len(doc.GetImages()) > 0 {
			res.Status = ekycv1.CheckStatus_CHECK_STATUS_ERROR
			res.ReasonCodes = []string{reasons.DocOCRUnavailable}
			res.Error = "the request has document images but no MRZ lines, and reading the MRZ from images is not available on this node"
			return res
		}
		res.Status = ekycv1.CheckStatus_CHECK_STATUS_FAIL
		res.ReasonCodes = []string{reasons.DocMissing}
		return res
	}

	m, err := mrz.ParseAt(lines, now)
	if err != nil {
		res.Status = ekycv1.CheckStatus_CHECK_STATUS_FAIL
		res.ReasonCodes = []string{reasons.DocMRZUnreadable}
		res.Signals = []*ekycv1.Signal{signal.Flag(SignalMRZPresent, true), signal.Flag(SignalMRZValid, false)}
		return res
	}

	failures := m.CheckDigitFailures()
	res.Signals = []*ekycv1.Signal{
		signal.Flag(SignalMRZPresent, true),
		signal.Flag(SignalMRZValid, m.Valid()),
		signal.Text(SignalMRZFormat, string(m.Format)),
		signal.Number(SignalCheckDigitFailures, float64(failures), "count"),
	}
	res.Signals = append(res.Signals, classSignals(m)...)
	problems := m.Validate(now)

	if days, ok := m.ExpiryDate.DaysUntil(now); ok {
		res.Signals = append(res.Signals,
			signal.Flag(SignalExpired, days < 0),
			signal.Number(SignalDaysToExpiry, float64(days), "days"))
	}
	if age, ok := m.BirthDate.AgeAt(now); ok {
		res.Signals = append(res.Signals, signal.Number(SignalHolderAgeYears, float64(age), "years"))
		if cfg.minimumAge > 0 && age < cfg.minimumAge {
			problems = append(problems, mrz.Problem{Code: reasons.DocHolderUnderage, Field: mrz.FieldBirthDate,
				Detail: "the holder is younger than the minimum age"})
		}
	}

	cmp := mrz.CompareApplicant(m, req.GetApplicant(), mrz.WithNameThreshold(cfg.nameThreshold))
	if cmp.NameCompared {
		res.Signals = append(res.Signals, signal.Number(SignalNameMatch, cmp.NameSimilarity, "ratio"))
	}
	if cmp.DOBCompared {
		res.Signals = append(res.Signals, signal.Flag(SignalDOBMatch, cmp.DOBMatch))
	}
	if cmp.NationalityCompared {
		res.Signals = append(res.Signals, signal.Flag(SignalNationalityMatch, cmp.NationalityMatch))
	}
	problems = append(problems, cmp.Problems...)

	if declared := doc.GetType(); declared != ekycv1.DocumentType_DOCUMENT_TYPE_UNSPECIFIED {
		match := TypeMatches(declared, m)
		res.Signals = append(res.Signals, signal.Flag(SignalDocumentTypeMatches, match))
		if !match {
			problems = append(problems, mrz.Problem{Code: reasons.DocTypeMismatch, Field: mrz.FieldDocumentCode,
				Detail: "the declared document type differs from the MRZ document code"})
		}
	}

	res.ReasonCodes = reasonCodes(problems)
	res.Status = signal.Status(res.ReasonCodes)
	res.Score = score(problems, cmp)
	return res
}

// TypeMatches reports whether the declared document type agrees with the MRZ:
// passports are TD3 with a document code starting P, visas start with V, and
// identity cards and residence permits are TD1/TD2 documents whose code
// starts with A, C or I (Doc 9303 does not tell those two apart). Driving
// licences carry no ICAO 9303 MRZ, so never match.
func TypeMatches(declared ekycv1.DocumentType, m *mrz.MRZ) bool {
	if m == nil || len(m.Lines) == 0 || m.Lines[0] == "" {
		return false
	}
	first := m.Lines[0][0]
	switch declared {
	case ekycv1.DocumentType_DOCUMENT_TYPE_PASSPORT:
		return m.Format == mrz.FormatTD3 && first == 'P'
	case ekycv1.DocumentType_DOCUMENT_TYPE_VISA:
		return (m.Format == mrz.FormatMRVA || m.Format == mrz.FormatMRVB) && first == 'V'
	case ekycv1.DocumentType_DOCUMENT_TYPE_ID_CARD, ekycv1.DocumentType_DOCUMENT_TYPE_RESIDENCE_PERMIT:
		return (m.Format == mrz.FormatTD1 || m.Format == mrz.FormatTD2) && (first == 'A' || first == 'C' || first == 'I')
	default:
		return false
	}
}

// reasonCodes lists the problems' codes, first occurrence first, without
// repeats.
func reasonCodes(problems []mrz.Problem) []string {
	out := make([]string, 0, len(problems))
	seen := make(map[string]bool, len(problems))
	for _, p := range problems {
		if !seen[p.Code] {
			seen[p.Code] = true
			out = append(out, p.Code)
		}
	}
	return out
}

// score is 1 minus penalties, clamped to 0..1:
//
//	0.5 for every critical problem (each failed check digit counts once),
//	0.1 for every warning,
//	0.5 × (1 − name similarity) when a declared name was compared.
//
// So a clean MRZ that matches the declared data scores 1, a name that
// matches at 0.9 scores 0.95, one warning costs 0.1, and two critical
// problems bring the score to 0.
func score(problems []mrz.Problem, cmp mrz.Comparison) float64 {
	codes := make([]string, len(problems))
	for i, p := range problems {
		codes[i] = p.Code
	}
	s := signal.Score(codes)
	if cmp.NameCompared {
		s -= penaltyName * (1 - cmp.NameSimilarity)
	}
	return min(max(s, 0), 1)
}
