package dbverify_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openekyc/ekyc/services/dbverify"
)

const minimal = `
url: https://registry.example/verify
request_template: '{"n": "{{surname}}"}'
response:
  fields:
    name: {path: result.name, match: ["Y"], no_match: ["N"]}
`

func TestParseMappingDefaults(t *testing.T) {
	m, err := dbverify.ParseMapping([]byte(minimal))
	require.NoError(t, err)
	require.Equal(t, "POST", m.Method)
	require.Nil(t, m.Auth)
	require.Equal(t, 2, m.Retries)
	require.Equal(t, 5, m.BreakerFailures)
	require.EqualValues(t, 1<<20, m.MaxResponseBytes)
}

func TestExampleMappingParses(t *testing.T) {
	m, err := dbverify.LoadMapping(filepath.Join("..", "..", "deploy", "dbverify", "example-registry.yaml"))
	require.NoError(t, err)
	require.Equal(t, "EKYC_REGISTRY_TOKEN", m.Auth.ValueEnv)
	require.Equal(t, []string{"surname", "date_of_birth", "document_number"}, m.Required)
}

func TestParseMappingErrors(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, msg string
	}{
		{"empty", ``, "empty file"},
		{"unknown field", minimal + "retry_count: 3\n", "field retry_count not found"},
		{"missing url", strings.Replace(minimal, "url: https://registry.example/verify", "", 1), "url is required"},
		{"relative url", strings.Replace(minimal, "https://registry.example/verify", "/verify", 1), "absolute http(s) URL"},
		{"credentials in url", strings.Replace(minimal, "https://", "https://u:p@", 1), "must not carry credentials"},
		{"GET", minimal + "method: GET\n", `method "GET"`},
		{"inline secret", minimal + "auth_header: {name: Authorization, value: hunter2}\n", "secrets do not belong in the mapping file"},
		{"auth without env", minimal + "auth_header: {name: Authorization}\n", "auth_header.value_env is required"},
		{"bad header", minimal + "headers: {\"X Bad\": v}\n", `headers: "X Bad"`},
		{"bad timeout", minimal + "timeout: soon\n", `timeout "soon"`},
		{"retries", minimal + "retries: 99\n", "retries 99"},
		{"breaker", minimal + "breaker: {failures: 0}\n", "breaker.failures 0"},
		{"unknown required", minimal + "required: [shoe_size]\n", `unknown input "shoe_size"`},
		{"no template", strings.Replace(minimal, `request_template: '{"n": "{{surname}}"}'`, "", 1), "request_template is required"},
		{"template not JSON", strings.Replace(minimal, `'{"n": "{{surname}}"}'`, `'{"n": {{surname}}}'`, 1), "not valid JSON"},
		{"template trailing data", strings.Replace(minimal, `'{"n": "{{surname}}"}'`, `'{"n": 1} {}'`, 1), "data after the JSON value"},
		{"unknown placeholder", strings.Replace(minimal, "{{surname}}", "{{shoe_size}}", 1), `unknown placeholder "shoe_size"`},
		{"malformed placeholder", strings.Replace(minimal, "{{surname}}", "{{surname}", 1), "malformed placeholder"},
		{"placeholder in key", strings.Replace(minimal, `{"n": "{{surname}}"}`, `{"{{surname}}": 1}`, 1), "allowed in values only"},
		{"scalar template", strings.Replace(minimal, `'{"n": "{{surname}}"}'`, `42`, 1), "want a JSON object"},
		{"no response", strings.SplitN(minimal, "response:", 2)[0], "response is required"},
		{"no fields", strings.SplitN(minimal, "  fields:", 2)[0] + "  reference: ref\n", "at least one field is required"},
		{"bad path", strings.Replace(minimal, "result.name", "result..name", 1), `fields.name.path: path "result..name" has an empty segment`},
		{"empty path", strings.Replace(minimal, "path: result.name, ", "", 1), "fields.name.path: empty path"},
		{"unknown response field", strings.Replace(minimal, "    name:", "    shoe_size:", 1), `unknown field "shoe_size"`},
		{"no no_match", strings.Replace(minimal, `, no_match: ["N"]`, "", 1), "match and no_match values are required"},
		{"duplicate value", strings.Replace(minimal, `no_match: ["N"]`, `no_match: ["y"]`, 1), "value y listed twice"},
		{"non-scalar value", strings.Replace(minimal, `no_match: ["N"]`, `no_match: [[1]]`, 1), "values must be scalars"},
		{"found incomplete", minimal + "  found: {path: status, found: [OK]}\n", "both found and not_found values are required"},
		{"not found status", minimal + "  not_found_status: [500]\n", "not_found_status 500"},
		{"bad reference", minimal + "  reference: a.\n", `reference: path "a." has an empty segment`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := dbverify.ParseMapping([]byte(tc.yaml))
			require.ErrorIs(t, err, dbverify.ErrMapping)
			require.Contains(t, err.Error(), tc.msg)
		})
	}
}

func TestLoadMappingNamesTheFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "reg.yaml")
	require.NoError(t, os.WriteFile(p, []byte("url: ftp://x\n"), 0o600))
	_, err := dbverify.LoadMapping(p)
	require.ErrorIs(t, err, dbverify.ErrMapping)
	require.Contains(t, err.Error(), p)
	_, err = dbverify.LoadMapping(filepath.Join(t.TempDir(), "missing.yaml"))
	require.ErrorIs(t, err, dbverify.ErrMapping)
}

func TestNewHTTPConnectorValidates(t *testing.T) {
	m, err := dbverify.ParseMapping([]byte(minimal))
	require.NoError(t, err)
	_, err = dbverify.NewHTTPConnector("Bad Name", m)
	require.ErrorIs(t, err, dbverify.ErrMapping)
	_, err = dbverify.NewHTTPConnector("ok", nil)
	require.ErrorIs(t, err, dbverify.ErrMapping)
	_, err = dbverify.NewHTTPConnector("ok", &dbverify.Mapping{URL: "https://x"})
	require.ErrorIs(t, err, dbverify.ErrMapping, "a Mapping not built by ParseMapping")
}

func FuzzParseMapping(f *testing.F) {
	f.Add([]byte(minimal))
	raw, err := os.ReadFile(filepath.Join("..", "..", "deploy", "dbverify", "example-registry.yaml"))
	require.NoError(f, err)
	f.Add(raw)
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := dbverify.ParseMapping(data)
		if err != nil {
			require.ErrorIs(t, err, dbverify.ErrMapping)
			return
		}
		require.NotEmpty(t, m.URL)
	})
}
