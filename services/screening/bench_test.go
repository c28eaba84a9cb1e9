package screening_test

import (
	"path/filepath"
	"testing"

	"github.com/openekyc/ekyc/services/screening"
	"github.com/openekyc/ekyc/services/screening/lists"
)

// benchQueries mixes listed names (variants, other scripts) with ordinary
// customer names that are not listed.
func benchQueries() []screening.Query {
	var qs []screening.Query
	for _, c := range positives {
		qs = append(qs, c.q)
	}
	for _, c := range negatives {
		qs = append(qs, c.q)
	}
	for _, n := range []string{"Anna Schmidt", "Jean-Pierre Dupont", "Mehmet Yilmaz", "Olga Ivanova", "Carlos Hernandez Lopez",
		"Fatima Zahra Benali", "Nguyen Van An", "Wang Fang", "Priya Sharma", "Global Logistics Solutions GmbH"} {
		qs = append(qs, screening.Query{Name: n})
	}
	return qs
}

// BenchmarkScreen screens a mix of queries against the full OFAC SDN + UN
// consolidated lists (skipped without them) on one goroutine.
func BenchmarkScreen(b *testing.B) {
	ix := fullIndex(b)
	qs := benchQueries()
	cands := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		res, err := ix.Screen(qs[i%len(qs)])
		if err != nil {
			b.Fatal(err)
		}
		cands += res.Candidates
	}
	b.ReportMetric(float64(cands)/float64(b.N), "candidates/op")
}

// BenchmarkScreenParallel is BenchmarkScreen from GOMAXPROCS goroutines.
func BenchmarkScreenParallel(b *testing.B) {
	ix := fullIndex(b)
	qs := benchQueries()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := ix.Screen(qs[i%len(qs)]); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}

// BenchmarkLoad parses the full OFAC (four files) and UN lists and builds
// the index.
func BenchmarkLoad(b *testing.B) {
	dir := sanctionsDir(b)
	b.ReportAllocs()
	for b.Loop() {
		ofac, err := lists.LoadOFACDir(bg, filepath.Join(dir, "ofac"))
		if err != nil {
			b.Fatal(err)
		}
		un, err := lists.LoadFile(bg, screening.SourceUN, filepath.Join(dir, "un", "consolidated.xml"))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := screening.NewIndex([]*screening.List{ofac, un}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkIndex builds the index of the full lists, already parsed.
func BenchmarkIndex(b *testing.B) {
	ls := loadFullLists(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := screening.NewIndex(ls); err != nil {
			b.Fatal(err)
		}
	}
}
