package screening_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openekyc/ekyc/services/screening"
)

// The entities below were checked in the published lists
// (/work/shared/data/sanctions): OFAC ent_num 2680 "HABBASH, George",
// 24283 "DERIPASKA, Oleg Vladimirovich", 23343 "KADYROV, Ramzan
// Akhmatovich", 16669 "ROTENBERG, Arkady", 16692 "SECHIN, Igor", 12300
// "CIFUENTES VILLA, Jorge Milton", 21286 "BIN LADEN, Hamza", 2676 "AL
// ZAWAHIRI, Dr. Ayman", 7843 "AL-TIKRITI, Saddam Hussein", 11973 "TAGANDA,
// Bosco", 20240 "VAKHITOV, Airat", 306 "BANCO NACIONAL DE CUBA"; UN DATAID
// 6908048 SADDAM HUSSEIN AL-TIKRITI, 111923 AIMAN MUHAMMED RABI
// AL-ZAWAHIRI, 6908021 BOSCO TAGANDA, 6908767 HAMZA USAMA MUHAMMAD BIN
// LADEN.

// positives are variants of listed names that must be found at or above
// RecommendedThreshold.
var positives = []struct {
	what string
	q    screening.Query
	want []string
}{
	{"exact, list order reversed", screening.Query{Name: "George Habbash"}, []string{"ofac-2680"}},
	{"missing middle name", screening.Query{Name: "Oleg Deripaska"}, []string{"ofac-24283"}},
	{"swapped first and last", screening.Query{Name: "Deripaska Oleg"}, []string{"ofac-24283"}},
	{"one-letter typo", screening.Query{Name: "Oleg Deripasca"}, []string{"ofac-24283"}},
	{"one-letter typo, full name", screening.Query{Name: "Jorge Milton Cifuentes Vila"}, []string{"ofac-12300"}},
	{"typo, doubled letter", screening.Query{Name: "Bosco Tagandaa"}, []string{"ofac-11973", "un-6908021"}},
	{"missing middle name, three tokens", screening.Query{Name: "Jorge Cifuentes Villa"}, []string{"ofac-12300"}},
	{"surname first, all parts", screening.Query{Name: "Cifuentes Villa Jorge Milton"}, []string{"ofac-12300"}},
	{"initial for the first name", screening.Query{Name: "J. Milton Cifuentes Villa"}, []string{"ofac-12300"}},
	{"Russian order with patronymic the list lacks", screening.Query{Name: "Sechin Igor Ivanovich"}, []string{"ofac-16692"}},
	{"Cyrillic, full name", screening.Query{Name: "Олег Владимирович Дерипаска"}, []string{"ofac-24283"}},
	{"Cyrillic, no patronymic", screening.Query{Name: "Рамзан Кадыров"}, []string{"ofac-23343"}},
	{"Cyrillic, ICAO/BGN variants (Аркадий: ARKADII/ARKADIY vs ARKADY)", screening.Query{Name: "Аркадий Ротенберг"}, []string{"ofac-16669"}},
	{"Cyrillic, soft sign", screening.Query{Name: "Игорь Сечин"}, []string{"ofac-16692"}},
	{"Cyrillic, Arabic name via Russian (Х for H)", screening.Query{Name: "Саддам Хусейн"}, []string{"ofac-7843"}},
	{"Cyrillic Айрат vs Airat", screening.Query{Name: "Айрат Вахитов"}, []string{"ofac-20240"}},
	{"Arabic script", screening.Query{Name: "حمزة بن لادن"}, []string{"ofac-21286", "un-6908767"}},
	{"Arabic script with article", screening.Query{Name: "أيمن الظواهري"}, []string{"ofac-2676", "un-111923"}},
	{"Arabic script, two names", screening.Query{Name: "صدام حسين"}, []string{"ofac-7843", "un-6908048"}},
	{"transliteration variant", screening.Query{Name: "Ayman al-Zawahri"}, []string{"ofac-2676", "un-111923"}},
	{"compound written together", screening.Query{Name: "Hamza Binladen"}, []string{"ofac-21286"}},
	{"extra tribal name omitted", screening.Query{Name: "Saddam Hussein"}, []string{"ofac-7843", "un-6908048"}},
	{"organisation", screening.Query{Name: "Banco Nacional de Cuba", Type: screening.EntityOrganisation}, []string{"ofac-306"}},
	{"weak alias", screening.Query{Name: "BNC"}, []string{"ofac-306"}},
	// ... while a typo that is not a word of the lists still is one.
	{"typo that is not a name", screening.Query{Name: "Marwn ISSA"}, []string{"ofac-27316"}},
	{"spelling variant of a listed name", screening.Query{Name: "Marwan ISA"}, []string{"ofac-27316"}},
}

func TestMatcherPositives(t *testing.T) {
	ix := fullIndex(t)
	for _, c := range positives {
		res := screen(t, ix, c.q)
		require.NotEmpty(t, res.Hits, c.what)
		for _, id := range c.want {
			require.GreaterOrEqual(t, scoreOf(res, id), threshold, "%s: %q → %s; hits %+v", c.what, c.q.Name, id, res.Hits[:min(3, len(res.Hits))])
		}
		require.Contains(t, c.want, res.Hits[0].EntityID, "%s: best hit", c.what)
		require.LessOrEqual(t, res.Candidates, screening.DefaultCandidates)
	}
}

// negatives must not reach RecommendedThreshold against any entity.
var negatives = []struct {
	what string
	q    screening.Query
}{
	{"GEORGE BUSH vs George HABBASH", screening.Query{Name: "GEORGE BUSH"}},
	{"George W. Bush", screening.Query{Name: "George W. Bush", Type: screening.EntityPerson}},
	{"company suffix alone", screening.Query{Name: "CORP"}},
	{"unknown company with a suffix", screening.Query{Name: "ACME CORP"}},
	{"suffixes alone", screening.Query{Name: "HOLDING LIMITED"}},
	{"generic company words", screening.Query{Name: "INTERNATIONAL TRADING COMPANY"}},
	{"generic words", screening.Query{Name: "TRADING LLC"}},
	{"a common word", screening.Query{Name: "BANK"}},
	{"a common given name alone", screening.Query{Name: "Mohammed"}},
	{"a common name", screening.Query{Name: "Maria Garcia"}},
	{"a common English name", screening.Query{Name: "John Smith"}},
	{"a common Chinese name", screening.Query{Name: "Li Wei"}},
	{"a different Rotenberg", screening.Query{Name: "Leonid Rotenberg"}},
	{"a listed surname, another first name", screening.Query{Name: "Pavel Deripaska"}},
	{"right name, wrong person (DOB conflict)", screening.Query{Name: "Oleg Deripaska", DOB: screening.DateSpec{Year: 1994, Month: 7, Day: 1}}},
	{"a person named like a bank", screening.Query{Name: "Banco Nacional de Cuba", Type: screening.EntityPerson}},
	// A query word that is itself a listed name is not read as a typo of
	// another (Scoring.KnownWordSlope): MARINA is not MARWAN (ofac-27316
	// "ISSA, Marwan").
	{"a real name one letter from a listed one", screening.Query{Name: "Marina ISSA"}},
}

func TestMatcherNegatives(t *testing.T) {
	ix := fullIndex(t)
	for _, c := range negatives {
		res := screen(t, ix, c.q)
		for _, h := range res.Hits {
			require.Less(t, h.Score, threshold, "%s: %q matched %s %q %+v", c.what, c.q.Name, h.EntityID, h.MatchedName, h.Components)
		}
	}
	// HABBASH specifically stays far below
	require.Less(t, scoreOf(screen(t, ix, screening.Query{Name: "GEORGE BUSH"}), "ofac-2680"), 0.7)
	// suffix-only queries carry nothing
	for _, q := range []string{"CORP", "LLC", "HOLDING LIMITED", "JSC"} {
		res := screen(t, ix, screening.Query{Name: q})
		require.Empty(t, res.Hits, q)
	}
	// a company suffix is never what matches: every hit for "ACME CORP"
	// scores below 0.5
	for _, h := range screen(t, ix, screening.Query{Name: "ACME CORP"}).Hits {
		require.Less(t, h.Score, 0.5, "%+v", h)
	}
}

// TestCandidatesBounded: blocking keeps the number of scored names small
// for any query, common tokens included.
func TestCandidatesBounded(t *testing.T) {
	ix := fullIndex(t)
	for _, q := range []string{"Mohammed Ali Hassan Ahmed", "Abu Abdullah", "Al", "Trading Company International Limited", "Li"} {
		res := screen(t, ix, screening.Query{Name: q})
		require.LessOrEqual(t, res.Candidates, screening.DefaultCandidates, q)
	}
}
