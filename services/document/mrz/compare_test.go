package mrz

import (
	"testing"

	"github.com/stretchr/testify/require"

	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
	"github.com/openekyc/ekyc/services/reasons"
)

func parseT(t *testing.T, lines []string) *MRZ {
	t.Helper()
	m, err := ParseAt(lines, ref)
	require.NoError(t, err)
	return m
}

func TestNameTokens(t *testing.T) {
	cases := []struct {
		in         string
		icao, bare []string
	}{
		{"Anna María", []string{"ANNA", "MARIA"}, []string{"ANNA", "MARIA"}},
		{"Müller", []string{"MUELLER"}, []string{"MULLER"}},
		{"Bär Öztürk", []string{"BAER", "OEZTUERK"}, []string{"BAR", "OZTURK"}},
		{"Åsa Øberg", []string{"AASA", "OEBERG"}, []string{"ASA", "OBERG"}},
		{"Straße", []string{"STRASSE"}, []string{"STRASSE"}},
		{"O'Neil", []string{"ONEIL"}, []string{"ONEIL"}},
		{"D’Artagnan", []string{"DARTAGNAN"}, []string{"DARTAGNAN"}},
		{"Jean-Luc", []string{"JEAN", "LUC"}, []string{"JEAN", "LUC"}},
		{"  van der  Berg ", []string{"VAN", "DER", "BERG"}, []string{"VAN", "DER", "BERG"}},
		{"Łukasz Ærø", []string{"LUKASZ", "AEROE"}, []string{"LUKASZ", "AERO"}},
		{"Núñez", []string{"NUNEZ"}, []string{"NUNEZ"}},
		{"Þór", []string{"THOR"}, []string{"THOR"}},
		{"ERIKSSON<<ANNA", []string{"ERIKSSON", "ANNA"}, []string{"ERIKSSON", "ANNA"}},
		{"", nil, nil},
	}
	for _, c := range cases {
		if c.icao == nil {
			require.Empty(t, nameTokens(c.in, true), c.in)
			require.Empty(t, nameTokens(c.in, false), c.in)
			continue
		}
		require.Equal(t, c.icao, nameTokens(c.in, true), c.in)
		require.Equal(t, c.bare, nameTokens(c.in, false), c.in)
	}
}

func TestCompareApplicant(t *testing.T) {
	specimen := parseT(t, specimens[0].lines) // ERIKSSON, ANNA MARIA, 1974-08-12, UTO
	mueller := parseT(t, td3("P<", "D<<", "MUELLER<<JOERG", "C01X00T47", "D<<", "640812", "M", "301231", ""))
	muller := parseT(t, td3("P<", "D<<", "MULLER<<JORG", "C01X00T47", "D<<", "640812", "M", "301231", ""))
	// TD1 name field full: truncated.
	truncated := parseT(t, td1("I<", "UTO", "D23145890", "", "740812", "F", "301231", "UTO", "",
		"HUTCHINSON<<CHRISTOPHER<ALEXAN"))
	partial := parseT(t, td3("P<", "UTO", "ERIKSSON<<ANNA", "L898902C3", "UTO", "74<<<<", "F", "301231", ""))

	cases := []struct {
		name      string
		m         *MRZ
		a         *ekycv1.Applicant
		wantCodes []string
		nameCmp   bool
		minSim    float64
		maxSim    float64
		dobCmp    bool
		natCmp    bool
	}{
		{"exact", specimen, &ekycv1.Applicant{Surname: "Eriksson", GivenNames: "Anna Maria", DateOfBirth: "1974-08-12", Nationality: "UTO"},
			nil, true, 1, 1, true, true},
		{"diacritics", specimen, &ekycv1.Applicant{Surname: "Eríksson", GivenNames: "Anna-María"},
			nil, true, 1, 1, false, false},
		{"icao transliteration", mueller, &ekycv1.Applicant{Surname: "Müller", GivenNames: "Jörg", Nationality: "DEU"},
			nil, true, 1, 1, false, true},
		{"plain transliteration", muller, &ekycv1.Applicant{Surname: "Müller", GivenNames: "Jörg", Nationality: "D"},
			nil, true, 1, 1, false, true},
		{"one typo", specimen, &ekycv1.Applicant{Surname: "Erikson", GivenNames: "Anna Maria"},
			nil, true, 0.87, 0.88, false, false},
		{"sibling", truncated, &ekycv1.Applicant{Surname: "Hutchinson", GivenNames: "Christina Alexandra"},
			[]string{reasons.DataNameMismatch}, true, 0.6, 0.8, false, false},
		{"given names only", specimen, &ekycv1.Applicant{GivenNames: "ANNA MARIA"},
			nil, true, 1, 1, false, false},
		{"given names reordered", specimen, &ekycv1.Applicant{Surname: "Eriksson", GivenNames: "Maria Anna"},
			nil, true, 1, 1, false, false},
		{"truncated mrz name", truncated, &ekycv1.Applicant{Surname: "Hutchinson", GivenNames: "Christopher Alexander James"},
			nil, true, 1, 1, false, false},
		{"different person", specimen, &ekycv1.Applicant{Surname: "Smith", GivenNames: "John"},
			[]string{reasons.DataNameMismatch}, true, 0, 0.3, false, false},
		{"different given names", specimen, &ekycv1.Applicant{Surname: "Eriksson", GivenNames: "Karl"},
			[]string{reasons.DataNameMismatch}, true, 0, 0.3, false, false},
		{"dob mismatch", specimen, &ekycv1.Applicant{DateOfBirth: "1974-08-13"},
			[]string{reasons.DataDOBMismatch}, false, 0, 0, true, false},
		{"dob other century still matches yymmdd", specimen, &ekycv1.Applicant{DateOfBirth: "1874-08-12"},
			nil, false, 0, 0, true, false},
		{"dob malformed", specimen, &ekycv1.Applicant{DateOfBirth: "12/08/1974"},
			[]string{reasons.DataDOBMismatch}, false, 0, 0, true, false},
		{"partial mrz dob matches year", partial, &ekycv1.Applicant{DateOfBirth: "1974-03-01"},
			nil, false, 0, 0, true, false},
		{"partial mrz dob other year", partial, &ekycv1.Applicant{DateOfBirth: "1975-03-01"},
			[]string{reasons.DataDOBMismatch}, false, 0, 0, true, false},
		{"nationality mismatch", specimen, &ekycv1.Applicant{Nationality: "SWE"},
			[]string{reasons.DataNationalityMismatch}, false, 0, 0, false, true},
		{"nothing declared", specimen, &ekycv1.Applicant{},
			nil, false, 0, 0, false, false},
		{"blank declared", specimen, &ekycv1.Applicant{Surname: "  ", DateOfBirth: " ", Nationality: ""},
			nil, false, 0, 0, false, false},
		{"nil applicant", specimen, nil,
			nil, false, 0, 0, false, false},
		{"everything wrong", specimen, &ekycv1.Applicant{Surname: "Smith", GivenNames: "John", DateOfBirth: "1990-01-01", Nationality: "GBR"},
			[]string{reasons.DataNameMismatch, reasons.DataDOBMismatch, reasons.DataNationalityMismatch}, true, 0, 0.3, true, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cmp := CompareApplicant(c.m, c.a)
			require.ElementsMatch(t, c.wantCodes, problemCodes(cmp.Problems))
			require.Equal(t, c.nameCmp, cmp.NameCompared)
			require.Equal(t, c.dobCmp, cmp.DOBCompared)
			require.Equal(t, c.natCmp, cmp.NationalityCompared)
			if c.nameCmp {
				require.GreaterOrEqual(t, cmp.NameSimilarity, c.minSim)
				require.LessOrEqual(t, cmp.NameSimilarity, c.maxSim)
				require.Equal(t, cmp.NameSimilarity >= DefaultNameThreshold, cmp.NameMatch)
			}
			if c.dobCmp {
				require.Equal(t, !contains(c.wantCodes, reasons.DataDOBMismatch), cmp.DOBMatch)
			}
			if c.natCmp {
				require.Equal(t, !contains(c.wantCodes, reasons.DataNationalityMismatch), cmp.NationalityMatch)
			}
		})
	}
}

func TestNameThresholdOption(t *testing.T) {
	m := parseT(t, specimens[0].lines)
	a := &ekycv1.Applicant{Surname: "Erikson", GivenNames: "Ana Maria"} // two slips
	def := CompareApplicant(m, a)
	require.True(t, def.NameMatch, "similarity %.3f", def.NameSimilarity)
	strict := CompareApplicant(m, a, WithNameThreshold(0.99))
	require.False(t, strict.NameMatch)
	require.Equal(t, []string{reasons.DataNameMismatch}, problemCodes(strict.Problems))
	ignored := CompareApplicant(m, a, WithNameThreshold(1.5))
	require.Equal(t, def.NameMatch, ignored.NameMatch)
}

func TestTruncationIsNotAWildcard(t *testing.T) {
	// A full (truncated) MRZ name tolerates missing tails, not different names.
	m := parseT(t, td1("I<", "UTO", "D23145890", "", "740812", "F", "301231", "UTO", "",
		"HUTCHINSON<<CHRISTOPHER<ALEXAN"))
	require.True(t, m.NameTruncated)
	cmp := CompareApplicant(m, &ekycv1.Applicant{Surname: "Hutchinson", GivenNames: "Christina Alexandra"})
	require.False(t, cmp.NameMatch, "similarity %.3f", cmp.NameSimilarity)
	// Without truncation, extra declared names count against the match.
	full := parseT(t, specimens[0].lines)
	cmp = CompareApplicant(full, &ekycv1.Applicant{Surname: "Eriksson", GivenNames: "Anna Maria Louise Charlotte"})
	require.False(t, cmp.NameMatch, "similarity %.3f", cmp.NameSimilarity)
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
