package ocr

import (
	"strings"

	"github.com/openekyc/ekyc/services/document/mrz"
)

// Character classes of MRZ positions.
const (
	classAlpha = 'A' // letters or '<' (codes, names)
	classNum   = 'N' // digits or '<' (dates)
	classCheck = 'C' // a check digit (a digit; '<' kept)
	classAny   = 'X' // letters, digits or '<' (document number, optional data)
	classSex   = 'S' // M, F, X or '<'
)

// field is a span of one MRZ line with a character class; check, when >= 0,
// is the column of its check digit on the same line.
type field struct {
	line, start, end int
	class            byte
	check            int
	name             bool // a name field (filler runs are repaired)
}

// layout is the field layout of a format.
type layout struct {
	format    mrz.Format
	lines     int
	length    int
	fields    []field
	composite *composite
}

// composite is the composite check digit: the concatenation of the spans
// (line, start, end), checked at (line, col).
type composite struct {
	spans     [][3]int
	line, col int
}

func f(line, start, end int, class byte, check int) field {
	return field{line: line, start: start, end: end, class: class, check: check}
}

func name(line, start, end int) field {
	return field{line: line, start: start, end: end, class: classAlpha, check: -1, name: true}
}

var (
	layoutTD1 = layout{format: mrz.FormatTD1, lines: 3, length: 30, fields: []field{
		f(0, 0, 2, classAlpha, -1), f(0, 2, 5, classAlpha, -1), f(0, 5, 14, classAny, 14), f(0, 14, 15, classCheck, -1), f(0, 15, 30, classAny, -1),
		f(1, 0, 6, classNum, 6), f(1, 6, 7, classCheck, -1), f(1, 7, 8, classSex, -1), f(1, 8, 14, classNum, 14), f(1, 14, 15, classCheck, -1),
		f(1, 15, 18, classAlpha, -1), f(1, 18, 29, classAny, -1), f(1, 29, 30, classCheck, -1),
		name(2, 0, 30),
	}, composite: &composite{spans: [][3]int{{0, 5, 30}, {1, 0, 7}, {1, 8, 15}, {1, 18, 29}}, line: 1, col: 29}}

	layoutTD2  = twoLine(mrz.FormatTD2, 36, true)
	layoutTD3  = twoLine(mrz.FormatTD3, 44, true)
	layoutMRVA = twoLine(mrz.FormatMRVA, 44, false)
	layoutMRVB = twoLine(mrz.FormatMRVB, 36, false)
)

func twoLine(format mrz.Format, n int, hasComposite bool) layout {
	l := layout{format: format, lines: 2, length: n, fields: []field{
		f(0, 0, 2, classAlpha, -1), f(0, 2, 5, classAlpha, -1), name(0, 5, n),
		f(1, 0, 9, classAny, 9), f(1, 9, 10, classCheck, -1), f(1, 10, 13, classAlpha, -1),
		f(1, 13, 19, classNum, 19), f(1, 19, 20, classCheck, -1), f(1, 20, 21, classSex, -1),
		f(1, 21, 27, classNum, 27), f(1, 27, 28, classCheck, -1),
	}}
	switch {
	case format == mrz.FormatTD3:
		l.fields = append(l.fields, f(1, 28, 42, classAny, 42), f(1, 42, 43, classCheck, -1), f(1, 43, 44, classCheck, -1))
		l.composite = &composite{spans: [][3]int{{1, 0, 10}, {1, 13, 20}, {1, 21, 43}}, line: 1, col: 43}
	case hasComposite: // TD2
		l.fields = append(l.fields, f(1, 28, n-1, classAny, -1), f(1, n-1, n, classCheck, -1))
		l.composite = &composite{spans: [][3]int{{1, 0, 10}, {1, 13, 20}, {1, 21, n - 1}}, line: 1, col: n - 1}
	default: // MRV
		l.fields = append(l.fields, f(1, 28, n, classAny, -1))
	}
	return l
}

// toLetter and toDigit resolve the usual OCR confusions between letters and
// digits.
var (
	toLetter = map[byte]byte{'0': 'O', '1': 'I', '2': 'Z', '4': 'A', '5': 'S', '6': 'G', '8': 'B'}
	toDigit  = map[byte]byte{'O': '0', 'Q': '0', 'D': '0', 'U': '0', 'I': '1', 'L': '1', 'T': '1', 'Z': '2', 'A': '4', 'S': '5', 'G': '6', 'B': '8'}
)

// fillerLookalikes are what the recogniser reads for a '<' in a run of
// fillers.
const fillerLookalikes = "KCLEX"

// Correction is the outcome of Correct.
type Correction struct {
	Format mrz.Format
	// Lines are the corrected lines.
	Lines []string
	// Changes counts the characters changed, inserted or removed.
	Changes int
}

// Correct applies the MRZ grammar to OCR'd lines: it picks the format from
// the number of lines, their lengths and the document code, brings every
// line to the format's length (inserting or removing fillers in the longest
// run of '<'), forces each field's character class (letters in codes and
// names, digits in dates and check digits), repairs filler runs misread as
// K/C/L/E/X, and resolves letter/digit confusions (O/0, I/1, B/8, S/5, Z/2,
// G/6, ...) in document numbers and optional data by the check digits. It
// never fails: lines it cannot shape are returned as normalised.
func Correct(raw []string) Correction {
	lines := make([]string, 0, len(raw))
	for _, l := range raw {
		if n := normalise(l); n != "" {
			lines = append(lines, n)
		}
	}
	lay, ok := pickLayout(lines)
	if !ok {
		return Correction{Lines: lines}
	}
	c := Correction{Format: lay.format}
	buf := make([][]byte, lay.lines)
	for i, l := range lines {
		fixed, n := fitLength(l, lay.length)
		c.Changes += n
		buf[i] = []byte(fixed)
	}
	set := func(line, col int, b byte) {
		if buf[line][col] != b {
			buf[line][col] = b
			c.Changes++
		}
	}
	// Character classes.
	for _, fd := range lay.fields {
		for col := fd.start; col < fd.end; col++ {
			ch := buf[fd.line][col]
			switch fd.class {
			case classAlpha:
				if v, ok := toLetter[ch]; ok {
					set(fd.line, col, v)
				} else if ch >= '0' && ch <= '9' {
					set(fd.line, col, '<')
				}
			case classNum, classCheck:
				if v, ok := toDigit[ch]; ok {
					set(fd.line, col, v)
				} else if ch >= 'A' && ch <= 'Z' {
					set(fd.line, col, '<')
				}
			case classSex:
				switch ch {
				case 'M', 'F', 'X', '<':
				case 'H', 'N':
					set(fd.line, col, 'M')
				case 'E', 'P':
					set(fd.line, col, 'F')
				default:
					set(fd.line, col, '<')
				}
			}
		}
		if fd.name {
			c.Changes += repairFillers(buf[fd.line][fd.start:fd.end], true)
		}
	}
	// Document code: the second character is a letter or '<'; fillers of
	// non-name fields: a lookalike letter inside a filler run.
	for _, fd := range lay.fields {
		if fd.class == classAny {
			c.Changes += repairFillers(buf[fd.line][fd.start:fd.end], false)
		}
	}
	// Check digits.
	for _, fd := range lay.fields {
		if fd.check < 0 {
			continue
		}
		cd := buf[fd.line][fd.check]
		if cd == '<' && fd.class == classAny && lay.format == mrz.FormatTD3 && allFiller(buf[fd.line][fd.start:fd.end]) {
			continue // unused personal number
		}
		if cd < '0' || cd > '9' {
			continue // TD1 document number overflow, or unreadable
		}
		c.Changes += resolve(buf[fd.line][fd.start:fd.end], fd.class, func(s []byte) bool { return mrz.CheckDigit(string(s)) == cd })
	}
	if cp := lay.composite; cp != nil {
		cd := buf[cp.line][cp.col]
		if cd >= '0' && cd <= '9' {
			// The composite resolves optional data without its own check.
			for _, fd := range lay.fields {
				if fd.class != classAny || fd.check >= 0 {
					continue
				}
				fd := fd
				c.Changes += resolve(buf[fd.line][fd.start:fd.end], fd.class, func([]byte) bool {
					var sb strings.Builder
					for _, sp := range cp.spans {
						sb.Write(buf[sp[0]][sp[1]:sp[2]])
					}
					return mrz.CheckDigit(sb.String()) == cd
				})
			}
		}
	}
	for _, b := range buf {
		c.Lines = append(c.Lines, string(b))
	}
	return c
}

// normalise upper-cases a line, maps '<' lookalikes and drops anything
// outside the MRZ alphabet (spaces included).
func normalise(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z':
			b.WriteRune(r - 'a' + 'A')
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '<':
			b.WriteRune(r)
		case r >= 0xFF01 && r <= 0xFF5E: // full width
			if n := normalise(string(r - 0xFEE0)); n != "" {
				b.WriteString(n)
			}
		case strings.ContainsRune("«‹く〈《＜﹤", r):
			b.WriteByte('<')
		}
	}
	return b.String()
}

// pickLayout chooses the format from the line count, lengths and code.
func pickLayout(lines []string) (layout, bool) {
	switch len(lines) {
	case 3:
		return layoutTD1, true
	case 2:
	default:
		return layout{}, false
	}
	mean := (len(lines[0]) + len(lines[1])) / 2
	long := mean >= 40
	visa := lines[0][0] == 'V'
	switch {
	case lines[0][0] == 'P' && mean >= 32:
		return layoutTD3, true
	case visa && long:
		return layoutMRVA, true
	case visa:
		return layoutMRVB, true
	case long:
		return layoutTD3, true
	default:
		return layoutTD2, true
	}
}

// fitLength brings a line to n characters: extra or missing characters are
// taken from or added to its longest run of '<' (the end of the line when it
// has none).
func fitLength(l string, n int) (string, int) {
	changes := 0
	for len(l) != n {
		changes++
		start, length := longestFillerRun(l)
		switch {
		case len(l) > n && length > 0:
			l = l[:start] + l[start+1:]
		case len(l) > n:
			l = l[:len(l)-1]
		case length > 0:
			l = l[:start] + "<" + l[start:]
		default:
			l += "<"
		}
	}
	return l, changes
}

func longestFillerRun(l string) (start, length int) {
	for i := 0; i < len(l); {
		if l[i] != '<' {
			i++
			continue
		}
		j := i
		for j < len(l) && l[j] == '<' {
			j++
		}
		if j-i > length {
			start, length = i, j-i
		}
		i = j
	}
	return start, length
}

// repairFillers turns filler lookalikes (K, C, L, E, X) into '<' where they
// sit in a filler run: a run of at most two of them with '<' on both sides
// (or the end of the field on the right) and two '<' on at least one side.
// In a name field, a letter right after the first "<<" (the surname
// separator) starts the given names and is kept ("SMITH<<K<<<").
func repairFillers(s []byte, isName bool) int {
	sep := -1
	if isName {
		sep = strings.Index(string(s), "<<")
	}
	at := func(i int) byte {
		if i < 0 || i >= len(s) {
			return 0
		}
		return s[i]
	}
	look := func(b byte) bool { return b != 0 && strings.IndexByte(fillerLookalikes, b) >= 0 }
	changes := 0
	for i := 0; i < len(s); {
		if !look(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && look(s[j]) {
			j++
		}
		left1, left2 := at(i-1) == '<', at(i-1) == '<' && at(i-2) == '<'
		right1, right2 := at(j) == '<' || j == len(s), j == len(s) || (at(j) == '<' && at(j+1) == '<')
		if j-i <= 2 && left1 && right1 && (left2 || right2) && !(sep >= 0 && i == sep+2) {
			for k := i; k < j; k++ {
				s[k] = '<'
				changes++
			}
		}
		i = j
	}
	return changes
}

func allFiller(s []byte) bool {
	for _, c := range s {
		if c != '<' {
			return false
		}
	}
	return true
}

// resolve tries the letter/digit alternatives of s's ambiguous characters,
// fewest changes first, until ok accepts one; s is changed in place to it
// (left as it is when none is accepted or it is accepted already). It
// returns the number of characters changed.
func resolve(s []byte, class byte, ok func([]byte) bool) int {
	if ok(s) {
		return 0
	}
	type alt struct {
		pos int
		to  byte
	}
	var alts []alt
	for i, ch := range s {
		if v, found := toDigit[ch]; found && class != classNum {
			alts = append(alts, alt{i, v})
		}
		if v, found := toLetter[ch]; found && class == classAny {
			alts = append(alts, alt{i, v})
		}
		if strings.IndexByte(fillerLookalikes, ch) >= 0 && class == classAny && ((i > 0 && s[i-1] == '<') || (i+1 < len(s) && s[i+1] == '<')) {
			alts = append(alts, alt{i, '<'}) // a filler read as a letter
		}
		if ch == '<' && class == classAny && i > 0 && s[i-1] != '<' && i+1 < len(s) && s[i+1] != '<' {
			alts = append(alts, alt{i, 'K'}) // an inner K read as '<'
		}
	}
	if len(alts) > 16 {
		alts = alts[:16]
	}
	orig := append([]byte(nil), s...)
	for k := 1; k <= 3 && k <= len(alts); k++ {
		idx := make([]int, k)
		for i := range idx {
			idx[i] = i
		}
		var best []byte
		bestScore := -1
		for {
			copy(s, orig)
			valid := true
			score := 0
			for _, j := range idx {
				a := alts[j]
				if s[a.pos] != orig[a.pos] { // two alternatives at one position
					valid = false
				}
				s[a.pos] = a.to
			}
			if valid && ok(s) {
				// Among equally short repairs prefer those whose new
				// characters agree in kind with their neighbours (a digit
				// among digits, a letter among letters).
				for _, j := range idx {
					score += contextScore(s, alts[j].pos)
				}
				if score > bestScore {
					best, bestScore = append(best[:0], s...), score
				}
			}
			// next combination
			i := k - 1
			for i >= 0 && idx[i] == len(alts)-k+i {
				i--
			}
			if i < 0 {
				break
			}
			idx[i]++
			for j := i + 1; j < k; j++ {
				idx[j] = idx[j-1] + 1
			}
		}
		if best != nil {
			copy(s, best)
			return k
		}
	}
	copy(s, orig)
	return 0
}

// contextScore counts the neighbours of s[i] of the same kind (digit,
// letter or filler).
func contextScore(s []byte, i int) int {
	kind := func(b byte) int {
		switch {
		case b >= '0' && b <= '9':
			return 1
		case b == '<':
			return 2
		default:
			return 3
		}
	}
	n := 0
	for _, j := range []int{i - 1, i + 1} {
		if j >= 0 && j < len(s) && kind(s[j]) == kind(s[i]) {
			n++
		}
	}
	return n
}
