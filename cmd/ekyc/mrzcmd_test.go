package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var mrzNow = time.Date(2026, time.June, 15, 12, 0, 0, 0, time.UTC)

type mrzResult struct {
	Format string         `json:"format"`
	Fields map[string]any `json:"fields"`
	Checks []struct {
		Field    string `json:"field"`
		Expected string `json:"expected"`
		Actual   string `json:"actual"`
		OK       bool   `json:"ok"`
		Code     string `json:"code"`
	} `json:"checks"`
	Problems []struct {
		Code   string `json:"code"`
		Field  string `json:"field"`
		Detail string `json:"detail"`
	} `json:"problems"`
	Valid        bool `json:"valid"`
	Expired      bool `json:"expired"`
	DaysToExpiry *int `json:"days_to_expiry"`
}

func runMRZ(t *testing.T, input string) (int, mrzResult, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := runMRZParse(strings.NewReader(input), &stdout, &stderr, mrzNow)
	var res mrzResult
	if code == 0 {
		require.NoError(t, json.Unmarshal(stdout.Bytes(), &res), stdout.String())
		require.True(t, strings.HasPrefix(stdout.String(), "{\n  \""), "indented JSON")
	}
	return code, res, stdout.String(), stderr.String()
}

func readSpecimen(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "mrz", name+".txt"))
	require.NoError(t, err)
	return string(b)
}

func TestMRZParseSpecimens(t *testing.T) {
	cases := map[string]struct {
		format, number, nationality, birth string
		checks                             int
	}{
		"td1":  {"TD1", "D23145890", "UTO", "1974-08-12", 4},
		"td2":  {"TD2", "D23145890", "UTO", "1974-08-12", 4},
		"td3":  {"TD3", "L898902C3", "UTO", "1974-08-12", 5},
		"mrva": {"MRVA", "L8988901C", "XXX", "1940-09-07", 3},
		"mrvb": {"MRVB", "L8988901C", "XXX", "1940-09-07", 3},
	}
	for name, want := range cases {
		t.Run(name, func(t *testing.T) {
			code, res, _, stderr := runMRZ(t, readSpecimen(t, name))
			require.Equal(t, 0, code, stderr)
			require.Empty(t, stderr)
			require.Equal(t, want.format, res.Format)
			require.True(t, res.Valid)
			require.Empty(t, res.Problems)
			require.Len(t, res.Checks, want.checks)
			for _, c := range res.Checks {
				require.True(t, c.OK, c.Field)
			}
			require.Equal(t, want.number, res.Fields["document_number"])
			require.Equal(t, want.nationality, res.Fields["nationality"])
			require.Equal(t, "ERIKSSON", res.Fields["surname"])
			require.Equal(t, "ANNA MARIA", res.Fields["given_names"])
			require.Equal(t, want.birth, res.Fields["birth_date"].(map[string]any)["iso"])
			// Specimens expired long ago; that is reported apart from validity.
			require.True(t, res.Expired)
			require.NotNil(t, res.DaysToExpiry)
			require.Negative(t, *res.DaysToExpiry)
		})
	}
}

func TestMRZParseBlankLinesAndCRLF(t *testing.T) {
	in := "\r\n" + strings.ReplaceAll(readSpecimen(t, "td1"), "\n", "\r\n\r\n") + "\n\n"
	code, res, _, stderr := runMRZ(t, in)
	require.Equal(t, 0, code, stderr)
	require.True(t, res.Valid)
}

func TestMRZParseCorruption(t *testing.T) {
	lines := strings.Split(strings.TrimSpace(readSpecimen(t, "td3")), "\n")
	b := []byte(lines[1])
	require.Equal(t, byte('2'), b[19]) // date of birth check digit
	b[19] = '3'
	lines[1] = string(b)

	code, res, _, stderr := runMRZ(t, strings.Join(lines, "\n"))
	require.Equal(t, 0, code, "an invalid MRZ still parses: %s", stderr)
	require.False(t, res.Valid)
	failed := map[string][2]string{}
	for _, c := range res.Checks {
		if !c.OK {
			failed[c.Field] = [2]string{c.Expected, c.Actual}
		}
	}
	require.Len(t, failed, 2, "%+v", res.Checks)
	require.Equal(t, [2]string{"2", "3"}, failed["birth_date"])
	require.Contains(t, failed, "composite")
	require.Equal(t, "0", failed["composite"][1])
	require.NotEqual(t, "0", failed["composite"][0])

	codes := []string{}
	for _, p := range res.Problems {
		codes = append(codes, p.Code)
		require.NotContains(t, p.Detail, "ERIKSSON")
	}
	require.Equal(t, []string{"DOC_MRZ_CHECK_BIRTH_DATE", "DOC_MRZ_CHECK_COMPOSITE"}, codes)
}

func TestMRZParseNotMRZ(t *testing.T) {
	for name, in := range map[string]string{
		"empty":      "",
		"blank":      "\n  \n\r\n",
		"prose":      "hello\nworld\n",
		"lower case": strings.ToLower(readSpecimen(t, "td3")),
		"one line":   strings.Split(readSpecimen(t, "td3"), "\n")[0],
		"too large":  strings.Repeat("P<UTO\n", 20000),
	} {
		t.Run(name, func(t *testing.T) {
			code, _, stdout, stderr := runMRZ(t, in)
			require.Equal(t, 2, code)
			require.Empty(t, stdout)
			require.True(t, strings.HasPrefix(stderr, "ekyc mrz parse: not an MRZ: "), stderr)
			require.Equal(t, 1, strings.Count(stderr, "\n"), "one line: %q", stderr)
			require.NotContains(t, stderr, "ERIKSSON")
			require.NotContains(t, stderr, "eriksson")
		})
	}
}
