package lists

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/openekyc/ekyc/services/screening"
)

// ukRequired are the ConList.csv columns the parser needs.
var ukRequired = []string{"Name 6", "Group Type", "Group ID"}

var (
	ukNumbered = regexp.MustCompile(`\(\d+\)\s*`)
	ukRef      = regexp.MustCompile(`\(UK Sanctions List Ref\)\s*:\s*([A-Za-z0-9.\-]+)`)
	ukGender   = regexp.MustCompile(`\(Gender\)\s*:\s*(Male|Female)`)
)

// ParseUK parses the UK OFSI consolidated list of financial sanctions
// targets, ConList.csv in the 2022 format: an optional first line "Last
// Updated,dd/mm/yyyy", a header (Name 6, Name 1 … Name 5, Title, Name
// Non-Latin Script, …, DOB, …, Nationality, Passport Number, …, Group
// Type, Alias Type, Alias Quality, Regime, Listed On, …, Group ID) and one
// row per name, grouped into entities by Group ID. Columns are found by
// header name, so their order does not matter. Name 6 is the surname (or
// the whole name of an entity or ship). Multi-valued cells "(1) x (2) y"
// are split. Entity ids are "uk-" and the Group ID; Ref is the UK
// Sanctions List reference from Other Information.
func ParseUK(ctx context.Context, r io.Reader, opts ...Option) (*screening.List, error) {
	cfg := newConfig(opts)
	vh := newVersionHash()
	tr := vh.reader("ConList.csv", r)
	cr := csv.NewReader(tr)
	cr.FieldsPerRecord = -1
	fail := func(line int, err error) error {
		return &ParseError{Source: screening.SourceUK, File: "ConList.csv", Line: line, Err: err}
	}
	read := func() ([]string, int, error) {
		rec, err := cr.Read()
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, pe.Line, fail(pe.Line, pe.Err)
			}
			return nil, 0, err
		}
		line, _ := cr.FieldPos(0)
		return rec, line, nil
	}
	var published time.Time
	rec, line, err := read()
	if err == io.EOF {
		return nil, fail(1, errors.New("empty file"))
	}
	_ = line
	if err != nil {
		return nil, err
	}
	if len(rec) >= 2 && strings.EqualFold(strings.TrimSpace(trimBOM(rec[0])), "Last Updated") {
		if d, err := time.Parse("02/01/2006", strings.TrimSpace(rec[1])); err == nil {
			published = d
		}
		if rec, line, err = read(); err != nil {
			if err == io.EOF {
				return nil, fail(line, errors.New("no header"))
			}
			return nil, err
		}
	}
	headerLen := len(rec)
	col := map[string]int{}
	for i, h := range rec {
		col[strings.ToLower(strings.TrimSpace(trimBOM(h)))] = i
	}
	for _, h := range ukRequired {
		if _, ok := col[strings.ToLower(h)]; !ok {
			return nil, fail(line, fmt.Errorf("header has no %q column", h))
		}
	}
	get := func(rec []string, name string) string {
		if i, ok := col[strings.ToLower(name)]; ok && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	var entities []screening.Entity
	byGroup := map[string]int{}
	for n := 1; ; n++ {
		if err := checkCtx(ctx, n); err != nil {
			return nil, err
		}
		rec, line, err := read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		if len(rec) != headerLen {
			return nil, fail(line, fmt.Errorf("%d fields, header has %d", len(rec), headerLen))
		}
		gid := get(rec, "Group ID")
		if _, err := strconv.ParseUint(gid, 10, 64); err != nil {
			return nil, fail(line, fmt.Errorf("Group ID %q is not a number", gid))
		}
		i, ok := byGroup[gid]
		if !ok {
			i = len(entities)
			byGroup[gid] = i
			entities = append(entities, screening.Entity{ID: "uk-" + gid, Source: screening.SourceUK,
				Type: ukType(get(rec, "Group Type"))})
		}
		e := &entities[i]
		ukRow(e, rec, get)
	}
	for i := range entities {
		e := &entities[i]
		if len(e.Names) == 0 {
			return nil, fail(0, fmt.Errorf("group %s has no name", strings.TrimPrefix(e.ID, "uk-")))
		}
		if !hasPrimary(e.Names) {
			e.Names[0].Kind = screening.NamePrimary
		}
	}
	if err := drain(tr); err != nil {
		return nil, err
	}
	return &screening.List{Version: vh.version(screening.SourceUK, published, len(entities), cfg), Entities: entities}, nil
}

func trimBOM(s string) string { return strings.TrimPrefix(s, "\ufeff") }

func hasPrimary(ns []screening.Name) bool {
	for _, n := range ns {
		if n.Kind == screening.NamePrimary {
			return true
		}
	}
	return false
}

func ukType(s string) screening.EntityType {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "individual":
		return screening.EntityPerson
	case "entity":
		return screening.EntityOrganisation
	case "ship":
		return screening.EntityVessel
	}
	return screening.EntityUnknown
}

// splitNumbered splits "(1) A (2) B" into A and B; other values are
// returned whole.
func splitNumbered(s string) []string {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	var out []string
	for _, p := range ukNumbered.Split(s, -1) {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// parseUKDate reads dd/mm/yyyy where unknown parts are 00, or a bare year.
func parseUKDate(s string) (screening.DateSpec, bool) {
	s = strings.TrimSpace(s)
	parts := strings.Split(s, "/")
	var d screening.DateSpec
	var err error
	switch len(parts) {
	case 1:
		d.Year, err = strconv.Atoi(parts[0])
	case 3:
		var dd, mm int
		if dd, err = strconv.Atoi(parts[0]); err == nil {
			if mm, err = strconv.Atoi(parts[1]); err == nil {
				d.Year, err = strconv.Atoi(parts[2])
			}
		}
		d.Month, d.Day = mm, dd
		if d.Month == 0 {
			d.Day = 0
		}
	default:
		return d, false
	}
	if err != nil || d.Year == 0 {
		return screening.DateSpec{}, false
	}
	return d, d.Validate() == nil
}

func ukRow(e *screening.Entity, rec []string, get func([]string, string) string) {
	var parts []string
	for _, c := range []string{"Name 1", "Name 2", "Name 3", "Name 4", "Name 5", "Name 6"} {
		if v := get(rec, c); v != "" {
			parts = append(parts, v)
		}
	}
	kind := screening.NameAlias
	aliasType := get(rec, "Alias Type")
	quality := get(rec, "Alias Quality")
	switch {
	case strings.EqualFold(aliasType, "Primary name"):
		kind = screening.NamePrimary
	case strings.HasPrefix(strings.ToLower(quality), "low"):
		kind = screening.NameWeak
	}
	q := aliasType
	if quality != "" {
		q = strings.TrimSpace(aliasType + ", " + quality)
	}
	e.Names = addName(e.Names, screening.Name{Full: strings.Join(parts, " "), Kind: kind, Quality: q})
	if nl := get(rec, "Name Non-Latin Script"); nl != "" {
		script := get(rec, "Non-Latin Script Language")
		if script == "" {
			script = get(rec, "Non-Latin Script Type")
		}
		nk := kind
		if nk == screening.NameWeak {
			nk = screening.NameAlias
		}
		e.Names = addName(e.Names, screening.Name{Full: nl, Kind: nk, Quality: "non-latin script", Script: script})
	}
	for _, v := range splitNumbered(get(rec, "DOB")) {
		if d, ok := parseUKDate(v); ok {
			e.DOBs = addDate(e.DOBs, d)
		}
	}
	for _, v := range splitNumbered(get(rec, "Nationality")) {
		if c, ok := country(v, screening.RoleNationality); ok {
			e.Countries = addCountry(e.Countries, c)
		}
	}
	for _, v := range splitNumbered(get(rec, "Country of Birth")) {
		if c, ok := country(v, screening.RoleBirth); ok {
			e.Countries = addCountry(e.Countries, c)
		}
	}
	for _, v := range splitNumbered(get(rec, "Country")) {
		if c, ok := country(v, screening.RoleAddress); ok {
			e.Countries = addCountry(e.Countries, c)
		}
	}
	addDocs := func(typ, numbers, details string) {
		nums := splitNumbered(numbers)
		dets := splitNumbered(details)
		for i, num := range nums {
			id := screening.Identifier{Type: typ, Number: num}
			if i < len(dets) {
				if c, ok := country(dets[i], screening.RoleJurisdiction); ok && c.Code != "" {
					id.Country = c.Code
				}
			}
			e.Identifiers = addIdentifier(e.Identifiers, id)
		}
	}
	addDocs("Passport", get(rec, "Passport Number"), get(rec, "Passport Details"))
	addDocs("National Identification Number", get(rec, "National Identification Number"), get(rec, "National Identification Details"))
	for _, v := range splitNumbered(get(rec, "Position")) {
		e.Positions = addString(e.Positions, v)
	}
	for _, v := range strings.Split(get(rec, "Regime"), "|") {
		e.Programs = addString(e.Programs, v)
	}
	other := collapse(get(rec, "Other Information"))
	if m := ukRef.FindStringSubmatch(other); m != nil && e.Ref == "" {
		e.Ref = strings.TrimRight(m[1], ".-")
	}
	if m := ukGender.FindStringSubmatch(other); m != nil && e.Gender == "" {
		e.Gender = gender(m[1])
	}
	if other != "" && (e.Remarks == "" || kind == screening.NamePrimary) {
		e.Remarks = other
	}
}
