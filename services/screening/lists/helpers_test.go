package lists

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openekyc/ekyc/services/screening"
)

// fixtures is testdata/screening at the repository root.
var fixtures = filepath.Join("..", "..", "..", "testdata", "screening")

var fixedClock = WithClock(func() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) })

func readFixture(t testing.TB, parts ...string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(append([]string{fixtures}, parts...)...))
	require.NoError(t, err)
	return b
}

func ofacFixture(t testing.TB) OFACFiles {
	return OFACFiles{
		SDN:      bytes.NewReader(readFixture(t, "ofac", OFACSDNFile)),
		Alt:      bytes.NewReader(readFixture(t, "ofac", OFACAltFile)),
		Add:      bytes.NewReader(readFixture(t, "ofac", OFACAddFile)),
		Comments: bytes.NewReader(readFixture(t, "ofac", OFACCommentsFile)),
	}
}

// sanctionsDir locates the full published lists (ofac/, un/): the
// EKYC_SANCTIONS_DIR variable, a shared/data/sanctions folder above the
// package, or /work/shared/data/sanctions. The test is skipped when none
// exists.
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
		if _, err := os.Stat(filepath.Join(d, "ofac", OFACSDNFile)); err == nil {
			return d
		}
	}
	t.Skip("full sanctions lists not found (set EKYC_SANCTIONS_DIR to a folder with ofac/sdn.csv and un/consolidated.xml)")
	return ""
}

func entityByID(t testing.TB, l *screening.List, id string) *screening.Entity {
	t.Helper()
	for i := range l.Entities {
		if l.Entities[i].ID == id {
			return &l.Entities[i]
		}
	}
	require.Failf(t, "entity not found", "%s", id)
	return nil
}

func hasName(e *screening.Entity, full string, kind screening.NameKind) bool {
	for _, n := range e.Names {
		if n.Full == full && n.Kind == kind {
			return true
		}
	}
	return false
}

func hasCountry(e *screening.Entity, code string, role screening.CountryRole) bool {
	for _, c := range e.Countries {
		if c.Code == code && c.Role == role {
			return true
		}
	}
	return false
}

func hasID(e *screening.Entity, typ, number, country string) bool {
	for _, id := range e.Identifiers {
		if id.Type == typ && id.Number == number && id.Country == country {
			return true
		}
	}
	return false
}

var bg = context.Background()

func contextWithCancel() (context.Context, context.CancelFunc) {
	return context.WithCancel(context.Background())
}
