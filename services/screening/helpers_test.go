package screening_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openekyc/ekyc/services/screening"
	"github.com/openekyc/ekyc/services/screening/lists"
)

var (
	bg       = context.Background()
	fixtures = filepath.Join("..", "..", "testdata", "screening")
)

func readFixture(t testing.TB, parts ...string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(append([]string{fixtures}, parts...)...))
	require.NoError(t, err)
	return b
}

// fixtureLists parses the five fixtures in testdata/screening.
func fixtureLists(t testing.TB) []*screening.List {
	t.Helper()
	ofac, err := lists.ParseOFAC(bg, lists.OFACFiles{
		SDN:      bytes.NewReader(readFixture(t, "ofac", lists.OFACSDNFile)),
		Alt:      bytes.NewReader(readFixture(t, "ofac", lists.OFACAltFile)),
		Add:      bytes.NewReader(readFixture(t, "ofac", lists.OFACAddFile)),
		Comments: bytes.NewReader(readFixture(t, "ofac", lists.OFACCommentsFile)),
	})
	require.NoError(t, err)
	out := []*screening.List{ofac}
	for _, f := range []struct {
		src  screening.Source
		path []string
	}{
		{screening.SourceUN, []string{"un", "consolidated.xml"}},
		{screening.SourceEU, []string{"eu", "export.xml"}},
		{screening.SourceUK, []string{"uk", "ConList.csv"}},
		{screening.SourceFtM, []string{"ftm", "entities.ftm.json"}},
	} {
		p, err := lists.ParserFor(f.src)
		require.NoError(t, err)
		l, err := p(bg, bytes.NewReader(readFixture(t, f.path...)))
		require.NoError(t, err)
		out = append(out, l)
	}
	return out
}

func fixtureIndex(t testing.TB, opts ...screening.IndexOption) *screening.Index {
	t.Helper()
	ix, err := screening.NewIndex(fixtureLists(t), opts...)
	require.NoError(t, err)
	return ix
}

// sanctionsDir locates the full published lists: EKYC_SANCTIONS_DIR, a
// shared/data/sanctions folder above the package, or
// /work/shared/data/sanctions; the test is skipped when none exists.
func sanctionsDir(t testing.TB) string {
	t.Helper()
	var cands []string
	if d := os.Getenv("EKYC_SANCTIONS_DIR"); d != "" {
		cands = append(cands, d)
	}
	if wd, err := os.Getwd(); err == nil {
		for d := wd; ; d = filepath.Dir(d) {
			cands = append(cands, filepath.Join(d, "shared", "data", "sanctions"))
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	cands = append(cands, "/work/shared/data/sanctions")
	for _, d := range cands {
		_, e1 := os.Stat(filepath.Join(d, "ofac", lists.OFACSDNFile))
		_, e2 := os.Stat(filepath.Join(d, "un", "consolidated.xml"))
		if e1 == nil && e2 == nil {
			return d
		}
	}
	t.Skip("full sanctions lists not found (set EKYC_SANCTIONS_DIR to a folder with ofac/sdn.csv and un/consolidated.xml)")
	return ""
}

func loadFullLists(t testing.TB) []*screening.List {
	t.Helper()
	dir := sanctionsDir(t)
	ofac, err := lists.LoadOFACDir(bg, filepath.Join(dir, "ofac"))
	require.NoError(t, err)
	un, err := lists.LoadFile(bg, screening.SourceUN, filepath.Join(dir, "un", "consolidated.xml"))
	require.NoError(t, err)
	return []*screening.List{ofac, un}
}

var (
	fullOnce sync.Once
	fullIdx  *screening.Index
	fullErr  error
)

// fullIndex is the OFAC SDN + UN consolidated index, built once per test
// binary.
func fullIndex(t testing.TB) *screening.Index {
	t.Helper()
	ls := loadFullLists(t) // skips when absent
	fullOnce.Do(func() { fullIdx, fullErr = screening.NewIndex(ls) })
	require.NoError(t, fullErr)
	return fullIdx
}

func screen(t testing.TB, ix *screening.Index, q screening.Query, opts ...screening.ScreenOption) *screening.Result {
	t.Helper()
	res, err := ix.Screen(q, append([]screening.ScreenOption{screening.WithMinScore(0)}, opts...)...)
	require.NoError(t, err)
	return res
}

// scoreOf returns the score of entity id among the hits (0 if absent).
func scoreOf(res *screening.Result, id string) float64 {
	for _, h := range res.Hits {
		if h.EntityID == id {
			return h.Score
		}
	}
	return 0
}

func hitOf(res *screening.Result, id string) *screening.Hit {
	for i := range res.Hits {
		if res.Hits[i].EntityID == id {
			return &res.Hits[i]
		}
	}
	return nil
}
