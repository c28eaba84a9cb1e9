package mrz

import (
	"sort"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/unicode/norm"

	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
	"github.com/openekyc/ekyc/services/reasons"
)

// DefaultNameThreshold is the name similarity below which CompareApplicant
// reports DATA_NAME_MISMATCH. With the Levenshtein ratio used here, 0.85
// tolerates one typo or OCR slip in a name of about seven letters (one edit
// in "ERIKSSON" scores 0.875), but not a different name.
const DefaultNameThreshold = 0.85

// Comparison is the result of comparing an MRZ with the applicant's declared
// data. A declared field that is empty is not compared (its *Compared flag
// is false) and never counts as a mismatch.
type Comparison struct {
	NameCompared bool `json:"name_compared"`
	// NameSimilarity is 0..1 (1 = same name after normalisation); see
	// NameSimilarity.
	NameSimilarity float64 `json:"name_similarity"`
	NameMatch      bool    `json:"name_match"`

	DOBCompared bool `json:"dob_compared"`
	DOBMatch    bool `json:"dob_match"`

	NationalityCompared bool `json:"nationality_compared"`
	NationalityMatch    bool `json:"nationality_match"`

	// Problems holds DATA_NAME_MISMATCH, DATA_DOB_MISMATCH and
	// DATA_NATIONALITY_MISMATCH as applicable.
	Problems []Problem `json:"problems"`
}

type compareConfig struct {
	nameThreshold float64
}

// CompareOption tunes CompareApplicant.
type CompareOption func(*compareConfig)

// WithNameThreshold sets the similarity (0..1) a name must reach to match;
// values outside 0..1 are ignored.
func WithNameThreshold(t float64) CompareOption {
	return func(c *compareConfig) {
		if t >= 0 && t <= 1 {
			c.nameThreshold = t
		}
	}
}

// CompareApplicant compares the MRZ with the declared applicant data:
// name (similarity against a threshold, DefaultNameThreshold unless
// WithNameThreshold), date of birth (equal on the parts the MRZ gives: two-digit
// year, and month and day when known — so the century guess of the MRZ never
// causes a mismatch) and nationality (same ICAO code, "D" ≡ "DEU").
func CompareApplicant(m *MRZ, a *ekycv1.Applicant, opts ...CompareOption) Comparison {
	cfg := compareConfig{nameThreshold: DefaultNameThreshold}
	for _, o := range opts {
		o(&cfg)
	}
	c := Comparison{Problems: []Problem{}}
	if m == nil || a == nil {
		return c
	}

	if strings.TrimSpace(a.GetSurname()) != "" || strings.TrimSpace(a.GetGivenNames()) != "" {
		c.NameCompared = true
		c.NameSimilarity = NameSimilarity(m, a.GetSurname(), a.GetGivenNames())
		c.NameMatch = c.NameSimilarity >= cfg.nameThreshold
		if !c.NameMatch {
			c.Problems = append(c.Problems, Problem{Code: reasons.DataNameMismatch, Field: FieldName,
				Detail: "the declared name is not similar enough to the MRZ name"})
		}
	}

	if declared := strings.TrimSpace(a.GetDateOfBirth()); declared != "" {
		if match, compared, detail := compareDOB(m.BirthDate, declared); compared {
			c.DOBCompared, c.DOBMatch = true, match
			if !match {
				c.Problems = append(c.Problems, Problem{Code: reasons.DataDOBMismatch, Field: FieldBirthDate, Detail: detail})
			}
		}
	}

	if declared := strings.TrimSpace(a.GetNationality()); declared != "" {
		c.NationalityCompared = true
		c.NationalityMatch = SameState(m.Nationality, declared)
		if !c.NationalityMatch {
			c.Problems = append(c.Problems, Problem{Code: reasons.DataNationalityMismatch, Field: FieldNationality,
				Detail: "the declared nationality differs from the MRZ nationality"})
		}
	}
	return c
}

// DeclaredBirthDate parses an Applicant.date_of_birth (YYYY-MM-DD).
func DeclaredBirthDate(s string) (time.Time, bool) {
	t, err := time.Parse(time.DateOnly, strings.TrimSpace(s))
	return t, err == nil
}

// compareDOB compares the MRZ date of birth with a declared YYYY-MM-DD date.
// compared is false when the MRZ date is unusable (invalid, already reported
// as DOC_MRZ_INVALID_BIRTH_DATE, or entirely unknown).
func compareDOB(d Date, declared string) (match, compared bool, detail string) {
	if !d.Valid || d.Year == 0 {
		return false, false, ""
	}
	t, ok := DeclaredBirthDate(declared)
	if !ok {
		return false, true, "the declared date of birth is not a YYYY-MM-DD date"
	}
	match = t.Year()%100 == d.Year%100 &&
		(d.Month == 0 || int(t.Month()) == d.Month) &&
		(d.Day == 0 || t.Day() == d.Day)
	if !match {
		detail = "the declared date of birth differs from the MRZ date of birth"
	}
	return match, true, detail
}

// NameSimilarity scores the declared surname and given names against the MRZ
// name, 0..1.
//
// Both sides are normalised to A-Z tokens: upper case; the Doc 9303 Part 3
// §6 transliterations Ä→AE, Ö→OE, Ü→UE, Å→AA, Æ→AE, Ø→OE, Œ→OE, ß→SS, Þ→TH,
// Ĳ→IJ (and Ð/Đ→D, Ł→L, Ħ→H, ı→I), any other diacritic dropped
// (NFKD, then marks removed); apostrophes are omitted and every other
// non-letter (space, hyphen, '<', …) separates tokens. A second form that
// merely strips diacritics (Ä→A, Ø→O, …) is also tried, since issuers differ;
// the better score counts.
//
// Each declared component (surname, given names) present is compared with
// the MRZ's: the Levenshtein ratio 1 − distance/max(length) of the
// space-joined tokens, or of the tokens sorted, whichever is higher. When the
// MRZ name is truncated (field full), a declared token that starts with the
// MRZ token counts as equal to it and declared tokens beyond the MRZ's are
// ignored. The result is that of the worse-matching compared component, so a
// matching surname cannot carry different given names (siblings) over the
// threshold.
func NameSimilarity(m *MRZ, surname, givenNames string) float64 {
	if m == nil {
		return 0
	}
	hasSurname, hasGiven := strings.TrimSpace(surname) != "", strings.TrimSpace(givenNames) != ""
	if !hasSurname && !hasGiven {
		return 0
	}
	best := 0.0
	for _, translit := range []bool{true, false} {
		score := 1.0
		if hasSurname {
			score = min(score, componentSimilarity(m.surnameTokens, nameTokens(surname, translit), m.NameTruncated))
		}
		if hasGiven {
			score = min(score, componentSimilarity(m.givenTokens, nameTokens(givenNames, translit), m.NameTruncated))
		}
		best = max(best, score)
	}
	return best
}

func componentSimilarity(mrzTokens, declared []string, truncated bool) float64 {
	decl := append([]string(nil), declared...)
	if truncated {
		for i, mt := range mrzTokens {
			if i < len(decl) && len(decl[i]) > len(mt) && strings.HasPrefix(decl[i], mt) {
				decl[i] = mt
			}
		}
		if len(decl) > len(mrzTokens) {
			decl = decl[:len(mrzTokens)]
		}
	}
	r := ratio(strings.Join(mrzTokens, " "), strings.Join(decl, " "))
	if r < 1 {
		ms := append([]string(nil), mrzTokens...)
		sort.Strings(ms)
		sort.Strings(decl)
		if rs := ratio(strings.Join(ms, " "), strings.Join(decl, " ")); rs > r {
			r = rs
		}
	}
	return r
}

// ratio is 1 − Levenshtein(a, b)/max(len(a), len(b)) on bytes (both inputs
// are A-Z and spaces).
func ratio(a, b string) float64 {
	if a == b {
		return 1
	}
	longest := max(len(a), len(b))
	return 1 - float64(EditDistance(a, b))/float64(longest)
}

// EditDistance is the Levenshtein distance between a and b, on bytes.
func EditDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// icaoTransliteration holds the Doc 9303 Part 3 §6 (Table A) forms that
// differ from plain diacritic stripping. Keys are upper case.
var icaoTransliteration = map[rune]string{
	'Ä': "AE", 'Ö': "OE", 'Ü': "UE", 'Å': "AA", 'Ø': "OE",
}

// baseLetters maps letters that NFKD does not decompose into A-Z.
var baseLetters = map[rune]string{
	'Æ': "AE", 'Œ': "OE", 'ß': "SS", 'ẞ': "SS", 'Þ': "TH", 'Ĳ': "IJ",
	'Ð': "D", 'Đ': "D", 'Ł': "L", 'Ħ': "H", 'ı': "I", 'Ø': "O",
}

// nameTokens normalises a declared (or MRZ) name into A-Z tokens; icao
// selects the Doc 9303 transliteration for Ä, Ö, Ü, Å and Ø.
func nameTokens(s string, icao bool) []string {
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		switch r {
		case '\'', '’', 'ʼ', '`', '´':
			continue // apostrophes are omitted (O'NEIL → ONEIL)
		}
		if icao {
			if t, ok := icaoTransliteration[r]; ok {
				b.WriteString(t)
				continue
			}
		}
		b.WriteRune(r)
	}
	var out strings.Builder
	for _, r := range norm.NFKD.String(b.String()) {
		switch {
		case r >= 'A' && r <= 'Z':
			out.WriteRune(r)
		case r >= 'a' && r <= 'z': // from compatibility decompositions
			out.WriteRune(unicode.ToUpper(r))
		case unicode.Is(unicode.Mn, r):
			// combining mark: dropped
		default:
			if t, ok := baseLetters[r]; ok {
				out.WriteString(t)
			} else {
				out.WriteByte(' ')
			}
		}
	}
	return strings.Fields(out.String())
}
