package names

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Script is the writing system a word was written in before
// transliteration.
type Script uint8

// Scripts recognised by the transliteration.
const (
	ScriptLatin Script = iota // Latin, digits, punctuation
	ScriptCyrillic
	ScriptGreek
	ScriptArabic // Arabic, Persian, Urdu letters
	ScriptHebrew
	ScriptArmenian
	ScriptGeorgian
	ScriptOther // any other script (CJK, Thai, Devanagari, ...): kept verbatim
)

var scriptNames = [...]string{"latin", "cyrillic", "greek", "arabic", "hebrew", "armenian", "georgian", "other"}

// String names the script.
func (s Script) String() string {
	if int(s) < len(scriptNames) {
		return scriptNames[s]
	}
	return "unknown"
}

// Abjad reports whether the script leaves short vowels unwritten.
func (s Script) Abjad() bool { return s == ScriptArabic || s == ScriptHebrew }

// scriptOf classifies one rune.
func scriptOf(r rune) Script {
	switch {
	case r < 0x80:
		return ScriptLatin
	case unicode.Is(unicode.Latin, r):
		return ScriptLatin
	case unicode.Is(unicode.Cyrillic, r):
		return ScriptCyrillic
	case unicode.Is(unicode.Greek, r):
		return ScriptGreek
	case unicode.Is(unicode.Arabic, r):
		return ScriptArabic
	case unicode.Is(unicode.Hebrew, r):
		return ScriptHebrew
	case unicode.Is(unicode.Armenian, r):
		return ScriptArmenian
	case unicode.Is(unicode.Georgian, r):
		return ScriptGeorgian
	case unicode.IsLetter(r):
		return ScriptOther
	}
	return ScriptLatin // marks, punctuation, symbols
}

// DetectScript returns the script of the majority of the letters in s
// (ScriptLatin when s has no letters).
func DetectScript(s string) Script {
	var counts [ScriptOther + 1]int
	for _, r := range s {
		if unicode.IsLetter(r) {
			counts[scriptOf(r)]++
		}
	}
	best := ScriptLatin
	for sc, n := range counts {
		if n > counts[best] {
			best = Script(sc)
		}
	}
	return best
}

// Transliterate converts the supported non-Latin scripts in s to Latin
// letters with the primary scheme of each script (ICAO 9303 for Cyrillic,
// ELOT 743 for Greek, the tables below for the others). Latin text and
// unsupported scripts pass through unchanged; case is not folded.
func Transliterate(s string) string {
	var b strings.Builder
	for i, w := range splitKeepSpaces(s) {
		if i%2 == 1 { // separators
			b.WriteString(w)
			continue
		}
		p, _, _ := transliterateWord(w)
		b.WriteString(p)
	}
	return b.String()
}

// splitKeepSpaces splits s into alternating word, space-run, word, ...
// (starting with a possibly empty word).
func splitKeepSpaces(s string) []string {
	var out []string
	start := 0
	inSpace := false
	for i, r := range s {
		sp := unicode.IsSpace(r)
		if sp != inSpace {
			out = append(out, s[start:i])
			start = i
			inSpace = sp
		}
	}
	out = append(out, s[start:])
	if len(out)%2 == 0 { // make it end with a word
		out = append(out, "")
	}
	return out
}

// transliterateWord transliterates one word (no spaces). It returns the
// primary form, a variant form ("" when there is none), and the dominant
// script of the word.
func transliterateWord(w string) (primary, variant string, sc Script) {
	ascii := true
	for i := 0; i < len(w); i++ {
		if w[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return w, "", ScriptLatin
	}
	w = norm.NFC.String(w)
	sc = DetectScript(w)
	rs := []rune(w)
	for i, r := range rs {
		rs[i] = unicode.ToUpper(r)
	}
	switch sc {
	case ScriptCyrillic:
		primary = cyrillicWord(rs, false)
		variant = cyrillicWord(rs, true)
	case ScriptGreek:
		primary = greekWord(rs)
	case ScriptArabic:
		primary = arabicWord(rs)
	case ScriptHebrew:
		primary = hebrewWord(rs)
	case ScriptArmenian:
		primary = armenianWord(rs)
	case ScriptGeorgian:
		primary = georgianWord(rs)
	default:
		primary = otherWord(rs)
		if hasUmlaut(rs) {
			variant = umlautVariant(rs)
		}
	}
	if variant == primary {
		variant = ""
	}
	return primary, variant, sc
}

// latinLookalikes maps Cyrillic and Greek capitals that look like Latin
// letters to those letters. In a word written mostly in Latin they are
// homoglyphs (a Cyrillic Р in "Рutin"), not transliteration.
var latinLookalikes = map[rune]rune{
	'А': 'A', 'В': 'B', 'Е': 'E', 'К': 'K', 'М': 'M', 'Н': 'H', 'О': 'O', 'Р': 'P',
	'С': 'C', 'Т': 'T', 'У': 'Y', 'Х': 'X', 'І': 'I', 'Ј': 'J', 'Ѕ': 'S', 'Ү': 'Y',
	'Α': 'A', 'Β': 'B', 'Ε': 'E', 'Ζ': 'Z', 'Η': 'H', 'Ι': 'I', 'Κ': 'K', 'Μ': 'M',
	'Ν': 'N', 'Ο': 'O', 'Ρ': 'P', 'Τ': 'T', 'Υ': 'Y', 'Χ': 'X',
}

// otherWord transliterates the runes of a mixed word rune by rune with each
// script's context-free table; Latin and unsupported letters pass through.
// Cyrillic and Greek homoglyphs of Latin letters become those letters.
func otherWord(rs []rune) string {
	var b strings.Builder
	for i, r := range rs {
		if l, ok := latinLookalikes[r]; ok {
			b.WriteRune(l)
			continue
		}
		switch scriptOf(r) {
		case ScriptCyrillic:
			b.WriteString(cyrillicWord(rs[i:i+1], false))
		case ScriptGreek:
			b.WriteString(greekWord(rs[i : i+1]))
		case ScriptArabic:
			b.WriteString(arabicWord(rs[i : i+1]))
		case ScriptHebrew:
			b.WriteString(hebrewWord(rs[i : i+1]))
		case ScriptArmenian:
			b.WriteString(armenianWord(rs[i : i+1]))
		case ScriptGeorgian:
			b.WriteString(georgianWord(rs[i : i+1]))
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// writeLetter writes r as table spells it; a rune the table lacks is kept
// unless it is of script sc (an unlisted letter or sign of sc is dropped).
func writeLetter(b *strings.Builder, table map[rune]string, sc Script, r rune) {
	if t, ok := table[r]; ok {
		b.WriteString(t)
	} else if scriptOf(r) != sc {
		b.WriteRune(r)
	}
}

// ---------------------------------------------------------------- Cyrillic

// cyrICAO is ICAO Doc 9303 Part 3 (2021), section 6, transliteration of
// Cyrillic, extended with Kazakh/Tajik/Uzbek letters in the same spirit.
var cyrICAO = map[rune]string{
	'А': "A", 'Б': "B", 'В': "V", 'Г': "G", 'Д': "D", 'Е': "E", 'Ё': "E", 'Ж': "ZH",
	'З': "Z", 'И': "I", 'Й': "I", 'К': "K", 'Л': "L", 'М': "M", 'Н': "N", 'О': "O",
	'П': "P", 'Р': "R", 'С': "S", 'Т': "T", 'У': "U", 'Ф': "F", 'Х': "KH", 'Ц': "TS",
	'Ч': "CH", 'Ш': "SH", 'Щ': "SHCH", 'Ъ': "IE", 'Ы': "Y", 'Ь': "", 'Э': "E", 'Ю': "IU",
	'Я': "IA",
	// Ukrainian, Belarusian
	'Ґ': "G", 'Є': "IE", 'І': "I", 'Ї': "I", 'Ў': "U",
	// Serbian, Macedonian
	'Ђ': "D", 'Ѓ': "G", 'Ѕ': "DZ", 'Ј': "J", 'Љ': "LJ", 'Њ': "NJ", 'Ћ': "C", 'Ќ': "K", 'Џ': "DZ",
	// Kazakh, Kyrgyz, Tajik, Uzbek, Azerbaijani (Cyrillic)
	'Ә': "A", 'Ғ': "GH", 'Қ': "K", 'Ң': "N", 'Ө': "O", 'Ұ': "U", 'Ү': "U", 'Һ': "H",
	'Ҳ': "KH", 'Ҷ': "J", 'Ӣ': "I", 'Ӯ': "U", 'Ҙ': "Z", 'Ҡ': "K", 'Ҫ': "S", 'Ӏ': "",
}

// cyrVariant holds the letters whose common English (BGN/PCGN-like)
// spelling differs from ICAO: Й→Y, Ю→YU, Я→YA, Ё→YO, Ъ and Ь silent,
// Є→YE, Ї→YI. Е at the start of a word or after a vowel is YE.
var cyrVariant = map[rune]string{
	'Й': "Y", 'Ю': "YU", 'Я': "YA", 'Ё': "YO", 'Ъ': "", 'Є': "YE", 'Ї': "YI",
}

func isCyrVowel(r rune) bool {
	switch r {
	case 'А', 'Е', 'Ё', 'И', 'О', 'У', 'Ы', 'Э', 'Ю', 'Я', 'Є', 'І', 'Ї', 'Ъ', 'Ь':
		return true
	}
	return false
}

// cyrillicWord transliterates an upper-case word. With variant, the
// BGN/PCGN-like spellings are used, the endings -ИЙ/-ЫЙ become -IY/-Y, and
// in Ukrainian words (containing Є, І, Ї or Ґ) Г is H.
func cyrillicWord(rs []rune, variant bool) string {
	ukrainian := false
	if variant {
		for _, r := range rs {
			if r == 'Є' || r == 'І' || r == 'Ї' || r == 'Ґ' {
				ukrainian = true
				break
			}
		}
	}
	var b strings.Builder
	for i, r := range rs {
		if !variant {
			if t, ok := cyrICAO[r]; ok {
				b.WriteString(t)
			} else {
				b.WriteRune(r)
			}
			continue
		}
		switch {
		case r == 'Е' && (i == 0 || isCyrVowel(rs[i-1])):
			b.WriteString("YE")
		case r == 'Й' && i == len(rs)-1 && i > 0 && rs[i-1] == 'Ы':
			// -ЫЙ: the Y of Ы already carries it (ГОРЬКИЙ/ГОРЬКЫЙ → GORKY)
		case r == 'Г' && ukrainian:
			b.WriteString("H")
		default:
			if t, ok := cyrVariant[r]; ok {
				b.WriteString(t)
			} else if t, ok := cyrICAO[r]; ok {
				b.WriteString(t)
			} else {
				b.WriteRune(r)
			}
		}
	}
	return b.String()
}

// ------------------------------------------------------------------- Greek

// greekSingle is ELOT 743 (ISO 843 type 2) for single letters.
var greekSingle = map[rune]string{
	'Α': "A", 'Β': "V", 'Γ': "G", 'Δ': "D", 'Ε': "E", 'Ζ': "Z", 'Η': "I", 'Θ': "TH",
	'Ι': "I", 'Κ': "K", 'Λ': "L", 'Μ': "M", 'Ν': "N", 'Ξ': "X", 'Ο': "O", 'Π': "P",
	'Ρ': "R", 'Σ': "S", 'Τ': "T", 'Υ': "Y", 'Φ': "F", 'Χ': "CH", 'Ψ': "PS", 'Ω': "O",
}

// greekVoiceless are the letters before which ΑΥ/ΕΥ/ΗΥ are AF/EF/IF.
func greekVoiceless(r rune) bool {
	switch r {
	case 'Θ', 'Κ', 'Ξ', 'Π', 'Σ', 'Τ', 'Φ', 'Χ', 'Ψ':
		return true
	}
	return false
}

// greekWord transliterates an upper-case Greek word with the ELOT 743
// digraph rules: ΟΥ→OU, ΑΥ/ΕΥ/ΗΥ→AV/EV/IV (AF/EF/IF before a voiceless
// consonant or at the end), ΜΠ→B and ΝΤ→D at the start of a word (MP, NT
// inside), ΓΓ→NG, ΓΚ→G at the start (NG inside), ΓΞ→NX, ΓΧ→NCH.
func greekWord(rs []rune) string {
	// Strip tonos and dialytika first.
	d := []rune(norm.NFD.String(string(rs)))
	rs = d[:0]
	for _, r := range d {
		if !unicode.Is(unicode.Mn, r) {
			if r == 'ς' {
				r = 'Σ'
			}
			rs = append(rs, unicode.ToUpper(r))
		}
	}
	var b strings.Builder
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		var next rune
		if i+1 < len(rs) {
			next = rs[i+1]
		}
		switch {
		case r == 'Ο' && next == 'Υ':
			b.WriteString("OU")
			i++
		case (r == 'Α' || r == 'Ε' || r == 'Η') && next == 'Υ':
			b.WriteString(greekSingle[r])
			if i+2 >= len(rs) || greekVoiceless(rs[i+2]) {
				b.WriteString("F")
			} else {
				b.WriteString("V")
			}
			i++
		case r == 'Μ' && next == 'Π' && i == 0:
			b.WriteString("B")
			i++
		case r == 'Ν' && next == 'Τ' && i == 0:
			b.WriteString("D")
			i++
		case r == 'Γ' && next == 'Κ' && i == 0:
			b.WriteString("G")
			i++
		case r == 'Γ' && (next == 'Γ' || next == 'Κ' || next == 'Ξ' || next == 'Χ'):
			b.WriteString("N")
		default:
			if t, ok := greekSingle[r]; ok {
				b.WriteString(t)
			} else {
				b.WriteRune(r)
			}
		}
	}
	return b.String()
}

// ------------------------------------------------------------------ Arabic

// arabicLetters maps the consonants of Arabic, Persian and Urdu. The vowel
// letters (ا و ي ى ة and the hamza carriers) are handled in arabicWord.
var arabicLetters = map[rune]string{
	'ب': "B", 'ت': "T", 'ث': "TH", 'ج': "J", 'ح': "H", 'خ': "KH", 'د': "D", 'ذ': "DH",
	'ر': "R", 'ز': "Z", 'س': "S", 'ش': "SH", 'ص': "S", 'ض': "D", 'ط': "T", 'ظ': "Z",
	'ع': "A", 'غ': "GH", 'ف': "F", 'ق': "Q", 'ك': "K", 'ل': "L", 'م': "M", 'ن': "N",
	'ه': "H", 'ء': "",
	// Persian
	'پ': "P", 'چ': "CH", 'ژ': "ZH", 'گ': "G", 'ک': "K", 'ۀ': "H",
	// Urdu
	'ٹ': "T", 'ڈ': "D", 'ڑ': "R", 'ں': "N", 'ہ': "H", 'ھ': "H", 'ے': "E", 'ۓ': "E",
	// North African / other
	'ڤ': "V", 'ڭ': "G", 'ڨ': "G", 'ۆ': "O", 'ێ': "E",
}

// arabicWords are whole words with a settled Latin spelling.
var arabicWords = map[string]string{
	"بن": "BIN", "ابن": "IBN", "بنت": "BINT", "ابو": "ABU", "أبو": "ABU", "ابي": "ABI",
	"أبي": "ABI", "ابا": "ABA", "عبد": "ABD", "الله": "ALLAH", "اللہ": "ALLAH",
}

func isArabicMark(r rune) bool {
	// harakat, Quranic marks, superscript alef, tatweel
	return (r >= 0x064B && r <= 0x065F) || r == 0x0670 || r == 0x0640 ||
		(r >= 0x06D6 && r <= 0x06ED) || (r >= 0x0610 && r <= 0x061A)
}

func isArabicYeh(r rune) bool { return r == 'ي' || r == 'ی' || r == 'ئ' }

// arabicWord transliterates an Arabic-script word. Short vowels are not
// written in Arabic and are not invented here: the result is a consonant
// skeleton with the long vowels (ا→A, و→U/W, ي→I/Y) and is meant to be
// compared with AbjadSimilarity. The article ال at the start of a longer
// word becomes "AL-". Eastern Arabic digits become ASCII digits.
func arabicWord(rs []rune) string {
	// drop marks first
	clean := rs[:0:0]
	for _, r := range rs {
		if isArabicMark(r) {
			continue
		}
		switch r {
		case 'ی': // Farsi yeh
			r = 'ي'
		case 'ک': // keheh
			r = 'ك'
		}
		clean = append(clean, r)
	}
	if w, ok := arabicWords[string(clean)]; ok {
		return w
	}
	var b strings.Builder
	start := 0
	if len(clean) > 3 && clean[0] == 'ا' && clean[1] == 'ل' {
		b.WriteString("AL-")
		start = 2
	}
	for i := start; i < len(clean); i++ {
		r := clean[i]
		first := i == start
		last := i == len(clean)-1
		var next rune
		if !last {
			next = clean[i+1]
		}
		switch {
		case r >= 0x0660 && r <= 0x0669:
			b.WriteByte(byte('0' + r - 0x0660))
		case r >= 0x06F0 && r <= 0x06F9:
			b.WriteByte(byte('0' + r - 0x06F0))
		case r == 'ا' || r == 'أ' || r == 'آ' || r == 'ٱ':
			b.WriteByte('A')
		case r == 'إ':
			b.WriteByte('I')
		case r == 'ى':
			b.WriteByte('A')
		case r == 'ة':
			b.WriteByte('A')
		case r == 'ؤ':
			b.WriteByte('U')
		case r == 'و':
			switch {
			case first:
				b.WriteByte('W')
			case next == 'ا' || next == 'ي':
				b.WriteByte('W')
			default:
				b.WriteByte('U')
			}
		case isArabicYeh(r):
			switch {
			case r == 'ئ':
				b.WriteByte('I')
			case first:
				b.WriteByte('Y')
			case next == 'ا' || next == 'و':
				b.WriteByte('Y')
			default:
				b.WriteByte('I')
			}
		default:
			// an Arabic-block symbol or unlisted letter is dropped
			writeLetter(&b, arabicLetters, ScriptArabic, r)
		}
	}
	return b.String()
}

// ------------------------------------------------------------------ Hebrew

var hebrewLetters = map[rune]string{
	'א': "A", 'ב': "B", 'ג': "G", 'ד': "D", 'ה': "H", 'ז': "Z", 'ח': "KH", 'ט': "T",
	'כ': "K", 'ך': "KH", 'ל': "L", 'מ': "M", 'ם': "M", 'נ': "N", 'ן': "N", 'ס': "S",
	'ע': "A", 'פ': "P", 'ף': "F", 'צ': "TS", 'ץ': "TS", 'ק': "K", 'ר': "R", 'ש': "SH",
	'ת': "T",
}

// hebrewWord transliterates a Hebrew word (a consonant skeleton, like
// Arabic): ו is V at the start or doubled (וו), O inside; י is Y at the
// start, I inside. Niqqud is skipped.
func hebrewWord(rs []rune) string {
	var b strings.Builder
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		if r >= 0x0591 && r <= 0x05C7 { // points and cantillation
			continue
		}
		switch r {
		case 'ו':
			if i+1 < len(rs) && rs[i+1] == 'ו' {
				b.WriteByte('V')
				i++
			} else if i == 0 {
				b.WriteByte('V')
			} else {
				b.WriteByte('O')
			}
		case 'י':
			if i == 0 {
				b.WriteByte('Y')
			} else {
				b.WriteByte('I')
			}
		default:
			writeLetter(&b, hebrewLetters, ScriptHebrew, r)
		}
	}
	return b.String()
}

// ---------------------------------------------------------------- Armenian

// armenianLetters follows the BGN/PCGN 1981 romanisation of (Eastern)
// Armenian, upper case.
var armenianLetters = map[rune]string{
	'Ա': "A", 'Բ': "B", 'Գ': "G", 'Դ': "D", 'Ե': "E", 'Զ': "Z", 'Է': "E", 'Ը': "Y",
	'Թ': "T", 'Ժ': "ZH", 'Ի': "I", 'Լ': "L", 'Խ': "KH", 'Ծ': "TS", 'Կ': "K", 'Հ': "H",
	'Ձ': "DZ", 'Ղ': "GH", 'Ճ': "CH", 'Մ': "M", 'Յ': "Y", 'Ն': "N", 'Շ': "SH", 'Ո': "O",
	'Չ': "CH", 'Պ': "P", 'Ջ': "J", 'Ռ': "R", 'Ս': "S", 'Վ': "V", 'Տ': "T", 'Ր': "R",
	'Ց': "TS", 'Ւ': "V", 'Փ': "P", 'Ք': "K", 'Օ': "O", 'Ֆ': "F",
}

// armenianWord: Ե is YE and Ո is VO at the start of a word, ՈՒ is U, և is EV.
func armenianWord(rs []rune) string {
	var b strings.Builder
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case r == 'և':
			b.WriteString("EV")
		case r == 'Ո' && i+1 < len(rs) && rs[i+1] == 'Ւ':
			b.WriteString("U")
			i++
		case r == 'Ե' && i == 0:
			b.WriteString("YE")
		case r == 'Ո' && i == 0:
			b.WriteString("VO")
		default:
			writeLetter(&b, armenianLetters, ScriptArmenian, r)
		}
	}
	return b.String()
}

// ---------------------------------------------------------------- Georgian

// georgianLetters is the Georgian national romanisation (2002), without the
// apostrophes that mark ejectives.
var georgianLetters = map[rune]string{
	'ა': "A", 'ბ': "B", 'გ': "G", 'დ': "D", 'ე': "E", 'ვ': "V", 'ზ': "Z", 'თ': "T",
	'ი': "I", 'კ': "K", 'ლ': "L", 'მ': "M", 'ნ': "N", 'ო': "O", 'პ': "P", 'ჟ': "ZH",
	'რ': "R", 'ს': "S", 'ტ': "T", 'უ': "U", 'ფ': "P", 'ქ': "K", 'ღ': "GH", 'ყ': "Q",
	'შ': "SH", 'ჩ': "CH", 'ც': "TS", 'ძ': "DZ", 'წ': "TS", 'ჭ': "CH", 'ხ': "KH", 'ჯ': "J",
	'ჰ': "H",
}

func georgianWord(rs []rune) string {
	var b strings.Builder
	for _, r := range rs {
		if r >= 0x1C90 && r <= 0x1CBA { // Mtavruli capitals → Mkhedruli
			r = r - 0x1C90 + 0x10D0
		}
		writeLetter(&b, georgianLetters, ScriptGeorgian, r)
	}
	return b.String()
}

// ------------------------------------------------------------ Latin umlauts

func hasUmlaut(rs []rune) bool {
	for _, r := range rs {
		switch r {
		case 'Ä', 'Ö', 'Ü':
			return true
		}
	}
	return false
}

// umlautVariant spells the German umlauts AE, OE, UE (MÜLLER → MUELLER).
func umlautVariant(rs []rune) string {
	var b strings.Builder
	for _, r := range rs {
		switch r {
		case 'Ä':
			b.WriteString("AE")
		case 'Ö':
			b.WriteString("OE")
		case 'Ü':
			b.WriteString("UE")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
