package lists

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openekyc/ekyc/services/screening"
)

func TestParseUKFixture(t *testing.T) {
	l, err := ParseUK(bg, bytes.NewReader(readFixture(t, "uk", "ConList.csv")), fixedClock)
	require.NoError(t, err)
	require.Len(t, l.Entities, 4)
	require.Equal(t, time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), l.Version.Published)

	p := entityByID(t, l, "uk-14200")
	require.Equal(t, "RUS0251", p.Ref)
	require.Equal(t, screening.EntityPerson, p.Type)
	require.Equal(t, "Vladimir Vladimirovich PUTIN", p.PrimaryName())
	require.True(t, hasName(p, "Vladimir POUTINE", screening.NameAlias))
	require.True(t, hasName(p, "Владимир Владимирович Путин", screening.NamePrimary))
	require.Equal(t, []screening.DateSpec{{Year: 1952, Month: 10, Day: 7}}, p.DOBs)
	require.True(t, hasCountry(p, "RU", screening.RoleNationality))
	require.Equal(t, "male", p.Gender)
	require.Equal(t, []string{"Russia"}, p.Programs)
	require.Equal(t, []string{"President of the Russian Federation"}, p.Positions)

	h := entityByID(t, l, "uk-14999")
	require.Equal(t, "Khaled Mohammed AL-HAMWI", h.PrimaryName())
	require.True(t, hasName(h, "Abu Khalid HAMWI", screening.NameWeak))
	require.Equal(t, []screening.DateSpec{{Year: 1960}, {Year: 1961}}, h.DOBs)
	require.True(t, hasCountry(h, "SY", screening.RoleNationality))
	require.True(t, hasCountry(h, "LB", screening.RoleNationality))
	require.True(t, hasID(h, "Passport", "004412345", "SY"))
	require.True(t, hasID(h, "Passport", "RL0098765", "LB"))
	require.True(t, hasID(h, "National Identification Number", "01020304050", "SY"))
	require.Equal(t, []string{"Businessman", "Director, Example Trading LLC"}, h.Positions)

	o := entityByID(t, l, "uk-12431")
	require.Equal(t, screening.EntityOrganisation, o.Type)
	require.Len(t, o.Names, 2)
	require.Contains(t, o.Remarks, "Front company")

	s := entityByID(t, l, "uk-16001")
	require.Equal(t, screening.EntityVessel, s.Type)
}

func TestParseUKMalformed(t *testing.T) {
	var pe *ParseError
	_, err := ParseUK(bg, strings.NewReader(""))
	require.ErrorIs(t, err, ErrMalformed)
	_, err = ParseUK(bg, strings.NewReader("Last Updated,01/01/2026\n"))
	require.ErrorIs(t, err, ErrMalformed)
	_, err = ParseUK(bg, strings.NewReader("Name 6,Name 1\nA,B\n"))
	require.ErrorIs(t, err, ErrMalformed) // no Group ID / Group Type
	head := "Name 6,Name 1,Group Type,Group ID\n"
	_, err = ParseUK(bg, strings.NewReader(head+"A,B,Individual,1\nC,D,Individual\n"))
	require.ErrorIs(t, err, ErrMalformed)
	require.True(t, errors.As(err, &pe))
	require.Equal(t, 3, pe.Line)
	_, err = ParseUK(bg, strings.NewReader(head+"A,B,Individual,x1\n"))
	require.ErrorIs(t, err, ErrMalformed)
	_, err = ParseUK(bg, strings.NewReader(head+",,Entity,1\n"))
	require.ErrorIs(t, err, ErrMalformed) // group without a name
	l, err := ParseUK(bg, strings.NewReader("\ufeff"+head+"ACME,,Entity,1\n"))
	require.NoError(t, err)
	require.Equal(t, screening.NamePrimary, l.Entities[0].Names[0].Kind)
	require.Equal(t, "ACME", l.Entities[0].Names[0].Full)
}

func TestParseUKDate(t *testing.T) {
	for in, want := range map[string]screening.DateSpec{
		"07/10/1952": {Year: 1952, Month: 10, Day: 7},
		"00/00/1960": {Year: 1960},
		"00/05/1960": {Year: 1960, Month: 5},
		"1960":       {Year: 1960},
	} {
		got, ok := parseUKDate(in)
		require.True(t, ok, in)
		require.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "31/02/1960", "1/2", "aa/bb/cccc", "00/00/0000"} {
		_, ok := parseUKDate(in)
		require.False(t, ok, in)
	}
	require.Equal(t, []string{"Syria", "Lebanon"}, splitNumbered("(1) Syria (2) Lebanon"))
	require.Equal(t, []string{"Syria"}, splitNumbered(" Syria "))
	require.Nil(t, splitNumbered(""))
}

func TestParseFtMFixture(t *testing.T) {
	l, err := ParseFtM(bg, bytes.NewReader(readFixture(t, "ftm", "entities.ftm.json")), fixedClock)
	require.NoError(t, err)
	// Address, Sanction and the non-target Person are skipped
	require.Len(t, l.Entities, 6)

	p := entityByID(t, l, "ftm-Q7747")
	require.Equal(t, screening.EntityPerson, p.Type)
	require.Equal(t, "Vladimir Vladimirovich Putin", p.PrimaryName())
	require.True(t, hasName(p, "Владимир Владимирович Путин", screening.NameAlias))
	require.True(t, hasName(p, "VVP", screening.NameWeak))
	require.Equal(t, []screening.DateSpec{{Year: 1952, Month: 10, Day: 7}}, p.DOBs)
	require.True(t, hasCountry(p, "RU", screening.RoleNationality))
	require.True(t, p.IsPEP())
	require.Equal(t, []string{"role.pep", "sanction"}, p.Topics)
	require.Equal(t, []string{"eu_fsf", "gb_hmt_sanctions", "wd_peps"}, p.Programs)

	pep := entityByID(t, l, "ftm-Q61053")
	require.True(t, pep.IsPEP())
	require.Len(t, pep.Positions, 2)

	r := entityByID(t, l, "ftm-NK-rosneft")
	require.Equal(t, screening.EntityOrganisation, r.Type)
	require.False(t, r.IsPEP())
	require.True(t, hasID(r, "INN", "7706107510", ""))
	require.Equal(t, []screening.DateSpec{{Year: 1993}}, r.DOBs)
	require.Equal(t, []string{"US-UKRAINE-EO13662"}, r.Programs)
	require.True(t, hasCountry(r, "RU", screening.RoleJurisdiction))

	v := entityByID(t, l, "ftm-imo-9123456")
	require.Equal(t, screening.EntityVessel, v.Type)
	require.True(t, hasID(v, "IMO", "9123456", ""))
	require.True(t, hasName(v, "OCEAN GLORY", screening.NameAlias))

	require.Equal(t, screening.EntityAircraft, entityByID(t, l, "ftm-ofac-15431").Type)
	k := entityByID(t, l, "ftm-Q151269") // nested sanction objects are ignored
	require.Equal(t, []screening.DateSpec{{Year: 1976, Month: 10, Day: 5}}, k.DOBs)
}

func TestParseFtMMalformed(t *testing.T) {
	var pe *ParseError
	_, err := ParseFtM(bg, strings.NewReader(`{"id":"a","schema":"Person","properties":{"name":["A"]}}`+"\n{bad json\n"))
	require.ErrorIs(t, err, ErrMalformed)
	require.True(t, errors.As(err, &pe))
	require.Equal(t, 2, pe.Line)
	_, err = ParseFtM(bg, strings.NewReader(`{"schema":"Person","properties":{"name":["A"]}}`))
	require.ErrorIs(t, err, ErrMalformed) // no id
	_, err = ParseFtM(bg, strings.NewReader(`{"id":"a","schema":"Person","properties":{}}`))
	require.ErrorIs(t, err, ErrMalformed) // no name
	_, err = ParseFtM(bg, strings.NewReader(`{"id":"a","schema":"Person","properties":{"name":["A"]}}`+"\n"+`{"id":"a","schema":"Person","properties":{"name":["B"]}}`))
	require.ErrorIs(t, err, ErrMalformed) // duplicate
	// the caption stands in for a missing name; no trailing newline is fine
	l, err := ParseFtM(bg, strings.NewReader(`{"id":"a","schema":"Company","caption":"ACME","properties":{"name":[1,{"x":2}]}}`))
	require.NoError(t, err)
	require.Equal(t, "ACME", l.Entities[0].PrimaryName())
	l, err = ParseFtM(bg, strings.NewReader("\n\n"))
	require.NoError(t, err)
	require.Empty(t, l.Entities)
}
