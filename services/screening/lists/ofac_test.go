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

func TestParseOFACFixture(t *testing.T) {
	l, err := ParseOFAC(bg, ofacFixture(t), fixedClock)
	require.NoError(t, err)
	require.Len(t, l.Entities, 302)
	require.Equal(t, screening.SourceOFAC, l.Version.Source)
	require.Len(t, l.Version.ID, 16)
	require.Equal(t, 302, l.Version.Entities)
	require.Equal(t, time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), l.Version.LoadedAt)
	require.True(t, l.Version.Published.IsZero())

	// an entity with a weak a.k.a. in the remarks and aliases in alt.csv
	bnc := entityByID(t, l, "ofac-306")
	require.Equal(t, screening.EntityOrganisation, bnc.Type)
	require.Equal(t, []string{"CUBA"}, bnc.Programs)
	require.Equal(t, "BANCO NACIONAL DE CUBA", bnc.PrimaryName())
	require.True(t, hasName(bnc, "NATIONAL BANK OF CUBA", screening.NameAlias))
	require.True(t, hasName(bnc, "BNC", screening.NameWeak))
	require.True(t, hasCountry(bnc, "CH", screening.RoleAddress))

	// an individual: name order, DOB, nationality, citizenship, gender
	d := entityByID(t, l, "ofac-24283")
	require.Equal(t, screening.EntityPerson, d.Type)
	require.Equal(t, "DERIPASKA, Oleg Vladimirovich", d.Names[0].Full)
	require.Equal(t, []screening.DateSpec{{Year: 1968, Month: 1, Day: 2}}, d.DOBs)
	require.True(t, hasCountry(d, "RU", screening.RoleCitizenship))
	require.True(t, hasCountry(d, "CY", screening.RoleCitizenship))
	require.True(t, hasCountry(d, "RU", screening.RoleBirth))
	require.Equal(t, "male", d.Gender)
	require.Equal(t, []string{"UKRAINE-EO13661", "UKRAINE-EO13662"}, d.Programs)

	// remarks continued in sdn_comments.csv; several DOBs and identifiers
	c := entityByID(t, l, "ofac-12300")
	require.True(t, strings.HasSuffix(c.Remarks, "Linked To: R D I S.A."), c.Remarks)
	require.Contains(t, c.Remarks, "PROMO RAIZ S.A.S.")
	require.Equal(t, []screening.DateSpec{{Year: 1965, Month: 5, Day: 13}, {Year: 1968, Month: 4, Day: 13}, {Year: 1964, Month: 7, Day: 7}}, c.DOBs)
	require.True(t, hasID(c, "Passport", "AL720622", "CO"))
	require.True(t, hasID(c, "Cedula No.", "172489729-1", "EC"))
	require.True(t, hasID(c, "C.U.R.P.", "CIVJ650513HNEFLR06", "MX"))
	require.True(t, hasID(c, "Matricula Mercantil No", "181301-1", "CO"))

	// date forms
	require.Equal(t, []screening.DateSpec{{Year: 1951, Circa: true}}, entityByID(t, l, "ofac-7782").DOBs)
	require.Equal(t, []screening.DateSpec{{Year: 1929, ToYear: 1930}}, entityByID(t, l, "ofac-15496").DOBs)
	require.Equal(t, []screening.DateSpec{{Year: 1947, Month: 3, Day: 18}, {Year: 1949, Month: 2}}, entityByID(t, l, "ofac-8170").DOBs)
	require.Equal(t, []screening.DateSpec{{Year: 1989}}, entityByID(t, l, "ofac-21286").DOBs) // 01 Jan 1989 to 31 Dec 1989

	// vessel: call sign, flag, weak f.k.a.
	v := entityByID(t, l, "ofac-4243")
	require.Equal(t, screening.EntityVessel, v.Type)
	require.True(t, hasID(v, "Call Sign", "P3QG3", ""))
	require.True(t, hasCountry(v, "CY", screening.RoleJurisdiction))
	require.True(t, hasName(v, "ANA I", screening.NameWeak))

	// aircraft identifiers
	a := entityByID(t, l, "ofac-15431")
	require.Equal(t, screening.EntityAircraft, a.Type)
	require.True(t, hasID(a, "Aircraft Manufacturer's Serial Number (MSN)", "1023409321", ""))

	// digital currency addresses are identifiers too
	li := entityByID(t, l, "ofac-28264")
	require.True(t, hasID(li, "Digital Currency Address - XBT", "1EfMVkxQQuZfBdocpJu6RUsCJvenQWbQyE", ""))
	require.True(t, hasID(li, "Identification Number", "210302198701102136", "CN"))
	require.True(t, hasName(li, "blackjack1987", screening.NameWeak))
}

func TestParseOFACVersionIsContentHash(t *testing.T) {
	a, err := ParseOFAC(bg, ofacFixture(t))
	require.NoError(t, err)
	b, err := ParseOFAC(bg, ofacFixture(t))
	require.NoError(t, err)
	require.Equal(t, a.Version.ID, b.Version.ID)
	// without the alias file the content, and so the version, differ
	f := ofacFixture(t)
	f.Alt = nil
	c, err := ParseOFAC(bg, f)
	require.NoError(t, err)
	require.NotEqual(t, a.Version.ID, c.Version.ID)
	require.Len(t, c.Entities, 302)
}

func TestParseOFACDates(t *testing.T) {
	for in, want := range map[string]screening.DateSpec{
		"12 Jan 1960":                {Year: 1960, Month: 1, Day: 12},
		"Jan 1960":                   {Year: 1960, Month: 1},
		"1960":                       {Year: 1960},
		"circa 1960":                 {Year: 1960, Circa: true},
		"1960 to 1962":               {Year: 1960, ToYear: 1962},
		"01 Jan 1960 to 31 Dec 1962": {Year: 1960, ToYear: 1962},
		"01 Jan 1960 to 31 Dec 1960": {Year: 1960},
		"circa 01 Jan 1960":          {Year: 1960, Month: 1, Day: 1, Circa: true},
		"1960.":                      {Year: 1960},
	} {
		got, ok := parseOFACDate(in)
		require.True(t, ok, in)
		require.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "circa", "31 Feb 1960", "1962 to 1960", "13 Foo 1960", "sometime", "1 2 3 4"} {
		_, ok := parseOFACDate(in)
		require.False(t, ok, in)
	}
}

func TestParseOFACMalformed(t *testing.T) {
	parse := func(sdn string) error {
		_, err := ParseOFAC(bg, OFACFiles{SDN: strings.NewReader(sdn)})
		return err
	}
	var pe *ParseError
	err := parse("36,\"AEROCARIBBEAN AIRLINES\",-0- ,\"CUBA\"\r\n")
	require.ErrorIs(t, err, ErrMalformed)
	require.True(t, errors.As(err, &pe))
	require.Equal(t, 1, pe.Line)
	require.Equal(t, OFACSDNFile, pe.File)
	require.Contains(t, err.Error(), "sdn.csv line 1")

	good := `36,"AEROCARIBBEAN AIRLINES",-0- ,"CUBA",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ` + "\r\n"
	err = parse(good + `x,"A",-0- ,"CUBA",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ` + "\r\n")
	require.ErrorIs(t, err, ErrMalformed)
	require.True(t, errors.As(err, &pe))
	require.Equal(t, 2, pe.Line)
	require.ErrorIs(t, parse(good+good), ErrMalformed)                                                    // duplicate ent_num
	require.ErrorIs(t, parse(`7,-0- ,-0- ,"CUBA",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- `), ErrMalformed) // no name
	require.ErrorIs(t, parse(good+`8,"unterminated`), ErrMalformed)                                       // bad quoting
	_, err = ParseOFAC(bg, OFACFiles{})
	require.ErrorIs(t, err, ErrMalformed)

	// an empty file is an empty list, the DOS EOF mark is ignored
	l, err := ParseOFAC(bg, OFACFiles{SDN: strings.NewReader("\x1a")})
	require.NoError(t, err)
	require.Empty(t, l.Entities)

	// alt rows of unknown entities are ignored, malformed ones are not
	l, err = ParseOFAC(bg, OFACFiles{SDN: strings.NewReader(good), Alt: strings.NewReader(`99,1,"aka","X",-0- `)})
	require.NoError(t, err)
	require.Len(t, l.Entities[0].Names, 1)
	_, err = ParseOFAC(bg, OFACFiles{SDN: strings.NewReader(good), Alt: strings.NewReader(`36,1,"aka"`)})
	require.ErrorIs(t, err, ErrMalformed)
	require.True(t, errors.As(err, &pe))
	require.Equal(t, OFACAltFile, pe.File)
}

func TestParseOFACCancelled(t *testing.T) {
	ctx, cancel := contextWithCancel()
	cancel()
	_, err := ParseOFAC(ctx, ofacFixture(t))
	require.Error(t, err)
	require.NotErrorIs(t, err, ErrMalformed)
}

func TestParseOFACLatin1(t *testing.T) {
	sdn := "1,\"MU\xd1OZ, Jos\xe9\",\"individual\",\"SDNT\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n"
	l, err := ParseOFAC(bg, OFACFiles{SDN: bytes.NewReader([]byte(sdn))})
	require.NoError(t, err)
	require.Equal(t, "MUÑOZ, José", l.Entities[0].Names[0].Full)
}

func TestLoadOFACDirFull(t *testing.T) {
	dir := sanctionsDir(t)
	l, err := LoadOFACDir(bg, dir+"/ofac")
	require.NoError(t, err)
	require.Len(t, l.Entities, 8976)
	var persons, dobs, withCountry int
	for i := range l.Entities {
		e := &l.Entities[i]
		require.NotEmpty(t, e.Names)
		if e.Type == screening.EntityPerson {
			persons++
			if len(e.DOBs) > 0 {
				dobs++
			}
		}
		if len(e.Countries) > 0 {
			withCountry++
		}
		for _, c := range e.Countries {
			require.NotEmpty(t, c.Raw)
		}
	}
	require.Equal(t, 4620, persons)
	require.Greater(t, dobs, 4000)
	require.Greater(t, withCountry, 8000)
	_, err = LoadOFACDir(bg, t.TempDir())
	require.Error(t, err)
}
