package names

import "strings"

// Key returns the phonetic key of a folded token: a simplified Metaphone
// tuned for names that reach the lists through different transliterations
// (Arabic, Cyrillic, Persian). The rules, applied left to right:
//
//   - letters repeated in the spelling count once (MOHAMMED → M H M D);
//   - digraphs: SCH, TCH, SH, CH, CZ, SZ → X; ZH → J; KH → H; GH → G;
//     PH → F; TH, DH → T; TS, TZ → S; CK → K;
//   - C before E, I, Y → S, otherwise K; Q → K; X → KS; Z → S; D → T; V → F;
//   - W is F at the start of the word and dropped elsewhere (a semi-vowel in
//     transliterations: ZAWAHIRI/ZUAHRI); H at the end after a vowel is
//     dropped (FATIMAH/FATIMA);
//   - vowels (A E I O U Y) become A at the start of the word and are
//     dropped elsewhere.
//
// So MOHAMMED, MUHAMMAD and MOHAMAD share MHMT; YUSUF and YOUSSEF share ASF;
// SADDAM and the Arabic skeleton SDAM share STM; BUSH (BX) and HABBASH
// (HBX) differ. Digits and unsupported letters are ignored; the key of a
// token without ASCII letters is "".
func Key(tok string) string {
	var buf [32]byte
	out := buf[:0]
	var prev byte // previous source letter
	n := len(tok)
	first := true
	gap := false // a vowel was dropped since the last code
	for i := 0; i < n; i++ {
		c := tok[i]
		if c < 'A' || c > 'Z' {
			continue
		}
		if c == prev {
			continue
		}
		prev = c
		var next, next2 byte
		if i+1 < n {
			next = tok[i+1]
		}
		if i+2 < n {
			next2 = tok[i+2]
		}
		isFirst := first
		first = false
		before := len(out)
		emit := func(b ...byte) { out = append(out, b...) }
		switch c {
		case 'A', 'E', 'I', 'O', 'U', 'Y':
			if isFirst {
				emit('A')
			} else {
				gap = true
			}
		case 'S':
			switch {
			case next == 'C' && next2 == 'H':
				emit('X')
				i += 2
				prev = 'H'
			case next == 'H', next == 'Z':
				emit('X')
				i++
				prev = next
			default:
				emit('S')
			}
		case 'T':
			switch {
			case next == 'C' && next2 == 'H':
				emit('X')
				i += 2
				prev = 'H'
			case next == 'H':
				emit('T')
				i++
				prev = 'H'
			case next == 'S' || next == 'Z':
				emit('S')
				i++
				prev = next
			default:
				emit('T')
			}
		case 'C':
			switch {
			case next == 'H' || next == 'Z':
				emit('X')
				i++
				prev = next
			case next == 'K':
				emit('K')
				i++
				prev = 'K'
			case next == 'E' || next == 'I' || next == 'Y':
				emit('S')
			default:
				emit('K')
			}
		case 'Z':
			if next == 'H' {
				emit('J')
				i++
				prev = 'H'
			} else {
				emit('S')
			}
		case 'K':
			emit('K')
			if next == 'H' {
				out[len(out)-1] = 'H'
				i++
				prev = 'H'
			}
		case 'G':
			emit('G')
			if next == 'H' {
				i++
				prev = 'H'
			}
		case 'P':
			if next == 'H' {
				emit('F')
				i++
				prev = 'H'
			} else {
				emit('P')
			}
		case 'D':
			emit('T')
			if next == 'H' {
				i++
				prev = 'H'
			} else if next == 'Z' {
				out[len(out)-1] = 'J'
				i++
				prev = 'Z'
				if next2 == 'H' { // DZH: one J (Cyrillic Дж)
					i++
					prev = 'H'
				}
			}
		case 'Q':
			emit('K')
		case 'X':
			if isFirst {
				emit('S')
			} else {
				emit('K', 'S')
			}
		case 'V':
			emit('F')
		case 'W':
			if isFirst {
				emit('F')
			} else {
				gap = true
			}
		case 'H':
			if i == n-1 && i > 0 && isVowel(tok[i-1]) {
				break
			}
			emit('H')
		default:
			emit(c)
		}
		if len(out) > before {
			// collapse codes that became equal with no vowel between them
			// (D→T next to T: MAHMUDT)
			if !gap && before > 0 && out[before] == out[before-1] {
				out = append(out[:before], out[before+1:]...)
			}
			gap = false
		}
	}
	return string(out)
}

func isVowel(c byte) bool {
	switch c {
	case 'A', 'E', 'I', 'O', 'U', 'Y':
		return true
	}
	return false
}

// Skeleton is a folded token's first letter followed by its consonants:
// vowels (A E I O U Y) dropped and repeated letters collapsed. MOHAMMED,
// MOHAMMAD and MUHAMMAD all give "MHMD"; two spellings with one skeleton
// differ only in vowels or doubling.
func Skeleton(tok string) string {
	if tok == "" {
		return ""
	}
	b := make([]byte, 1, len(tok))
	b[0] = tok[0]
	for i := 1; i < len(tok); i++ {
		c := tok[i]
		if strings.IndexByte("AEIOUY", c) >= 0 || c == b[len(b)-1] {
			continue
		}
		b = append(b, c)
	}
	return string(b)
}

// WithinEdits reports whether the Levenshtein distance between a and b
// (compared byte by byte) is at most k.
func WithinEdits(a, b string, k int) bool {
	if len(a) > len(b) {
		a, b = b, a
	}
	if len(b)-len(a) > k {
		return false
	}
	prev := make([]int, len(a)+1)
	cur := make([]int, len(a)+1)
	for i := range prev {
		prev[i] = i
	}
	for j := 1; j <= len(b); j++ {
		cur[0] = j
		best := cur[0]
		for i := 1; i <= len(a); i++ {
			c := prev[i-1]
			if a[i-1] != b[j-1] {
				c++
			}
			c = min(c, prev[i]+1, cur[i-1]+1)
			cur[i] = c
			best = min(best, c)
		}
		if best > k {
			return false
		}
		prev, cur = cur, prev
	}
	return prev[len(a)] <= k
}
