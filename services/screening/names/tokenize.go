package names

import (
	"strings"
)

// Class is the role of a token in a name.
type Class uint8

// Token classes.
const (
	// Word is an ordinary, match-bearing token.
	Word Class = iota
	// Initial is a single letter; it may match a full token that starts with
	// it, at reduced weight.
	Initial
	// LegalForm is a company legal form or generic corporate word (LTD, OOO,
	// HOLDING, "JOINT STOCK COMPANY"): it may adjust a score slightly but
	// never carries a match.
	LegalForm
)

var classNames = [...]string{"word", "initial", "legal_form"}

// String names the class.
func (c Class) String() string {
	if int(c) < len(classNames) {
		return classNames[c]
	}
	return "unknown"
}

// Flags tune Tokenize.
type Flags uint8

const (
	// Person says the name is a person's: legal forms are not classed (a
	// token such as CO or SA in a person's name is an ordinary word).
	Person Flags = 1 << iota
	// CommaReversed says a single comma separates "LAST, First Middle" (OFAC
	// style): the tokens are put back into natural order, First Middle LAST,
	// so that positions (first, middle, last) mean what they say.
	CommaReversed
	// Organisation says the name is not a person's: titles are not
	// dropped (GENERAL MOTORS keeps GENERAL).
	Organisation
)

// MaxTokens bounds the number of tokens Tokenize returns for one name;
// the rest is ignored (no real name has more).
const MaxTokens = 24

// Token is one normalised token of a name.
type Token struct {
	// Text is the folded upper-case ASCII spelling (letters of unsupported
	// scripts are kept verbatim).
	Text string
	// Alts are other plausible spellings from transliteration variants
	// (Cyrillic Й as Y rather than I, German Ü as UE); never Text itself.
	Alts []string
	// Class is the role of the token.
	Class Class
	// Script is the script the token was written in.
	Script Script
	// Pos is the position of the token among the tokens returned (natural
	// order).
	Pos int
}

// Abjad reports whether the token was written in a script without short
// vowels (Arabic, Hebrew).
func (t Token) Abjad() bool { return t.Script.Abjad() }

// piece is a raw token before the lexicon is applied.
type piece struct {
	text    string
	alt     string
	script  Script
	sep     byte // separator that follows: ' ', '.', '-', or 0 at the end
	initial bool // single letter
}

// Tokenize normalises a name into tokens: transliteration, folding,
// punctuation rules, stopwords, honorifics, Arabic article, legal forms (see
// the package documentation). It never returns nil for a name with letters
// or digits, but may return tokens that are all LegalForm ("CORP").
func Tokenize(name string, flags Flags) []Token {
	if flags&CommaReversed != 0 {
		name = reverseComma(name)
	}
	pcs := make([]piece, 0, 8)
	for i, w := range splitKeepSpaces(name) {
		if i%2 == 1 || w == "" {
			continue
		}
		p, v, sc := transliterateWord(w)
		pcs = appendPieces(pcs, p, v, sc)
		if n := len(pcs); n > 0 && pcs[n-1].sep == 0 {
			pcs[n-1].sep = ' '
		}
	}
	pcs = joinDotted(pcs)
	return applyLexicon(pcs, flags)
}

// reverseComma turns "LAST, First Middle" into "First Middle LAST" when the
// name has exactly one comma with text on both sides.
func reverseComma(s string) string {
	i := strings.IndexByte(s, ',')
	if i <= 0 || strings.IndexByte(s[i+1:], ',') >= 0 {
		return s
	}
	last, first := strings.TrimSpace(s[:i]), strings.TrimSpace(s[i+1:])
	if last == "" || first == "" {
		return s
	}
	return first + " " + last
}

// appendPieces folds one transliterated word (and its variant) and splits it
// into pieces at punctuation.
func appendPieces(pcs []piece, primary, variant string, sc Script) []piece {
	var b strings.Builder
	foldTo(&b, primary, false)
	ps := splitPieces(b.String())
	var vs []piece
	if variant != "" {
		b.Reset()
		foldTo(&b, variant, false)
		vs = splitPieces(b.String())
		if len(vs) != len(ps) {
			vs = nil
		}
	}
	for i := range ps {
		ps[i].script = sc
		if vs != nil && vs[i].text != ps[i].text {
			ps[i].alt = vs[i].text
		}
	}
	return append(pcs, ps...)
}

// splitPieces splits a folded word at punctuation. Dots and hyphens are
// remembered as the separator after a piece.
func splitPieces(s string) []piece {
	var out []piece
	start := -1
	flush := func(i int, sep byte) {
		if start >= 0 {
			t := s[start:i]
			out = append(out, piece{text: t, sep: sep, initial: len(t) == 1 && isLetter(t[0])})
			start = -1
		} else if len(out) > 0 && sep != ' ' && out[len(out)-1].sep == ' ' {
			out[len(out)-1].sep = sep
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.':
			flush(i, '.')
		case c == '-':
			flush(i, '-')
		case c == ' ' || c < 0x80 && !isAlnum(c):
			flush(i, ' ')
		default:
			if start < 0 {
				start = i
			}
		}
	}
	flush(len(s), 0)
	return out
}

func isLetter(c byte) bool { return c >= 'A' && c <= 'Z' }
func isAlnum(c byte) bool  { return isLetter(c) || c >= '0' && c <= '9' }

// joinDotted joins runs of single letters separated by dots (S.A. → SA,
// J.P. → JP, U.S.A. → USA).
func joinDotted(pcs []piece) []piece {
	out := pcs[:0]
	for i := 0; i < len(pcs); i++ {
		p := pcs[i]
		if p.initial && p.sep == '.' && i+1 < len(pcs) && pcs[i+1].initial {
			var b strings.Builder
			b.WriteString(p.text)
			j := i
			for j+1 < len(pcs) && pcs[j].sep == '.' && pcs[j+1].initial {
				j++
				b.WriteString(pcs[j].text)
			}
			out = append(out, piece{text: b.String(), sep: pcs[j].sep, script: p.script})
			i = j
			continue
		}
		out = append(out, p)
	}
	return out
}

// applyLexicon drops stopwords, honorifics and the Arabic article, classes
// legal forms and initials, and returns the tokens.
func applyLexicon(pcs []piece, flags Flags) []Token {
	toks := make([]Token, 0, len(pcs))
	kept := make([]bool, len(pcs))
	anyOther := func(skip int) bool {
		for j, q := range pcs {
			if j == skip {
				continue
			}
			if !IsStopword(q.text) && !IsHonorific(q.text) && !isSuffix(q.text) {
				if _, ok := particles[q.text]; !ok {
					return true
				}
			}
		}
		return false
	}
	// leading honorifics and trailing generational suffixes
	lead := 0
	for flags&Organisation == 0 && lead < len(pcs) && (IsHonorific(pcs[lead].text) || IsStopword(pcs[lead].text)) {
		lead++
	}
	trail := len(pcs)
	for trail > lead && isSuffix(pcs[trail-1].text) {
		trail--
	}
	if lead == trail || !anyOther(-1) { // nothing else: keep them
		lead, trail = 0, len(pcs)
	}
	for i, p := range pcs {
		if i < lead || i >= trail || IsStopword(p.text) {
			continue
		}
		if _, ok := particles[p.text]; ok && anyOther(i) {
			continue
		}
		if _, ok := assimilated[p.text]; ok && p.sep == '-' && i+1 < len(pcs) {
			continue
		}
		kept[i] = true
	}
	for i, p := range pcs {
		if !kept[i] {
			continue
		}
		t := Token{Text: p.text, Script: p.script}
		if p.alt != "" {
			t.Alts = []string{p.alt}
		}
		if len(p.text) == 1 && isLetter(p.text[0]) {
			t.Class = Initial
		}
		toks = append(toks, t)
		if len(toks) == MaxTokens {
			break
		}
	}
	if flags&Person == 0 {
		for i := 0; i < len(toks); {
			if n := legalForms.match(toks, i); n > 0 {
				for k := i; k < i+n; k++ {
					toks[k].Class = LegalForm
				}
				i += n
				continue
			}
			i++
		}
	}
	for i := range toks {
		toks[i].Pos = i
	}
	return toks
}

// Texts returns the Text of each token, a convenience for tests and logs.
func Texts(toks []Token) []string {
	out := make([]string, len(toks))
	for i, t := range toks {
		out[i] = t.Text
	}
	return out
}
