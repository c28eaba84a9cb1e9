package screeningbench

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Positive query variants: how the query text is derived from a listed name.
const (
	VariantExact    = "exact"           // the listed primary name (persons given-names-first)
	VariantTypo     = "typo"            // one-character edit (QWERTY-neighbour substitution, deletion, insertion, transposition)
	VariantSwapped  = "swapped-order"   // persons: surname first ("NORIEGA Manuel Antonio")
	VariantNoMiddle = "missing-middle"  // persons: middle names dropped ("Manuel NORIEGA")
	VariantInitial  = "initial"         // persons: first given name as an initial ("M. Antonio NORIEGA")
	VariantFolded   = "no-diacritics"   // diacritics and punctuation dropped ("Forces Democratiques Alliees", "AL DIN")
	VariantCyrillic = "cyrillic"        // persons: Latin name transliterated into Cyrillic ("Мануел Антонио Нориега")
	VariantAlias    = "alias"           // a published alias (OFAC alt.csv, UN quality Good/a.k.a./f.k.a.)
	VariantNegName  = "neg-person"      // common given name(s) + surname, not listed
	VariantNegCorp  = "neg-company"     // made-up company name with a legal suffix, not listed
	VariantNegTrap  = "neg-trap"        // a listed person's given names with another surname, or the reverse; or a famous look-alike
	variantTrapList = "neg-trap-famous" // hand-written famous look-alikes ("GEORGE BUSH" vs George HABBASH)
)

// PositiveVariants lists the positive variants in report order.
var PositiveVariants = []string{
	VariantExact, VariantTypo, VariantSwapped, VariantNoMiddle,
	VariantInitial, VariantFolded, VariantCyrillic, VariantAlias,
}

// NegativeVariants lists the negative variants in report order.
var NegativeVariants = []string{VariantNegName, VariantNegCorp, VariantNegTrap, variantTrapList}

// Query is one labelled screening query.
type Query struct {
	Text    string // the name sent to the searcher
	Want    string // ID of the listed entry a positive must find ("ofac:1572"); "" for negatives
	Variant string
	Kind    Kind   // of the listed entry (positives), or of the made-up name (negatives)
	Source  string // SourceOFAC or SourceUN for positives; "" for negatives
	From    string // the listed name the query derives from (positives, generated traps)
}

// Positive reports whether the query names a listed entry.
func (q Query) Positive() bool { return q.Want != "" }

// Options size and seed the query set.
type Options struct {
	Seed      uint64
	Positives int
	Negatives int
}

// DefaultOptions is the query set the comparison uses unless overridden.
var DefaultOptions = Options{Seed: 1, Positives: 1000, Negatives: 1000}

// Generate builds the labelled query set from the lists, deterministically for
// given lists and options. Positives are spread evenly over PositiveVariants
// (a variant that cannot reach its share leaves the set smaller); negatives are
// 60% person names, 25% company names and 15% traps, and none of them equals a
// listed name or alias (compared by Key: folded, upper-cased, word order
// ignored). The result is shuffled with the same seed.
func Generate(l *Lists, opt Options) ([]Query, error) {
	if len(l.Entries) == 0 {
		return nil, fmt.Errorf("no listed entries")
	}
	rng := rand.New(rand.NewPCG(opt.Seed, 0x5c4ee9))

	var out []Query
	seen := map[string]bool{}
	add := func(q Query) bool {
		q.Text = strings.Join(strings.Fields(q.Text), " ")
		k := q.Want + "\x00" + q.Text
		if q.Text == "" || seen[k] {
			return false
		}
		seen[k] = true
		out = append(out, q)
		return true
	}

	for i, v := range PositiveVariants {
		quota := opt.Positives / len(PositiveVariants)
		if i < opt.Positives%len(PositiveVariants) {
			quota++
		}
		gen := variantFuncs[v]
		n := 0
		for _, idx := range rng.Perm(len(l.Entries)) {
			if n == quota {
				break
			}
			e := &l.Entries[idx]
			text, ok := gen(e, rng)
			if !ok {
				continue
			}
			if add(Query{Text: text, Want: e.ID, Variant: v, Kind: e.Kind, Source: e.Source, From: e.Name}) {
				n++
			}
		}
	}

	// Negatives.
	negSeen := map[string]bool{}
	addNeg := func(q Query) bool {
		k := Key(q.Text)
		if k == "" || l.keys[k] || negSeen[k] || l.Contains(q.Text) {
			return false
		}
		negSeen[k] = true
		return add(q)
	}
	nTrap := opt.Negatives * 15 / 100
	nCorp := opt.Negatives * 25 / 100
	nName := opt.Negatives - nTrap - nCorp

	traps := 0
	for _, t := range famousTraps {
		if traps == nTrap {
			break
		}
		if addNeg(Query{Text: t.text, Variant: variantTrapList, Kind: KindPerson, From: t.from}) {
			traps++
		}
	}
	persons := make([]int, 0, len(l.Entries))
	for i := range l.Entries {
		if e := &l.Entries[i]; e.Kind == KindPerson && len(e.Given) > 0 && len(e.Surname) > 0 && isASCII(e.Natural()) {
			persons = append(persons, i)
		}
	}
	for tries := 0; traps < nTrap && len(persons) > 0 && tries < 100*nTrap; tries++ {
		e := &l.Entries[persons[rng.IntN(len(persons))]]
		if addNeg(Query{Text: trapFor(e, rng), Variant: VariantNegTrap, Kind: KindPerson, From: e.Name}) {
			traps++
		}
	}
	for n, tries := 0, 0; n < nCorp && tries < 100*nCorp; tries++ {
		if addNeg(Query{Text: companyName(rng), Variant: VariantNegCorp, Kind: KindEntity}) {
			n++
		}
	}
	for n, tries := 0, 0; n < nName && tries < 100*nName; tries++ {
		if addNeg(Query{Text: personName(rng), Variant: VariantNegName, Kind: KindPerson}) {
			n++
		}
	}

	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out, nil
}

// listedKeys returns the Key of every listed name and alias, published and
// given-names-first.
func listedKeys(l *Lists) map[string]bool {
	keys := make(map[string]bool, 4*len(l.Entries))
	for i := range l.Entries {
		e := &l.Entries[i]
		keys[Key(e.Name)] = true
		keys[Key(e.Natural())] = true
		for _, a := range e.Aliases {
			keys[Key(a.Name)] = true
		}
	}
	delete(keys, "")
	return keys
}

// particles and legalForms are left out of a name's core words: they do not
// tell one party from another.
var (
	particles  = setOfWords("AL EL BIN BEN IBN ABU ABD BINT DE DA DI DEL LA LE VAN VON DER")
	legalForms = setOfWords("LTD LLC INC CORP CORPORATION CO COMPANY GROUP HOLDING HOLDINGS SA SAS SRL GMBH AG PLC LLP JSC OJSC PJSC CJSC OOO ZAO OAO PAO FZE FZCO FZC LIMITED BV NV SPA SL KG CV")
)

func setOfWords(s string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(s) {
		m[w] = true
	}
	return m
}

// coreWords are a name's words, folded and upper-cased, without particles
// and legal forms, deduplicated.
func coreWords(name string) []string {
	var out []string
	seen := map[string]bool{}
	for _, w := range strings.FieldsFunc(strings.ToUpper(Fold(name)), func(r rune) bool { return r < 'A' || r > 'Z' }) {
		if len(w) > 1 && !particles[w] && !legalForms[w] && !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	return out
}

// listedWords indexes the core words of every listed name and alias by
// their consonant skeleton (see skeleton), for Contains. names[i] holds the
// core words of listed name i.
func listedWords(l *Lists) (words map[string][]int32, names [][]string) {
	words = map[string][]int32{}
	for i := range l.Entries {
		e := &l.Entries[i]
		all := []string{e.Name}
		for _, a := range e.Aliases {
			all = append(all, a.Name)
		}
		for _, n := range all {
			id := int32(len(names))
			cw := coreWords(n)
			names = append(names, cw)
			for _, w := range cw {
				k := skeleton(w)
				if ids := words[k]; len(ids) == 0 || ids[len(ids)-1] != id {
					words[k] = append(words[k], id)
				}
			}
		}
	}
	return words, names
}

// Contains reports whether name is a potential match of some listed name or
// alias that a screener should raise, so that the generator does not use it
// as a negative:
//   - every core word of name is a word of the listed name (the listed name
//     without a middle name, a listed company under another legal form), or
//   - every core word of a listed name of two or more core words is a word of
//     name (the listed name with another name added: "Jurdan MARTITEGUI
//     LOPEZ" for "MARTITEGUI, Jurdan").
//
// Words are compared as spellings of one name (sameName): "MOHAMMED" is
// "MOHAMMAD", "DMITRY" is "DMITRI", "QASIM" is "QASSIM", "YOUNG" is "YONG".
func (l *Lists) Contains(name string) bool {
	ws := coreWords(name)
	if len(ws) == 0 {
		return false
	}
	seen := map[int32]bool{}
	for _, w := range ws {
		for _, id := range l.words[skeleton(w)] {
			if seen[id] {
				continue
			}
			seen[id] = true
			lw := l.names[id]
			if coversAll(lw, ws) || (len(lw) >= 2 && coversAll(ws, lw)) {
				return true
			}
		}
	}
	return false
}

// coversAll reports whether every word of want has a sameName word in have.
func coversAll(have, want []string) bool {
	for _, w := range want {
		found := false
		for _, h := range have {
			if sameName(h, w) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// sameName reports whether a and b are spellings of one name: equal, or with
// the same consonant skeleton and one edit apart (a vowel changed, added or
// dropped, or a letter doubled). The rule is deliberately narrow and
// independent of any matcher under test: "OMAR"/"OMAIRI" (two edits),
// "MARINA"/"MARWAN" and "SALMA"/"SALMAN" (other consonants) stay different
// names.
func sameName(a, b string) bool {
	if a == b {
		return true
	}
	return skeleton(a) == skeleton(b) && editDistance1(a, b)
}

// skeleton is a word's first letter followed by its consonants, vowels
// (A E I O U Y) dropped and repeated letters collapsed: "MOHAMMED" → "MHMD".
func skeleton(w string) string {
	if w == "" {
		return ""
	}
	b := []byte{w[0]}
	for i := 1; i < len(w); i++ {
		c := w[i]
		if strings.IndexByte("AEIOUY", c) >= 0 || c == b[len(b)-1] {
			continue
		}
		b = append(b, c)
	}
	return string(b)
}

// editDistance1 reports whether a and b (ASCII) differ by at most one
// substitution, insertion or deletion.
func editDistance1(a, b string) bool {
	if len(a) > len(b) {
		a, b = b, a
	}
	if len(b)-len(a) > 1 {
		return false
	}
	i := 0
	for i < len(a) && a[i] == b[i] {
		i++
	}
	if i == len(a) {
		return true
	}
	if len(a) == len(b) {
		return a[i+1:] == b[i+1:]
	}
	return a[i:] == b[i+1:]
}

// IsListed reports whether name equals a listed name or alias by Key.
func (l *Lists) IsListed(name string) bool {
	return l.keys[Key(name)]
}

var variantFuncs = map[string]func(*Entry, *rand.Rand) (string, bool){
	VariantExact: func(e *Entry, _ *rand.Rand) (string, bool) {
		return e.Natural(), true
	},
	VariantTypo: func(e *Entry, r *rand.Rand) (string, bool) {
		base := e.Natural()
		t := Typo(base, r)
		return t, t != base
	},
	VariantSwapped: func(e *Entry, _ *rand.Rand) (string, bool) {
		if e.Kind != KindPerson || len(e.Given) == 0 || len(e.Surname) == 0 {
			return "", false
		}
		return strings.Join(append(append([]string{}, e.Surname...), e.Given...), " "), true
	},
	VariantNoMiddle: func(e *Entry, _ *rand.Rand) (string, bool) {
		if e.Kind != KindPerson || len(e.Given) < 2 || len(e.Surname) == 0 {
			return "", false
		}
		return e.Given[0] + " " + strings.Join(e.Surname, " "), true
	},
	VariantInitial: func(e *Entry, _ *rand.Rand) (string, bool) {
		if e.Kind != KindPerson || len(e.Given) == 0 || len(e.Surname) == 0 {
			return "", false
		}
		first, _ := utf8.DecodeRuneInString(e.Given[0])
		if !unicode.IsLetter(first) || utf8.RuneCountInString(e.Given[0]) < 2 {
			return "", false
		}
		toks := append([]string{string(unicode.ToUpper(first)) + "."}, e.Given[1:]...)
		return strings.Join(append(toks, e.Surname...), " "), true
	},
	VariantFolded: func(e *Entry, _ *rand.Rand) (string, bool) {
		base := e.Natural()
		f := Fold(base)
		return f, f != base && f != ""
	},
	VariantCyrillic: func(e *Entry, _ *rand.Rand) (string, bool) {
		if e.Kind != KindPerson {
			return "", false
		}
		base := e.Natural()
		if !isASCII(base) {
			return "", false
		}
		c := ToCyrillic(base)
		return c, c != "" && c != base
	},
	VariantAlias: func(e *Entry, r *rand.Rand) (string, bool) {
		own := map[string]bool{Key(e.Name): true, Key(e.Natural()): true}
		var cands []string
		for _, a := range e.Aliases {
			if a.Weak {
				continue
			}
			n := a.Name
			if e.Kind == KindPerson && e.Source == SourceOFAC {
				if g, s := splitOFACPerson(n); len(g) > 0 && strings.Contains(n, ",") {
					n = strings.Join(append(g, s...), " ")
				}
			}
			if !own[Key(n)] {
				cands = append(cands, n)
			}
		}
		if len(cands) == 0 {
			return "", false
		}
		return cands[r.IntN(len(cands))], true
	},
}

// Typo applies one random character edit to one word of at least four letters,
// never to its first letter: a QWERTY-neighbour substitution, a deletion, an
// insertion of a neighbour, or a transposition of two different adjacent
// letters. The case of the word is kept. It returns s unchanged when no word
// qualifies.
func Typo(s string, r *rand.Rand) string {
	toks := strings.Fields(s)
	var cands []int
	for i, t := range toks {
		rs := []rune(t)
		ok := len(rs) >= 4
		for _, c := range rs {
			if c >= utf8.RuneSelf || !unicode.IsLetter(c) {
				ok = false
				break
			}
		}
		if ok {
			cands = append(cands, i)
		}
	}
	if len(cands) == 0 {
		return s
	}
	ti := cands[r.IntN(len(cands))]
	rs := []rune(toks[ti])
	for attempt := 0; attempt < 8; attempt++ {
		pos := 1 + r.IntN(len(rs)-1)
		c := rs[pos]
		upper := unicode.IsUpper(c)
		caseOf := func(x rune) rune {
			if upper {
				return unicode.ToUpper(x)
			}
			return unicode.ToLower(x)
		}
		nb := qwertyNeighbours[unicode.ToLower(c)]
		var out []rune
		switch r.IntN(4) {
		case 0: // substitution
			if nb == "" {
				continue
			}
			n := []rune(nb)
			out = append(append(append([]rune{}, rs[:pos]...), caseOf(n[r.IntN(len(n))])), rs[pos+1:]...)
		case 1: // deletion
			out = append(append([]rune{}, rs[:pos]...), rs[pos+1:]...)
		case 2: // insertion of a neighbour after pos
			if nb == "" {
				continue
			}
			n := []rune(nb)
			out = append(append(append([]rune{}, rs[:pos+1]...), caseOf(n[r.IntN(len(n))])), rs[pos+1:]...)
		case 3: // transposition with the next letter
			if pos+1 >= len(rs) || unicode.ToLower(rs[pos]) == unicode.ToLower(rs[pos+1]) {
				continue
			}
			out = append([]rune{}, rs...)
			out[pos], out[pos+1] = out[pos+1], out[pos]
		}
		toks[ti] = string(out)
		return strings.Join(toks, " ")
	}
	// Fall back to deleting the last letter.
	toks[ti] = string(rs[:len(rs)-1])
	return strings.Join(toks, " ")
}

var qwertyNeighbours = map[rune]string{
	'q': "wa", 'w': "qes", 'e': "wrd", 'r': "etf", 't': "ryg", 'y': "tuh", 'u': "yij", 'i': "uok", 'o': "ipl", 'p': "ol",
	'a': "qsz", 's': "adwx", 'd': "sfex", 'f': "dgrc", 'g': "fhtv", 'h': "gjyb", 'j': "hkun", 'k': "jlim", 'l': "kop",
	'z': "asx", 'x': "zcs", 'c': "xvd", 'v': "cbf", 'b': "vng", 'n': "bmh", 'm': "nj",
}

// ToCyrillic transliterates a Latin name into Cyrillic with a simple
// Russian-style table (digraphs first: shch sh ch zh kh ts ya yu yo ye ph th ck
// oo ou; then letter by letter; c before e/i/y is с, otherwise к; y after a
// vowel is й, word-final y after a consonant ий). Non-letters are kept; a fully upper-case word stays upper-case,
// any other word is written with a capital initial. A name with letters outside
// ASCII is returned unchanged.
func ToCyrillic(s string) string {
	if !isASCII(s) {
		return s
	}
	toks := strings.Fields(s)
	for i, t := range toks {
		allUpper := strings.ToUpper(t) == t && strings.ToLower(t) != t
		lower := strings.ToLower(t)
		var b strings.Builder
		for j := 0; j < len(lower); {
			matched := false
			for _, d := range cyrDigraphs {
				if strings.HasPrefix(lower[j:], d[0]) {
					b.WriteString(d[1])
					j += len(d[0])
					matched = true
					break
				}
			}
			if matched {
				continue
			}
			c := lower[j]
			switch {
			case c == 'c':
				if j+1 < len(lower) && strings.IndexByte("eiy", lower[j+1]) >= 0 {
					b.WriteString("с")
				} else {
					b.WriteString("к")
				}
			case c == 'y':
				switch {
				case j > 0 && strings.IndexByte("aeiou", lower[j-1]) >= 0:
					b.WriteString("й")
				case j > 0 && j == len(lower)-1: // Khodorkovsky
					b.WriteString("ий")
				default:
					b.WriteString("и")
				}
			case c >= 'a' && c <= 'z':
				b.WriteString(cyrLetters[c-'a'])
			default:
				b.WriteByte(c)
			}
			j++
		}
		out := b.String()
		if allUpper {
			out = strings.ToUpper(out)
		} else if r, n := utf8.DecodeRuneInString(out); n > 0 {
			out = string(unicode.ToUpper(r)) + out[n:]
		}
		toks[i] = out
	}
	return strings.Join(toks, " ")
}

var cyrDigraphs = [][2]string{
	{"shch", "щ"}, {"sh", "ш"}, {"ch", "ч"}, {"zh", "ж"}, {"kh", "х"}, {"ts", "ц"},
	{"ya", "я"}, {"yu", "ю"}, {"yo", "ё"}, {"ye", "е"}, {"ph", "ф"}, {"th", "т"},
	{"ck", "к"}, {"oo", "у"}, {"ou", "у"},
}

var cyrLetters = [26]string{
	"а", "б", "к", "д", "е", "ф", "г", "х", "и", "дж", "к", "л", "м",
	"н", "о", "п", "к", "р", "с", "т", "у", "в", "в", "кс", "и", "з",
}

// trapFor makes a look-alike of a listed person that names someone else: the
// listed given names with a common surname of the same initial (else any), or a
// common given name with the listed surname.
func trapFor(e *Entry, r *rand.Rand) string {
	c := cultures[r.IntN(len(cultures))]
	if r.IntN(2) == 0 {
		s := pickSameInitial(c.surnames, e.Surname[0], r)
		return strings.Join(e.Given, " ") + " " + s
	}
	return c.given[r.IntN(len(c.given))] + " " + strings.Join(e.Surname, " ")
}

func pickSameInitial(names []string, like string, r *rand.Rand) string {
	var same []string
	for _, n := range names {
		if strings.EqualFold(n[:1], like[:1]) {
			same = append(same, n)
		}
	}
	if len(same) > 0 {
		return same[r.IntN(len(same))]
	}
	return names[r.IntN(len(names))]
}

// personName makes a common name: a given name, sometimes a middle given name
// (Spanish: sometimes a second surname), and a surname, mostly from one culture.
func personName(r *rand.Rand) string {
	c := cultures[r.IntN(len(cultures))]
	parts := []string{c.given[r.IntN(len(c.given))]}
	if r.IntN(4) == 0 {
		parts = append(parts, c.given[r.IntN(len(c.given))])
	}
	sc := c
	if r.IntN(5) == 0 {
		sc = cultures[r.IntN(len(cultures))]
	}
	parts = append(parts, sc.surnames[r.IntN(len(sc.surnames))])
	if c.name == "spanish" && r.IntN(5) < 2 {
		parts = append(parts, c.surnames[r.IntN(len(c.surnames))])
	}
	if r.IntN(2) == 0 {
		return strings.ToUpper(strings.Join(parts, " "))
	}
	return strings.Join(parts, " ")
}

func companyName(r *rand.Rand) string {
	return corpStems[r.IntN(len(corpStems))] + " " +
		corpTrades[r.IntN(len(corpTrades))] + " " +
		corpSuffixes[r.IntN(len(corpSuffixes))]
}

type culture struct {
	name     string
	given    []string
	surnames []string
}

// 25 common given names and 25 common surnames for each of four cultures.
var cultures = []culture{
	{"english",
		[]string{"James", "John", "Robert", "Michael", "William", "David", "Richard", "Joseph", "Thomas", "Charles",
			"Mary", "Patricia", "Jennifer", "Linda", "Elizabeth", "Barbara", "Susan", "Jessica", "Sarah", "Karen",
			"Emily", "Daniel", "Matthew", "Andrew", "Olivia"},
		[]string{"Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson", "Taylor",
			"Thomas", "Moore", "Jackson", "Martin", "Thompson", "White", "Harris", "Clark", "Lewis", "Walker",
			"Hall", "Young", "Allen", "Wright", "Baker"}},
	{"spanish",
		[]string{"Jose", "Juan", "Luis", "Carlos", "Jorge", "Pedro", "Miguel", "Alejandro", "Fernando", "Javier",
			"Maria", "Ana", "Carmen", "Lucia", "Sofia", "Isabel", "Elena", "Laura", "Marta", "Rosa",
			"Pablo", "Diego", "Andres", "Raul", "Teresa"},
		[]string{"Garcia", "Rodriguez", "Martinez", "Hernandez", "Lopez", "Gonzalez", "Perez", "Sanchez", "Ramirez", "Torres",
			"Flores", "Rivera", "Gomez", "Diaz", "Morales", "Ortiz", "Gutierrez", "Chavez", "Ruiz", "Alvarez",
			"Castillo", "Jimenez", "Moreno", "Romero", "Navarro"}},
	{"arabic",
		[]string{"Mohammed", "Ahmed", "Ali", "Omar", "Youssef", "Ibrahim", "Khalid", "Hassan", "Hussein", "Abdullah",
			"Mustafa", "Tariq", "Karim", "Samir", "Nabil", "Fatima", "Aisha", "Mariam", "Layla", "Noor",
			"Zainab", "Huda", "Salma", "Rania", "Yasmin"},
		[]string{"Haddad", "Khoury", "Mansour", "Nasser", "Saleh", "Hamdan", "Aziz", "Rahman", "Farouk", "Suleiman",
			"Qasim", "Darwish", "Barakat", "Najjar", "Sabbagh", "Tamimi", "Masri", "Shami", "Halabi", "Jaber",
			"Khalil", "Issa", "Yassin", "Bakr", "Othman"}},
	{"russian",
		[]string{"Alexander", "Sergei", "Dmitry", "Andrei", "Alexei", "Mikhail", "Ivan", "Nikolai", "Pavel", "Yuri",
			"Oleg", "Igor", "Boris", "Viktor", "Anatoly", "Olga", "Tatiana", "Natalia", "Elena", "Irina",
			"Svetlana", "Anna", "Ekaterina", "Yulia", "Marina"},
		[]string{"Ivanov", "Smirnov", "Kuznetsov", "Popov", "Vasiliev", "Petrov", "Sokolov", "Mikhailov", "Novikov", "Fedorov",
			"Morozov", "Volkov", "Alekseev", "Lebedev", "Semenov", "Egorov", "Pavlov", "Kozlov", "Stepanov", "Nikolaev",
			"Orlov", "Andreev", "Makarov", "Zakharov", "Zaitsev"}},
}

var corpStems = []string{
	"ACME", "GLOBAL", "PACIFIC", "NORTHERN", "SUNRISE", "BLUE RIVER", "SILVER OAK", "EVEREST", "ATLAS", "PIONEER",
	"HORIZON", "SUMMIT", "CRESCENT", "MERIDIAN", "EASTERN STAR", "GOLDEN GATE", "APEX", "NOVA", "UNITED", "PRIME",
	"WESTFIELD", "REDWOOD", "LIBERTY", "CORNERSTONE", "BRIGHTWATER", "KEYSTONE", "HARBOR", "FALCON", "ORION", "CEDAR",
}

var corpTrades = []string{
	"TRADING", "LOGISTICS", "SHIPPING", "HOLDINGS", "INVESTMENTS", "CONSTRUCTION", "TECHNOLOGIES", "PETROLEUM",
	"FOODS", "TEXTILES", "PHARMA", "ENGINEERING", "CONSULTING", "MINING", "AGRO", "ELECTRONICS", "FREIGHT",
	"CAPITAL", "ENERGY", "MARINE", "IMPORT EXPORT", "GENERAL TRADING", "INDUSTRIES", "SUPPLY",
}

var corpSuffixes = []string{
	"LTD", "LLC", "CORP", "INC", "GMBH", "S.A.", "SA DE CV", "FZE", "CO., LTD.", "PLC",
	"LLP", "PTE LTD", "JSC", "OOO", "B.V.", "S.R.L.", "AG", "S.A.S.", "LIMITED", "CORPORATION",
}

// famousTraps are well-known names that share a given name or a sound with a
// listed person but name someone else. from is the listed name they resemble.
var famousTraps = []struct{ text, from string }{
	{"GEORGE BUSH", "HABBASH, George"},
	{"George W. Bush", "HABBASH, George"},
	{"Kim Jong Kook", "KIM, Jong Un"},
	{"Kim Kardashian", "KIM, Jong Un"},
	{"Nicolas Cage", "MADURO MOROS, Nicolas"},
	{"Vladimir Nabokov", "KONONOV, Vladimir"},
	{"Joaquin Phoenix", "GUZMAN LOERA, Joaquin"},
	{"Ayman Hariri", "AL ZAWAHIRI, Dr. Ayman"},
	{"Hasan Nasser", "NASRALLAH, Hasan"},
	{"Ramzan Ahmed", "KADYROV, Ramzan Akhmatovich"},
	{"Alexander Lukas", "LUKASHENKA, Alyaksandr Hryhoryavich"},
	{"Hugo Chavez Martin", "CHAVEZ FRIAS, Adan Coromoto"},
}
