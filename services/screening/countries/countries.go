// Package countries maps the country names, demonyms and codes found in
// sanctions lists and customer data to ISO 3166-1 alpha-2 codes.
//
// Code accepts an alpha-2 or alpha-3 code in any case, an English short or
// official name (ISO 3166-1, as shipped in Debian's iso-codes), the spellings
// used by OFAC, the UN, the EU and the UK ("Korea, North", "Iran (Islamic
// Republic of)", "Congo, Democratic Republic of the", "Burma", "Palestinian",
// "Türkiye") and common demonyms ("Russian", "Iraqi"). OpenSanctions
// (FollowTheMoney) region codes such as "ua-cri" map to their country
// ("UA"). Kosovo is "XK", the user-assigned code in general use. Values that
// name no current country ("former Soviet Union", "undetermined") have no
// code. The tables are read-only; everything is safe for concurrent use.
package countries

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

type country struct {
	alpha2, alpha3, name string
	names                []string
}

var (
	byKey   = map[string]string{} // normalised name or code → alpha-2
	byCode  = map[string]*country{}
	ignored = map[string]bool{}
)

func init() {
	for i := range isoTable {
		c := &isoTable[i]
		byCode[c.alpha2] = c
		byKey[c.alpha3] = c.alpha2
		for _, n := range c.names {
			byKey[normalize(n)] = c.alpha2
		}
	}
	byCode["XK"] = &country{alpha2: "XK", alpha3: "XKX", name: "Kosovo", names: []string{"Kosovo"}}
	for n, code := range aliases {
		byKey[normalize(n)] = code
	}
	for _, n := range noCode {
		ignored[normalize(n)] = true
	}
}

// normalize folds a name for lookup: NFKD without marks, upper case, letters
// and digits only, single spaces, "THE" dropped at the start.
func normalize(s string) string {
	s = norm.NFKD.String(s)
	var b strings.Builder
	space := false
	for _, r := range s {
		switch {
		case unicode.Is(unicode.Mn, r), r == '\'', r == '’', r == '.':
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(unicode.ToUpper(r))
		default:
			space = true
		}
	}
	k := b.String()
	k = strings.TrimPrefix(k, "THE ")
	return k
}

// Code returns the ISO 3166-1 alpha-2 code for a country name, demonym or
// code, and whether one was found.
func Code(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", false
	}
	if len(s) == 2 {
		u := strings.ToUpper(s)
		if _, ok := byCode[u]; ok {
			return u, true
		}
	}
	// FollowTheMoney region codes: "ua-cri", "ge-ab", "cy-trnc".
	if len(s) > 3 && s[2] == '-' && isASCIILetters(s[:2]) {
		if u := strings.ToUpper(s[:2]); byCode[u] != nil {
			return u, true
		}
	}
	k := normalize(s)
	if ignored[k] {
		return "", false
	}
	if c, ok := byKey[k]; ok {
		return c, true
	}
	// "Iran (Islamic Republic of)" style qualifiers, "Region: X".
	if i := strings.IndexByte(s, '('); i > 0 {
		if c, ok := byKey[normalize(s[:i])]; ok {
			return c, true
		}
	}
	if i := strings.IndexByte(s, ':'); i > 0 && i+1 < len(s) {
		return Code(s[i+1:])
	}
	return "", false
}

// Name returns the English short name of an alpha-2 code ("" if unknown).
func Name(code string) string {
	if c, ok := byCode[strings.ToUpper(code)]; ok {
		return c.name
	}
	return ""
}

// Valid reports whether code is an assigned alpha-2 code (or XK).
func Valid(code string) bool {
	_, ok := byCode[strings.ToUpper(code)]
	return ok && len(code) == 2
}

func isASCIILetters(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}
