package names

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// latinSpecial maps Latin letters that NFKD does not decompose into ASCII.
var latinSpecial = map[rune]string{
	'ß': "SS", 'ẞ': "SS", 'Æ': "AE", 'æ': "AE", 'Œ': "OE", 'œ': "OE", 'Ø': "O", 'ø': "O",
	'Ł': "L", 'ł': "L", 'Đ': "D", 'đ': "D", 'Ð': "D", 'ð': "D", 'Þ': "TH", 'þ': "TH",
	'ı': "I", 'Ħ': "H", 'ħ': "H", 'Ŧ': "T", 'ŧ': "T", 'ĸ': "K", 'Ə': "A", 'ə': "A",
	'Ɨ': "I", 'ɨ': "I", 'Ʒ': "Z", 'ʒ': "Z", 'Ŋ': "NG", 'ŋ': "NG", 'Ɛ': "E", 'ɛ': "E",
	'Ɔ': "O", 'ɔ': "O", 'Ƒ': "F", 'ƒ': "F", 'Ɓ': "B", 'ɓ': "B", 'Ɗ': "D", 'ɗ': "D",
	'ſ': "S", 'Ǝ': "E", 'ǝ': "E",
}

// apostrophes join the letters around them (O'BRIEN → OBRIEN, SA'AD → SAAD,
// the ʿayn and hamza of scholarly transliteration vanish).
func isApostrophe(r rune) bool {
	switch r {
	case '\'', '’', '‘', 'ʼ', 'ʻ', 'ʽ', 'ʿ', 'ʾ', '`', '´', '′', 'ˈ', '‛':
		return true
	}
	return false
}

func isHyphen(r rune) bool {
	switch r {
	case '-', '‐', '‑', '‒', '–', '—', '―', '−', '_':
		return true
	}
	return false
}

// Fold returns s transliterated (primary scheme) and folded to upper-case
// ASCII: Unicode NFKD, combining marks removed, special Latin letters mapped,
// apostrophes removed, every other non-letter non-digit character replaced by
// a space, spaces collapsed and trimmed. Letters of unsupported scripts are
// kept (upper-cased where the script has case).
func Fold(s string) string {
	var b strings.Builder
	for i, w := range splitKeepSpaces(s) {
		if i%2 == 1 {
			continue
		}
		p, _, _ := transliterateWord(w)
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		foldTo(&b, p, true)
	}
	return collapseSpaces(b.String())
}

// foldTo writes the folded form of s to b. When punct is true, punctuation
// other than apostrophes becomes a space; otherwise it is kept as is (the
// tokenizer needs to see dots and hyphens).
func foldTo(b *strings.Builder, s string, punct bool) {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if !ascii {
		s = norm.NFKD.String(s)
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z':
			b.WriteByte(byte(r - 'a' + 'A'))
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			b.WriteByte(byte(r))
		case r < 0x80:
			if isApostrophe(r) {
				continue
			}
			if punct || unicode.IsSpace(r) {
				b.WriteByte(' ')
			} else {
				b.WriteByte(byte(r))
			}
		case unicode.Is(unicode.Mn, r), unicode.Is(unicode.Me, r), r == 0x200C, r == 0x200D, r == 0xFEFF:
			// combining marks, zero-width joiners
		case isApostrophe(r):
		case isHyphen(r):
			if punct {
				b.WriteByte(' ')
			} else {
				b.WriteByte('-')
			}
		default:
			if t, ok := latinSpecial[r]; ok {
				b.WriteString(t)
			} else if unicode.IsLetter(r) {
				b.WriteRune(unicode.ToUpper(r))
			} else if unicode.IsDigit(r) {
				b.WriteByte(byte('0' + digitValue(r)))
			} else {
				b.WriteByte(' ')
			}
		}
	}
}

// digitValue returns the value of a Unicode decimal digit (0 if unknown).
func digitValue(r rune) int {
	for _, rt := range unicode.Nd.R16 {
		if uint16(r) >= rt.Lo && uint16(r) <= rt.Hi && r <= 0xFFFF {
			// decimal digits come in contiguous runs of ten starting at a zero
			return int(uint16(r)-rt.Lo) % 10
		}
	}
	return 0
}

func collapseSpaces(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == ' ' {
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteByte(c)
	}
	return b.String()
}
