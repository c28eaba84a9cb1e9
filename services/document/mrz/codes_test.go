package mrz

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// TestCodesMatchTable keeps the constants of codes.go in step with
// services/reasons/codes.yaml: same spelling, same severity.
func TestCodesMatchTable(t *testing.T) {
	raw, err := os.ReadFile("../../reasons/codes.yaml")
	require.NoError(t, err)
	var table struct {
		Codes []struct {
			Code     string `yaml:"code"`
			Severity string `yaml:"severity"`
		} `yaml:"codes"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &table))
	severity := map[string]string{}
	for _, c := range table.Codes {
		severity[c.Code] = c.Severity
	}
	require.NotEmpty(t, severity)
	for code, sev := range codeSeverity {
		got, ok := severity[code]
		require.True(t, ok, "%s is not in codes.yaml", code)
		require.Equal(t, got, string(sev), code)
		require.Equal(t, sev, CodeSeverity(code))
	}
	require.Equal(t, SeverityCritical, CodeSeverity("NOT_A_CODE"))
}
