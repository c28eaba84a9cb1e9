package mrz

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/openekyc/ekyc/services/reasons"
)

// FuzzParse proves Parse never panics and keeps its contract on arbitrary
// input: either (nil, error matching ErrNotMRZ) or a well-formed *MRZ.
func FuzzParse(f *testing.F) {
	for _, s := range specimens {
		f.Add(strings.Join(s.lines, "\n"))
	}
	f.Add("I<UTOD23145890<7349<<<<<<<<<<<\n7408122F1204159UTO<<<<<<<<<<<6\nERIKSSON<<ANNA<MARIA<<<<<<<<<<")
	f.Add("D23145890<UTO7408122F12041597349<<<2\nI<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<")
	f.Add("")
	f.Add("\n\n\n")
	f.Add("P<UTO<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<\n<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<")
	asOf := time.Date(2026, 6, 15, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, in string) {
		m, err := ParseAt(strings.Split(in, "\n"), ref)
		if err != nil {
			if m != nil {
				t.Fatal("non-nil MRZ with an error")
			}
			if !errors.Is(err, ErrNotMRZ) {
				t.Fatalf("error does not match ErrNotMRZ: %v", err)
			}
			return
		}
		if m == nil {
			t.Fatal("nil MRZ without error")
		}
		switch m.Format {
		case FormatTD1:
			if len(m.Lines) != 3 || len(m.Lines[0]) != 30 {
				t.Fatalf("TD1 with bad shape")
			}
		case FormatTD2, FormatMRVB:
			if len(m.Lines) != 2 || len(m.Lines[0]) != 36 {
				t.Fatalf("%s with bad shape", m.Format)
			}
		case FormatTD3, FormatMRVA:
			if len(m.Lines) != 2 || len(m.Lines[0]) != 44 {
				t.Fatalf("%s with bad shape", m.Format)
			}
		default:
			t.Fatalf("unknown format %q", m.Format)
		}
		failures := m.CheckDigitFailures()
		if m.Valid() && (failures > 0 || len(m.Problems) > 0) {
			t.Fatal("Valid() despite failures")
		}
		if failures > len(m.Problems) {
			t.Fatal("a failed check without a problem")
		}
		for _, p := range m.Problems {
			if p.Code == "" || p.Field == "" || p.Detail == "" {
				t.Fatalf("incomplete problem %+v", p)
			}
			if !reasons.Known(p.Code) {
				t.Fatalf("reason code %q is not in codes.yaml", p.Code)
			}
		}
		_ = m.Validate(asOf)
		_, _ = m.BirthDate.AgeAt(asOf)
		_ = CompareApplicant(m, nil)
		if _, err := json.Marshal(m); err != nil {
			t.Fatal(err)
		}
	})
}
