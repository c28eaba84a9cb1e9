package lists

import (
	"bytes"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openekyc/ekyc/services/screening"
)

const (
	ukslRUS  = "The Russia (Sanctions) (EU Exit) Regulations 2019"
	ukslSYR  = "The Syria (Sanctions) (EU Exit) Regulations 2019"
	ukslGHR  = "The Global Human Rights Sanctions Regulations 2020"
	ukslISIL = "Isil (Da'esh) and Al-Qaeda (United Nations Sanctions) (EU Exit) Regulations 2019"
)

func ukslFixture(t testing.TB) []byte { return readFixture(t, "uk", ukslFile) }

func TestParseUKSanctionsListFixture(t *testing.T) {
	l, err := ParseUKSanctionsList(bg, bytes.NewReader(ukslFixture(t)), fixedClock)
	require.NoError(t, err)
	require.Equal(t, screening.SourceUK, l.Version.Source)
	require.Equal(t, time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), l.Version.Published, "from the Report Date line")
	require.Equal(t, time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), l.Version.LoadedAt)
	require.Len(t, l.Entities, 5)
	require.Equal(t, 5, l.Version.Entities)
	require.Len(t, l.Version.ID, 16)

	p := entityByID(t, l, "uk-14200")
	require.Equal(t, screening.SourceUK, p.Source)
	require.Equal(t, "RUS0251", p.Ref)
	require.Equal(t, screening.EntityPerson, p.Type)
	require.Equal(t, "Vladimir Vladimirovich PUTIN", p.PrimaryName())
	require.Equal(t, screening.Name{Full: "Vladimir Vladimirovich PUTIN", Kind: screening.NamePrimary, Quality: "Primary name"}, p.Names[0])
	require.Contains(t, p.Names, screening.Name{Full: "Vladimir POUTINE", Kind: screening.NameAlias, Quality: "Alias"})
	require.Contains(t, p.Names, screening.Name{Full: "Владимир Владимирович Путин", Kind: screening.NameAlias,
		Quality: "non-latin script", Script: "Russian"})
	require.Len(t, p.Names, 3, "the non-Latin name repeated on every row is kept once")
	require.Equal(t, []screening.DateSpec{{Year: 1952, Month: 10, Day: 7}}, p.DOBs)
	require.True(t, hasCountry(p, "RU", screening.RoleNationality))
	require.True(t, hasCountry(p, "RU", screening.RoleBirth))
	require.True(t, hasCountry(p, "RU", screening.RoleAddress))
	require.Equal(t, "male", p.Gender)
	require.Equal(t, []string{ukslRUS}, p.Programs)
	require.Equal(t, []string{"President of the Russian Federation"}, p.Positions)
	require.Empty(t, p.Identifiers)

	// Two designations of one OFSI group (two regimes): one entity.
	h := entityByID(t, l, "uk-14999")
	require.Equal(t, "SYR0999, GHR0999", h.Ref)
	require.Equal(t, []string{ukslSYR, ukslGHR}, h.Programs)
	require.Equal(t, "Khaled Mohammed AL-HAMWI", h.PrimaryName())
	require.Contains(t, h.Names, screening.Name{Full: "Abu Khalid HAMWI", Kind: screening.NameWeak, Quality: "Alias, Low quality a.k.a"})
	require.Contains(t, h.Names, screening.Name{Full: "Khalid Mohamad AL-HAMAWI", Kind: screening.NameAlias, Quality: "Primary name variation"})
	require.True(t, hasName(h, "خالد محمد الحموي", screening.NameAlias))
	require.Equal(t, []screening.DateSpec{{Year: 1960}, {Year: 1961}}, h.DOBs, "dd/mm/1960 and 00/00/1961, each once")
	require.True(t, hasCountry(h, "SY", screening.RoleNationality))
	require.True(t, hasCountry(h, "LB", screening.RoleNationality))
	require.True(t, hasCountry(h, "SY", screening.RoleBirth))
	require.True(t, hasCountry(h, "LB", screening.RoleAddress))
	require.True(t, hasID(h, "Passport", "004412345", "SY"))
	require.True(t, hasID(h, "Passport", "RL0098765", ""), "the additional information is not a country name")
	require.True(t, hasID(h, "National Identification Number", "01020304050", "SY"))
	require.Len(t, h.Identifiers, 3)
	require.Equal(t, []string{"Businessman", "Director, Example Trading LLC"}, h.Positions)
	require.Equal(t, "Brother of a listed person.", h.Remarks)

	o := entityByID(t, l, "uk-12431")
	require.Equal(t, screening.EntityOrganisation, o.Type)
	require.Equal(t, "SYR0306", o.Ref)
	require.Equal(t, "(GENERAL) ORGANIZATION FOR ENGINEERING INDUSTRIES", o.PrimaryName())
	require.Len(t, o.Names, 2)
	require.True(t, hasCountry(o, "SY", screening.RoleAddress))
	require.Equal(t, "Also operates as a procurement agent.", o.Remarks)
	require.Empty(t, o.DOBs)

	s := entityByID(t, l, "uk-16001")
	require.Equal(t, screening.EntityVessel, s.Type)
	require.Equal(t, []screening.Identifier{{Type: "IMO", Number: "9123456"}}, s.Identifiers)
	require.True(t, hasCountry(s, "CM", screening.RoleJurisdiction))

	// A UN designation made after the ConList closed: no OFSI group.
	u := entityByID(t, l, "uk-AQD0999")
	require.Equal(t, "AQD0999", u.Ref)
	require.Equal(t, []string{ukslISIL}, u.Programs)
	require.Equal(t, "Omar Sulaiman AL-FAKHIRI", u.PrimaryName())
	require.Contains(t, u.Names, screening.Name{Full: "Abu Sulaiman", Kind: screening.NameWeak, Quality: "Alias, Low quality a.k.a"})
	require.Contains(t, u.Names, screening.Name{Full: "Omar Suleiman AL-FAKHIRY", Kind: screening.NameAlias, Quality: "Alias, Good quality a.k.a"})
	require.Equal(t, []screening.DateSpec{{Year: 1975, Month: 1, Day: 1}, {Year: 1976}}, u.DOBs)
	require.Equal(t, []screening.Identifier{{Type: "Passport", Number: "04567123", Country: "YE"}}, u.Identifiers)
	require.True(t, strings.HasPrefix(u.Remarks, "INTERPOL-UN Security Council Special Notice"))
}

// TestUKSanctionsListKeepsConListIDs: the designations that were on the
// OFSI ConList keep their entity ids (uk-<Group ID>) in the UK Sanctions
// List, so a reviewed hit or a monitored subject's known hit stays known
// after the change of list.
func TestUKSanctionsListKeepsConListIDs(t *testing.T) {
	con, err := ParseUK(bg, bytes.NewReader(readFixture(t, "uk", "ConList.csv")))
	require.NoError(t, err)
	uksl, err := ParseUKSanctionsList(bg, bytes.NewReader(ukslFixture(t)))
	require.NoError(t, err)
	ids := func(l *screening.List) []string {
		var out []string
		for _, e := range l.Entities {
			out = append(out, e.ID)
		}
		slices.Sort(out)
		return out
	}
	require.Equal(t, []string{"uk-12431", "uk-14200", "uk-14999", "uk-16001"}, ids(con))
	require.Equal(t, []string{"uk-12431", "uk-14200", "uk-14999", "uk-16001", "uk-AQD0999"}, ids(uksl))
	for _, id := range ids(con) {
		require.Equal(t, entityByID(t, con, id).PrimaryName(), entityByID(t, uksl, id).PrimaryName(), id)
	}
}

// TestParseUKAuto: source "uk" reads either format, as its own parser
// would, through ParserFor and LoadFile.
func TestParseUKAuto(t *testing.T) {
	for file, direct := range map[string]Parser{ukslFile: ParseUKSanctionsList, "ConList.csv": ParseUK} {
		data := readFixture(t, "uk", file)
		want, err := direct(bg, bytes.NewReader(data), fixedClock)
		require.NoError(t, err)
		got, err := ParseUKAuto(bg, bytes.NewReader(data), fixedClock)
		require.NoError(t, err)
		require.Equal(t, want, got, file)

		p, err := ParserFor(screening.SourceUK)
		require.NoError(t, err)
		got, err = p(bg, bytes.NewReader(data), fixedClock)
		require.NoError(t, err)
		require.Equal(t, want, got, file)

		got, err = LoadFile(bg, screening.SourceUK, filepath.Join(fixtures, "uk", file), fixedClock)
		require.NoError(t, err)
		require.Equal(t, want, got, file)
	}
	// Neither format: the ConList parser's error.
	_, err := ParseUKAuto(bg, strings.NewReader("a,b\n1,2\n"))
	require.ErrorIs(t, err, ErrMalformed)
	var pe *ParseError
	require.True(t, errors.As(err, &pe))
	require.Equal(t, "ConList.csv", pe.File)
	_, err = ParseUKAuto(bg, strings.NewReader(""))
	require.ErrorIs(t, err, ErrMalformed)
}

func TestUKFormat(t *testing.T) {
	for head, want := range map[string]string{
		"Report Date: 02-Mar-2026\r\nLast Updated,Unique ID\r\n": ukFormatUKSL,
		"\ufeffREPORT DATE: 02-Mar-2026\n":                       ukFormatUKSL,
		"Last Updated,Unique ID,Name 6\n":                        ukFormatUKSL,
		"Last Updated,02/03/2026\nName 6,Group ID\n":             ukFormatConList,
		"Name 6,Name 1,Group Type,Group ID\n":                    ukFormatConList,
		"Name 6\nUnique ID\n":                                    ukFormatConList, // only the first line counts
		"":                                                       ukFormatConList,
	} {
		require.Equal(t, want, ukFormat([]byte(head)), "%q", head)
	}
}

const ukslHead = "Unique ID,OFSI Group ID,Name 6,Name 1,Name type,Alias strength,Designation Type,D.O.B\n"

func TestParseUKSanctionsListVariants(t *testing.T) {
	// No Report Date line, a BOM, columns in another order, the XML's
	// wording of the type column, CRLF, blank lines.
	in := "\ufeffName 6,Individual, Entity, Ship,Unique ID,Name type\r\n" +
		"ACME TRADING,Entity,ABC0001,Primary name\r\n" +
		"\r\n" +
		"ACME,Entity,ABC0001,Alias\r\n"
	// The header's second column is split by the comma: quote it.
	in = strings.Replace(in, "Individual, Entity, Ship", `"Individual, Entity, Ship"`, 1)
	l, err := ParseUKSanctionsList(bg, strings.NewReader(in))
	require.NoError(t, err)
	require.True(t, l.Version.Published.IsZero())
	require.Len(t, l.Entities, 1)
	e := l.Entities[0]
	require.Equal(t, "uk-ABC0001", e.ID)
	require.Equal(t, screening.EntityOrganisation, e.Type)
	require.Equal(t, []screening.Name{
		{Full: "ACME TRADING", Kind: screening.NamePrimary, Quality: "Primary name"},
		{Full: "ACME", Kind: screening.NameAlias, Quality: "Alias"},
	}, e.Names)

	// Without a primary name the first name is primary; an unknown type
	// is kept as unknown until a row states a known one; an unknown name
	// type is an alias.
	l, err = ParseUKSanctionsList(bg, strings.NewReader(ukslHead+
		"X1,,Doe,Jane,,,Unknown,dd/mm/1970\n"+
		"X1,,Roe,Jane,Nickname,Low quality a.k.a,Individual,dd/05/1971\n"))
	require.NoError(t, err)
	e = l.Entities[0]
	require.Equal(t, screening.EntityPerson, e.Type)
	require.Equal(t, screening.Name{Full: "Jane Doe", Kind: screening.NamePrimary}, e.Names[0])
	require.Equal(t, screening.Name{Full: "Jane Roe", Kind: screening.NameWeak, Quality: "Nickname, Low quality a.k.a"}, e.Names[1])
	require.Equal(t, []screening.DateSpec{{Year: 1970}, {Year: 1971, Month: 5}}, e.DOBs)

	// The Report Date line may carry trailing empty fields.
	l, err = ParseUKSanctionsList(bg, strings.NewReader("Report Date: 21-Sep-2026,,\n"+ukslHead+"X1,,Doe,Jane,Primary name,,Individual,\n"))
	require.NoError(t, err)
	require.Equal(t, time.Date(2026, 9, 21, 0, 0, 0, 0, time.UTC), l.Version.Published)
}

func TestParseUKSanctionsListMalformed(t *testing.T) {
	row := "X1,,Doe,Jane,Primary name,,Individual,\n"
	for name, tc := range map[string]struct {
		in   string
		line int
		msg  string
	}{
		"empty":           {"", 1, "empty file"},
		"no header":       {"Report Date: 21-Sep-2026\n", 2, "no header"},
		"no unique id":    {"Name 6,Designation Type\nA,Entity\n", 1, `"Unique ID"`},
		"no name 6":       {"Unique ID,Designation Type\nA,Entity\n", 1, `"Name 6"`},
		"no type column":  {"Report Date: x\nUnique ID,Name 6\nA,B\n", 2, `"Designation Type"`},
		"short row":       {ukslHead + row + "X2,,Roe\n", 3, "3 fields, header has 8"},
		"empty unique id": {ukslHead + ",,Doe,Jane,Primary name,,Individual,\n", 2, "empty Unique ID"},
		"space in id":     {ukslHead + "X 1,,Doe,Jane,Primary name,,Individual,\n", 2, "spaces"},
		"group not a num": {ukslHead + "X1,G7,Doe,Jane,Primary name,,Individual,\n", 2, "OFSI Group ID"},
		"numeric uid":     {ukslHead + "12431,,Doe,Jane,Primary name,,Individual,\n", 2, "is a number"},
		"bad quote":       {ukslHead + row + "X2,\"unterminated\n", 3, ""},
		"no name":         {ukslHead + "X1,,,,Primary name,,Individual,\n", 0, "X1 has no name"},
	} {
		_, err := ParseUKSanctionsList(bg, strings.NewReader(tc.in))
		require.ErrorIs(t, err, ErrMalformed, name)
		var pe *ParseError
		require.True(t, errors.As(err, &pe), name)
		require.Equal(t, screening.SourceUK, pe.Source, name)
		require.Equal(t, ukslFile, pe.File, name)
		require.Equal(t, tc.line, pe.Line, name)
		require.Contains(t, pe.Error(), tc.msg, name)
	}
}

func TestUKSanctionsListHelpers(t *testing.T) {
	for in, want := range map[string]screening.DateSpec{
		"07/10/1952": {Year: 1952, Month: 10, Day: 7},
		"dd/mm/1945": {Year: 1945},
		"DD/MM/1945": {Year: 1945},
		"dd/05/1960": {Year: 1960, Month: 5},
		"00/00/1975": {Year: 1975},
		"1975":       {Year: 1975},
	} {
		got, ok := ukslDate(in)
		require.True(t, ok, in)
		require.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "15/08/19yy", "31/02/1960", "dd/mm/yyyy", "mm/dd/1960"} {
		_, ok := ukslDate(in)
		require.False(t, ok, in)
	}

	for in, want := range map[string]time.Time{
		"Report Date: 21-Sep-2026": time.Date(2026, 9, 21, 0, 0, 0, 0, time.UTC),
		"Report Date: 2-Sep-2026":  time.Date(2026, 9, 2, 0, 0, 0, 0, time.UTC),
		"report date:21/09/2026":   time.Date(2026, 9, 21, 0, 0, 0, 0, time.UTC),
		"Report Date: tomorrow":    {},
		"Report Date":              {},
	} {
		require.Equal(t, want, parseReportDate([]string{in}), in)
	}
	require.Equal(t, time.Date(2026, 9, 21, 0, 0, 0, 0, time.UTC), parseReportDate([]string{"Report Date", "21-Sep-2026"}))

	for _, tc := range []struct {
		nameType, strength string
		kind               screening.NameKind
		quality            string
	}{
		{"Primary name", "", screening.NamePrimary, "Primary name"},
		{"PRIMARY  NAME", "Low quality a.k.a", screening.NamePrimary, "PRIMARY NAME, Low quality a.k.a"},
		{"Primary name variation", "Low quality a.k.a", screening.NameAlias, "Primary name variation, Low quality a.k.a"},
		{"Alias", "Good quality a.k.a", screening.NameAlias, "Alias, Good quality a.k.a"},
		{"Alias", "low quality a.k.a", screening.NameWeak, "Alias, low quality a.k.a"},
		{"Alias", "", screening.NameAlias, "Alias"},
		{"", "Low quality a.k.a", screening.NameWeak, "Low quality a.k.a"},
		{"", "", screening.NameAlias, ""},
	} {
		kind, q := ukslNameKind(tc.nameType, tc.strength)
		require.Equal(t, tc.kind, kind, "%q %q", tc.nameType, tc.strength)
		require.Equal(t, tc.quality, q, "%q %q", tc.nameType, tc.strength)
	}

	for _, tc := range []struct{ uid, gid, want, err string }{
		{"RUS0251", "14200", "uk-14200", ""},
		{"RUS0251", "", "uk-RUS0251", ""},
		{"12431", "12431", "uk-12431", ""},
		{"12431", "", "", "is a number"},
		{"", "1", "", "empty"},
		{"A\x00", "", "", "control"},
		{"RUS0251", "-1", "", "not a number"},
	} {
		got, err := ukslEntityID(tc.uid, tc.gid)
		if tc.err != "" {
			require.ErrorContains(t, err, tc.err, tc.uid)
			continue
		}
		require.NoError(t, err)
		require.Equal(t, tc.want, got)
	}
}

// TestUKSanctionsListScreening: the parsed list screens as a list: names
// in either order and script, weak aliases at a reduced score, documents.
func TestUKSanctionsListScreening(t *testing.T) {
	l, err := ParseUKSanctionsList(bg, bytes.NewReader(ukslFixture(t)))
	require.NoError(t, err)
	ix, err := screening.NewIndex([]*screening.List{l})
	require.NoError(t, err)
	top := func(q screening.Query) screening.Hit {
		t.Helper()
		res, err := ix.Screen(q)
		require.NoError(t, err)
		require.NotEmpty(t, res.Hits, "%+v", q)
		return res.Hits[0]
	}
	h := top(screening.Query{Name: "Vladimir Putin", DOB: screening.DateSpec{Year: 1952, Month: 10, Day: 7}, Countries: []string{"RU"}})
	require.Equal(t, "uk-14200", h.EntityID)
	require.Equal(t, "RUS0251", h.Ref)
	require.GreaterOrEqual(t, h.Score, screening.RecommendedThreshold)

	h = top(screening.Query{Name: "Владимир Путин"})
	require.Equal(t, "uk-14200", h.EntityID)

	h = top(screening.Query{Name: "Khalid AL-HAMAWI", DocNumbers: []string{"RL0098765"}})
	require.Equal(t, "uk-14999", h.EntityID)
	require.Positive(t, h.Components.Document)

	h = top(screening.Query{Name: "Omar Al-Fakhiri", DOB: screening.DateSpec{Year: 1975}})
	require.Equal(t, "uk-AQD0999", h.EntityID)
}
