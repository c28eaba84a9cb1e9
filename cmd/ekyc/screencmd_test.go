package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func screenLists() []string {
	d := filepath.Join("..", "..", "testdata", "screening")
	return []string{"-list", "ofac=" + filepath.Join(d, "ofac"), "-list", "un=" + filepath.Join(d, "un", "consolidated.xml")}
}

func TestScreenCLI(t *testing.T) {
	var out, errb bytes.Buffer
	code := run(append([]string{"screen", "-name", "Aymen Al-Zawahiri", "-dob", "1951-06-19", "-threshold", "0.85"}, screenLists()...), nil, &out, &errb)
	require.Equal(t, 0, code, errb.String())
	var res struct {
		Hits []struct {
			EntityID    string             `json:"entity_id"`
			ListVersion string             `json:"list_version"`
			Score       float64            `json:"score"`
			Components  map[string]float64 `json:"components"`
		} `json:"hits"`
		Versions []string `json:"versions"`
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &res))
	require.NotEmpty(t, res.Hits)
	require.Equal(t, "ofac-2676", res.Hits[0].EntityID)
	require.GreaterOrEqual(t, res.Hits[0].Score, 0.85)
	require.Len(t, res.Versions, 2)

	// Batch: one result per line, a bad line reported and exit 3.
	batch := filepath.Join(t.TempDir(), "q.jsonl")
	require.NoError(t, os.WriteFile(batch, []byte(`{"name":"Manuel Noriega"}`+"\n"+`{"name":""}`+"\n"+`{"name":"ACME CORP"}`+"\n"), 0o600))
	out.Reset()
	errb.Reset()
	code = run(append([]string{"screen", "-batch", batch, "-threshold", "0.85"}, screenLists()...), nil, &out, &errb)
	require.Equal(t, 3, code, errb.String())
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, lines, 3)
	require.Contains(t, lines[0], `"ofac-1572"`)
	require.Contains(t, lines[1], `"error"`)
	require.Contains(t, lines[2], `"hits":[]`, "a company suffix carries no match")

	require.Equal(t, 2, run([]string{"screen"}, nil, &out, &errb))
}
