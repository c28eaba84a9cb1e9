package countries

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCode(t *testing.T) {
	for in, want := range map[string]string{
		"Korea, North":                          "KP",
		"Democratic People's Republic of Korea": "KP",
		"Iran (Islamic Republic of)":            "IR",
		"Congo, Democratic Republic of the":     "CD",
		"Congo":                                 "CG",
		"Burma":                                 "MM",
		"Palestinian":                           "PS",
		"Türkiye":                               "TR",
		"United Kingdom of Great Britain and Northern Ireland": "GB",
		"Russian Federation":      "RU",
		"RUSSIAN FEDERATION":      "RU",
		"ru":                      "RU",
		"RUS":                     "RU",
		"Russian":                 "RU",
		"ua-cri":                  "UA",
		"Region: Gaza":            "PS",
		"Côte d’Ivoire":           "CI",
		"Virgin Islands, British": "VG",
		"The Gambia":              "GM",
		"Bosnia-Herzegovina":      "BA",
		"Kosovo":                  "XK",
		"  Syria ":                "SY",
	} {
		got, ok := Code(in)
		require.True(t, ok, in)
		require.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "former Soviet Union", "undetermined", "Atlantis", "XX", "n/a"} {
		_, ok := Code(in)
		require.False(t, ok, in)
	}
}

func TestNameAndValid(t *testing.T) {
	require.Equal(t, "Russian Federation", Name("ru"))
	require.Equal(t, "", Name("QQ"))
	require.True(t, Valid("DE"))
	require.True(t, Valid("xk"))
	require.False(t, Valid("DEU"))
	require.False(t, Valid("ZZ"))
	// every ISO entry resolves from its own names and codes
	for _, c := range isoTable {
		for _, n := range append([]string{c.alpha2, c.alpha3}, c.names...) {
			got, ok := Code(n)
			require.True(t, ok, n)
			require.Equal(t, c.alpha2, got, n)
		}
	}
}
