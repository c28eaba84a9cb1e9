package screeningbench

import (
	"context"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

func loadFixture(t *testing.T) *Lists {
	t.Helper()
	l, err := LoadLists("testdata/lists")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestReadFixture(t *testing.T) {
	l := loadFixture(t)
	var ofac, un int
	for _, e := range l.Entries {
		switch e.Source {
		case SourceOFAC:
			ofac++
		case SourceUN:
			un++
		}
	}
	if ofac != 13 || un != 5 { // 14 OFAC rows less one vessel; 4 UN individuals and 1 entity
		t.Fatalf("entries: %d OFAC, %d UN; want 13, 5", ofac, un)
	}
	for _, c := range []struct {
		id, natural string
		kind        Kind
		given       []string
		surname     []string
		aliases     int
	}{
		{"ofac:1572", "Manuel Antonio NORIEGA", KindPerson, []string{"Manuel", "Antonio"}, []string{"NORIEGA"}, 0},
		{"ofac:10851", "Feliciano Semborio DELOS REYES", KindPerson, []string{"Feliciano", "Semborio"}, []string{"DELOS", "REYES"}, 10}, // 9 in alt.csv, 1 weak in the remarks
		{"ofac:306", "BANCO NACIONAL DE CUBA", KindEntity, nil, nil, 2},                                                                 // + weak a.k.a. 'BNC'
		{"un:6907994", "FRANK KAKOLELE BWAMBALE", KindPerson, []string{"FRANK", "KAKOLELE"}, []string{"BWAMBALE"}, 3},
		{"un:6908954", "BERNARD MAHESHE BYAMUNGU", KindPerson, []string{"BERNARD", "MAHESHE"}, []string{"BYAMUNGU"}, 1},
		{"un:6908402", "ADF", KindEntity, nil, nil, 4},
	} {
		e, ok := l.Lookup(c.id)
		if !ok {
			t.Fatalf("%s not read", c.id)
		}
		if e.Natural() != c.natural || e.Kind != c.kind || !reflect.DeepEqual(e.Given, c.given) ||
			!reflect.DeepEqual(e.Surname, c.surname) || len(e.Aliases) != c.aliases {
			t.Errorf("%s: got %q %s given=%q surname=%q aliases=%d; want %q %s %q %q %d",
				c.id, e.Natural(), e.Kind, e.Given, e.Surname, len(e.Aliases), c.natural, c.kind, c.given, c.surname, c.aliases)
		}
	}
	if e, _ := l.Lookup("un:6908954"); !e.Aliases[0].Weak || e.DOB != "1974-10-10" {
		t.Errorf("un:6908954: alias %+v DOB %q; want a weak alias and DOB 1974-10-10", e.Aliases, e.DOB)
	}
	if e, _ := l.Lookup("ofac:306"); e.Aliases[0] != (Alias{Name: "BNC", Weak: true}) {
		t.Errorf("ofac:306 aliases %+v; want the weak a.k.a. BNC from the remarks", e.Aliases)
	}
	if _, ok := l.Lookup("ofac:4234"); ok {
		t.Error("the vessel HERMANN was read")
	}
}

// TestContains: the names a screener should raise are never negatives.
func TestContains(t *testing.T) {
	l, err := newLists([]Entry{
		{ID: "ofac:1", Source: SourceOFAC, Kind: KindPerson, Name: "AZIZ, Mohammad"},
		{ID: "ofac:2", Source: SourceOFAC, Kind: KindPerson, Name: "MARTITEGUI, Jurdan"},
		{ID: "ofac:3", Source: SourceOFAC, Kind: KindEntity, Name: "PIONEER LOGISTICS"},
		{ID: "ofac:4", Source: SourceOFAC, Kind: KindPerson, Name: "ISSA, Marwan", Aliases: []Alias{{Name: "ORION", Weak: true}}},
		{ID: "ofac:5", Source: SourceOFAC, Kind: KindPerson, Name: "OMAIRI, Farouk"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{
		"Mohammad Aziz":              true,  // the listed name
		"MOHAMMED AZIZ":              true,  // a spelling of it (one vowel apart)
		"Mohammed Ali Aziz":          true,  // with another name added
		"Jurdan Martitegui Lopez":    true,  // the listed name and a second surname
		"PIONEER LOGISTICS SA DE CV": true,  // another legal form
		"ORION HOLDINGS OOO":         true,  // a listed alias, weak ones included
		"Aziz":                       true,  // part of a listed name
		"Marina ISSA":                false, // MARINA is not MARWAN
		"Omar Farouk":                false, // OMAR is two edits from OMAIRI
		"Jurdan Lopez":               false,
		"Mohammad Hassan":            false,
	} {
		if got := l.Contains(name); got != want {
			t.Errorf("Contains(%q) = %v, want %v", name, got, want)
		}
	}
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"MOHAMMED", "MOHAMMAD", true}, {"DMITRY", "DMITRI", true}, {"QASIM", "QASSIM", true},
		{"YONG", "YOUNG", true}, {"HASAN", "HASSAN", true},
		{"OMAR", "OMAIRI", false}, {"MARINA", "MARWAN", false}, {"SALMA", "SALMAN", false}, {"ABDUL", "ABDULLAH", false},
	} {
		if got := sameName(c.a, c.b); got != c.want {
			t.Errorf("sameName(%s, %s) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}

func TestTransforms(t *testing.T) {
	for in, want := range map[string]string{
		"Forces Démocratiques Alliées-Armée Nationale de Libération de l’Ouganda": "Forces Democratiques Alliees Armee Nationale de Liberation de lOuganda",
		"ANGLO-CARIBBEAN CO., LTD.": "ANGLO CARIBBEAN CO LTD",
		"JÉRÔME KAKWAVU":            "JEROME KAKWAVU",
		"Nur Al-Din AL-DIBISKI":     "Nur Al Din AL DIBISKI",
	} {
		if got := Fold(in); got != want {
			t.Errorf("Fold(%q) = %q; want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"Manuel Antonio NORIEGA":   "Мануел Антонио НОРИЕГА",
		"Mikhail Khodorkovsky":     "Михаил Ходорковский",
		"Sergei Shchukin":          "Сергеи Щукин",
		"Yulia Tymoshenko":         "Юлиа Тимошенко",
		"Aleksandr TIMOFEEV":       "Александр ТИМОФЕЕВ",
		"Joaquin GUZMAN LOERA":     "Джоакуин ГУЗМАН ЛОЕРА",
		"JÉRÔME (not translitted)": "JÉRÔME (not translitted)",
	} {
		if got := ToCyrillic(in); got != want {
			t.Errorf("ToCyrillic(%q) = %q; want %q", in, got, want)
		}
	}
	if got, want := Key("NORIEGA, Manuel-Antonio"), "ANTONIO MANUEL NORIEGA"; got != want {
		t.Errorf("Key = %q; want %q", got, want)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 200; i++ {
		in := "Manuel Antonio NORIEGA"
		out := Typo(in, r)
		if out == in || editDistance(in, out) > 2 || strings.Fields(out)[0][0] != 'M' {
			t.Fatalf("Typo(%q) = %q: want one edit (a transposition counts 2), first letters kept", in, out)
		}
	}
	if got := Typo("AL BO", r); got != "AL BO" {
		t.Errorf("Typo without a 4-letter word changed %q", got)
	}
}

func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur := make([]int, len(rb)+1)
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(rb)]
}

// checkQuerySet checks the invariants of a generated query set.
func checkQuerySet(t *testing.T, l *Lists, qs []Query) (pos, neg map[string]int) {
	t.Helper()
	pos, neg = map[string]int{}, map[string]int{}
	for _, q := range qs {
		if strings.TrimSpace(q.Text) == "" {
			t.Fatalf("empty query %+v", q)
		}
		if q.Positive() {
			e, ok := l.Lookup(q.Want)
			if !ok {
				t.Fatalf("query %q labelled with unknown id %s", q.Text, q.Want)
			}
			if e.Kind != q.Kind || e.Source != q.Source {
				t.Fatalf("query %+v does not match its entry %+v", q, e)
			}
			pos[q.Variant]++
			continue
		}
		if l.IsListed(q.Text) {
			t.Fatalf("negative %q (%s) is a listed name", q.Text, q.Variant)
		}
		neg[q.Variant]++
	}
	return pos, neg
}

func TestGenerateFixture(t *testing.T) {
	l := loadFixture(t)
	opt := Options{Seed: 7, Positives: 40, Negatives: 60}
	qs, err := Generate(l, opt)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := Generate(l, opt)
	if !reflect.DeepEqual(qs, again) {
		t.Fatal("Generate is not deterministic for one seed")
	}
	other, _ := Generate(l, Options{Seed: 8, Positives: 40, Negatives: 60})
	if reflect.DeepEqual(qs, other) {
		t.Fatal("another seed gave the same query set")
	}
	pos, neg := checkQuerySet(t, l, qs)
	// 5 per variant, except that the fixture has only 3 names with
	// diacritics or punctuation to drop.
	for _, v := range PositiveVariants {
		want := 5
		if v == VariantFolded {
			want = 3
		}
		if pos[v] != want {
			t.Errorf("variant %s: %d positives; want %d", v, pos[v], want)
		}
	}
	total := 0
	for _, n := range neg {
		total += n
	}
	if total != 60 || neg[VariantNegCorp] != 15 || neg[VariantNegTrap]+neg[variantTrapList] != 9 {
		t.Errorf("negatives %v; want 60: 15 companies, 9 traps", neg)
	}
	// The Cyrillic and folded variants are what they say.
	for _, q := range qs {
		switch q.Variant {
		case VariantCyrillic:
			if isASCII(q.Text) {
				t.Errorf("cyrillic query %q is ASCII", q.Text)
			}
		case VariantFolded:
			if q.Text != Fold(q.Text) {
				t.Errorf("folded query %q still has diacritics or punctuation", q.Text)
			}
		}
	}
}

// TestGenerateLists runs the generator on the full lists when they are at hand
// (EKYC_SANCTIONS_DIR or shared/data/sanctions); it takes well under a second.
func TestGenerateLists(t *testing.T) {
	dir, err := FindSanctionsDir()
	if err != nil {
		t.Skip(err)
	}
	l, err := LoadLists(dir)
	if err != nil {
		t.Fatal(err)
	}
	qs, err := Generate(l, DefaultOptions)
	if err != nil {
		t.Fatal(err)
	}
	pos, neg := checkQuerySet(t, l, qs)
	np, nn := 0, 0
	for _, v := range PositiveVariants {
		if pos[v] != DefaultOptions.Positives/len(PositiveVariants) {
			t.Errorf("variant %s: %d positives; want %d", v, pos[v], DefaultOptions.Positives/len(PositiveVariants))
		}
		np += pos[v]
	}
	for _, n := range neg {
		nn += n
	}
	if np != DefaultOptions.Positives || nn != DefaultOptions.Negatives {
		t.Errorf("%d positives, %d negatives; want %d, %d", np, nn, DefaultOptions.Positives, DefaultOptions.Negatives)
	}
	t.Logf("%d entries; positives %v; negatives %v", len(l.Entries), pos, neg)
}

// exactSearcher finds the entries whose name or alias has the query's Key.
type exactSearcher struct{ byKey map[string][]string }

func newExactSearcher(l *Lists) *exactSearcher {
	s := &exactSearcher{byKey: map[string][]string{}}
	for _, e := range l.Entries {
		names := []string{e.Name, e.Natural()}
		for _, a := range e.Aliases {
			names = append(names, a.Name)
		}
		for _, n := range names {
			s.byKey[Key(n)] = append(s.byKey[Key(n)], e.ID)
		}
	}
	return s
}

func (s *exactSearcher) Search(_ context.Context, name string) ([]Result, error) {
	var out []Result
	for _, id := range s.byKey[Key(name)] {
		out = append(out, Result{ID: id, Score: 1})
	}
	return dedupe(out), nil
}

func TestMeasureExactSearcher(t *testing.T) {
	l := loadFixture(t)
	qs, err := Generate(l, Options{Seed: 3, Positives: 40, Negatives: 40})
	if err != nil {
		t.Fatal(err)
	}
	r := Measure(context.Background(), newExactSearcher(l), qs, MeasureOptions{Parallelism: 4, Warmup: 5})
	r.Name, r.Threshold = "exact", 0.5
	if r.Errors() != 0 || len(r.Serial.Latencies) != len(qs) || len(r.Parallel.Latencies) != len(qs) {
		t.Fatalf("errors %d, latencies %d/%d for %d queries", r.Errors(), len(r.Serial.Latencies), len(r.Parallel.Latencies), len(qs))
	}
	for _, v := range []string{VariantExact, VariantSwapped, VariantAlias} {
		if c := r.Rates(0.5, func(q Query) bool { return q.Variant == v }); c.Recall() != 1 {
			t.Errorf("exact searcher: recall %.2f on %s; want 1", c.Recall(), v)
		}
	}
	if c := r.Rates(0.5, func(q Query) bool { return q.Variant == VariantTypo }); c.Found != 0 {
		t.Errorf("exact searcher found %d typos", c.Found)
	}
	if c := r.Rates(0.5, nil); c.FPR() != 0 || c.Negatives != 40 {
		t.Errorf("exact searcher: FPR %.2f over %d negatives; want 0 over 40", c.FPR(), c.Negatives)
	}
	if c := r.Rates(1.5, nil); c.Found != 0 {
		t.Errorf("hits below the threshold counted: %+v", c)
	}
	var b strings.Builder
	Report(&b, []*Run{r}, DefaultSweep)
	if !strings.Contains(b.String(), "| exact |") || !strings.Contains(b.String(), "| "+VariantExact+" | 5 | 100.0% |") {
		t.Errorf("report:\n%s", b.String())
	}
}
