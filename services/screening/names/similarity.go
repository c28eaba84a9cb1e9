package names

// JaroWinkler returns the Jaro-Winkler similarity (0..1) of two folded
// tokens, compared byte by byte, with the usual prefix scale 0.1 and a
// prefix of at most four.
func JaroWinkler(a, b string) float64 {
	if a == b {
		return 1
	}
	la, lb := len(a), len(b)
	if la == 0 || lb == 0 {
		return 0
	}
	if la > lb {
		a, b, la, lb = b, a, lb, la
	}
	window := lb/2 - 1
	if window < 0 {
		window = 0
	}
	var fa, fb [64]bool
	var ma, mb []bool
	if lb <= 64 {
		ma, mb = fa[:la], fb[:lb]
	} else {
		ma, mb = make([]bool, la), make([]bool, lb)
	}
	m := 0
	for i := 0; i < la; i++ {
		lo, hi := i-window, i+window+1
		if lo < 0 {
			lo = 0
		}
		if hi > lb {
			hi = lb
		}
		for j := lo; j < hi; j++ {
			if !mb[j] && a[i] == b[j] {
				ma[i], mb[j] = true, true
				m++
				break
			}
		}
	}
	if m == 0 {
		return 0
	}
	t, k := 0, 0
	for i := 0; i < la; i++ {
		if !ma[i] {
			continue
		}
		for !mb[k] {
			k++
		}
		if a[i] != b[k] {
			t++
		}
		k++
	}
	fm := float64(m)
	jaro := (fm/float64(la) + fm/float64(lb) + (fm-float64(t)/2)/fm) / 3
	p := 0
	for p < 4 && p < la && a[p] == b[p] {
		p++
	}
	return jaro + float64(p)*0.1*(1-jaro)
}

// Costs of the vowel-tolerant edit distance behind EditSimilarity and
// AbjadSimilarity.
const (
	costDouble     = 0.2  // a letter repeated in one spelling (HASAN/HASSAN)
	costVowelSub   = 0.5  // one vowel for another (HUSSEIN/HUSAYN)
	costCloseSub   = 0.3  // I↔Y, U↔W, O↔U, E↔I (SERGEI/SERGEY, OMAR/UMAR)
	costVowelIndel = 0.6  // a vowel present in one spelling only
	costSemiIndel  = 0.45 // W, Y present in one spelling only
	costHIndel     = 0.4  // H present in one spelling only (KHALID/KALID, FATIMAH)
	costConsSub    = 0.5  // transliteration-equivalent consonants (K/Q, V/W, J/G)
	costOther      = 1.0
	// an abjad skeleton does not write short vowels: a vowel of the Latin
	// spelling missing from the skeleton costs only this much.
	costAbjadVowel = 0.12
	// ... but a missing long vowel (the second of a vowel pair) costs this.
	costLongVowel = 0.4
)

func vowelLike(c byte) bool {
	switch c {
	case 'A', 'E', 'I', 'O', 'U':
		return true
	}
	return false
}

// closeVowels are vowel pairs that transliterations swap freely.
func closeVowels(x, y byte) bool {
	if x > y {
		x, y = y, x
	}
	switch {
	case x == 'I' && y == 'Y', x == 'U' && y == 'W', x == 'O' && y == 'U', x == 'E' && y == 'I',
		x == 'E' && y == 'Y', x == 'O' && y == 'W':
		return true
	}
	return false
}

// equivalentConsonants are consonants that different transliterations of
// the same letter produce.
func equivalentConsonants(x, y byte) bool {
	if x > y {
		x, y = y, x
	}
	switch uint16(x)<<8 | uint16(y) {
	case pair("CK"), pair("CQ"), pair("KQ"), pair("CS"), pair("SZ"), pair("VW"), pair("FV"),
		pair("BV"), pair("BP"), pair("DT"), pair("DZ"), pair("GJ"), pair("JY"), pair("KX"),
		pair("FP"), pair("GK"), pair("TZ"):
		return true
	}
	return false
}

// compatibleInitials reports whether two first letters may begin spellings
// of the same name: equal, both vowels (or Y), transliteration equivalents
// (C/K/Q, J/Y, V/W, ...), or KH against H.
func compatibleInitials(a, b string) bool {
	x, y := a[0], b[0]
	switch {
	case x == y, (vowelLike(x) || x == 'Y') && (vowelLike(y) || y == 'Y'), equivalentConsonants(x, y):
		return true
	case x == 'K' && y == 'H':
		return len(a) > 1 && a[1] == 'H'
	case x == 'H' && y == 'K':
		return len(b) > 1 && b[1] == 'H'
	}
	return false
}

// pair packs two upper-case letters for a switch.
func pair(s string) uint16 { return uint16(s[0])<<8 | uint16(s[1]) }

func subCost(x, y byte) float64 {
	switch {
	case x == y:
		return 0
	case closeVowels(x, y):
		return costCloseSub
	case (vowelLike(x) || x == 'Y') && (vowelLike(y) || y == 'Y'):
		return costVowelSub
	case equivalentConsonants(x, y):
		return costConsSub
	}
	return costOther
}

// indelCost is the cost of s[k] being present in s only. vowel is the cost
// of a lone vowel; the second letter of a vowel pair (OU, EE, AI: a long
// vowel, which an abjad does write) never costs less than costLongVowel.
func indelCost(s string, k int, vowel float64) float64 {
	c := s[k]
	switch {
	case k > 0 && s[k-1] == c, k+1 < len(s) && s[k+1] == c:
		return costDouble
	case vowelLike(c):
		if k > 0 && vowelLike(s[k-1]) && vowel < costLongVowel {
			return costLongVowel
		}
		return vowel
	case c == 'H', c == 'K' && k+1 < len(s) && s[k+1] == 'H':
		// H, and the K of KH (Х, خ: KHUSEIN/HUSSEIN, KHALID/HALID)
		return costHIndel
	case c == 'W' || c == 'Y':
		return costSemiIndel
	}
	return costOther
}

// subTable holds subCost for every pair of bytes, built once.
var subTable = func() *[256][256]float32 {
	var t [256][256]float32
	for x := 0; x < 256; x++ {
		for y := 0; y < 256; y++ {
			t[x][y] = float32(subCost(byte(x), byte(y)))
		}
	}
	return &t
}()

// maxEditLen bounds the tokens vowelEdit works on without allocating.
const maxEditLen = 40

// vowelEdit is a weighted Levenshtein distance with the costs above; vowel
// indels cost va in a and vb in b.
func vowelEdit(a, b string, va, vb float64) float64 {
	la, lb := len(a), len(b)
	var rowBuf [2][maxEditLen + 1]float32
	var dbBuf, daBuf [maxEditLen]float32
	var prev, cur, db, da []float32
	if la <= maxEditLen && lb <= maxEditLen {
		prev, cur = rowBuf[0][:lb+1], rowBuf[1][:lb+1]
		db, da = dbBuf[:lb], daBuf[:la]
	} else {
		prev, cur = make([]float32, lb+1), make([]float32, lb+1)
		db, da = make([]float32, lb), make([]float32, la)
	}
	for j := 0; j < lb; j++ {
		db[j] = float32(indelCost(b, j, vb))
	}
	for i := 0; i < la; i++ {
		da[i] = float32(indelCost(a, i, va))
	}
	prev[0] = 0
	for j := 1; j <= lb; j++ {
		prev[j] = prev[j-1] + db[j-1]
	}
	for i := 1; i <= la; i++ {
		dai := da[i-1]
		row := &subTable[a[i-1]]
		cur[0] = prev[0] + dai
		for j := 1; j <= lb; j++ {
			best := prev[j-1] + row[b[j-1]]
			if v := prev[j] + dai; v < best {
				best = v
			}
			if v := cur[j-1] + db[j-1]; v < best {
				best = v
			}
			cur[j] = best
		}
		prev, cur = cur, prev
	}
	return float64(prev[lb])
}

// EditSimilarity is a vowel-tolerant edit similarity (0..1) of two folded
// tokens: 1 − d/max(len), where d is an edit distance in which doubled
// letters, vowel changes, H, W and Y, and transliteration-equivalent
// consonants (K/Q, V/W, J/G, ...) cost less than other edits. It rates
// spelling variants (YOUSSEF/YUSUF, HUSSEIN/HUSAYN) higher than different
// names of similar shape.
func EditSimilarity(a, b string) float64 {
	if a == b {
		return 1
	}
	if len(a) == 0 || len(b) == 0 {
		return 0
	}
	d := vowelEdit(a, b, costVowelIndel, costVowelIndel)
	return clamp01(1 - d/float64(max(len(a), len(b))))
}

// AbjadSimilarity compares a token transliterated from an abjad (Arabic,
// Hebrew: see Token.Abjad) with a Latin spelling. Vowels of the Latin
// spelling that the skeleton lacks cost little (they are the unwritten short
// vowels), so SDAM (صدام) is close to SADDAM and MHMD (محمد) to MOHAMMED,
// while MHMUD (محمود) stays closer to MAHMOUD than to MOHAMMED.
func AbjadSimilarity(skeleton, latin string) float64 {
	if skeleton == latin {
		return 1
	}
	if len(skeleton) == 0 || len(latin) == 0 {
		return 0
	}
	d := vowelEdit(skeleton, latin, costVowelIndel, costAbjadVowel)
	// normalise by the consonant length of the Latin spelling plus the
	// skeleton's own vowels, so that free vowels do not inflate the length
	n := 0
	for i := 0; i < len(latin); i++ {
		if !vowelLike(latin[i]) {
			n++
		}
	}
	for i := 0; i < len(skeleton); i++ {
		if vowelLike(skeleton[i]) {
			n++
		}
	}
	n = max(n, len(skeleton), 1)
	return clamp01(1 - d/float64(n))
}

func clamp01(x float64) float64 {
	switch {
	case x < 0:
		return 0
	case x > 1:
		return 1
	}
	return x
}

// keyBonus is what equal phonetic keys add to a token similarity.
const keyBonus = 0.02

// Acceptance is the token similarity below which TokenSimilarity reports 0:
// different names of similar shape (MAHMOUD/MOHAMMED 0.81, KIM/KIN) fall
// below it, spelling variants and single typos in tokens of five letters or
// more stay above it.
const Acceptance = 0.82

// TokenSimilarity is the similarity (0..1) of two folded tokens used for
// name matching; 0 means "not the same name part". The policy:
//
//   - equal spellings: 1;
//   - a token from an abjad (Arabic, Hebrew) against a Latin one:
//     AbjadSimilarity;
//   - tokens of one or two characters: equal only;
//   - three characters: EditSimilarity (Jaro-Winkler overrates short
//     strings: KIM/KIN);
//   - one token less than half as long as the other: 0;
//   - first letters that cannot begin the same name (not equal, not both
//     vowels, not transliteration equivalents): the lower of Jaro-Winkler
//     and EditSimilarity (Jaro-Winkler alone rates TRADING/RADIN 0.9);
//   - otherwise Jaro-Winkler, or EditSimilarity when higher and Jaro-Winkler
//     is at least 0.7 (so a vowel-tolerant reading can rescue YUSUF/YOUSSEF
//     but not turn BUSH into HABBASH);
//   - equal phonetic keys (Key) add keyBonus to a similarity of at least
//     0.8, to at most 0.97 (a small bonus: Arabic names of one root share
//     their consonants, HASSAN/HUSAYN);
//
// and a result below Acceptance is 0.
func TokenSimilarity(a, b string, aAbjad, bAbjad bool) float64 {
	if a == b {
		return 1
	}
	s := TokenSimilarityKeys(a, b, Key(a), Key(b), aAbjad, bAbjad)
	if !aAbjad && !bAbjad {
		fa, fb := VariantFold(a), VariantFold(b)
		s = max(s, VariantSimilarity(fa, fb, Key(fa), Key(fb)))
	}
	return s
}

// VariantSimilarity compares two Latin spellings that may be two
// transliterations of one name (KHAKKANI/HAQQANI, DZHALALUDDIN/JALALUDDIN,
// BKHARDVADZH/BHARDWAJ) through their VariantFold forms fa, fb and the
// phonetic keys of those: the keys must be equal (two letters at least);
// then the similarity is Jaro-Winkler of the folded forms times
// variantCap, or 0 under Acceptance. Callers with an index precompute the
// folds and keys.
func VariantSimilarity(fa, fb, keyA, keyB string) float64 {
	if len(keyA) < 2 || keyA != keyB || len(fa) <= 2 || len(fb) <= 2 {
		return 0
	}
	if s := JaroWinkler(fa, fb) * variantCap; s >= Acceptance {
		return s
	}
	return 0
}

// TokenSimilarityKeys is TokenSimilarity with the phonetic keys of a and b
// computed by the caller (an index keeps them).
func TokenSimilarityKeys(a, b, keyA, keyB string, aAbjad, bAbjad bool) float64 {
	if a == b {
		return 1
	}
	var s float64
	switch {
	case aAbjad && !bAbjad:
		s = AbjadSimilarity(a, b)
	case bAbjad && !aAbjad:
		s = AbjadSimilarity(b, a)
	case len(a) <= 2 || len(b) <= 2:
		return 0
	case len(a) == 3 || len(b) == 3:
		s = EditSimilarity(a, b)
	case 2*min(len(a), len(b)) < max(len(a), len(b)):
		return 0 // one is less than half the other
	case !compatibleInitials(a, b):
		// Jaro-Winkler forgives a different first letter too easily
		// (TRADING/RADIN 0.9): names rarely differ there by a typo, so
		// the stricter of the two measures decides
		s = JaroWinkler(a, b)
		if s >= Acceptance {
			s = min(s, EditSimilarity(a, b))
		}
	default:
		s = JaroWinkler(a, b)
		if s >= 0.7 {
			if e := EditSimilarity(a, b); e > s {
				s = e
			}
		}
	}
	if s >= 0.8 && s < 0.97 && len(keyA) >= 2 && keyA == keyB {
		s = min(s+keyBonus, 0.97)
	}
	if s < Acceptance {
		return 0
	}
	return s
}

// variantCap caps a similarity found through VariantFold: two spellings
// that only agree once folded are a little less sure than one typo.
const variantCap = 0.95

// variantRules fold the spelling variants that transliterations of one name
// produce (Cyrillic, Arabic and Persian through English, French, German or
// ICAO conventions), longest first.
var variantRules = [...]struct{ from, to string }{
	{"SHCH", "SH"}, {"DZH", "J"}, {"TCH", "CH"}, {"DJ", "J"}, {"ZH", "J"},
	{"KH", "H"}, {"GH", "G"}, {"PH", "F"}, {"TH", "T"}, {"DH", "D"},
	{"CK", "K"}, {"Q", "K"}, {"W", "V"}, {"Y", "I"}, {"OU", "U"}, {"EE", "I"},
}

// VariantFold folds transliteration variants of a folded token (DZH, DJ,
// ZH → J; KH → H; Q → K; W → V; Y → I; OU → U; ...) and collapses doubled
// letters: KHAKKANI and HAQQANI both fold to HAKANI.
func VariantFold(tok string) string {
	var b []byte
	for i := 0; i < len(tok); {
		matched := false
		for _, r := range variantRules {
			if len(tok)-i >= len(r.from) && tok[i:i+len(r.from)] == r.from {
				b = append(b, r.to...)
				i += len(r.from)
				matched = true
				break
			}
		}
		if !matched {
			b = append(b, tok[i])
			i++
		}
	}
	out := b[:0]
	for i, c := range b {
		if i == 0 || c != b[i-1] {
			out = append(out, c)
		}
	}
	return string(out)
}
