package main

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestGeneratedUpToDate fails when codes.yaml changed without `make generate`.
func TestGeneratedUpToDate(t *testing.T) {
	goSrc, md, err := Generate("../../codes.yaml")
	require.NoError(t, err)
	have, err := os.ReadFile("../../codes_gen.go")
	require.NoError(t, err)
	require.Equal(t, string(goSrc), string(have), "codes_gen.go is stale: run make generate")
	haveMD, err := os.ReadFile("../../../../docs/reason-codes.md")
	require.NoError(t, err)
	require.Equal(t, string(md), string(haveMD), "docs/reason-codes.md is stale: run make generate")
}

func TestGenerateRejectsBadTables(t *testing.T) {
	for name, body := range map[string]string{
		"duplicate":    "codes:\n- {code: A_B, category: x, severity: info, description: d}\n- {code: A_B, category: x, severity: info, description: d}\n",
		"bad code":     "codes:\n- {code: a-b, category: x, severity: info, description: d}\n",
		"bad severity": "codes:\n- {code: A_B, category: x, severity: meh, description: d}\n",
		"no category":  "codes:\n- {code: A_B, severity: info, description: d}\n",
		"unknown key":  "codes:\n- {code: A_B, category: x, severity: info, description: d, extra: 1}\n",
	} {
		t.Run(name, func(t *testing.T) {
			p := t.TempDir() + "/codes.yaml"
			require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
			_, _, err := Generate(p)
			require.Error(t, err)
		})
	}
}

func TestGoName(t *testing.T) {
	require.Equal(t, "DocMRZCheckBirthDate", goName("DOC_MRZ_CHECK_BIRTH_DATE"))
	require.Equal(t, "DataDOBMismatch", goName("DATA_DOB_MISMATCH"))
}
