package dbverify

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// BenchmarkRenderAndRead measures the per-request work of the connector
// besides the network: rendering the body and reading an answer.
func BenchmarkRenderAndRead(b *testing.B) {
	m, err := ParseMapping([]byte(`
url: https://registry.example/verify
request_template: |
  {"person": {"firstName": "{{given_names}}", "lastName": "{{surname}}", "birthDate": "{{date_of_birth}}"},
   "document": {"number": "{{document_number}}"}, "reference": "{{request_id}}"}
response:
  found: {path: status, found: [FOUND], not_found: [NOT_FOUND]}
  reference: transactionId
  fields:
    name: {path: result.nameMatch, match: ["Y"], no_match: ["N"]}
    date_of_birth: {path: result.birthDateMatch, match: [true], no_match: [false]}
`))
	require.NoError(b, err)
	q := Query{GivenNames: "Anna Maria", Surname: "Eriksson", DateOfBirth: "1985-08-12", DocumentNumber: "L898902C3", RequestID: "0123456789abcdef"}
	answer := []byte(`{"status": "FOUND", "transactionId": "TX-1", "result": {"nameMatch": "Y", "birthDateMatch": true}}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := render(m.template, q); err != nil {
			b.Fatal(err)
		}
		if _, err := m.resp.read(answer); err != nil {
			b.Fatal(err)
		}
	}
}
