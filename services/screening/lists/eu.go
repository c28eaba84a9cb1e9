package lists

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/openekyc/ekyc/services/screening"
)

// euEntity is export/sanctionEntity of the EU Financial Sanctions Files
// (FSF) XML, namespace http://eu.europa.ec/fpi/fsd/export (matched by local
// name only).
type euEntity struct {
	LogicalID   string   `xml:"logicalId,attr"`
	EURef       string   `xml:"euReferenceNumber,attr"`
	UNID        string   `xml:"unitedNationId,attr"`
	Remark      []string `xml:"remark"`
	Regulations []struct {
		Programme string `xml:"programme,attr"`
	} `xml:"regulation"`
	SubjectType struct {
		Code string `xml:"code,attr"`
	} `xml:"subjectType"`
	NameAliases []struct {
		FirstName  string `xml:"firstName,attr"`
		MiddleName string `xml:"middleName,attr"`
		LastName   string `xml:"lastName,attr"`
		WholeName  string `xml:"wholeName,attr"`
		Function   string `xml:"function,attr"`
		Gender     string `xml:"gender,attr"`
		Language   string `xml:"nameLanguage,attr"`
		Strong     string `xml:"strong,attr"`
	} `xml:"nameAlias"`
	Birthdates []struct {
		Circa         string `xml:"circa,attr"`
		Birthdate     string `xml:"birthdate,attr"`
		Day           string `xml:"dayOfMonth,attr"`
		Month         string `xml:"monthOfYear,attr"`
		Year          string `xml:"year,attr"`
		YearRangeFrom string `xml:"yearRangeFrom,attr"`
		YearRangeTo   string `xml:"yearRangeTo,attr"`
		CountryIso2   string `xml:"countryIso2Code,attr"`
		CountryDesc   string `xml:"countryDescription,attr"`
	} `xml:"birthdate"`
	Citizenships    []euCountry `xml:"citizenship"`
	Addresses       []euCountry `xml:"address"`
	Identifications []struct {
		Number      string `xml:"number,attr"`
		LatinNumber string `xml:"latinNumber,attr"`
		TypeCode    string `xml:"identificationTypeCode,attr"`
		TypeDesc    string `xml:"identificationTypeDescription,attr"`
		CountryIso2 string `xml:"countryIso2Code,attr"`
		CountryDesc string `xml:"countryDescription,attr"`
	} `xml:"identification"`
}

type euCountry struct {
	CountryIso2 string `xml:"countryIso2Code,attr"`
	CountryDesc string `xml:"countryDescription,attr"`
}

// ParseEU parses the EU financial sanctions file XML (the
// xmlFullSanctionsList_1_1 export), streaming one sanctionEntity at a time.
// Entity ids are "eu-" and the logicalId; Ref is the euReferenceNumber.
// The first strong nameAlias is the primary name, other strong ones are
// aliases, the others weak aliases.
func ParseEU(ctx context.Context, r io.Reader, opts ...Option) (*screening.List, error) {
	return xmlList[euEntity]{
		source:   screening.SourceEU,
		file:     "eu.xml",
		root:     "export",
		dateAttr: "generationDate",
		records:  map[string]bool{"sanctionEntity": true},
		outside:  "sanctionEntity outside export",
		entity:   func(rec *euEntity, _ string) (screening.Entity, error) { return euToEntity(rec) },
		duplicate: func(rec *euEntity) error {
			return fmt.Errorf("duplicate logicalId %s", rec.LogicalID)
		},
	}.parse(ctx, r, opts)
}

// euCountryOf returns the country of an EU element; "00" is the FSF code
// for unknown.
func euCountryOf(iso, desc string, role screening.CountryRole) (screening.Country, bool) {
	iso = strings.ToUpper(strings.TrimSpace(iso))
	desc = strings.TrimSpace(desc)
	if iso == "" || iso == "00" {
		if desc == "" || strings.EqualFold(desc, "UNKNOWN") {
			return screening.Country{}, false
		}
		return country(desc, role)
	}
	if desc == "" {
		desc = iso
	}
	return screening.Country{Code: iso, Raw: desc, Role: role}, true
}

func euToEntity(rec *euEntity) (screening.Entity, error) {
	id := strings.TrimSpace(rec.LogicalID)
	if _, err := strconv.ParseUint(id, 10, 64); err != nil {
		return screening.Entity{}, fmt.Errorf("logicalId %q is not a number", rec.LogicalID)
	}
	e := screening.Entity{ID: "eu-" + id, Source: screening.SourceEU, Ref: strings.TrimSpace(rec.EURef)}
	switch strings.ToLower(strings.TrimSpace(rec.SubjectType.Code)) {
	case "person":
		e.Type = screening.EntityPerson
	case "enterprise":
		e.Type = screening.EntityOrganisation
	default:
		e.Type = screening.EntityUnknown
	}
	for _, rg := range rec.Regulations {
		e.Programs = addString(e.Programs, rg.Programme)
	}
	var remarks []string
	for _, r := range rec.Remark {
		if r = collapse(r); r != "" {
			remarks = append(remarks, r)
		}
	}
	e.Remarks = strings.Join(remarks, " ")
	primaryDone := false
	for _, na := range rec.NameAliases {
		full := collapse(na.WholeName)
		if full == "" {
			full = collapse(strings.Join([]string{na.FirstName, na.MiddleName, na.LastName}, " "))
		}
		if full == "" {
			continue
		}
		kind := screening.NameWeak
		quality := "weak"
		if !strings.EqualFold(strings.TrimSpace(na.Strong), "false") {
			kind, quality = screening.NameAlias, "strong"
			if !primaryDone {
				kind, primaryDone = screening.NamePrimary, true
			}
		}
		e.Names = addName(e.Names, screening.Name{Full: full, Kind: kind, Quality: quality, Script: strings.TrimSpace(na.Language)})
		e.Positions = addString(e.Positions, collapse(na.Function))
		if g := gender(na.Gender); g != "" {
			e.Gender = g
		}
	}
	if len(e.Names) == 0 {
		return screening.Entity{}, fmt.Errorf("logicalId %s has no name", id)
	}
	if !primaryDone { // only weak names: promote the first
		e.Names[0].Kind = screening.NamePrimary
	}
	for _, b := range rec.Birthdates {
		var d screening.DateSpec
		if p, err := screening.ParseDate(strings.TrimSpace(b.Birthdate)); err == nil {
			d = p
		} else {
			atoi := func(s string) int { v, _ := strconv.Atoi(strings.TrimSpace(s)); return v }
			if from, to := atoi(b.YearRangeFrom), atoi(b.YearRangeTo); from > 0 && to >= from {
				d = screening.DateSpec{Year: from, ToYear: to}
				if from == to {
					d.ToYear = 0
				}
			} else if y := atoi(b.Year); y > 0 {
				d = screening.DateSpec{Year: y, Month: atoi(b.Month), Day: atoi(b.Day)}
				if d.Month == 0 {
					d.Day = 0
				}
			}
		}
		d.Circa = strings.EqualFold(strings.TrimSpace(b.Circa), "true")
		e.DOBs = addDate(e.DOBs, d)
		if c, ok := euCountryOf(b.CountryIso2, b.CountryDesc, screening.RoleBirth); ok {
			e.Countries = addCountry(e.Countries, c)
		}
	}
	for _, c := range rec.Citizenships {
		if cc, ok := euCountryOf(c.CountryIso2, c.CountryDesc, screening.RoleCitizenship); ok {
			e.Countries = addCountry(e.Countries, cc)
		}
	}
	for _, c := range rec.Addresses {
		if cc, ok := euCountryOf(c.CountryIso2, c.CountryDesc, screening.RoleAddress); ok {
			e.Countries = addCountry(e.Countries, cc)
		}
	}
	for _, idn := range rec.Identifications {
		num := strings.TrimSpace(idn.Number)
		if num == "" {
			num = strings.TrimSpace(idn.LatinNumber)
		}
		typ := strings.TrimSpace(idn.TypeDesc)
		if typ == "" {
			typ = strings.TrimSpace(idn.TypeCode)
		}
		ctry := ""
		if c, ok := euCountryOf(idn.CountryIso2, idn.CountryDesc, screening.RoleJurisdiction); ok {
			ctry = c.Code
			if ctry == "" {
				ctry = c.Raw
			}
		}
		e.Identifiers = addIdentifier(e.Identifiers, screening.Identifier{Type: typ, Number: num, Country: ctry})
	}
	return e, nil
}
