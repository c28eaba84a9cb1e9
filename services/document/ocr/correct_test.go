package ocr

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openekyc/ekyc/services/document/mrz"
)

var (
	td3 = []string{
		"P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
		"L898902C36UTO7408122F1204159ZE184226B<<<<<10",
	}
	td1 = []string{
		"I<UTOD231458907<<<<<<<<<<<<<<<",
		"7408122F1204159UTO<<<<<<<<<<<6",
		"ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
	}
	td2 = []string{
		"I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<",
		"D231458907UTO7408122F1204159<<<<<<<6",
	}
	mrvb = []string{
		"V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<",
		"L8988901C4XXX4009078F9612109<<<<<<<<",
	}
)

func TestCorrect(t *testing.T) {
	cases := []struct {
		name   string
		want   []string
		format mrz.Format
		read   []string
	}{
		{"td3 exact", td3, mrz.FormatTD3, td3},
		{"td3 O for 0 in birth date", td3, mrz.FormatTD3, []string{td3[0], "L898902C36UTO74O8122F1204159ZE184226B<<<<<10"}},
		{"td3 I for 1 in expiry, S for 5 in check", td3, mrz.FormatTD3, []string{td3[0], "L898902C36UTO7408122FI2O4IS9ZE184226B<<<<<10"}},
		{"td3 0 for O in name, 1 for I", td3, mrz.FormatTD3, []string{"P<UT0ER1KSSON<<ANNA<MAR1A<<<<<<<<<<<<<<<<<<<", td3[1]}},
		{"td3 fillers read as K and C", td3, mrz.FormatTD3, []string{"P<UTOERIKSSON<<ANNA<MARIA<<<<K<<<<<<C<<<<<<<<", "L898902C36UTO7408122F1204159ZE184226B<<K<<10"}},
		{"td3 filler run too short and too long", td3, mrz.FormatTD3, []string{"P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<", "L898902C36UTO7408122F1204159ZE184226B<<<<<<<10"}},
		{"td3 O for 0 in document number", td3, mrz.FormatTD3, []string{td3[0], "L8989O2C36UTO7408122F1204159ZE184226B<<<<<10"}},
		{"td3 lower case and lookalikes", td3, mrz.FormatTD3, []string{"p<utoeriksson《<anna<maria<<<<<<<<<<<<<<<<<<<", td3[1]}},
		{"td1 exact", td1, mrz.FormatTD1, td1},
		{"td1 O for 0 in document number", td1, mrz.FormatTD1, []string{"I<UTOD2314589O7<<<<<<<<<<<<<<<", td1[1], td1[2]}},
		{"td1 I for 1 in document number, B for 8 in date", td1, mrz.FormatTD1, []string{"I<UTOD23I458907<<<<<<<<<<<<<<<", "74O812ZF12O4159UTO<<<<<<<<<<<6", "ERIKSSON<<ANNA<MARIA<<<<<<<<<<"}},
		{"td1 fillers read as K, L, E", td1, mrz.FormatTD1, []string{"I<UTOD231458907<<<<K<<<<<<<<<<", "7408122F1204159UTO<<<<L<<<<<<6", "ERIKSSON<<ANNA<MARIA<<<<E<<<<<"}},
		{"td2 exact", td2, mrz.FormatTD2, td2},
		{"td2 D for 0 in document number", td2, mrz.FormatTD2, []string{td2[0], "D2314589D7UTO7408122F1204159<<<<<<<6"}},
		{"mrvb", mrvb, mrz.FormatMRVB, []string{mrvb[0], "L8988901C4XXX4009078F96121O9<<<<<<<<"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Correct(c.read)
			require.Equal(t, c.format, got.Format)
			require.Equal(t, c.want, got.Lines)
			m, err := mrz.Parse(got.Lines)
			require.NoError(t, err)
			for _, ck := range m.Checks {
				require.True(t, ck.OK, "check %s", ck.Field)
			}
		})
	}
}

func TestCorrectKeepsGivenNameInitial(t *testing.T) {
	l := []string{
		"P<UTOSMITH<<K<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<",
		"L898902C36UTO7408122F1204159ZE184226B<<<<<10",
	}
	require.Equal(t, l, Correct(l).Lines)
}

func TestCorrectNotMRZ(t *testing.T) {
	got := Correct([]string{"HELLO"})
	require.Empty(t, got.Format)
	require.Equal(t, []string{"HELLO"}, got.Lines)
}
