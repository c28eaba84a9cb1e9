// Package docgen renders synthetic identity-document images (ICAO 9303 TD1,
// TD2, TD3, MRV-A and MRV-B) with their ground truth, for OCR tests and
// benchmarks: random but valid MRZs (check digits computed here,
// independently of the parser under test), a page at a given DPI with the
// MRZ in OCR-B at the ICAO pitch, an optional portrait, and deterministic
// degradations (rotation, blur, JPEG, noise, downscaling).
package docgen

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// Format is an ICAO 9303 MRZ layout. The values match the mrz package's
// Format strings.
type Format string

// The five layouts.
const (
	TD1  Format = "TD1"  // identity card, 3×30
	TD2  Format = "TD2"  // official travel document, 2×36
	TD3  Format = "TD3"  // passport, 2×44
	MRVA Format = "MRVA" // visa format A, 2×44, code V
	MRVB Format = "MRVB" // visa format B, 2×36, code V
)

// Formats lists the five layouts.
var Formats = []Format{TD1, TD2, TD3, MRVA, MRVB}

// Width is the number of characters per MRZ line.
func (f Format) Width() int {
	switch f {
	case TD1:
		return 30
	case TD2, MRVB:
		return 36
	default:
		return 44
	}
}

// Lines is the number of MRZ lines.
func (f Format) Lines() int {
	if f == TD1 {
		return 3
	}
	return 2
}

// SizeMM is the nominal document size in millimetres (width, height).
func (f Format) SizeMM() (w, h float64) {
	switch f {
	case TD1:
		return 85.6, 54
	case TD2, MRVB:
		return 105, 74
	default:
		return 125, 88
	}
}

// CheckDigit is the ICAO 9303 7-3-1 check digit of s ('<' counts 0).
func CheckDigit(s string) byte {
	weights := [3]int{7, 3, 1}
	sum := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		v := 0
		switch {
		case c >= '0' && c <= '9':
			v = int(c - '0')
		case c >= 'A' && c <= 'Z':
			v = int(c-'A') + 10
		}
		sum += v * weights[i%3]
	}
	return byte('0' + sum%10)
}

func pad(s string, n int) string {
	if len(s) >= n {
		return s[:n]
	}
	return s + strings.Repeat("<", n-len(s))
}

// Holder is the data printed on a document.
type Holder struct {
	// DocCode is the two-character document code ("P<", "ID", "V<"...),
	// padded with '<' when shorter.
	DocCode     string
	Issuer      string // ICAO state code, e.g. "UTO", "D"
	Number      string // document number, at most 9 characters
	Nationality string
	Surname     string // A-Z and spaces
	Given       string // A-Z and spaces
	Sex         string // "M", "F" or "<"
	Birth       time.Time
	Expiry      time.Time
	// Optional is the optional data element (TD3: personal number, at most
	// 14; TD1: line 1, at most 15; TD2: 7; MRV-A: 16; MRV-B: 8).
	Optional string
	// Optional2 is TD1's line-2 optional data (at most 11).
	Optional2 string
}

func (h Holder) name(width int) string {
	n := strings.ReplaceAll(strings.TrimSpace(h.Surname), " ", "<") + "<<" + strings.ReplaceAll(strings.TrimSpace(h.Given), " ", "<")
	return pad(n, width)
}

// MRZ renders the holder's MRZ lines in format f, with correct check digits.
func (h Holder) MRZ(f Format) []string {
	code := pad(h.DocCode, 2)
	issuer := pad(h.Issuer, 3)
	nat := pad(h.Nationality, 3)
	num := pad(h.Number, 9)
	numCD := string(CheckDigit(num))
	dob := h.Birth.Format("060102")
	exp := h.Expiry.Format("060102")
	dobCD := string(CheckDigit(dob))
	expCD := string(CheckDigit(exp))
	sex := pad(h.Sex, 1)
	switch f {
	case TD1:
		l1 := code + issuer + num + numCD + pad(h.Optional, 15)
		l2 := dob + dobCD + sex + exp + expCD + nat + pad(h.Optional2, 11)
		l2 += string(CheckDigit(l1[5:30] + l2[0:7] + l2[8:15] + l2[18:29]))
		return []string{l1, l2, h.name(30)}
	case TD2:
		l1 := code + issuer + h.name(31)
		l2 := num + numCD + nat + dob + dobCD + sex + exp + expCD + pad(h.Optional, 7)
		l2 += string(CheckDigit(l2[0:10] + l2[13:20] + l2[21:35]))
		return []string{l1, l2}
	case TD3:
		l1 := code + issuer + h.name(39)
		pers := pad(h.Optional, 14)
		persCD := string(CheckDigit(pers))
		if strings.Trim(pers, "<") == "" {
			persCD = "<"
		}
		l2 := num + numCD + nat + dob + dobCD + sex + exp + expCD + pers + persCD
		l2 += string(CheckDigit(l2[0:10] + l2[13:20] + l2[21:43]))
		return []string{l1, l2}
	case MRVA, MRVB:
		w := f.Width()
		l1 := code + issuer + h.name(w-5)
		l2 := num + numCD + nat + dob + dobCD + sex + exp + expCD + pad(h.Optional, w-28)
		return []string{l1, l2}
	}
	panic(fmt.Sprintf("docgen: unknown format %q", f))
}

// Codes are the state codes random holders are drawn from.
var Codes = []string{"UTO", "D", "GBR", "FRA", "USA", "NLD"}

const (
	letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	digits  = "0123456789"
	alnum   = letters + digits
)

func randName(rng *rand.Rand) string {
	const cons, vow = "BCDFGHJKLMNPRSTVWZ", "AEIOU"
	var b strings.Builder
	for i, n := 0, 2+rng.IntN(3); i < n; i++ {
		b.WriteByte(cons[rng.IntN(len(cons))])
		b.WriteByte(vow[rng.IntN(len(vow))])
		if rng.IntN(4) == 0 {
			b.WriteByte(cons[rng.IntN(len(cons))])
		}
	}
	return b.String()
}

func randString(rng *rand.Rand, alphabet string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[rng.IntN(len(alphabet))]
	}
	return string(b)
}

// RandomHolder draws a holder for format f: random A-Z names, a nine-character
// document number of letters and digits, a birth date 18 to 80 years before
// ref and an expiry date 1 to 10 years after it, sex M/F/<, codes from Codes.
func RandomHolder(rng *rand.Rand, f Format, ref time.Time) Holder {
	ref = time.Date(ref.Year(), ref.Month(), ref.Day(), 0, 0, 0, 0, time.UTC)
	h := Holder{
		Issuer:      Codes[rng.IntN(len(Codes))],
		Nationality: Codes[rng.IntN(len(Codes))],
		Number:      randString(rng, letters, 1+rng.IntN(2)) + randString(rng, alnum, 2),
		Surname:     randName(rng),
		Sex:         []string{"M", "F", "<"}[rng.IntN(3)],
		Birth:       ref.AddDate(-18-rng.IntN(62), 0, -rng.IntN(365)),
		Expiry:      ref.AddDate(1+rng.IntN(9), 0, rng.IntN(365)),
	}
	h.Number += randString(rng, digits, 9-len(h.Number))
	if rng.IntN(3) == 0 {
		h.Surname += " " + randName(rng)
	}
	h.Given = randName(rng)
	if rng.IntN(2) == 0 {
		h.Given += " " + randName(rng)
	}
	switch f {
	case TD1:
		h.DocCode = []string{"I<", "ID", "AC"}[rng.IntN(3)]
		if rng.IntN(2) == 0 {
			h.Optional = randString(rng, alnum, 1+rng.IntN(10))
		}
		if rng.IntN(2) == 0 {
			h.Optional2 = randString(rng, alnum, 1+rng.IntN(8))
		}
	case TD2:
		h.DocCode = []string{"I<", "ID", "AC"}[rng.IntN(3)]
		if rng.IntN(2) == 0 {
			// Starts with a letter-free digit run, never '<' first.
			h.Optional = randString(rng, digits, 1+rng.IntN(7))
		}
	case TD3:
		h.DocCode = []string{"P<", "PD", "PO"}[rng.IntN(3)]
		if rng.IntN(2) == 0 {
			h.Optional = randString(rng, alnum, 5+rng.IntN(9))
		}
	case MRVA, MRVB:
		h.DocCode = []string{"V<", "VS"}[rng.IntN(2)]
		if rng.IntN(2) == 0 {
			h.Optional = randString(rng, alnum, 1+rng.IntN(8))
		}
	}
	return h
}
