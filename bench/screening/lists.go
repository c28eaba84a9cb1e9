// Package screeningbench compares sanctions-screening matchers side by side
// (our services/screening and moov-io/watchman) on the same lists and the same
// labelled query set. See README.md in this directory.
//
// This file reads the lists the query set is generated from: OFAC SDN
// (sdn.csv, alt.csv) and the UN Security Council Consolidated List
// (consolidated.xml), in the publishers' own formats.
package screeningbench

import (
	"encoding/csv"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Sources of listed entries. An entry's ID is "<source>:<publisher id>":
// "ofac:<ent_num>" or "un:<DATAID>". Every Searcher must report hits in this
// namespace so the labels can be checked.
const (
	SourceOFAC = "ofac"
	SourceUN   = "un"
)

// Kind is the kind of a listed party.
type Kind string

const (
	KindPerson Kind = "person"
	KindEntity Kind = "entity" // companies, organisations, groups
)

// Entry is one listed individual or entity. Vessels and aircraft are not read.
type Entry struct {
	ID     string // "ofac:1572", "un:6907993"
	Source string // SourceOFAC or SourceUN
	Kind   Kind
	Name   string // primary name as published ("NORIEGA, Manuel Antonio")

	// Persons only: the given names (first given name first, then middle
	// names) and the surname tokens. Natural() joins them given-names-first.
	Given   []string
	Surname []string

	Aliases []Alias

	// UN only, carried into the watchman (Senzing) export.
	Gender      string
	DOB         string // YYYY-MM-DD or YYYY
	Nationality string
}

// Alias is an alternative name of an entry.
type Alias struct {
	Name string
	// Weak marks the aliases the publisher rates low (UN quality "Low").
	// They are not used as positive queries; negatives still may not equal them.
	Weak bool
}

// Natural is the name written given-names-first, as on an identity document
// ("Manuel Antonio NORIEGA"); for entities it is the published name.
func (e *Entry) Natural() string {
	if e.Kind != KindPerson || len(e.Given)+len(e.Surname) == 0 {
		return e.Name
	}
	return strings.Join(append(append([]string{}, e.Given...), e.Surname...), " ")
}

// Lists holds the parsed entries of all sources, in file order.
type Lists struct {
	Entries []Entry
	byID    map[string]int
	keys    map[string]bool // Key of every listed name and alias
	// words: for each core word (see coreWords), the indexes of the listed
	// names and aliases that contain it, for Contains.
	words map[string][]int32
	names [][]string // core words of each listed name and alias, by index
}

// Lookup returns the entry with the given ID.
func (l *Lists) Lookup(id string) (*Entry, bool) {
	i, ok := l.byID[id]
	if !ok {
		return nil, false
	}
	return &l.Entries[i], true
}

func newLists(entries []Entry) (*Lists, error) {
	l := &Lists{Entries: entries, byID: make(map[string]int, len(entries))}
	for i := range entries {
		if _, dup := l.byID[entries[i].ID]; dup {
			return nil, fmt.Errorf("duplicate entry id %s", entries[i].ID)
		}
		l.byID[entries[i].ID] = i
	}
	l.keys = listedKeys(l)
	l.words, l.names = listedWords(l)
	return l, nil
}

// LoadLists reads dir/ofac/sdn.csv, dir/ofac/alt.csv and dir/un/consolidated.xml.
func LoadLists(dir string) (*Lists, error) {
	sdn, err := os.Open(filepath.Join(dir, "ofac", "sdn.csv"))
	if err != nil {
		return nil, err
	}
	defer sdn.Close()
	alt, err := os.Open(filepath.Join(dir, "ofac", "alt.csv"))
	if err != nil {
		return nil, err
	}
	defer alt.Close()
	un, err := os.Open(filepath.Join(dir, "un", "consolidated.xml"))
	if err != nil {
		return nil, err
	}
	defer un.Close()

	ofac, err := ReadOFAC(sdn, alt)
	if err != nil {
		return nil, err
	}
	unEntries, err := ReadUN(un)
	if err != nil {
		return nil, err
	}
	return newLists(append(ofac, unEntries...))
}

// FindSanctionsDir returns $EKYC_SANCTIONS_DIR, or the first of
// <repo>/shared/data/sanctions and <repo>/../shared/data/sanctions that holds
// ofac/sdn.csv, searching upwards from the working directory for the repository
// root (the directory with go.mod).
func FindSanctionsDir() (string, error) {
	if d := os.Getenv("EKYC_SANCTIONS_DIR"); d != "" {
		return d, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			for _, c := range []string{
				filepath.Join(d, "shared", "data", "sanctions"),
				filepath.Join(d, "..", "shared", "data", "sanctions"),
			} {
				if _, err := os.Stat(filepath.Join(c, "ofac", "sdn.csv")); err == nil {
					return filepath.Clean(c), nil
				}
			}
			break
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	return "", errors.New("sanctions lists not found: set EKYC_SANCTIONS_DIR to the directory holding ofac/sdn.csv and un/consolidated.xml")
}

// ReadOFAC reads the OFAC SDN list (sdn.csv: ent_num, SDN_Name, SDN_Type, ...;
// alt.csv: ent_num, alt_num, alt_type, alt_name, alt_remarks). Individuals and
// entities (SDN_Type "-0-") are kept; vessels and aircraft are skipped.
func ReadOFAC(sdn, alt io.Reader) ([]Entry, error) {
	var out []Entry
	index := map[string]int{}
	err := readCSV(sdn, func(rec []string) error {
		if len(rec) < 3 {
			return nil // the trailing ^Z line
		}
		num, name, typ := cell(rec[0]), cell(rec[1]), cell(rec[2])
		if num == "" || name == "" {
			return nil
		}
		e := Entry{ID: SourceOFAC + ":" + num, Source: SourceOFAC, Name: name}
		switch typ {
		case "individual":
			e.Kind = KindPerson
			e.Given, e.Surname = splitOFACPerson(name)
		case "":
			e.Kind = KindEntity
		default: // vessel, aircraft
			return nil
		}
		if len(rec) > 11 {
			// Weak a.k.a.s are published only in the remarks.
			for _, m := range weakAKA.FindAllStringSubmatch(cell(rec[11]), -1) {
				e.Aliases = append(e.Aliases, Alias{Name: m[1], Weak: true})
			}
		}
		index[e.ID] = len(out)
		out = append(out, e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sdn.csv: %w", err)
	}
	err = readCSV(alt, func(rec []string) error {
		if len(rec) < 4 {
			return nil
		}
		i, ok := index[SourceOFAC+":"+cell(rec[0])]
		if !ok || cell(rec[3]) == "" {
			return nil
		}
		out[i].Aliases = append(out[i].Aliases, Alias{Name: cell(rec[3])})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("alt.csv: %w", err)
	}
	if len(out) == 0 {
		return nil, errors.New("sdn.csv: no individuals or entities")
	}
	return out, nil
}

// weakAKA finds the weak aliases in an OFAC remarks cell: "a.k.a. 'ORION';".
var weakAKA = regexp.MustCompile(`a\.k\.a\. '(.+?)'(?:[;.]|$)`)

func readCSV(r io.Reader, fn func([]string) error) error {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	cr.ReuseRecord = true
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := fn(rec); err != nil {
			return err
		}
	}
}

// cell trims a CSV cell and maps OFAC's null marker "-0-" to "".
func cell(s string) string {
	s = strings.TrimSpace(s)
	if s == "-0-" {
		return ""
	}
	return s
}

// splitOFACPerson splits "SURNAME, Given Middle[, Jr.]" into given names and
// surname tokens. A name without a comma is taken as given names plus a
// one-token surname.
func splitOFACPerson(name string) (given, surname []string) {
	last, rest, ok := strings.Cut(name, ",")
	if !ok {
		toks := strings.Fields(name)
		if len(toks) < 2 {
			return nil, toks
		}
		return toks[:len(toks)-1], toks[len(toks)-1:]
	}
	rest, _, _ = strings.Cut(rest, ",") // drop a suffix such as ", Jr."
	return strings.Fields(rest), strings.Fields(last)
}

type unXML struct {
	Individuals []unRecord `xml:"INDIVIDUALS>INDIVIDUAL"`
	Entities    []unRecord `xml:"ENTITIES>ENTITY"`
}

type unRecord struct {
	DataID      string    `xml:"DATAID"`
	First       string    `xml:"FIRST_NAME"`
	Second      string    `xml:"SECOND_NAME"`
	Third       string    `xml:"THIRD_NAME"`
	Fourth      string    `xml:"FOURTH_NAME"`
	Gender      string    `xml:"GENDER"`
	Nationality []string  `xml:"NATIONALITY>VALUE"`
	IndAliases  []unAlias `xml:"INDIVIDUAL_ALIAS"`
	EntAliases  []unAlias `xml:"ENTITY_ALIAS"`
	DOBs        []struct {
		Type string `xml:"TYPE_OF_DATE"`
		Date string `xml:"DATE"`
		Year string `xml:"YEAR"`
	} `xml:"INDIVIDUAL_DATE_OF_BIRTH"`
}

type unAlias struct {
	Quality string `xml:"QUALITY"`
	Name    string `xml:"ALIAS_NAME"`
}

// ReadUN reads the UN Security Council Consolidated List XML.
func ReadUN(r io.Reader) ([]Entry, error) {
	var doc unXML
	if err := xml.NewDecoder(r).Decode(&doc); err != nil {
		return nil, fmt.Errorf("consolidated.xml: %w", err)
	}
	var out []Entry
	for _, rec := range doc.Individuals {
		id := strings.TrimSpace(rec.DataID)
		fields := nonEmpty(rec.First, rec.Second, rec.Third, rec.Fourth)
		if id == "" || len(fields) == 0 {
			continue
		}
		e := Entry{
			ID:     SourceUN + ":" + id,
			Source: SourceUN,
			Kind:   KindPerson,
			Name:   strings.Join(fields, " "),
			Gender: strings.TrimSpace(rec.Gender),
		}
		if len(fields) == 1 {
			toks := strings.Fields(fields[0])
			if len(toks) > 1 {
				e.Given, e.Surname = toks[:len(toks)-1], toks[len(toks)-1:]
			} else {
				e.Surname = toks
			}
		} else {
			// FIRST_NAME is the given name; the last name field is taken as the
			// surname and the fields between as middle names.
			for _, f := range fields[:len(fields)-1] {
				e.Given = append(e.Given, strings.Fields(f)...)
			}
			e.Surname = strings.Fields(fields[len(fields)-1])
		}
		for _, n := range rec.Nationality {
			if n = strings.TrimSpace(n); n != "" {
				e.Nationality = n
				break
			}
		}
		for _, d := range rec.DOBs {
			if v := strings.TrimSpace(d.Date); v != "" {
				e.DOB = v
				break
			}
			if v := strings.TrimSpace(d.Year); v != "" {
				e.DOB = v
				break
			}
		}
		e.Aliases = unAliases(rec.IndAliases)
		out = append(out, e)
	}
	for _, rec := range doc.Entities {
		id := strings.TrimSpace(rec.DataID)
		name := strings.Join(nonEmpty(rec.First, rec.Second, rec.Third, rec.Fourth), " ")
		if id == "" || name == "" {
			continue
		}
		out = append(out, Entry{
			ID:      SourceUN + ":" + id,
			Source:  SourceUN,
			Kind:    KindEntity,
			Name:    name,
			Aliases: unAliases(rec.EntAliases),
		})
	}
	if len(out) == 0 {
		return nil, errors.New("consolidated.xml: no individuals or entities")
	}
	return out, nil
}

func unAliases(in []unAlias) []Alias {
	var out []Alias
	for _, a := range in {
		n := strings.Join(strings.Fields(a.Name), " ")
		if n == "" {
			continue
		}
		out = append(out, Alias{Name: n, Weak: strings.EqualFold(strings.TrimSpace(a.Quality), "Low")})
	}
	return out
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s = strings.Join(strings.Fields(s), " "); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Fold removes diacritics and punctuation: NFD, combining marks dropped, a few
// letters without a decomposition mapped (ß, ø, đ, ł, æ, œ, ı), hyphens and
// slashes turned into spaces, other punctuation removed, spaces collapsed. The
// case is kept.
func Fold(s string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		switch {
		case unicode.Is(unicode.Mn, r):
		case r == '-' || r == '/' || r == '_' || unicode.IsSpace(r):
			b.WriteByte(' ')
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if m, ok := foldSpecial[r]; ok {
				b.WriteString(m)
			} else {
				b.WriteRune(r)
			}
		case r == '&':
			b.WriteRune(r)
		default: // . , ' ’ " ( ) : + @ and the like
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

var foldSpecial = map[rune]string{
	'ß': "ss", 'ø': "o", 'Ø': "O", 'đ': "d", 'Đ': "D", 'ł': "l", 'Ł': "L",
	'æ': "ae", 'Æ': "AE", 'œ': "oe", 'Œ': "OE", 'ı': "i", 'þ': "th", 'Þ': "TH",
}

// Key is the comparison key used to check that a negative is not a listed
// name: folded, upper-cased, tokens sorted (so word order does not matter).
func Key(s string) string {
	toks := strings.Fields(strings.ToUpper(Fold(s)))
	sort.Strings(toks)
	return strings.Join(toks, " ")
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
