package screening_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openekyc/ekyc/services/screening"
)

const threshold = screening.RecommendedThreshold

func TestIndexFixtures(t *testing.T) {
	ix := fixtureIndex(t)
	require.Equal(t, 302+54+5+4+6, ix.Len())
	require.Greater(t, ix.NameCount(), ix.Len())
	require.Greater(t, ix.VocabularySize(), 500)
	require.Len(t, ix.Versions(), 5)
	e, ok := ix.Entity("ofac-2680")
	require.True(t, ok)
	require.Equal(t, "HABBASH, George", e.PrimaryName())
	_, ok = ix.Entity("nope")
	require.False(t, ok)
	w, known := ix.TokenWeight("DERIPASKA")
	require.True(t, known)
	wu, known := ix.TokenWeight("ZZZQQQ")
	require.False(t, known)
	require.GreaterOrEqual(t, wu, w)
}

func TestScreenAcrossSources(t *testing.T) {
	ix := fixtureIndex(t)
	cases := []struct {
		name  string
		q     screening.Query
		wants []string
	}{
		{"uk and ftm", screening.Query{Name: "Vladimir Putin"}, []string{"uk-14200", "ftm-Q7747"}},
		{"cyrillic", screening.Query{Name: "Владимир Путин"}, []string{"uk-14200", "ftm-Q7747"}},
		{"french spelling alias", screening.Query{Name: "Vladimir Poutine"}, []string{"uk-14200", "ftm-Q7747"}},
		{"pep", screening.Query{Name: "Olaf Scholz", Type: screening.EntityPerson}, []string{"ftm-Q61053"}},
		{"company, cyrillic alias", screening.Query{Name: "НК Роснефть"}, []string{"ftm-NK-rosneft"}},
		{"legal form spelt differently", screening.Query{Name: "Severnaya Zvezda Engineering JSC"}, []string{"eu-136470"}},
		{"eu person, greek alias entity", screening.Query{Name: "Great Islamic Eastern Warriors Front"}, []string{"eu-207"}},
		{"eu, un and ofac", screening.Query{Name: "Saddam Hussein al-Tikriti"}, []string{"eu-13", "un-6908048", "ofac-7843"}},
		{"uk entity with parentheses", screening.Query{Name: "General Organization for Engineering Industries"}, []string{"uk-12431"}},
		{"vessel", screening.Query{Name: "Sea Glory", Type: screening.EntityVessel}, []string{"uk-16001", "ftm-imo-9123456"}},
		{"un acronym", screening.Query{Name: "CAGL"}, nil},
	}
	for _, c := range cases {
		res := screen(t, ix, c.q)
		for _, id := range c.wants {
			require.GreaterOrEqual(t, scoreOf(res, id), threshold, "%s: %s in %+v", c.name, id, res.Hits)
		}
	}
	pep := hitOf(screen(t, ix, screening.Query{Name: "Olaf Scholz"}), "ftm-Q61053")
	require.NotNil(t, pep)
	require.True(t, pep.Entity.IsPEP())
	require.Equal(t, screening.SourceFtM, pep.Source)
	require.Contains(t, pep.ListVersion, "ftm@")
}

func TestSecondaryEvidence(t *testing.T) {
	ix := fixtureIndex(t)
	cfg := screening.DefaultScoring()
	base := hitOf(screen(t, ix, screening.Query{Name: "Oleg Deripaska"}), "ofac-24283")
	require.NotNil(t, base)
	require.Zero(t, base.Components.DOB)

	h := hitOf(screen(t, ix, screening.Query{Name: "Oleg Deripaska", DOB: screening.DateSpec{Year: 1968, Month: 1, Day: 2}}), "ofac-24283")
	require.Equal(t, cfg.DOBExact, h.Components.DOB)
	require.Greater(t, h.Score, base.Score)
	h = hitOf(screen(t, ix, screening.Query{Name: "Oleg Deripaska", DOB: screening.DateSpec{Year: 1968}}), "ofac-24283")
	require.Equal(t, cfg.DOBSameYear, h.Components.DOB)
	h = hitOf(screen(t, ix, screening.Query{Name: "Oleg Deripaska", DOB: screening.DateSpec{Year: 1990, Month: 5, Day: 5}}), "ofac-24283")
	require.Equal(t, cfg.DOBConflict, h.Components.DOB)
	require.Less(t, h.Score, threshold)

	h = hitOf(screen(t, ix, screening.Query{Name: "Oleg Deripaska", Countries: []string{"Russia"}}), "ofac-24283")
	require.Equal(t, cfg.CountryMatch, h.Components.Country)
	h = hitOf(screen(t, ix, screening.Query{Name: "Oleg Deripaska", Countries: []string{"BR"}}), "ofac-24283")
	require.Equal(t, cfg.CountryClash, h.Components.Country)

	// a document number is strong evidence
	h = hitOf(screen(t, ix, screening.Query{Name: "Roman Rotenberg", DocNumbers: []string{"640 848 350"}}), "ofac-18310")
	require.Equal(t, cfg.DocumentMatch, h.Components.Document)
	// and brings the entity in even when the name is far off
	res := screen(t, ix, screening.Query{Name: "R. Rodenburg", DocNumbers: []string{"AD001095"}})
	h = hitOf(res, "eu-1")
	require.NotNil(t, h)
	require.Equal(t, cfg.DocumentMatch, h.Components.Document)

	// a person query against an organisation
	res = screen(t, ix, screening.Query{Name: "Banco Nacional de Cuba", Type: screening.EntityPerson})
	h = hitOf(res, "ofac-306")
	require.Equal(t, cfg.TypeMismatch, h.Components.Type)
	require.Less(t, h.Score, threshold)
	h = hitOf(screen(t, ix, screening.Query{Name: "Banco Nacional de Cuba", Type: screening.EntityOrganisation}), "ofac-306")
	require.Zero(t, h.Components.Type)
	require.Equal(t, 1.0, h.Score)
	h = hitOf(screen(t, ix, screening.Query{Name: "Sea Glory", Type: screening.EntityOrganisation}), "uk-16001")
	require.Equal(t, cfg.OtherTypeMismatch, h.Components.Type)

	// approximate and ranged dates
	h = hitOf(screen(t, ix, screening.Query{Name: "Ivan Sidorenko", DOB: screening.DateSpec{Year: 1972, Month: 3, Day: 1}}), "eu-136455")
	require.Equal(t, cfg.DOBInRange, h.Components.DOB)
	h = hitOf(screen(t, ix, screening.Query{Name: "Ivan Sidorenko", DOB: screening.DateSpec{Year: 1974}}), "eu-136455")
	require.Equal(t, cfg.DOBInRange, h.Components.DOB)
}

func TestFalsePositivesFixtures(t *testing.T) {
	ix := fixtureIndex(t)
	res := screen(t, ix, screening.Query{Name: "GEORGE BUSH"})
	require.Less(t, scoreOf(res, "ofac-2680"), 0.7)
	for _, h := range res.Hits {
		require.Less(t, h.Score, threshold, "%+v", h)
	}
	for _, q := range []string{"CORP", "HOLDING LIMITED", "OOO", "Joint Stock Company", "S.A. de C.V."} {
		res := screen(t, ix, screening.Query{Name: q})
		require.Empty(t, res.Hits, q)
		require.Empty(t, res.Tokens, q)
		require.Zero(t, res.Candidates, q)
	}
	res = screen(t, ix, screening.Query{Name: "ACME CORP"})
	for _, h := range res.Hits {
		require.Less(t, h.Score, 0.5, "%+v", h)
	}
}

func TestScreenOptions(t *testing.T) {
	ix := fixtureIndex(t)
	q := screening.Query{Name: "Saddam Hussein"}
	res := screen(t, ix, q, screening.WithLimit(2))
	require.Len(t, res.Hits, 2)
	require.GreaterOrEqual(t, res.Hits[0].Score, res.Hits[1].Score)
	res = screen(t, ix, q, screening.WithSources(screening.SourceEU))
	require.NotEmpty(t, res.Hits)
	for _, h := range res.Hits {
		require.Equal(t, screening.SourceEU, h.Source)
	}
	res, err := ix.Screen(q, screening.WithMinScore(0.99))
	require.NoError(t, err)
	for _, h := range res.Hits {
		require.GreaterOrEqual(t, h.Score, 0.99)
	}
	require.Len(t, res.Versions, 5)
	for _, bad := range []screening.ScreenOption{screening.WithLimit(0), screening.WithMinScore(2)} {
		_, err := ix.Screen(q, bad)
		require.ErrorIs(t, err, screening.ErrInvalidOption)
	}
	_, err = ix.Screen(screening.Query{})
	require.ErrorIs(t, err, screening.ErrInvalidQuery)
	_, err = ix.Screen(screening.Query{Name: "X", Type: "dragon"})
	require.ErrorIs(t, err, screening.ErrInvalidQuery)
}

func TestNewIndexErrors(t *testing.T) {
	ls := fixtureLists(t)
	_, err := screening.NewIndex(append(ls, ls[0]))
	require.ErrorIs(t, err, screening.ErrInvalidList)
	_, err = screening.NewIndex([]*screening.List{nil})
	require.ErrorIs(t, err, screening.ErrInvalidList)
	_, err = screening.NewIndex([]*screening.List{{Entities: []screening.Entity{{Names: []screening.Name{{Full: "X"}}}}}})
	require.ErrorIs(t, err, screening.ErrInvalidList)
	_, err = screening.NewIndex(ls, screening.WithCandidates(0))
	require.ErrorIs(t, err, screening.ErrInvalidOption)
	bad := screening.DefaultScoring()
	bad.LegalWeight = -1
	_, err = screening.NewIndex(ls, screening.WithScoring(bad))
	require.ErrorIs(t, err, screening.ErrInvalidOption)

	// an empty index answers with no hits
	empty, err := screening.NewIndex(nil)
	require.NoError(t, err)
	res, err := empty.Screen(screening.Query{Name: "Anyone"})
	require.NoError(t, err)
	require.Empty(t, res.Hits)
	// entities without indexable names are kept but never hit
	ix, err := screening.NewIndex([]*screening.List{{Entities: []screening.Entity{{ID: "x-1", Names: []screening.Name{{Full: "LLC"}}}}}})
	require.NoError(t, err)
	require.Equal(t, 1, ix.Len())
	require.Zero(t, ix.NameCount())
}

func TestScreener(t *testing.T) {
	var s screening.Screener
	_, err := s.Screen(bg, screening.Query{Name: "X"})
	require.ErrorIs(t, err, screening.ErrNoIndex)
	require.Nil(t, s.Versions())

	ix := fixtureIndex(t)
	require.Nil(t, s.Swap(ix))
	require.Same(t, ix, s.Index())
	require.Len(t, s.Versions(), 5)
	res, err := s.Screen(bg, screening.Query{Name: "George Habbash"})
	require.NoError(t, err)
	require.Equal(t, "ofac-2680", res.Hits[0].EntityID)

	ctx, cancel := context.WithCancel(bg)
	cancel()
	_, err = s.Screen(ctx, screening.Query{Name: "X"})
	require.ErrorIs(t, err, context.Canceled)

	// swap in an index of the UN list only
	un, err := screening.NewIndex(fixtureLists(t)[1:2])
	require.NoError(t, err)
	require.Same(t, ix, s.Swap(un))
	res, err = s.Screen(bg, screening.Query{Name: "George Habbash"}, screening.WithMinScore(0.9))
	require.NoError(t, err)
	require.Empty(t, res.Hits)
	require.Same(t, un, screening.NewScreener(un).Index())
}

// TestConcurrentScreening runs queries from many goroutines (with -race in
// make test) and checks that each gets the same answer as alone.
func TestConcurrentScreening(t *testing.T) {
	ix := fixtureIndex(t)
	queries := []screening.Query{
		{Name: "Saddam Hussein"}, {Name: "Oleg Deripasca"}, {Name: "Владимир Путин"}, {Name: "حمزة بن لادن"},
		{Name: "Banco Nacional de Cuba"}, {Name: "GEORGE BUSH"}, {Name: "Jorge Cifuentes Villa", DOB: screening.DateSpec{Year: 1965}},
		{Name: "Sea Glory"}, {Name: "ACME CORP"}, {Name: "Olaf Scholz"},
	}
	want := make([]string, len(queries))
	for i, q := range queries {
		want[i] = fmt.Sprint(screen(t, ix, q).Hits)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for k := 0; k < 40; k++ {
				i := (g + k) % len(queries)
				res, err := ix.Screen(queries[i], screening.WithMinScore(0))
				if err != nil || fmt.Sprint(res.Hits) != want[i] {
					errs <- queries[i].Name
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Errorf("concurrent result differs for %q", e)
	}
}
