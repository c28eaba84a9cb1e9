package mrz

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openekyc/ekyc/services/reasons"
)

func TestCheckDigitKnownValues(t *testing.T) {
	// Values printed in the ICAO specimens (and Doc 9303 Part 3 §4.9's
	// worked example "520727" → 3).
	for data, want := range map[string]byte{
		"L898902C3":      '6',
		"740812":         '2',
		"120415":         '9',
		"ZE184226B<<<<<": '1',
		"D23145890":      '7',
		"D23145890734":   '9',
		"L8988901C":      '4',
		"400907":         '8',
		"961210":         '9',
		"520727":         '3',
		"":               '0',
		"<<<<<<":         '0',
	} {
		require.Equal(t, string(want), string(CheckDigit(data)), data)
	}
}

func TestSpecimensParseValid(t *testing.T) {
	for _, s := range specimens {
		t.Run(s.name, func(t *testing.T) {
			m, err := ParseAt(s.lines, ref)
			require.NoError(t, err)
			require.Equal(t, s.format, m.Format)
			require.Empty(t, m.Problems)
			require.True(t, m.Valid())
			require.Equal(t, 0, m.CheckDigitFailures())
			require.Equal(t, "UTO", m.IssuingState)
			require.Equal(t, s.nat, m.Nationality)
			require.Equal(t, s.docNumber, m.DocumentNumber)
			require.Equal(t, "ERIKSSON", m.Surname)
			require.Equal(t, "ANNA MARIA", m.GivenNames)
			require.False(t, m.NameTruncated)
			require.Equal(t, "F", m.Sex)
			require.Equal(t, s.birth, m.BirthDate.ISO)
			require.Equal(t, s.expiry, m.ExpiryDate.ISO)
			require.Equal(t, s.optional1, m.OptionalData1)
			require.Equal(t, s.lines, m.Lines)

			fields := []string{}
			for _, c := range m.Checks {
				require.True(t, c.OK, c.Field)
				require.Equal(t, c.Expected, c.Actual)
				fields = append(fields, c.Field)
			}
			want := []string{FieldDocumentNumber, FieldBirthDate, FieldExpiryDate}
			if s.personalNo {
				want = append(want, FieldOptionalData)
			}
			if s.composite {
				want = append(want, FieldComposite)
			}
			require.ElementsMatch(t, want, fields)
		})
	}
}

// TestSpecimenFiles keeps testdata/mrz (used by the CLI tests and by hand) in
// step with the specimens here.
func TestSpecimenFiles(t *testing.T) {
	for _, s := range specimens {
		b, err := os.ReadFile(filepath.Join("..", "..", "..", "testdata", "mrz", s.name+".txt"))
		require.NoError(t, err)
		require.Equal(t, strings.Join(s.lines, "\n")+"\n", string(b), s.name)
	}
}

func TestSpecimenDocumentCodes(t *testing.T) {
	want := map[string]string{"td3": "P", "td1": "I", "td2": "I", "mrva": "V", "mrvb": "V"}
	for _, s := range specimens {
		m, err := ParseAt(s.lines, ref)
		require.NoError(t, err)
		require.Equal(t, want[s.name], m.DocumentCode, s.name)
	}
}

func TestNotMRZ(t *testing.T) {
	td3 := specimens[0].lines
	cases := map[string][]string{
		"nil":              nil,
		"blank lines only": {"", "  ", "\r"},
		"one line":         {td3[0]},
		"four lines":       {td3[0], td3[1], td3[0], td3[1]},
		"mixed lengths":    {td3[0], td3[1][:36]},
		"three by 44":      {td3[0], td3[1], td3[1]},
		"two by 30":        {specimens[1].lines[0], specimens[1].lines[1]},
		"too long":         {td3[0] + "<", td3[1] + "<"},
		"lower case":       {strings.ToLower(td3[0]), td3[1]},
		"inner space":      {"P<UTOERIKSSON  ANNA<MARIA<<<<<<<<<<<<<<<<<<<", td3[1]},
		"utf8":             {"P<UTOERIKSSÖN<<ANNA<MARIA<<<<<<<<<<<<<<<<<<", td3[1]},
		"prose":            {"hello", "world"},
	}
	for name, lines := range cases {
		t.Run(name, func(t *testing.T) {
			m, err := ParseAt(lines, ref)
			require.Nil(t, m)
			require.Error(t, err)
			require.ErrorIs(t, err, ErrNotMRZ)
			var nm *NotMRZError
			require.True(t, errors.As(err, &nm))
			// The reason never echoes the input.
			require.NotContains(t, err.Error(), "ERIKSSON")
			require.NotContains(t, strings.ToUpper(err.Error()), "ERIKSS")
		})
	}
	_, err := ParseAt([]string{strings.ToLower(td3[0]), td3[1]}, ref)
	require.Contains(t, err.Error(), "lower case")
	require.Contains(t, err.Error(), "line 1, column 1")
}

func TestLineCleanup(t *testing.T) {
	s := specimens[1].lines
	for name, lines := range map[string][]string{
		"crlf and spaces": {"  " + s[0] + "\r", "\t" + s[1] + " \r", s[2] + "\r\n"},
		"blank lines":     {"", s[0], "", s[1], "   ", s[2], ""},
		"one string":      {s[0] + "\r\n" + s[1] + "\n" + s[2] + "\n"},
	} {
		m, err := ParseAt(lines, ref)
		require.NoError(t, err, name)
		require.True(t, m.Valid(), name)
		require.Equal(t, s, m.Lines, name)
	}
}

func TestBirthCentury(t *testing.T) {
	r := time.Date(2026, time.June, 15, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		yy, mm, dd, want int
	}{
		{74, 8, 12, 1974},
		{99, 12, 31, 1999},
		{0, 1, 1, 2000},
		{25, 12, 31, 2025},
		{26, 6, 15, 2026}, // born today
		{26, 6, 16, 1926}, // tomorrow in 2026 is the future
		{26, 7, 1, 1926},
		{26, 6, 0, 2026}, // day unknown, month not in the future
		{26, 7, 0, 1926}, // month in the future
		{26, 0, 0, 2026}, // only the year known
		{27, 0, 0, 1927},
		{40, 9, 7, 1940},
	}
	for _, c := range cases {
		require.Equal(t, c.want, BirthCentury(c.yy, c.mm, c.dd, r), "%02d%02d%02d", c.yy, c.mm, c.dd)
	}
	// Across a century boundary of the reference date.
	r2 := time.Date(2100, time.January, 10, 0, 0, 0, 0, time.UTC)
	require.Equal(t, 2099, BirthCentury(99, 5, 5, r2))
	require.Equal(t, 2100, BirthCentury(0, 1, 9, r2))
	require.Equal(t, 2000, BirthCentury(0, 1, 11, r2))
}

func TestExpiryCentury(t *testing.T) {
	r := time.Date(2026, time.June, 15, 0, 0, 0, 0, time.UTC)
	cases := map[int]int{12: 2012, 96: 1996, 26: 2026, 75: 2075, 76: 1976, 0: 2000, 99: 1999, 35: 2035}
	for yy, want := range cases {
		require.Equal(t, want, ExpiryCentury(yy, r), "%02d", yy)
	}
	r2 := time.Date(2080, time.January, 1, 0, 0, 0, 0, time.UTC)
	require.Equal(t, 2110, ExpiryCentury(10, r2))
	require.Equal(t, 2030, ExpiryCentury(30, r2))
	require.Equal(t, 2099, ExpiryCentury(99, r2))
}

func TestDates(t *testing.T) {
	cases := []struct {
		name, dob, exp string
		wantCodes      []string
		dobISO         string
		partial        bool
	}{
		{"valid", "740812", "301231", nil, "1974-08-12", false},
		{"leap day in leap year", "000229", "301231", nil, "2000-02-29", false},
		{"leap day in common year", "990229", "301231", []string{reasons.DocMRZInvalidBirthDate}, "", false},
		{"month 13", "991332", "301231", []string{reasons.DocMRZInvalidBirthDate}, "", false},
		{"month 00", "990012", "301231", []string{reasons.DocMRZInvalidBirthDate}, "", false},
		{"day 00", "990100", "301231", []string{reasons.DocMRZInvalidBirthDate}, "", false},
		{"day 31 in April", "990431", "301231", []string{reasons.DocMRZInvalidBirthDate}, "", false},
		{"letters", "99A101", "301231", []string{reasons.DocMRZInvalidBirthDate}, "", false},
		{"day unknown", "7408<<", "301231", nil, "1974-08", true},
		{"month and day unknown", "74<<<<", "301231", nil, "1974", true},
		{"all unknown", "<<<<<<", "301231", nil, "", true},
		{"month unknown, day known", "74<<12", "301231", []string{reasons.DocMRZInvalidBirthDate}, "", false},
		{"year unknown only", "<<0812", "301231", []string{reasons.DocMRZInvalidBirthDate}, "", false},
		{"half filler", "7408<2", "301231", []string{reasons.DocMRZInvalidBirthDate}, "", false},
		{"bad month with unknown day", "7413<<", "301231", []string{reasons.DocMRZInvalidBirthDate}, "", false},
		{"expiry invalid", "740812", "301331", []string{reasons.DocMRZInvalidExpiryDate}, "1974-08-12", false},
		{"expiry may not be partial", "740812", "3012<<", []string{reasons.DocMRZInvalidExpiryDate}, "1974-08-12", false},
		{"both invalid", "740230", "300230", []string{reasons.DocMRZInvalidBirthDate, reasons.DocMRZInvalidExpiryDate}, "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			lines := td3("P<", "UTO", "ERIKSSON<<ANNA", "L898902C3", "UTO", c.dob, "F", c.exp, "")
			m, err := ParseAt(lines, ref)
			require.NoError(t, err)
			require.Zero(t, m.CheckDigitFailures(), "check digits are recomputed by the builder")
			require.ElementsMatch(t, c.wantCodes, problemCodes(m.Problems))
			require.Equal(t, len(c.wantCodes) == 0, m.Valid())
			require.Equal(t, c.dobISO, m.BirthDate.ISO)
			require.Equal(t, c.partial, m.BirthDate.Partial)
			for _, p := range m.Problems {
				require.NotContains(t, p.Detail, c.dob, "details never repeat the value")
			}
		})
	}
}

func TestAgeAndExpiry(t *testing.T) {
	m, err := ParseAt(specimens[0].lines, ref)
	require.NoError(t, err)

	age, ok := m.BirthDate.AgeAt(time.Date(2026, 8, 11, 23, 0, 0, 0, time.UTC))
	require.True(t, ok)
	require.Equal(t, 51, age)
	age, _ = m.BirthDate.AgeAt(time.Date(2026, 8, 12, 0, 0, 0, 0, time.UTC))
	require.Equal(t, 52, age)

	onExpiry := time.Date(2012, 4, 15, 23, 59, 0, 0, time.UTC)
	dayAfter := time.Date(2012, 4, 16, 0, 0, 0, 0, time.UTC)
	days, ok := m.ExpiryDate.DaysUntil(onExpiry)
	require.True(t, ok)
	require.Equal(t, 0, days)
	require.False(t, m.Expired(onExpiry))
	require.Empty(t, m.Validate(onExpiry))

	days, _ = m.ExpiryDate.DaysUntil(dayAfter)
	require.Equal(t, -1, days)
	require.True(t, m.Expired(dayAfter))
	probs := m.Validate(dayAfter)
	require.Equal(t, []string{reasons.DocExpired}, problemCodes(probs))
	require.Empty(t, m.Problems, "Validate does not modify the MRZ")
	require.True(t, m.Valid(), "Valid is structural; expiry is Validate's business")

	days, _ = m.ExpiryDate.DaysUntil(time.Date(2012, 3, 16, 0, 0, 0, 0, time.UTC))
	require.Equal(t, 30, days)

	// Partial birth dates: the age is never overstated.
	partial, _ := parseDate("08<<<<", birthDate, ref) // 2008, month unknown
	age, ok = partial.AgeAt(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))
	require.True(t, ok)
	require.Equal(t, 17, age)
	age, _ = partial.AgeAt(time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC))
	require.Equal(t, 18, age)
	unknown, _ := parseDate("<<<<<<", birthDate, ref)
	_, ok = unknown.AgeAt(ref)
	require.False(t, ok)
	_, ok = partial.DaysUntil(ref)
	require.False(t, ok)
}

func TestSex(t *testing.T) {
	for sex, valid := range map[string]bool{"M": true, "F": true, "<": true, "X": true, "Q": false, "1": false} {
		lines := td3("P<", "UTO", "ERIKSSON<<ANNA", "L898902C3", "UTO", "740812", sex, "301231", "")
		m, err := ParseAt(lines, ref)
		require.NoError(t, err)
		require.Equal(t, sex, m.Sex)
		require.Equal(t, valid, m.Valid(), sex)
		if !valid {
			require.Equal(t, []string{reasons.DocMRZInvalidSex}, problemCodes(m.Problems))
		}
	}
}

func TestStateCodes(t *testing.T) {
	cases := []struct {
		state, nat string
		want       []string
	}{
		{"D<<", "D<<", nil},
		{"DEU", "DEU", nil},
		{"GBR", "GBN", nil},
		{"UNO", "XXA", nil},
		{"EUE", "XXB", nil},
		{"XOM", "XPO", nil},
		{"UTO", "XXX", nil},
		{"ZZZ", "UTO", []string{reasons.DocMRZUnknownIssuingState}},
		{"UTO", "QQQ", []string{reasons.DocMRZUnknownNationality}},
		{"<D<", "D<<", []string{reasons.DocMRZUnknownIssuingState}},
		{"12A", "1<<", []string{reasons.DocMRZUnknownIssuingState, reasons.DocMRZUnknownNationality}},
		{"<<<", "<<<", []string{reasons.DocMRZUnknownIssuingState, reasons.DocMRZUnknownNationality}},
	}
	for _, c := range cases {
		lines := td3("P<", c.state, "ERIKSSON<<ANNA", "L898902C3", c.nat, "740812", "F", "301231", "")
		m, err := ParseAt(lines, ref)
		require.NoError(t, err)
		require.ElementsMatch(t, c.want, problemCodes(m.Problems), "%s/%s", c.state, c.nat)
	}
	m, err := ParseAt(td3("P<", "D<<", "MUSTERMANN<<ERIKA", "C01X00T47", "D<<", "640812", "F", "301231", ""), ref)
	require.NoError(t, err)
	require.Equal(t, "D", m.IssuingState)
	require.Equal(t, "D", m.Nationality)
}

func TestCodeTable(t *testing.T) {
	require.Len(t, iso3166Alpha3, 249)
	seen := map[string]bool{}
	for _, c := range iso3166Alpha3 {
		require.Len(t, c, 3, c)
		require.Equal(t, strings.ToUpper(c), c)
		require.False(t, seen[c], "duplicate %s", c)
		seen[c] = true
	}
	for c := range icaoCodes {
		require.False(t, seen[c], "%s is both ISO and ICAO-specific", c)
	}
	require.Equal(t, CodeSpecimen, LookupCode("UTO"))
	require.Equal(t, CodeICAO, LookupCode("D<<"))
	require.Equal(t, CodeISO, LookupCode("FRA"))
	require.Equal(t, CodeISO, LookupCode("deu"))
	require.Equal(t, CodeInUse, LookupCode("RKS"))
	require.Equal(t, CodeUnknown, LookupCode("ZZZ"))
	require.Equal(t, CodeUnknown, LookupCode(""))
	require.Equal(t, "specimen", CodeSpecimen.String())
	require.True(t, SameState("D<<", "DEU"))
	require.True(t, SameState("deu", "D"))
	require.False(t, SameState("DEU", "AUT"))
	require.False(t, SameState("", ""))
}

func TestDocumentCodes(t *testing.T) {
	cases := []struct {
		format Format
		code   string
		valid  bool
	}{
		{FormatTD3, "P<", true},
		{FormatTD3, "PD", true},
		{FormatTD3, "I<", false},
		{FormatTD3, "P1", false},
		{FormatTD1, "I<", true},
		{FormatTD1, "ID", true},
		{FormatTD1, "AC", true},
		{FormatTD1, "C<", true},
		{FormatTD1, "P<", false},
		{FormatTD1, "IV", false},
		{FormatTD1, "V<", false},
		{FormatTD1, "<<", false},
	}
	for _, c := range cases {
		var lines []string
		if c.format == FormatTD3 {
			lines = td3(c.code, "UTO", "ERIKSSON<<ANNA", "L898902C3", "UTO", "740812", "F", "301231", "")
		} else {
			lines = td1(c.code, "UTO", "D23145890", "", "740812", "F", "301231", "UTO", "", "ERIKSSON<<ANNA")
		}
		m, err := ParseAt(lines, ref)
		require.NoError(t, err)
		require.Equal(t, c.format, m.Format)
		require.Equal(t, c.valid, m.Valid(), "%s %s", c.format, c.code)
		if !c.valid {
			require.Equal(t, []string{reasons.DocMRZInvalidDocumentCode}, problemCodes(m.Problems))
		}
	}
}

func TestNames(t *testing.T) {
	cases := []struct {
		field, surname, given string
		truncated             bool
		invalid               bool
	}{
		{"ERIKSSON<<ANNA<MARIA<<<<<<<<<<", "ERIKSSON", "ANNA MARIA", false, false},
		{"VAN<DER<BERG<<JAN<<<<<<<<<<<<<", "VAN DER BERG", "JAN", false, false},
		{"MUSTERMANN<<<<<<<<<<<<<<<<<<<<", "MUSTERMANN", "", false, false},
		{"MUSTERMANN<<ERIKA<GABRIELE<ANN", "MUSTERMANN", "ERIKA GABRIELE ANN", true, false},
		{"ABCDEFGHIJKLMNOPQRSTUVWXYZABCD", "ABCDEFGHIJKLMNOPQRSTUVWXYZABCD", "", true, false},
		{"<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<", "", "", false, true},
		{"<<ANNA<<<<<<<<<<<<<<<<<<<<<<<<", "", "ANNA", false, true},
		{"<ERIKSSON<<ANNA<<<<<<<<<<<<<<<", "ERIKSSON", "ANNA", false, true},
		{"ERIK5SON<<ANNA<<<<<<<<<<<<<<<<", "ERIK5SON", "ANNA", false, true},
		{"ERIKSSON<<ANNA<<MARIA<<<<<<<<<", "ERIKSSON", "ANNA MARIA", false, true},
	}
	for _, c := range cases {
		lines := td1("I<", "UTO", "D23145890", "", "740812", "F", "301231", "UTO", "", c.field)
		m, err := ParseAt(lines, ref)
		require.NoError(t, err)
		require.Equal(t, c.surname, m.Surname, c.field)
		require.Equal(t, c.given, m.GivenNames, c.field)
		require.Equal(t, c.truncated, m.NameTruncated, c.field)
		if c.invalid {
			require.Equal(t, []string{reasons.DocMRZInvalidName}, problemCodes(m.Problems), c.field)
		} else {
			require.Empty(t, m.Problems, c.field)
		}
	}
}

func TestLongDocumentNumber(t *testing.T) {
	t.Run("td1 overflow", func(t *testing.T) {
		// Doc 9303 Part 5's example of a 12-character document number.
		m, err := ParseAt([]string{
			"I<UTOD23145890<7349<<<<<<<<<<<",
			"7408122F1204159UTO<<<<<<<<<<<6",
			"ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
		}, ref)
		require.NoError(t, err)
		require.True(t, m.Valid(), "%+v", m.Problems)
		require.Equal(t, "D23145890734", m.DocumentNumber)
		require.Equal(t, "", m.OptionalData1)
		c, ok := m.Check(FieldDocumentNumber)
		require.True(t, ok)
		require.Equal(t, Check{Field: FieldDocumentNumber, Expected: "9", Actual: "9", OK: true, Code: reasons.DocMRZCheckDocumentNumber}, c)
	})
	t.Run("td1 overflow followed by optional data", func(t *testing.T) {
		l1 := "I<UTOD23145890<7349<ABC<<<<<<<"
		l2 := "7408122F1204159UTO<<<<<<<<<<<"
		l2 += string(CheckDigit(l1[5:30] + l2[0:7] + l2[8:15] + l2[18:29]))
		m, err := ParseAt([]string{l1, l2, "ERIKSSON<<ANNA<MARIA<<<<<<<<<<"}, ref)
		require.NoError(t, err)
		require.True(t, m.Valid())
		require.Equal(t, "D23145890734", m.DocumentNumber)
		require.Equal(t, "ABC", m.OptionalData1)
	})
	t.Run("td1 overflow with wrong check digit", func(t *testing.T) {
		l1 := "I<UTOD23145890<7348<<<<<<<<<<<"
		l2 := "7408122F1204159UTO<<<<<<<<<<<"
		l2 += string(CheckDigit(l1[5:30] + l2[0:7] + l2[8:15] + l2[18:29]))
		m, err := ParseAt([]string{l1, l2, "ERIKSSON<<ANNA<MARIA<<<<<<<<<<"}, ref)
		require.NoError(t, err)
		require.False(t, m.Valid())
		require.Equal(t, []string{reasons.DocMRZCheckDocumentNumber}, problemCodes(m.Problems))
		c, _ := m.Check(FieldDocumentNumber)
		require.Equal(t, "9", c.Expected)
		require.Equal(t, "8", c.Actual)
	})
	t.Run("filler check digit without continuation", func(t *testing.T) {
		l1 := "I<UTOD23145890<<<<<<<<<<<<<<<<"
		l2 := "7408122F1204159UTO<<<<<<<<<<<"
		l2 += string(CheckDigit(l1[5:30] + l2[0:7] + l2[8:15] + l2[18:29]))
		m, err := ParseAt([]string{l1, l2, "ERIKSSON<<ANNA<MARIA<<<<<<<<<<"}, ref)
		require.NoError(t, err)
		require.Equal(t, []string{reasons.DocMRZCheckDocumentNumber}, problemCodes(m.Problems))
		require.Equal(t, "D23145890", m.DocumentNumber)
	})
	t.Run("td2 overflow", func(t *testing.T) {
		m, err := ParseAt([]string{
			"I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<",
			"D23145890<UTO7408122F12041597349<<<2",
		}, ref)
		require.NoError(t, err)
		require.True(t, m.Valid(), "%+v", m.Problems)
		require.Equal(t, "D23145890734", m.DocumentNumber)
	})
	t.Run("td3 has no overflow rule", func(t *testing.T) {
		lines := td3("P<", "UTO", "ERIKSSON<<ANNA", "L898902C3", "UTO", "740812", "F", "301231", "")
		l2 := []byte(lines[1])
		l2[9] = '<'
		m, err := ParseAt([]string{lines[0], string(l2)}, ref)
		require.NoError(t, err)
		c, _ := m.Check(FieldDocumentNumber)
		require.False(t, c.OK)
		require.Equal(t, "L898902C3", m.DocumentNumber)
	})
}

func TestPersonalNumberFillerCheckDigit(t *testing.T) {
	base := td3("P<", "UTO", "ERIKSSON<<ANNA", "L898902C3", "UTO", "740812", "F", "301231", "")
	for digit, valid := range map[byte]bool{'0': true, '<': true, '1': false} {
		l2 := []byte(base[1])
		l2[42] = digit
		s := string(l2[:43])
		s += string(CheckDigit(s[0:10] + s[13:20] + s[21:43]))
		m, err := ParseAt([]string{base[0], s}, ref)
		require.NoError(t, err)
		require.Equal(t, valid, m.Valid(), string(digit))
		if !valid {
			require.Equal(t, []string{reasons.DocMRZCheckOptionalData}, problemCodes(m.Problems))
		}
	}
	// A used personal number may not carry a filler check digit.
	used := td3("P<", "UTO", "ERIKSSON<<ANNA", "L898902C3", "UTO", "740812", "F", "301231", "ZE184226B")
	l2 := []byte(used[1])
	l2[42] = '<'
	m, err := ParseAt([]string{used[0], string(l2)}, ref)
	require.NoError(t, err)
	c, _ := m.Check(FieldOptionalData)
	require.False(t, c.OK)
}

func TestJSONShape(t *testing.T) {
	m, err := ParseAt(specimens[0].lines, ref)
	require.NoError(t, err)
	b, err := json.Marshal(m)
	require.NoError(t, err)
	var got map[string]any
	require.NoError(t, json.Unmarshal(b, &got))
	for _, k := range []string{"format", "document_code", "issuing_state", "document_number", "nationality", "sex",
		"optional_data_1", "optional_data_2", "surname", "given_names", "name_truncated", "birth_date", "expiry_date",
		"checks", "problems", "lines"} {
		require.Contains(t, got, k)
	}
	require.Equal(t, "TD3", got["format"])
	require.Equal(t, "1974-08-12", got["birth_date"].(map[string]any)["iso"])
	check := got["checks"].([]any)[0].(map[string]any)
	require.ElementsMatch(t, []string{"field", "expected", "actual", "ok", "code"}, keys(check))
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func problemCodes(ps []Problem) []string {
	out := []string{}
	for _, p := range ps {
		out = append(out, p.Code)
	}
	return out
}

func BenchmarkParse(b *testing.B) {
	for _, s := range specimens {
		b.Run(s.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ParseAt(s.lines, ref); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
