package mrz

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

const mrzChars = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ<"

type pos struct{ line, col int }

type cover struct {
	checks  []string // every check whose data or digit includes the position
	digitOf string   // the check whose digit sits here, if any
	date    bool     // inside a date field (must stay digits / whole-pair fillers)
}

// coverage maps every character position covered by a check digit to the
// checks covering it, from Doc 9303's field layouts (written out here
// independently of the parser).
func coverage(f Format) map[pos]cover {
	out := map[pos]cover{}
	add := func(line, from, to int, digitAt int, digitOf string, date bool, checks ...string) {
		for c := from; c < to; c++ {
			out[pos{line, c}] = cover{checks: checks, date: date}
		}
		if digitAt >= 0 {
			out[pos{line, digitAt}] = cover{checks: checks, digitOf: digitOf}
		}
	}
	const (
		doc, dob, exp, opt, comp = FieldDocumentNumber, FieldBirthDate, FieldExpiryDate, FieldOptionalData, FieldComposite
	)
	switch f {
	case FormatTD1:
		add(0, 5, 14, 14, doc, false, doc, comp)
		add(0, 15, 30, -1, "", false, comp)
		add(1, 0, 6, 6, dob, true, dob, comp)
		add(1, 8, 14, 14, exp, true, exp, comp)
		add(1, 18, 29, 29, comp, false, comp)
	case FormatTD2:
		add(1, 0, 9, 9, doc, false, doc, comp)
		add(1, 13, 19, 19, dob, true, dob, comp)
		add(1, 21, 27, 27, exp, true, exp, comp)
		add(1, 28, 35, 35, comp, false, comp)
	case FormatTD3:
		add(1, 0, 9, 9, doc, false, doc, comp)
		add(1, 13, 19, 19, dob, true, dob, comp)
		add(1, 21, 27, 27, exp, true, exp, comp)
		add(1, 28, 42, 42, opt, false, opt, comp)
		add(1, 43, 43, 43, comp, false, comp)
	case FormatMRVA, FormatMRVB:
		add(1, 0, 9, 9, doc, false, doc)
		add(1, 13, 19, 19, dob, true, dob)
		add(1, 21, 27, 27, exp, true, exp)
	}
	return out
}

// TestSingleCharacterCorruption changes, in every specimen, every character
// covered by a check digit to every other MRZ character, and requires that the
// corruption is caught and the failing check digits are named.
//
// Doc 9303's 7-3-1 scheme works on character values mod 10, so it cannot see
// a change between characters of equal value mod 10 ('0', 'A', 'K', 'U' and
// '<' are all 0; '1', 'B', 'L', 'V' are all 1; …). Such changes are
// required to be caught only where something else catches them: in a check
// digit position (a check digit must be a digit) and in a date field (a date
// must be digits). In the alphanumeric document number or optional data they
// are undetectable by design of the standard, and only counted here.
func TestSingleCharacterCorruption(t *testing.T) {
	for _, s := range specimens {
		t.Run(s.name, func(t *testing.T) {
			cov := coverage(s.format)
			require.NotEmpty(t, cov)
			undetectable, tried := 0, 0
			for p, cv := range cov {
				orig := s.lines[p.line][p.col]
				ov, _ := charValue(orig)
				for i := 0; i < len(mrzChars); i++ {
					c := mrzChars[i]
					if c == orig {
						continue
					}
					tried++
					lines := append([]string(nil), s.lines...)
					b := []byte(lines[p.line])
					b[p.col] = c
					lines[p.line] = string(b)
					name := fmt.Sprintf("line %d col %d %q→%q", p.line+1, p.col+1, orig, c)

					m, err := ParseAt(lines, ref)
					require.NoError(t, err, name)
					cv2, _ := charValue(c)
					differs := cv2%10 != ov%10
					if differs {
						for _, field := range cv.checks {
							chk, ok := m.Check(field)
							require.True(t, ok, "%s: no %s check", name, field)
							require.False(t, chk.OK, "%s: %s check should fail", name, field)
							require.Contains(t, problemCodes(m.Problems), chk.Code, name)
						}
					}
					if cv.digitOf != "" {
						chk, ok := m.Check(cv.digitOf)
						require.True(t, ok, name)
						require.False(t, chk.OK, "%s: %s check digit changed", name, cv.digitOf)
					}
					if differs || cv.digitOf != "" || cv.date {
						require.False(t, m.Valid(), name)
					} else {
						undetectable++
					}
				}
			}
			t.Logf("%s: %d corruptions tried, %d undetectable by ICAO check digits (equal value mod 10 in an alphanumeric field)", s.name, tried, undetectable)
		})
	}
}
