package mrz

// charValue is the Doc 9303 Part 3 §4.9 value of an MRZ character:
// '0'-'9' → 0-9, 'A'-'Z' → 10-35, '<' → 0. ok is false for anything else.
func charValue(c byte) (v int, ok bool) {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0'), true
	case c >= 'A' && c <= 'Z':
		return int(c-'A') + 10, true
	case c == '<':
		return 0, true
	}
	return 0, false
}

// CheckDigit computes the Doc 9303 check digit of s: the sum of the character
// values weighted 7, 3, 1, 7, 3, 1, … modulo 10. Characters outside the MRZ
// set count as 0 (Parse never passes such input).
func CheckDigit(s string) byte {
	weights := [3]int{7, 3, 1}
	sum := 0
	for i := 0; i < len(s); i++ {
		v, _ := charValue(s[i])
		sum += v * weights[i%3]
	}
	return byte('0' + sum%10)
}

func validMRZChar(c byte) bool {
	_, ok := charValue(c)
	return ok
}
