package lists

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openekyc/ekyc/services/screening"
)

func TestParseUNFixture(t *testing.T) {
	l, err := ParseUN(bg, bytes.NewReader(readFixture(t, "un", "consolidated.xml")), fixedClock)
	require.NoError(t, err)
	require.Len(t, l.Entities, 39+15)
	require.Equal(t, time.Date(2026, 2, 27, 0, 0, 9, 554000000, time.UTC), l.Version.Published)
	require.Equal(t, screening.SourceUN, l.Version.Source)

	s := entityByID(t, l, "un-6908048")
	require.Equal(t, "IQi.001", s.Ref)
	require.Equal(t, screening.EntityPerson, s.Type)
	require.Equal(t, "SADDAM HUSSEIN AL-TIKRITI", s.PrimaryName())
	require.True(t, hasName(s, "صدام حسين التكريتي", screening.NamePrimary))
	require.Contains(t, s.DOBs, screening.DateSpec{Year: 1937, Month: 4, Day: 28})
	require.True(t, hasCountry(s, "IQ", screening.RoleNationality))
	require.Equal(t, []string{"Iraq"}, s.Programs)

	// BETWEEN dates, aliases of low quality are weak
	tg := entityByID(t, l, "un-6908021")
	require.Contains(t, tg.DOBs, screening.DateSpec{Year: 1973, ToYear: 1974})
	g := entityByID(t, l, "un-6907995")
	require.True(t, hasName(g, "Rumuli", screening.NameWeak))
	require.True(t, hasName(g, "Victor Rumuri", screening.NameAlias))
	require.Contains(t, g.DOBs, screening.DateSpec{Year: 1948})

	// a date of birth given on an alias
	j := entityByID(t, l, "un-6908503")
	require.NotEmpty(t, j.DOBs)

	// Cyrillic original script
	u := entityByID(t, l, "un-2960872")
	require.True(t, hasName(u, "Умаров Доку Хаматович", screening.NamePrimary))

	// entity names packing several names and acronyms
	cagl := findByName(l, "COMPAGNIE AERIENNE DES GRANDS LACS")
	require.NotNil(t, cagl)
	require.Equal(t, screening.EntityOrganisation, cagl.Type)
	require.True(t, hasName(cagl, "GREAT LAKES BUSINESS COMPANY", screening.NamePrimary))
	require.True(t, hasName(cagl, "CAGL", screening.NameAlias))
	require.True(t, hasName(cagl, "GLBC", screening.NameAlias))

	// documents
	var docs int
	for i := range l.Entities {
		for _, id := range l.Entities[i].Identifiers {
			require.NotEmpty(t, id.Number)
			docs++
		}
	}
	require.Greater(t, docs, 5)
}

func findByName(l *screening.List, full string) *screening.Entity {
	for i := range l.Entities {
		for _, n := range l.Entities[i].Names {
			if n.Full == full {
				return &l.Entities[i]
			}
		}
	}
	return nil
}

func TestParseUNMalformed(t *testing.T) {
	var pe *ParseError
	_, err := ParseUN(bg, strings.NewReader(`<CONSOLIDATED_LIST><INDIVIDUALS><INDIVIDUAL><DATAID>1</DATAID><FIRST_NAME>A</FIRST_NAME>`+"\n"+`</INDIVIDUALS>`))
	require.ErrorIs(t, err, ErrMalformed)
	require.True(t, errors.As(err, &pe))
	require.Equal(t, 2, pe.Line)
	_, err = ParseUN(bg, strings.NewReader(`<CONSOLIDATED_LIST><INDIVIDUALS><INDIVIDUAL><DATAID>x</DATAID><FIRST_NAME>A</FIRST_NAME></INDIVIDUAL></INDIVIDUALS></CONSOLIDATED_LIST>`))
	require.ErrorIs(t, err, ErrMalformed)
	require.True(t, errors.As(err, &pe))
	require.Equal(t, "INDIVIDUAL #1", pe.Element)
	_, err = ParseUN(bg, strings.NewReader(`<CONSOLIDATED_LIST><ENTITIES><ENTITY><DATAID>5</DATAID></ENTITY></ENTITIES></CONSOLIDATED_LIST>`))
	require.ErrorIs(t, err, ErrMalformed) // no name
	_, err = ParseUN(bg, strings.NewReader(`<export/>`))
	require.ErrorIs(t, err, ErrMalformed) // not a UN list
	_, err = ParseUN(bg, strings.NewReader(``))
	require.ErrorIs(t, err, ErrMalformed)
	dup := `<INDIVIDUAL><DATAID>7</DATAID><FIRST_NAME>A</FIRST_NAME></INDIVIDUAL>`
	_, err = ParseUN(bg, strings.NewReader(`<CONSOLIDATED_LIST><INDIVIDUALS>`+dup+dup+`</INDIVIDUALS></CONSOLIDATED_LIST>`))
	require.ErrorIs(t, err, ErrMalformed)
	l, err := ParseUN(bg, strings.NewReader(`<CONSOLIDATED_LIST dateGenerated="bad"><INDIVIDUALS/></CONSOLIDATED_LIST>`))
	require.NoError(t, err)
	require.Empty(t, l.Entities)
}

func TestParseEUFixture(t *testing.T) {
	l, err := ParseEU(bg, bytes.NewReader(readFixture(t, "eu", "export.xml")), fixedClock)
	require.NoError(t, err)
	require.Len(t, l.Entities, 5)
	require.Equal(t, time.Date(2026, 3, 2, 16, 0, 34, 49000000, time.UTC), l.Version.Published)

	s := entityByID(t, l, "eu-13")
	require.Equal(t, "EU.27.28", s.Ref)
	require.Equal(t, screening.EntityPerson, s.Type)
	require.Equal(t, []string{"IRQ"}, s.Programs)
	require.Equal(t, "Saddam Hussein Al-Tikriti", s.PrimaryName())
	require.True(t, hasName(s, "Abu Ali", screening.NameWeak))
	require.True(t, hasName(s, "Саддам Хусейн Ал-Тикрити", screening.NameAlias))
	require.Equal(t, []screening.DateSpec{{Year: 1937, Month: 4, Day: 28}}, s.DOBs)
	require.True(t, hasCountry(s, "IQ", screening.RoleCitizenship))
	require.True(t, hasCountry(s, "IQ", screening.RoleBirth))
	require.Equal(t, "male", s.Gender)
	require.Equal(t, "UNSC RESOLUTION 1483", s.Remarks)

	m := entityByID(t, l, "eu-1")
	require.True(t, hasID(m, "National passport", "AD001095", ""))
	require.Equal(t, []string{"Former President"}, m.Positions)
	require.Empty(t, m.Countries) // country "00" is unknown

	ib := entityByID(t, l, "eu-207")
	require.Equal(t, screening.EntityOrganisation, ib.Type)
	require.Len(t, ib.Names, 5)

	sid := entityByID(t, l, "eu-136455")
	require.Equal(t, []screening.DateSpec{{Year: 1971, Circa: true}, {Year: 1973, ToYear: 1975}}, sid.DOBs)
	require.True(t, hasID(sid, "Tax Identification Number (INN)", "772345678901", "RU"))
	require.True(t, hasCountry(sid, "RU", screening.RoleAddress))

	var pe *ParseError
	_, err = ParseEU(bg, strings.NewReader(`<export><sanctionEntity logicalId="x"><nameAlias wholeName="A"/></sanctionEntity></export>`))
	require.ErrorIs(t, err, ErrMalformed)
	require.True(t, errors.As(err, &pe))
	require.Equal(t, "sanctionEntity #1", pe.Element)
	_, err = ParseEU(bg, strings.NewReader(`<export><sanctionEntity logicalId="1"></sanctionEntity></export>`))
	require.ErrorIs(t, err, ErrMalformed) // no name
	_, err = ParseEU(bg, strings.NewReader(`<CONSOLIDATED_LIST/>`))
	require.ErrorIs(t, err, ErrMalformed)
	// only weak names: the first becomes primary
	l, err = ParseEU(bg, strings.NewReader(`<export><sanctionEntity logicalId="2"><subjectType code="vessel"/><nameAlias wholeName="X Y" strong="false"/></sanctionEntity></export>`))
	require.NoError(t, err)
	require.Equal(t, screening.NamePrimary, l.Entities[0].Names[0].Kind)
	require.Equal(t, screening.EntityUnknown, l.Entities[0].Type)
}

func TestLoadFile(t *testing.T) {
	l, err := LoadFile(bg, screening.SourceUN, filepath.Join(fixtures, "un", "consolidated.xml"))
	require.NoError(t, err)
	require.NotEmpty(t, l.Entities)
	_, err = LoadFile(bg, screening.SourceOFAC, "x")
	require.Error(t, err)
	_, err = LoadFile(bg, screening.SourceEU, filepath.Join(t.TempDir(), "missing.xml"))
	require.Error(t, err)
	for _, src := range []screening.Source{screening.SourceUN, screening.SourceEU, screening.SourceUK, screening.SourceFtM} {
		p, err := ParserFor(src)
		require.NoError(t, err)
		require.NotNil(t, p)
	}
}

func TestParseUNFull(t *testing.T) {
	dir := sanctionsDir(t)
	l, err := LoadFile(bg, screening.SourceUN, filepath.Join(dir, "un", "consolidated.xml"))
	require.NoError(t, err)
	require.Len(t, l.Entities, 1003)
	var persons, nationalityCodes, nationalities int
	for i := range l.Entities {
		e := &l.Entities[i]
		if e.Type == screening.EntityPerson {
			persons++
		}
		for _, c := range e.Countries {
			if c.Role == screening.RoleNationality {
				nationalities++
				if c.Code != "" {
					nationalityCodes++
				}
			}
		}
	}
	require.Equal(t, 730, persons)
	// every nationality but "former Soviet Union" maps to an ISO code
	require.Equal(t, nationalities-1, nationalityCodes)
}
