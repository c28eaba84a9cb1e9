package lists

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/openekyc/ekyc/services/screening"
)

// The UK Sanctions List of the FCDO (Foreign, Commonwealth & Development
// Office), the single UK designations list since OFSI's Consolidated List
// (ConList.csv, ParseUK) was closed on 28 January 2026. It is published at
// https://www.gov.uk/government/publications/the-uk-sanctions-list as
// UK-Sanctions-List.csv (and .xml, .ods, .html); this file reads the CSV.
//
// The FCDO publishes no format guide for it that we could find. The column
// names below are those read by the OpenSanctions crawler of this list,
// which takes every column of every row of the live file and reports any
// column it did not consume (opensanctions/opensanctions,
// datasets/gb/fcdo_sanctions/crawler.py, crawl_csv and audit_data, commit
// 2f21e0c7b04027283c9855b88598afc94f88292d), and its value lookups
// (gb_fcdo_sanctions.yml, commit bf0e54efcf53fafb789d120d33f266df2beea2f1):
// Name type "Primary name" / "Primary name variation" / "Alias" (blank
// occurs), Alias strength "Good quality a.k.a" / "Low quality a.k.a" (blank
// occurs), dates dd/mm/yyyy with "dd", "mm" or "00" for unknown parts,
// Sanctions Imposed separated by "|", and a first line before the header
// ("Report Date: 21-Sep-2026" in the loaders of the file we found). The
// FCDO's own description of the 2022 fields (Name type, Alias strength,
// Names 1-6 aligned with the OFSI list) is "UK Sanctions List: change to
// the list's format",
// https://www.gov.uk/government/publications/uk-sanctions-list-change-in-format.
//
// The XML form is not read: its passport and national identifier elements
// are not covered by that source.

// ukslFile names the CSV in errors and in the version hash.
const ukslFile = "UK-Sanctions-List.csv"

// UK Sanctions List CSV columns the parser reads.
const (
	ukslUniqueID     = "Unique ID"
	ukslGroupID      = "OFSI Group ID"
	ukslType         = "Designation Type"
	ukslNameType     = "Name type"
	ukslAliasStrgth  = "Alias strength"
	ukslNonLatin     = "Name non-latin script"
	ukslNonLatinType = "Non-latin script type"
	ukslNonLatinLang = "Non-latin script language"
	ukslRegime       = "Regime Name"
	ukslOther        = "Other Information"
	ukslDOB          = "D.O.B"
	ukslNationality  = "Nationality(/ies)"
	ukslBirthCountry = "Country of birth"
	ukslAddrCountry  = "Address Country"
	ukslFlag         = "Current believed flag of ship"
	ukslPassport     = "Passport number"
	ukslPassportInfo = "Passport additional information"
	ukslNationalID   = "National Identifier number"
	ukslNationalInfo = "National Identifier additional information"
	ukslIMO          = "IMO number"
	ukslPosition     = "Position"
	ukslGender       = "Gender"
)

// ukslNameParts are the name columns in natural order: Name 1 is a given
// name, Name 6 the family name (or the whole name of an entity or ship).
var ukslNameParts = []string{"Name 1", "Name 2", "Name 3", "Name 4", "Name 5", "Name 6"}

// ukslTypeColumns are the spellings of the designation type column: the
// documented one, and the XML element's wording.
var ukslTypeColumns = []string{ukslType, "Individual, Entity, Ship"}

// ParseUKSanctionsList parses the FCDO UK Sanctions List CSV
// (UK-Sanctions-List.csv): an optional first line "Report Date: …" (the
// publication date), a header, and one row per name of a designation, rows
// of a designation sharing its Unique ID (RUS0251, AFG0001, …). Columns
// are found by header name (case-insensitive), so their order does not
// matter; a row must have as many fields as the header.
//
// Mapping: Name 1 … Name 6 joined in order form the name, whose kind
// follows Name type ("Primary name" primary; "Primary name variation",
// "Alias" and blank alias) and, for aliases, Alias strength ("Low quality
// …" weak); Name non-latin script is an alias with its Non-latin script
// language (or type) as Script; D.O.B, Nationality(/ies), Country of
// birth, Address Country, Current believed flag of ship, Passport number
// (issuing country from Passport additional information when that is a
// country name), National Identifier number, IMO number, Position, Gender,
// Regime Name (programs) and Other Information (remarks) are collected from
// every row of the designation.
//
// Entity ids are "uk-" and the OFSI Group ID where the designation has one,
// the ids of the OFSI ConList (ParseUK), so that hits already reviewed or
// known to ongoing monitoring keep their id across the change of list;
// designations of one group (one person under several regimes) are one
// entity. A designation without a group id (made after the ConList
// closed) is "uk-" and its Unique ID. Ref lists the Unique IDs.
func ParseUKSanctionsList(ctx context.Context, r io.Reader, opts ...Option) (*screening.List, error) {
	cfg := newConfig(opts)
	vh := newVersionHash()
	tr := vh.reader(ukslFile, r)
	cr := csv.NewReader(tr)
	cr.FieldsPerRecord = -1
	fail := func(line int, err error) error {
		return &ParseError{Source: screening.SourceUK, File: ukslFile, Line: line, Err: err}
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
	rec, line, err := read()
	if err == io.EOF {
		return nil, fail(1, errors.New("empty file"))
	}
	if err != nil {
		return nil, err
	}
	var published time.Time
	if isReportDateLine(rec) {
		published = parseReportDate(rec)
		dateLine := line
		if rec, line, err = read(); err != nil {
			if err == io.EOF {
				return nil, fail(dateLine+1, errors.New("no header after the Report Date line"))
			}
			return nil, err
		}
	}
	headerLen := len(rec)
	col := map[string]int{}
	for i, h := range rec {
		k := strings.ToLower(strings.TrimSpace(trimBOM(h)))
		if _, dup := col[k]; !dup {
			col[k] = i
		}
	}
	typeCol := ""
	for _, c := range ukslTypeColumns {
		if _, ok := col[strings.ToLower(c)]; ok {
			typeCol = c
			break
		}
	}
	if typeCol == "" {
		return nil, fail(line, fmt.Errorf("header has no %q column", ukslType))
	}
	for _, h := range []string{ukslUniqueID, "Name 6"} {
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
	byID := map[string]int{}
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
		uid := get(rec, ukslUniqueID)
		id, err := ukslEntityID(uid, get(rec, ukslGroupID))
		if err != nil {
			return nil, fail(line, err)
		}
		i, ok := byID[id]
		if !ok {
			i = len(entities)
			byID[id] = i
			entities = append(entities, screening.Entity{ID: id, Source: screening.SourceUK})
		}
		e := &entities[i]
		if t := ukType(get(rec, typeCol)); e.Type == "" || e.Type == screening.EntityUnknown {
			e.Type = t
		}
		if e.Ref == "" {
			e.Ref = uid
		} else if !slices.Contains(strings.Split(e.Ref, ", "), uid) {
			e.Ref += ", " + uid
		}
		ukslRow(e, rec, get)
	}
	for i := range entities {
		e := &entities[i]
		if len(e.Names) == 0 {
			return nil, fail(0, fmt.Errorf("designation %s has no name", e.Ref))
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

// ukslEntityID returns the entity id of a row: "uk-<OFSI Group ID>" when
// the group id is set (a number, as in the ConList), else
// "uk-<Unique ID>". A Unique ID made of digits only could collide with a
// group id and is refused.
func ukslEntityID(uid, gid string) (string, error) {
	switch {
	case uid == "":
		return "", errors.New("empty Unique ID")
	case strings.ContainsFunc(uid, func(r rune) bool { return r <= ' ' || r == 0x7f }):
		return "", fmt.Errorf("Unique ID %q has spaces or control characters", uid)
	}
	if gid != "" {
		if _, err := strconv.ParseUint(gid, 10, 64); err != nil {
			return "", fmt.Errorf("OFSI Group ID %q is not a number", gid)
		}
		return "uk-" + gid, nil
	}
	if _, err := strconv.ParseUint(uid, 10, 64); err == nil {
		return "", fmt.Errorf("Unique ID %q is a number and has no OFSI Group ID", uid)
	}
	return "uk-" + uid, nil
}

// isReportDateLine reports whether rec is the line before the header
// ("Report Date: 21-Sep-2026").
func isReportDateLine(rec []string) bool {
	return len(rec) > 0 && hasPrefixFold(strings.TrimSpace(trimBOM(rec[0])), reportDate)
}

const reportDate = "report date"

// hasPrefixFold is strings.HasPrefix under Unicode case folding, for an
// ASCII prefix.
func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// parseReportDate reads the date of the Report Date line; zero when it is
// in no known layout.
func parseReportDate(rec []string) time.Time {
	s := strings.TrimSpace(trimBOM(strings.Join(rec, " ")))
	if !hasPrefixFold(s, reportDate) {
		return time.Time{}
	}
	s = strings.TrimSpace(s[len(reportDate):])
	s = strings.TrimSpace(strings.TrimLeft(s, ":"))
	for _, layout := range []string{"02-Jan-2006", "2-Jan-2006", "02/01/2006", "2006-01-02", "2 January 2006", "02 Jan 2006"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t
		}
	}
	return time.Time{}
}

// ukslDate reads a D.O.B value: dd/mm/yyyy, with "dd", "mm" or "00" for
// an unknown day or month.
func ukslDate(s string) (screening.DateSpec, bool) {
	parts := strings.Split(strings.TrimSpace(s), "/")
	if len(parts) == 3 {
		if strings.EqualFold(parts[0], "dd") {
			parts[0] = "00"
		}
		if strings.EqualFold(parts[1], "mm") {
			parts[1] = "00"
		}
	}
	return parseUKDate(strings.Join(parts, "/"))
}

// ukslNameKind maps Name type and Alias strength to a kind and the
// qualifier shown with the name.
func ukslNameKind(nameType, strength string) (screening.NameKind, string) {
	nt := strings.ToLower(collapse(nameType))
	kind := screening.NameAlias
	switch {
	case nt == "primary name":
		kind = screening.NamePrimary
	case nt != "primary name variation" && strings.HasPrefix(strings.ToLower(strings.TrimSpace(strength)), "low quality"):
		kind = screening.NameWeak
	}
	var q []string
	for _, v := range []string{collapse(nameType), collapse(strength)} {
		if v != "" {
			q = append(q, v)
		}
	}
	return kind, strings.Join(q, ", ")
}

// ukslRow adds one row's names and details to e.
func ukslRow(e *screening.Entity, rec []string, get func([]string, string) string) {
	var parts []string
	for _, c := range ukslNameParts {
		if v := get(rec, c); v != "" {
			parts = append(parts, v)
		}
	}
	kind, quality := ukslNameKind(get(rec, ukslNameType), get(rec, ukslAliasStrgth))
	e.Names = addName(e.Names, screening.Name{Full: strings.Join(parts, " "), Kind: kind, Quality: quality})
	if nl := get(rec, ukslNonLatin); nl != "" {
		// Non-Latin names belong to the designation, not to the row's
		// name (the XML lists them apart from the names): an alias.
		script := get(rec, ukslNonLatinLang)
		if script == "" {
			script = get(rec, ukslNonLatinType)
		}
		e.Names = addName(e.Names, screening.Name{Full: nl, Kind: screening.NameAlias, Quality: "non-latin script", Script: script})
	}
	for _, v := range splitNumbered(get(rec, ukslDOB)) {
		if d, ok := ukslDate(v); ok {
			e.DOBs = addDate(e.DOBs, d)
		}
	}
	for _, c := range []struct {
		col  string
		role screening.CountryRole
	}{
		{ukslNationality, screening.RoleNationality},
		{ukslBirthCountry, screening.RoleBirth},
		{ukslAddrCountry, screening.RoleAddress},
		{ukslFlag, screening.RoleJurisdiction},
	} {
		for _, v := range splitNumbered(get(rec, c.col)) {
			if ct, ok := country(v, c.role); ok {
				e.Countries = addCountry(e.Countries, ct)
			}
		}
	}
	addDocs := func(typ, numbers, details string) {
		dets := splitNumbered(details)
		for i, num := range splitNumbered(numbers) {
			id := screening.Identifier{Type: typ, Number: num}
			if i < len(dets) {
				if c, ok := country(dets[i], screening.RoleJurisdiction); ok && c.Code != "" {
					id.Country = c.Code
				}
			}
			e.Identifiers = addIdentifier(e.Identifiers, id)
		}
	}
	addDocs("Passport", get(rec, ukslPassport), get(rec, ukslPassportInfo))
	addDocs("National Identification Number", get(rec, ukslNationalID), get(rec, ukslNationalInfo))
	for _, v := range splitNumbered(get(rec, ukslIMO)) {
		v = strings.TrimSpace(strings.TrimPrefix(strings.ToUpper(v), "IMO"))
		e.Identifiers = addIdentifier(e.Identifiers, screening.Identifier{Type: "IMO", Number: v})
	}
	for _, v := range splitNumbered(get(rec, ukslPosition)) {
		e.Positions = addString(e.Positions, v)
	}
	if g := gender(get(rec, ukslGender)); g != "" && e.Gender == "" {
		e.Gender = g
	}
	e.Programs = addString(e.Programs, get(rec, ukslRegime))
	if other := collapse(get(rec, ukslOther)); other != "" && (e.Remarks == "" || kind == screening.NamePrimary) {
		e.Remarks = other
	}
}

// UK list formats told apart by ParseUKAuto.
const (
	ukFormatConList = "ConList.csv"
	ukFormatUKSL    = ukslFile
)

// ukSniffLen is how much of the input ParseUKAuto looks at.
const ukSniffLen = 4096

// ukFormat names the format of a UK list from its first bytes: the UK
// Sanctions List CSV starts with its Report Date line or has a Unique ID
// column; anything else is taken for an OFSI ConList.csv (whose parser
// reports a file that is neither).
func ukFormat(head []byte) string {
	head = bytes.TrimPrefix(head, []byte("\ufeff"))
	first, _, _ := bytes.Cut(head, []byte("\n"))
	first = bytes.ToLower(first)
	if hasPrefixFold(string(bytes.TrimSpace(first)), reportDate) || bytes.Contains(first, []byte("unique id")) {
		return ukFormatUKSL
	}
	return ukFormatConList
}

// ParseUKAuto parses either UK list, told apart by its first line: the
// FCDO UK Sanctions List CSV (ParseUKSanctionsList) or the OFSI
// consolidated list ConList.csv (ParseUK). It is the parser of source
// "uk", so a configuration keeps working when its location moves from
// ConList.csv to UK-Sanctions-List.csv.
func ParseUKAuto(ctx context.Context, r io.Reader, opts ...Option) (*screening.List, error) {
	br := bufio.NewReaderSize(r, ukSniffLen)
	head, err := br.Peek(ukSniffLen)
	if err != nil && err != io.EOF {
		return nil, err
	}
	if ukFormat(head) == ukFormatUKSL {
		return ParseUKSanctionsList(ctx, br, opts...)
	}
	return ParseUK(ctx, br, opts...)
}
