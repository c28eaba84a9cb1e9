package names

import "strings"

// stopwords are dropped from every name.
var stopwords = set("OF", "THE", "AND", "FOR", "ET", "UND", "AKA", "FKA", "NKA")

// honorifics are titles, ranks and forms of address, dropped at the start
// of a name (in natural order) as long as something else remains; elsewhere
// they are kept, because they are also family names (AL-SHAYKH, HAJI). Words that are also common given names
// (HAFIZ, IMAM, SAYED, MIR, ...) are deliberately absent.
var honorifics = set(
	"MR", "MRS", "MS", "MISS", "MADAM", "MADAME", "MME", "MLLE", "MONSIEUR", "MESSRS",
	"DR", "DOCTOR", "PROF", "PROFESSOR", "SIR", "DAME", "LORD", "LADY", "HON", "HONOURABLE",
	"HONORABLE", "REV", "REVEREND", "FR", "FATHER", "PASTOR", "BISHOP", "ARCHBISHOP",
	"SHEIKH", "SHEIK", "SHAIKH", "SHAYKH", "SHEIKHA", "CHEIKH", "CHEIK", "SHAYK",
	"HAJI", "HAJJI", "HADJI", "HAJ", "HAJJ", "HADJ", "ALHAJI", "ALHAJJ", "ALHAJ", "ALHADJI", "HAJIA", "HAJIYA",
	"MULLAH", "MULLA", "MOLLAH", "MOLLA", "MAULANA", "MAWLANA", "MOLANA", "MAULAVI", "MAULVI",
	"MAWLAWI", "MAWLAVI", "MOULAVI", "MOLAVI", "MAWLAWY", "QARI", "QAZI", "AYATOLLAH", "HOJATOLESLAM",
	"GEN", "GENERAL", "LTGEN", "MAJGEN", "BRIGGEN", "COL", "COLONEL", "LTCOL", "MAJ", "CAPT", "CAPTAIN",
	"LT", "LIEUTENANT", "SGT", "SERGEANT", "CPL", "CORPORAL", "ADM", "ADMIRAL", "CMDR", "COMMANDER",
	"BRIG", "BRIGADIER", "MARSHAL", "ENG", "ENGR", "ENGINEER", "ING", "MGR",
	"SHRI", "SRI", "SMT", "KUMARI", "HERR", "FRAU", "SENOR", "SENORA", "SRA", "SRTA", "DONA",
)

// suffixes are generational suffixes, dropped at the end of a name.
var suffixes = set("JR", "JNR", "SNR", "II", "III", "IV")

// particles are the Arabic definite article in its common Latin spellings;
// it is dropped when it stands alone (AL ZAWAHIRI, EL HASSAN, ZIA UL HAQ).
var particles = set("AL", "EL", "UL", "OL", "IL")

// assimilated are sun-letter forms of the article, dropped only when joined
// to the next word by a hyphen (AD-DIN, ASH-SHARIF, AR-RAHMAN).
var assimilated = set("AD", "AN", "AR", "AS", "ASH", "AT", "AZ", "ADH", "ATH", "ED", "EN", "ER",
	"ES", "ESH", "ET", "EZ", "UD", "UN", "UR", "US", "UT", "UZ", "ID", "IS")

// legalForms are company legal forms and generic corporate words, each a
// sequence of folded tokens. They never carry a match.
var legalForms = phrases(
	// English
	"CORP", "CORPORATION", "INC", "INCORPORATED", "LTD", "LIMITED", "LLC", "LLP", "LP", "PLC",
	"CO", "COMPANY", "COS", "HOLDING", "HOLDINGS", "GROUP", "PTE", "PTY", "PVT", "PRIVATE LIMITED",
	"PUBLIC LIMITED COMPANY", "LIMITED LIABILITY COMPANY", "LIMITED LIABILITY PARTNERSHIP",
	"LIMITED PARTNERSHIP", "JOINT STOCK COMPANY", "OPEN JOINT STOCK COMPANY",
	"CLOSED JOINT STOCK COMPANY", "PUBLIC JOINT STOCK COMPANY", "JOINT VENTURE", "CO LTD",
	"LTD CO", "FZE", "FZCO", "FZC", "FZ LLC", "DMCC", "WLL", "SPC",
	// German, Austrian, Swiss, Dutch, Nordic
	"GMBH", "AG", "KG", "OHG", "GBR", "EG", "SE", "KGAA", "AKTIENGESELLSCHAFT",
	"GESELLSCHAFT MIT BESCHRANKTER HAFTUNG", "BV", "NV", "VOF", "CV", "AB", "AS", "ASA", "OY", "OYJ",
	"APS", "HF", "EHF",
	// French, Spanish, Portuguese, Italian, Latin American
	"SA", "SAS", "SASU", "SARL", "EURL", "SNC", "SCS", "SCA", "EIRL", "SOCIETE ANONYME", "SL", "SLU",
	"SRL", "SPA", "SAPA", "SNC", "SCARL", "SOCIEDAD ANONIMA", "SOCIEDAD LIMITADA", "LTDA", "CIA",
	"Y CIA", "CIA LTDA", "SA DE CV", "S DE RL", "S DE RL DE CV", "SAPI DE CV", "SAB DE CV",
	"SC", "S EN C", "S EN CS", "SAC", "SAA", "EIRL", "SPRL", "SCRL", "BVBA", "SRO", "AS",
	// Central / Eastern Europe, Russia, CIS
	"SP Z OO", "SP ZOO", "SPZOO", "SA", "KFT", "ZRT", "NYRT", "BT", "DOO", "DD", "AD", "EAD",
	"OOD", "EOOD", "ET", "SRO", "AS", "OOO", "ZAO", "OAO", "PAO", "AO", "NAO", "JSC", "OJSC",
	"CJSC", "PJSC", "JSCB", "TOO", "TOV", "PRAT", "PAT", "PP", "DP", "UP", "FGUP", "GUP", "MUP",
	"ANO", "NKO", "IP", "OBSHCHESTVO S OGRANICHENNOI OTVETSTVENNOSTIU",
	"OBSHCHESTVO S OGRANICHENNOY OTVETSTVENNOSTYU", "AKTSIONERNOE OBSHCHESTVO",
	"OTKRYTOE AKTSIONERNOE OBSHCHESTVO", "ZAKRYTOE AKTSIONERNOE OBSHCHESTVO",
	"PUBLICHNOE AKTSIONERNOE OBSHCHESTVO", "TOVARYSTVO Z OBMEZHENOIU VIDPOVIDALNISTIU",
	// Middle East, Turkey, Asia
	"SAL", "SAE", "SAOG", "SAOC", "SAQ", "QSC", "QPSC", "PSC", "KSC", "KSCC", "KSCP", "BSC", "JSCO",
	"AS", "AO", "LTD STI", "LTD SIRKETI", "ANONIM SIRKETI", "TIC LTD STI", "SDN BHD", "BHD", "TBK",
	"PT", "JSC", "KK", "YK", "GK", "PCL", "CORP LTD", "CO LTD",
	// Greek
	"AE", "EPE", "IKE", "OE", "EE",
)

func set(words ...string) map[string]struct{} {
	m := make(map[string]struct{}, len(words))
	for _, w := range words {
		m[w] = struct{}{}
	}
	return m
}

// phraseTable maps the first token of each phrase to the phrases starting
// with it, longest first.
type phraseTable map[string][][]string

func phrases(ps ...string) phraseTable {
	t := phraseTable{}
	seen := map[string]bool{}
	for _, p := range ps {
		if seen[p] {
			continue
		}
		seen[p] = true
		f := strings.Fields(p)
		t[f[0]] = append(t[f[0]], f)
	}
	for k, v := range t {
		// longest first (insertion sort, the lists are short)
		for i := 1; i < len(v); i++ {
			for j := i; j > 0 && len(v[j]) > len(v[j-1]); j-- {
				v[j], v[j-1] = v[j-1], v[j]
			}
		}
		t[k] = v
	}
	return t
}

// match returns the length of the longest phrase starting at toks[i]
// (0 when none).
func (t phraseTable) match(toks []Token, i int) int {
	for _, p := range t[toks[i].Text] {
		if i+len(p) > len(toks) {
			continue
		}
		ok := true
		for k := 1; k < len(p); k++ {
			if toks[i+k].Text != p[k] {
				ok = false
				break
			}
		}
		if ok {
			return len(p)
		}
	}
	return 0
}

// IsStopword reports whether a folded token is dropped as a stopword.
func IsStopword(tok string) bool { _, ok := stopwords[tok]; return ok }

func isSuffix(tok string) bool { _, ok := suffixes[tok]; return ok }

// IsHonorific reports whether a folded token is a title or form of address.
func IsHonorific(tok string) bool { _, ok := honorifics[tok]; return ok }

// IsLegalForm reports whether a folded single token is a legal form or
// generic company word (multi-token forms such as "JOINT STOCK COMPANY" are
// recognised by Tokenize).
func IsLegalForm(tok string) bool {
	for _, p := range legalForms[tok] {
		if len(p) == 1 {
			return true
		}
	}
	return false
}
