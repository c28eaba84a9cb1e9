package screeningbench

import (
	"encoding/json"
	"io"
	"strings"
)

// senzingRecord is the subset of the Senzing entity specification that
// watchman's Senzing reader (pkg/sources/senzing in watchman v0.60.0) maps.
type senzingRecord struct {
	DataSource  string `json:"DATA_SOURCE"`
	RecordID    string `json:"RECORD_ID"`
	RecordType  string `json:"RECORD_TYPE"`
	NameFull    string `json:"NAME_FULL,omitempty"`
	NameOrg     string `json:"NAME_ORG,omitempty"`
	Gender      string `json:"GENDER,omitempty"`
	DateOfBirth string `json:"DATE_OF_BIRTH,omitempty"`
	Nationality string `json:"NATIONALITY,omitempty"`
}

// WriteSenzing writes the UN entries as Senzing JSON lines for watchman, which
// has no UN source of its own. Its Senzing reader keeps one name per record,
// so each entry becomes one record per name (the primary name, then every
// alias not rated "Low"), all with RECORD_ID = DATAID: a hit on any of them is
// a hit on "un:<DATAID>". It returns the number of records written.
func WriteSenzing(w io.Writer, entries []Entry) (int, error) {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	n := 0
	for i := range entries {
		e := &entries[i]
		if e.Source != SourceUN {
			continue
		}
		names := []string{e.Natural()}
		seen := map[string]bool{Key(e.Natural()): true}
		for _, a := range e.Aliases {
			if k := Key(a.Name); !a.Weak && k != "" && !seen[k] {
				seen[k] = true
				names = append(names, a.Name)
			}
		}
		for _, name := range names {
			rec := senzingRecord{
				DataSource: "UN",
				RecordID:   strings.TrimPrefix(e.ID, SourceUN+":"),
			}
			if e.Kind == KindPerson {
				rec.RecordType = "PERSON"
				rec.NameFull = name
				rec.Gender = e.Gender
				rec.DateOfBirth = e.DOB
				rec.Nationality = e.Nationality
			} else {
				rec.RecordType = "ORGANIZATION"
				rec.NameOrg = name
			}
			if err := enc.Encode(rec); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}
