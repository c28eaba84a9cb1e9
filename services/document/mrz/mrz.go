package mrz

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/openekyc/ekyc/services/reasons"
)

// Format is the MRZ layout.
type Format string

// The five Doc 9303 layouts.
const (
	FormatTD1  Format = "TD1"  // 3 lines × 30: identity cards (Doc 9303 Part 5)
	FormatTD2  Format = "TD2"  // 2 lines × 36: official travel documents (Part 6)
	FormatTD3  Format = "TD3"  // 2 lines × 44: passports (Part 4)
	FormatMRVA Format = "MRVA" // 2 lines × 44, document code V: visa format A (Part 7)
	FormatMRVB Format = "MRVB" // 2 lines × 36, document code V: visa format B (Part 7)
)

// Field names used in Check.Field and Problem.Field (the JSON names of the
// corresponding MRZ fields).
const (
	FieldDocumentCode   = "document_code"
	FieldIssuingState   = "issuing_state"
	FieldDocumentNumber = "document_number"
	FieldNationality    = "nationality"
	FieldBirthDate      = "birth_date"
	FieldSex            = "sex"
	FieldExpiryDate     = "expiry_date"
	FieldOptionalData   = "optional_data" // TD3 personal number check
	FieldComposite      = "composite"
	FieldName           = "name"
)

// ErrNotMRZ is matched (errors.Is) by the error Parse returns when its input
// is not an MRZ at all: wrong number of lines, wrong line lengths or
// characters outside A-Z 0-9 <.
var ErrNotMRZ = errors.New("not an ICAO 9303 MRZ")

// NotMRZError says why the input is not an MRZ. Reason never repeats the
// input text.
type NotMRZError struct {
	Reason string
}

func (e *NotMRZError) Error() string { return "mrz: not an ICAO 9303 MRZ: " + e.Reason }

// Is makes errors.Is(err, ErrNotMRZ) true.
func (e *NotMRZError) Is(target error) bool { return target == ErrNotMRZ }

// Check is one verified check digit.
type Check struct {
	Field string `json:"field"`
	// Expected is the digit computed from the data.
	Expected string `json:"expected"`
	// Actual is the character found in the check digit position.
	Actual string `json:"actual"`
	OK     bool   `json:"ok"`
	// Code is the reason code reported when the check fails.
	Code string `json:"code"`
}

// Problem is one defect, named by a reason code from codes.yaml. Detail
// explains it without repeating any field value.
type Problem struct {
	Code   string `json:"code"`
	Field  string `json:"field"`
	Detail string `json:"detail"`
}

// MRZ is a parsed machine-readable zone. Text fields hold the MRZ values with
// the '<' padding removed (an inner '<' of the document number or optional
// data is kept); names have '<' turned into spaces.
type MRZ struct {
	Format         Format `json:"format"`
	DocumentCode   string `json:"document_code"`
	IssuingState   string `json:"issuing_state"`
	DocumentNumber string `json:"document_number"`
	Nationality    string `json:"nationality"`
	// Sex is "M", "F", "X" or "<" (unspecified), as printed.
	Sex string `json:"sex"`
	// OptionalData1 is the first optional data element (TD1 line 1 after any
	// document number overflow; TD3 personal number; TD2/MRV optional data).
	OptionalData1 string `json:"optional_data_1"`
	// OptionalData2 is TD1's line-2 optional data element.
	OptionalData2 string `json:"optional_data_2"`
	Surname       string `json:"surname"`
	GivenNames    string `json:"given_names"`
	// NameTruncated is true when the name field is full to its last character,
	// which Doc 9303 uses to signal a (possibly) truncated name.
	NameTruncated bool      `json:"name_truncated"`
	BirthDate     Date      `json:"birth_date"`
	ExpiryDate    Date      `json:"expiry_date"`
	Checks        []Check   `json:"checks"`
	Problems      []Problem `json:"problems"`
	// Lines are the MRZ lines as parsed (trimmed).
	Lines []string `json:"lines"`

	surnameTokens, givenTokens []string
}

// Valid reports whether every check digit matched and no structural problem
// was found. It does not consider expiry; see Validate.
func (m *MRZ) Valid() bool {
	if m == nil || len(m.Problems) > 0 {
		return false
	}
	for _, c := range m.Checks {
		if !c.OK {
			return false
		}
	}
	return true
}

// CheckDigitFailures counts the check digits that did not match.
func (m *MRZ) CheckDigitFailures() int {
	n := 0
	for _, c := range m.Checks {
		if !c.OK {
			n++
		}
	}
	return n
}

// Check returns the check of the named field, if the format has one.
func (m *MRZ) Check(field string) (Check, bool) {
	for _, c := range m.Checks {
		if c.Field == field {
			return c, true
		}
	}
	return Check{}, false
}

// Expired reports whether the document's expiry date lies before asOf's
// calendar date (a document is valid through its expiry day). It is false
// when the expiry date is invalid.
func (m *MRZ) Expired(asOf time.Time) bool {
	days, ok := m.ExpiryDate.DaysUntil(asOf)
	return ok && days < 0
}

// Validate returns the structural problems plus those that depend on the
// decision date asOf: DOC_EXPIRED when the document expired before asOf.
// It does not modify m.
func (m *MRZ) Validate(asOf time.Time) []Problem {
	out := make([]Problem, 0, len(m.Problems)+1)
	out = append(out, m.Problems...)
	if m.Expired(asOf) {
		out = append(out, Problem{Code: reasons.DocExpired, Field: FieldExpiryDate, Detail: "the document expired before the decision date"})
	}
	return out
}

// Parse parses MRZ lines, resolving two-digit years against the current
// time. See ParseAt.
func Parse(lines []string) (*MRZ, error) { return ParseAt(lines, time.Now()) }

// ParseAt parses MRZ lines, resolving two-digit years against ref (birth
// dates: BirthCentury; expiry dates: ExpiryCentury).
//
// Each line is trimmed of surrounding white space (including CR); blank lines
// are dropped, and a line holding embedded newlines is split. The remaining
// lines must be 3×30 (TD1), 2×36 (TD2, or MRV-B when the document code starts
// with V) or 2×44 (TD3, or MRV-A when it starts with V), using only A-Z, 0-9
// and '<' — lower case is not accepted (Doc 9303 uses upper case only).
// Otherwise the error matches ErrNotMRZ.
//
// For an MRZ-shaped input the result is non-nil even when check digits fail;
// see MRZ.Checks, MRZ.Problems and MRZ.Valid.
func ParseAt(lines []string, ref time.Time) (*MRZ, error) {
	clean := make([]string, 0, 3)
	for _, l := range lines {
		for _, part := range strings.Split(l, "\n") {
			if t := strings.TrimSpace(part); t != "" {
				if len(clean) == 3 {
					return nil, &NotMRZError{Reason: "more than 3 non-blank lines"}
				}
				clean = append(clean, t)
			}
		}
	}
	if len(clean) == 0 {
		return nil, &NotMRZError{Reason: "no lines"}
	}
	for i, l := range clean {
		for j := 0; j < len(l); j++ {
			c := l[j]
			if validMRZChar(c) {
				continue
			}
			hint := ""
			switch {
			case c >= 'a' && c <= 'z':
				hint = " (lower case letter; the MRZ uses upper case only)"
			case c == ' ' || c == '\t':
				hint = " (white space inside a line)"
			}
			return nil, &NotMRZError{Reason: fmt.Sprintf("line %d, column %d: character outside A-Z, 0-9 and '<'%s", i+1, j+1, hint)}
		}
	}
	format, err := detectFormat(clean)
	if err != nil {
		return nil, err
	}
	p := parser{m: &MRZ{Format: format, Lines: clean, Checks: []Check{}, Problems: []Problem{}}, ref: ref}
	switch format {
	case FormatTD1:
		p.td1(clean)
	case FormatTD2, FormatMRVB:
		p.twoLine(clean, 36)
	default:
		p.twoLine(clean, 44)
	}
	return p.m, nil
}

func detectFormat(lines []string) (Format, error) {
	lengths := make([]string, len(lines))
	same := true
	for i, l := range lines {
		lengths[i] = fmt.Sprint(len(l))
		same = same && len(l) == len(lines[0])
	}
	if same {
		visa := lines[0][0] == 'V'
		switch {
		case len(lines) == 3 && len(lines[0]) == 30:
			return FormatTD1, nil
		case len(lines) == 2 && len(lines[0]) == 36 && visa:
			return FormatMRVB, nil
		case len(lines) == 2 && len(lines[0]) == 36:
			return FormatTD2, nil
		case len(lines) == 2 && len(lines[0]) == 44 && visa:
			return FormatMRVA, nil
		case len(lines) == 2 && len(lines[0]) == 44:
			return FormatTD3, nil
		}
	}
	return "", &NotMRZError{Reason: fmt.Sprintf("%d line(s) of length %s; expected 3×30 (TD1), 2×36 (TD2, MRV-B) or 2×44 (TD3, MRV-A)",
		len(lines), strings.Join(lengths, ", "))}
}

type parser struct {
	m   *MRZ
	ref time.Time
}

func (p *parser) problem(code, field, detail string) {
	p.m.Problems = append(p.m.Problems, Problem{Code: code, Field: field, Detail: detail})
}

// check verifies the check digit of data; fillerOK accepts '<' as well (only
// for an unused TD3 personal number).
func (p *parser) check(field, code, data string, digit byte, fillerOK bool) {
	want := CheckDigit(data)
	ok := digit == want || (fillerOK && digit == '<')
	p.m.Checks = append(p.m.Checks, Check{Field: field, Expected: string(want), Actual: string(digit), OK: ok, Code: code})
	if !ok {
		p.problem(code, field, fmt.Sprintf("check digit is %q, computed %q", digit, want))
	}
}

func (p *parser) documentCode(code string) {
	p.m.DocumentCode = strings.TrimRight(code, "<")
	c0, c1 := code[0], code[1]
	var detail string
	switch {
	case !(c1 >= 'A' && c1 <= 'Z') && c1 != '<':
		detail = "the second character of the document code must be a letter or '<'"
	case p.m.Format == FormatTD3 && c0 != 'P':
		detail = "a TD3 document code must start with P"
	case (p.m.Format == FormatMRVA || p.m.Format == FormatMRVB) && c0 != 'V':
		detail = "a visa document code must start with V"
	case (p.m.Format == FormatTD1 || p.m.Format == FormatTD2) && c0 != 'A' && c0 != 'C' && c0 != 'I':
		detail = "a TD1/TD2 document code must start with A, C or I"
	case (p.m.Format == FormatTD1 || p.m.Format == FormatTD2) && c1 == 'V':
		detail = "V is not allowed as the second character of a TD1/TD2 document code"
	}
	if detail != "" {
		p.problem(reasons.DocMRZInvalidDocumentCode, FieldDocumentCode, detail)
	}
}

// stateCode validates a three-character state field ("UTO", "D<<").
func (p *parser) stateCode(field, raw, code string) string {
	v := strings.TrimRight(raw, "<")
	if !KnownCode(v) || strings.Contains(v, "<") {
		p.problem(code, field, "not an ICAO 9303 state or organisation code")
	}
	return v
}

func (p *parser) sex(c byte) {
	p.m.Sex = string(c)
	switch c {
	case 'M', 'F', '<', 'X':
	default:
		p.problem(reasons.DocMRZInvalidSex, FieldSex, "sex must be M, F, X or '<'")
	}
}

func (p *parser) date(field, raw string, kind dateKind, invalidCode string) Date {
	d, detail := parseDate(raw, kind, p.ref)
	if detail != "" {
		p.problem(invalidCode, field, detail)
	}
	return d
}

func (p *parser) name(field string) {
	n := parseName(field)
	p.m.Surname, p.m.GivenNames, p.m.NameTruncated = n.surname, n.given, n.truncated
	p.m.surnameTokens, p.m.givenTokens = n.surnameTokens, n.givenTokens
	if n.problem != "" {
		p.problem(reasons.DocMRZInvalidName, FieldName, n.problem)
	}
}

// documentNumber reads the nine-character document number and its check
// digit. When the check digit position holds '<' the number is longer than
// nine characters (TD1: Doc 9303 Part 5 §4.2.4; TD2: Part 6 §4.2.4): it
// continues in the optional data, up to a check digit that is followed by
// '<' or the end of the element. It returns what remains of the optional data.
func (p *parser) documentNumber(num string, digit byte, optional string, overflowAllowed bool) string {
	if digit != '<' || !overflowAllowed {
		p.m.DocumentNumber = strings.TrimRight(num, "<")
		p.check(FieldDocumentNumber, reasons.DocMRZCheckDocumentNumber, num, digit, false)
		return optional
	}
	end := strings.IndexByte(optional, '<')
	if end < 0 {
		end = len(optional)
	}
	if end < 2 {
		// '<' in the check digit position but no continuation: the check
		// digit is simply missing.
		p.m.DocumentNumber = strings.TrimRight(num, "<")
		p.check(FieldDocumentNumber, reasons.DocMRZCheckDocumentNumber, num, digit, false)
		return optional
	}
	full := num + optional[:end-1]
	p.m.DocumentNumber = full
	p.check(FieldDocumentNumber, reasons.DocMRZCheckDocumentNumber, full, optional[end-1], false)
	if end < len(optional) {
		return optional[end+1:]
	}
	return ""
}

// td1: Doc 9303 Part 5 §4.2.2.
func (p *parser) td1(l []string) {
	l1, l2, l3 := l[0], l[1], l[2]
	p.documentCode(l1[0:2])
	p.m.IssuingState = p.stateCode(FieldIssuingState, l1[2:5], reasons.DocMRZUnknownIssuingState)
	rest := p.documentNumber(l1[5:14], l1[14], l1[15:30], true)
	p.m.OptionalData1 = strings.TrimRight(rest, "<")

	p.m.BirthDate = p.date(FieldBirthDate, l2[0:6], birthDate, reasons.DocMRZInvalidBirthDate)
	p.check(FieldBirthDate, reasons.DocMRZCheckBirthDate, l2[0:6], l2[6], false)
	p.sex(l2[7])
	p.m.ExpiryDate = p.date(FieldExpiryDate, l2[8:14], expiryDate, reasons.DocMRZInvalidExpiryDate)
	p.check(FieldExpiryDate, reasons.DocMRZCheckExpiryDate, l2[8:14], l2[14], false)
	p.m.Nationality = p.stateCode(FieldNationality, l2[15:18], reasons.DocMRZUnknownNationality)
	p.m.OptionalData2 = strings.TrimRight(l2[18:29], "<")
	p.check(FieldComposite, reasons.DocMRZCheckComposite, l1[5:30]+l2[0:7]+l2[8:15]+l2[18:29], l2[29], false)

	p.name(l3)
}

// twoLine parses TD2/MRV-B (width 36) and TD3/MRV-A (width 44): Doc 9303
// Part 4 §4.2.2, Part 6 §4.2.2, Part 7 §§4.2.2 and 5.2.2.
func (p *parser) twoLine(l []string, width int) {
	l1, l2 := l[0], l[1]
	visa := p.m.Format == FormatMRVA || p.m.Format == FormatMRVB
	p.documentCode(l1[0:2])
	p.m.IssuingState = p.stateCode(FieldIssuingState, l1[2:5], reasons.DocMRZUnknownIssuingState)
	p.name(l1[5:width])

	// Positions 29.. of line 2: optional data (and, for TD2/TD3, the
	// personal-number check digit and the composite check digit).
	optEnd := width
	if !visa {
		optEnd = width - 1 // composite check digit
		if p.m.Format == FormatTD3 {
			optEnd = width - 2 // personal number check digit
		}
	}
	optional := l2[28:optEnd]
	// Only TD2 has the long-document-number rule among two-line formats.
	rest := p.documentNumber(l2[0:9], l2[9], optional, p.m.Format == FormatTD2)
	p.m.Nationality = p.stateCode(FieldNationality, l2[10:13], reasons.DocMRZUnknownNationality)
	p.m.BirthDate = p.date(FieldBirthDate, l2[13:19], birthDate, reasons.DocMRZInvalidBirthDate)
	p.check(FieldBirthDate, reasons.DocMRZCheckBirthDate, l2[13:19], l2[19], false)
	p.sex(l2[20])
	p.m.ExpiryDate = p.date(FieldExpiryDate, l2[21:27], expiryDate, reasons.DocMRZInvalidExpiryDate)
	p.check(FieldExpiryDate, reasons.DocMRZCheckExpiryDate, l2[21:27], l2[27], false)
	p.m.OptionalData1 = strings.TrimRight(rest, "<")

	switch p.m.Format {
	case FormatTD3:
		personal := l2[28:42]
		// An unused personal number (all '<') may carry '<' as its check
		// digit (Doc 9303 Part 4 §4.2.2.2, note).
		p.check(FieldOptionalData, reasons.DocMRZCheckOptionalData, personal, l2[42], strings.Trim(personal, "<") == "")
		p.check(FieldComposite, reasons.DocMRZCheckComposite, l2[0:10]+l2[13:20]+l2[21:43], l2[43], false)
	case FormatTD2:
		p.check(FieldComposite, reasons.DocMRZCheckComposite, l2[0:10]+l2[13:20]+l2[21:35], l2[35], false)
	}
}
