package lists

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/openekyc/ekyc/services/screening"
)

type unAlias struct {
	Quality string `xml:"QUALITY"`
	Name    string `xml:"ALIAS_NAME"`
	DOB     string `xml:"DATE_OF_BIRTH"`
}

type unDate struct {
	Type     string `xml:"TYPE_OF_DATE"`
	Date     string `xml:"DATE"`
	Year     string `xml:"YEAR"`
	FromYear string `xml:"FROM_YEAR"`
	ToYear   string `xml:"TO_YEAR"`
}

type unPlace struct {
	Country string `xml:"COUNTRY"`
}

type unDocument struct {
	Type           string `xml:"TYPE_OF_DOCUMENT"`
	Type2          string `xml:"TYPE_OF_DOCUMENT2"`
	Number         string `xml:"NUMBER"`
	IssuingCountry string `xml:"ISSUING_COUNTRY"`
	CountryOfIssue string `xml:"COUNTRY_OF_ISSUE"`
}

// unRecord is an INDIVIDUAL or an ENTITY of the consolidated list.
type unRecord struct {
	DataID       string       `xml:"DATAID"`
	First        string       `xml:"FIRST_NAME"`
	Second       string       `xml:"SECOND_NAME"`
	Third        string       `xml:"THIRD_NAME"`
	Fourth       string       `xml:"FOURTH_NAME"`
	Original     string       `xml:"NAME_ORIGINAL_SCRIPT"`
	ListType     string       `xml:"UN_LIST_TYPE"`
	Ref          string       `xml:"REFERENCE_NUMBER"`
	Gender       string       `xml:"GENDER"`
	Comments     string       `xml:"COMMENTS1"`
	Designation  []string     `xml:"DESIGNATION>VALUE"`
	Nationality  []string     `xml:"NATIONALITY>VALUE"`
	Aliases      []unAlias    `xml:"INDIVIDUAL_ALIAS"`
	EntAliases   []unAlias    `xml:"ENTITY_ALIAS"`
	DOBs         []unDate     `xml:"INDIVIDUAL_DATE_OF_BIRTH"`
	POBs         []unPlace    `xml:"INDIVIDUAL_PLACE_OF_BIRTH"`
	Addresses    []unPlace    `xml:"INDIVIDUAL_ADDRESS"`
	EntAddresses []unPlace    `xml:"ENTITY_ADDRESS"`
	Documents    []unDocument `xml:"INDIVIDUAL_DOCUMENT"`
}

// ParseUN parses the UN Security Council consolidated list XML
// (CONSOLIDATED_LIST with INDIVIDUALS/INDIVIDUAL and ENTITIES/ENTITY),
// streaming one record at a time. Entity ids are "un-" and the DATAID; Ref
// is the REFERENCE_NUMBER.
func ParseUN(ctx context.Context, r io.Reader, opts ...Option) (*screening.List, error) {
	return xmlList[unRecord]{
		source:   screening.SourceUN,
		file:     "consolidated.xml",
		root:     "CONSOLIDATED_LIST",
		dateAttr: "dateGenerated",
		records:  map[string]bool{"INDIVIDUAL": true, "ENTITY": true},
		outside:  "record outside CONSOLIDATED_LIST",
		entity: func(rec *unRecord, elem string) (screening.Entity, error) {
			return unEntity(rec, elem == "INDIVIDUAL")
		},
		duplicate: func(rec *unRecord) error {
			return fmt.Errorf("duplicate DATAID %s", rec.DataID)
		},
	}.parse(ctx, r, opts)
}

func unEntity(rec *unRecord, individual bool) (screening.Entity, error) {
	id := strings.TrimSpace(rec.DataID)
	if _, err := strconv.ParseUint(id, 10, 64); err != nil {
		return screening.Entity{}, fmt.Errorf("DATAID %q is not a number", rec.DataID)
	}
	e := screening.Entity{
		ID:      "un-" + id,
		Source:  screening.SourceUN,
		Ref:     strings.TrimSpace(rec.Ref),
		Type:    screening.EntityOrganisation,
		Remarks: collapse(rec.Comments),
		Gender:  gender(rec.Gender),
	}
	e.Programs = addString(e.Programs, rec.ListType)
	aliases := rec.EntAliases
	if individual {
		e.Type = screening.EntityPerson
		aliases = rec.Aliases
	}
	primary := collapse(strings.Join([]string{rec.First, rec.Second, rec.Third, rec.Fourth}, " "))
	if individual {
		e.Names = addName(e.Names, screening.Name{Full: primary, Kind: screening.NamePrimary})
	} else {
		// entity names may pack several names and acronyms
		parts, acronyms := splitName(primary)
		for _, p := range parts {
			e.Names = addName(e.Names, screening.Name{Full: p, Kind: screening.NamePrimary})
		}
		for _, a := range acronyms {
			e.Names = addName(e.Names, screening.Name{Full: a, Kind: screening.NameAlias, Quality: "acronym"})
		}
	}
	if o := collapse(rec.Original); o != "" {
		e.Names = addName(e.Names, screening.Name{Full: o, Kind: screening.NamePrimary, Quality: "original script"})
	}
	for _, a := range aliases {
		q := strings.TrimSpace(a.Quality)
		kind := screening.NameAlias
		if strings.EqualFold(q, "low") {
			kind = screening.NameWeak
		}
		if individual {
			e.Names = addName(e.Names, screening.Name{Full: a.Name, Kind: kind, Quality: q})
		} else {
			parts, acronyms := splitName(a.Name)
			for _, p := range append(parts, acronyms...) {
				e.Names = addName(e.Names, screening.Name{Full: p, Kind: kind, Quality: q})
			}
		}
		if d, err := screening.ParseDate(strings.TrimSpace(a.DOB)); err == nil {
			e.DOBs = addDate(e.DOBs, d)
		}
	}
	if len(e.Names) == 0 {
		return screening.Entity{}, fmt.Errorf("record %s has no name", id)
	}
	for _, d := range rec.DOBs {
		e.DOBs = addDate(e.DOBs, unDOB(d))
	}
	for _, v := range rec.Designation {
		e.Positions = addString(e.Positions, collapse(v))
	}
	for _, v := range rec.Nationality {
		v = strings.TrimSpace(v)
		if strings.EqualFold(v, "na") { // "not available"
			continue
		}
		if c, ok := country(v, screening.RoleNationality); ok {
			e.Countries = addCountry(e.Countries, c)
		}
	}
	for _, p := range rec.POBs {
		if c, ok := country(p.Country, screening.RoleBirth); ok {
			e.Countries = addCountry(e.Countries, c)
		}
	}
	for _, p := range append(rec.Addresses, rec.EntAddresses...) {
		if c, ok := country(p.Country, screening.RoleAddress); ok {
			e.Countries = addCountry(e.Countries, c)
		}
	}
	for _, d := range rec.Documents {
		typ := collapse(d.Type)
		if t2 := collapse(d.Type2); t2 != "" {
			typ = strings.TrimSpace(typ + " (" + t2 + ")")
		}
		ctry := strings.TrimSpace(d.IssuingCountry)
		if ctry == "" {
			ctry = strings.TrimSpace(d.CountryOfIssue)
		}
		if ctry != "" {
			ctry = countryCode(ctry)
		}
		e.Identifiers = addIdentifier(e.Identifiers, screening.Identifier{Type: typ, Number: collapse(d.Number), Country: ctry})
	}
	return e, nil
}

// unDOB reads INDIVIDUAL_DATE_OF_BIRTH: EXACT with DATE or YEAR,
// APPROXIMATELY with DATE or YEAR (circa), BETWEEN with FROM_YEAR and
// TO_YEAR. A zero DateSpec means no usable date.
func unDOB(d unDate) screening.DateSpec {
	year := func(s string) int {
		y, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return 0
		}
		return y
	}
	var out screening.DateSpec
	switch strings.ToUpper(strings.TrimSpace(d.Type)) {
	case "BETWEEN":
		a, b := year(d.FromYear), year(d.ToYear)
		if a == 0 || b < a {
			return screening.DateSpec{}
		}
		out = screening.DateSpec{Year: a, ToYear: b}
		if a == b {
			out.ToYear = 0
		}
		return out
	case "EXACT", "APPROXIMATELY", "":
		if ds := strings.TrimSpace(d.Date); ds != "" {
			if p, err := screening.ParseDate(ds); err == nil {
				out = p
			}
		}
		if out.IsZero() {
			out.Year = year(d.Year)
		}
		out.Circa = strings.EqualFold(strings.TrimSpace(d.Type), "APPROXIMATELY")
	}
	return out
}
