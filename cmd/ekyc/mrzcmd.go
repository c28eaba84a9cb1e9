package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/openekyc/ekyc/services/document/mrz"
)

// maxMRZInput bounds what runMRZParse reads from stdin: an MRZ is at most
// 3 × 44 characters, so anything near this size is not one.
const maxMRZInput = 64 << 10

// mrzFields is the "fields" object of `ekyc mrz parse` output.
type mrzFields struct {
	DocumentCode   string   `json:"document_code"`
	IssuingState   string   `json:"issuing_state"`
	DocumentNumber string   `json:"document_number"`
	Surname        string   `json:"surname"`
	GivenNames     string   `json:"given_names"`
	NameTruncated  bool     `json:"name_truncated"`
	Nationality    string   `json:"nationality"`
	Sex            string   `json:"sex"`
	BirthDate      mrz.Date `json:"birth_date"`
	ExpiryDate     mrz.Date `json:"expiry_date"`
	OptionalData1  string   `json:"optional_data_1"`
	OptionalData2  string   `json:"optional_data_2"`
}

// mrzOutput is the JSON document `ekyc mrz parse` prints. "valid" and
// "problems" are structural (check digits, codes, dates, names); expiry
// relative to the current date is reported separately in "expired" and
// "days_to_expiry" so that an old specimen still reads as a valid MRZ.
type mrzOutput struct {
	Format       mrz.Format    `json:"format"`
	Fields       mrzFields     `json:"fields"`
	Checks       []mrz.Check   `json:"checks"`
	Problems     []mrz.Problem `json:"problems"`
	Valid        bool          `json:"valid"`
	Expired      bool          `json:"expired"`
	DaysToExpiry *int          `json:"days_to_expiry,omitempty"`
}

// runMRZParse implements `ekyc mrz parse`: it reads MRZ lines from stdin
// (blank lines ignored), parses them as of now and prints the result as
// indented JSON on stdout. It returns 0 when the input is an MRZ, valid or
// not (see "valid"), 2 with a one-line message on stderr when it is not an
// MRZ, and 1 when stdin or stdout fail.
func runMRZParse(stdin io.Reader, stdout, stderr io.Writer, now time.Time) int {
	data, err := io.ReadAll(io.LimitReader(stdin, maxMRZInput+1))
	if err != nil {
		fmt.Fprintf(stderr, "ekyc mrz parse: reading stdin: %v\n", err)
		return 1
	}
	if len(data) > maxMRZInput {
		fmt.Fprintln(stderr, "ekyc mrz parse: not an MRZ: input too large")
		return 2
	}
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	sc.Buffer(make([]byte, 0, 1024), maxMRZInput+1)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			lines = append(lines, l)
		}
	}
	m, err := mrz.ParseAt(lines, now)
	if err != nil {
		var nm *mrz.NotMRZError
		if errors.As(err, &nm) {
			fmt.Fprintf(stderr, "ekyc mrz parse: not an MRZ: %s\n", nm.Reason)
		} else {
			fmt.Fprintf(stderr, "ekyc mrz parse: %v\n", err)
		}
		return 2
	}
	out := mrzOutput{
		Format: m.Format,
		Fields: mrzFields{
			DocumentCode:   m.DocumentCode,
			IssuingState:   m.IssuingState,
			DocumentNumber: m.DocumentNumber,
			Surname:        m.Surname,
			GivenNames:     m.GivenNames,
			NameTruncated:  m.NameTruncated,
			Nationality:    m.Nationality,
			Sex:            m.Sex,
			BirthDate:      m.BirthDate,
			ExpiryDate:     m.ExpiryDate,
			OptionalData1:  m.OptionalData1,
			OptionalData2:  m.OptionalData2,
		},
		Checks:   m.Checks,
		Problems: m.Problems,
		Valid:    m.Valid(),
		Expired:  m.Expired(now),
	}
	if days, ok := m.ExpiryDate.DaysUntil(now); ok {
		out.DaysToExpiry = &days
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		fmt.Fprintf(stderr, "ekyc mrz parse: writing output: %v\n", err)
		return 1
	}
	return 0
}
