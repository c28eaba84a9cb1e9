package dbverify_test

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openekyc/ekyc/services/dbverify"
)

// registry is a local HTTP server that behaves like an identity registry:
// it holds a few records keyed by document number, checks an API key,
// compares the declared name and date of birth, and can be told to
// misbehave (slow, 5xx, malformed or non-JSON answers).
type registry struct {
	t   *testing.T
	srv *httptest.Server

	requests atomic.Int64
	mode     atomic.Value // string, see ServeHTTP
	// failFirst answers 500 to that many requests, then behaves.
	failFirst atomic.Int64

	mu       sync.Mutex
	lastBody []byte
}

type record struct {
	given, surname, dob, doc, ref string
}

var records = []record{
	{"Anna Maria", "Eriksson", "1985-08-12", "L898902C3", "TX-1001"},
	{"Zoë \"Q\" O'Brien\\", "Ünal-Ωmega", "1990-02-03", "X1234567", "TX-1002"},
}

const (
	apiKeyEnv = "EKYC_TEST_REGISTRY_KEY"
	apiKey    = "s3cr3t-registry-key"
)

func newRegistry(t *testing.T) *registry {
	t.Helper()
	r := &registry{t: t}
	r.mode.Store("normal")
	r.srv = httptest.NewServer(r)
	t.Cleanup(r.srv.Close)
	return r
}

func (r *registry) setMode(m string) { r.mode.Store(m) }

func (r *registry) body() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lastBody
}

type regRequest struct {
	Reference string `json:"reference"`
	Person    struct {
		FirstName string `json:"firstName"`
		LastName  string `json:"lastName"`
		BirthDate string `json:"birthDate"`
	} `json:"person"`
	Document struct {
		Number string `json:"number"`
	} `json:"document"`
}

func (r *registry) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.requests.Add(1)
	body, err := io.ReadAll(req.Body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	r.lastBody = body
	r.mu.Unlock()
	if subtle.ConstantTimeCompare([]byte(req.Header.Get("X-Api-Key")), []byte(apiKey)) != 1 {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if r.failFirst.Add(-1) >= 0 {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	switch r.mode.Load().(string) {
	case "slow": // never answers within any timeout: waits for the client to give up
		<-req.Context().Done()
		return
	case "500":
		w.WriteHeader(http.StatusInternalServerError)
		return
	case "400":
		w.WriteHeader(http.StatusBadRequest)
		return
	case "redirect":
		http.Redirect(w, req, "http://127.0.0.1:1/elsewhere", http.StatusFound)
		return
	case "malformed":
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status": "FOUND", "result": {"nameMatch": "Y"`))
		return
	case "html":
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte(`<html><body>Service maintenance</body></html>`))
		return
	case "unexpected":
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status": "FOUND", "transactionId": "TX-9", "result": {"nameMatch": "MAYBE", "birthDateMatch": true}}`))
		return
	case "missing":
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status": "FOUND", "transactionId": "TX-9", "result": {"nameMatch": "Y"}}`))
		return
	case "badref":
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status": "FOUND", "transactionId": "Anna Maria Eriksson", "result": {"nameMatch": "Y", "birthDateMatch": true}}`))
		return
	}
	var q regRequest
	if err := json.Unmarshal(body, &q); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	for _, rec := range records {
		if rec.doc != q.Document.Number {
			continue
		}
		name := "N"
		if rec.given == q.Person.FirstName && rec.surname == q.Person.LastName {
			name = "Y"
		}
		_ = json.NewEncoder(w).Encode(map[string]any{
			"status": "FOUND", "transactionId": rec.ref,
			"result": map[string]any{"nameMatch": name, "birthDateMatch": rec.dob == q.Person.BirthDate,
				"document": map[string]any{"status": "VALID"}},
		})
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"status": "NOT_FOUND", "transactionId": "TX-0"})
}

// mappingFor is the test registry's mapping file with the given tuning.
func mappingFor(url, tuning string) string {
	return fmt.Sprintf(`
url: %s
auth_header: {name: X-Api-Key, value_env: %s}
%s
required: [surname, document_number]
request_template: |
  {"reference": "{{request_id}}",
   "person": {"firstName": "{{given_names}}", "lastName": "{{surname}}", "birthDate": "{{date_of_birth}}"},
   "document": {"number": "{{document_number}}", "type": "{{document_type}}"},
   "consent": true}
response:
  found: {path: status, found: [FOUND], not_found: [NOT_FOUND]}
  reference: transactionId
  fields:
    name: {path: result.nameMatch, match: ["Y"], no_match: ["N"], not_available: ["U", null]}
    date_of_birth: {path: result.birthDateMatch, match: [true], no_match: [false]}
    document_number: {path: result.document.status, match: [VALID], no_match: [UNKNOWN], optional: true}
`, url, apiKeyEnv, tuning)
}

const fastTuning = "timeout: 2s\nretries: 2\nbackoff: 1ms\nbreaker: {failures: 3, cooldown: 1m}"

func env(key, val string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		if k == key {
			return val, true
		}
		return "", false
	}
}

func newConnector(t *testing.T, r *registry, tuning string, opts ...dbverify.Option) *dbverify.HTTPConnector {
	t.Helper()
	m, err := dbverify.ParseMapping([]byte(mappingFor(r.srv.URL, tuning)))
	require.NoError(t, err)
	c, err := dbverify.NewHTTPConnector("registry", m, append([]dbverify.Option{dbverify.WithLookupEnv(env(apiKeyEnv, apiKey))}, opts...)...)
	require.NoError(t, err)
	return c
}

func annaQuery() dbverify.Query {
	return dbverify.Query{GivenNames: "Anna Maria", Surname: "Eriksson", DateOfBirth: "1985-08-12",
		DocumentNumber: "L898902C3", DocumentType: "passport", RequestID: "req-1"}
}
