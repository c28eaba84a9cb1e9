package dbverify_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openekyc/ekyc/services/dbverify"
)

func TestVerifyFullMatch(t *testing.T) {
	r := newRegistry(t)
	c := newConnector(t, r, fastTuning)
	res, err := c.Verify(context.Background(), annaQuery())
	require.NoError(t, err)
	require.Equal(t, dbverify.Result{Connector: "registry", Found: true, Reference: "TX-1001", Fields: map[dbverify.Field]dbverify.Status{
		dbverify.FieldName: dbverify.StatusMatch, dbverify.FieldDateOfBirth: dbverify.StatusMatch, dbverify.FieldDocumentNumber: dbverify.StatusMatch,
	}}, res)
	require.Equal(t, dbverify.OutcomeMatch, res.Outcome())
	require.EqualValues(t, 1, r.requests.Load())
}

func TestVerifyPartialMatch(t *testing.T) {
	r := newRegistry(t)
	c := newConnector(t, r, fastTuning)
	q := annaQuery()
	q.DateOfBirth = "1985-08-13" // name matches, date of birth differs
	res, err := c.Verify(context.Background(), q)
	require.NoError(t, err)
	require.Equal(t, dbverify.StatusMatch, res.Fields[dbverify.FieldName])
	require.Equal(t, dbverify.StatusNoMatch, res.Fields[dbverify.FieldDateOfBirth])
	require.Equal(t, dbverify.OutcomePartialMatch, res.Outcome())
}

func TestVerifyNoMatch(t *testing.T) {
	r := newRegistry(t)
	c := newConnector(t, r, fastTuning)

	q := annaQuery()
	q.DocumentNumber = "ZZ0000000" // the registry has no such record
	res, err := c.Verify(context.Background(), q)
	require.NoError(t, err)
	require.False(t, res.Found)
	require.Empty(t, res.Fields)
	require.Equal(t, "TX-0", res.Reference)
	require.Equal(t, dbverify.OutcomeNoMatch, res.Outcome())

	// A record whose name and date of birth both differ is a no-match too
	// (the document number alone is not an identity).
	q = annaQuery()
	q.GivenNames, q.Surname, q.DateOfBirth = "Someone", "Else", "1970-01-01"
	c2 := newConnector(t, r, fastTuning)
	res, err = c2.Verify(context.Background(), q)
	require.NoError(t, err)
	require.True(t, res.Found)
	require.Equal(t, dbverify.OutcomePartialMatch, res.Outcome(), "the document number still matches")
}

func TestVerifySlowRegistryTimesOutAndRetries(t *testing.T) {
	r := newRegistry(t)
	r.setMode("slow")
	c := newConnector(t, r, "timeout: 50ms\nretries: 1\nbackoff: 1ms")
	_, err := c.Verify(context.Background(), annaQuery())
	require.ErrorIs(t, err, dbverify.ErrUnavailable)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.EqualValues(t, 2, r.requests.Load(), "one attempt and one retry")
}

func TestVerifyRetriesServerErrors(t *testing.T) {
	r := newRegistry(t)
	r.failFirst.Store(2)
	c := newConnector(t, r, fastTuning)
	res, err := c.Verify(context.Background(), annaQuery())
	require.NoError(t, err)
	require.Equal(t, dbverify.OutcomeMatch, res.Outcome())
	require.EqualValues(t, 3, r.requests.Load(), "two 500s, then the answer")
	require.Equal(t, "closed", c.State())
}

// fakeClock is the breaker's clock: time moves only when the test says so.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeClock) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

func TestBreakerOpensAndRecovers(t *testing.T) {
	r := newRegistry(t)
	r.setMode("500")
	clock := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	c := newConnector(t, r, "retries: 1\nbackoff: 1ms\nbreaker: {failures: 2, cooldown: 30s}", dbverify.WithClock(clock.Now))
	ctx := context.Background()

	for i := 0; i < 2; i++ {
		_, err := c.Verify(ctx, annaQuery())
		require.ErrorIs(t, err, dbverify.ErrUnavailable)
		require.NotErrorIs(t, err, dbverify.ErrCircuitOpen)
	}
	require.EqualValues(t, 4, r.requests.Load(), "two verifications of two attempts each")
	require.Equal(t, "open", c.State())

	// Open: later calls fail fast without reaching the registry.
	for i := 0; i < 5; i++ {
		_, err := c.Verify(ctx, annaQuery())
		require.ErrorIs(t, err, dbverify.ErrCircuitOpen)
		require.ErrorIs(t, err, dbverify.ErrUnavailable)
	}
	require.EqualValues(t, 4, r.requests.Load(), "no request while the circuit is open")

	// After the cool-down one trial goes through; it fails: open again.
	clock.Advance(31 * time.Second)
	require.Equal(t, "half-open", c.State())
	_, err := c.Verify(ctx, annaQuery())
	require.ErrorIs(t, err, dbverify.ErrUnavailable)
	require.NotErrorIs(t, err, dbverify.ErrCircuitOpen)
	require.EqualValues(t, 6, r.requests.Load())
	_, err = c.Verify(ctx, annaQuery())
	require.ErrorIs(t, err, dbverify.ErrCircuitOpen)
	require.EqualValues(t, 6, r.requests.Load())

	// The registry recovers; the next trial closes the circuit.
	r.setMode("normal")
	clock.Advance(31 * time.Second)
	res, err := c.Verify(ctx, annaQuery())
	require.NoError(t, err)
	require.Equal(t, dbverify.OutcomeMatch, res.Outcome())
	require.Equal(t, "closed", c.State())
	_, err = c.Verify(ctx, annaQuery())
	require.NoError(t, err)
}

func TestVerifyBadResponses(t *testing.T) {
	for _, tc := range []struct {
		mode, msg string
	}{
		{"malformed", "malformed JSON"},
		{"html", "content type is not JSON"},
		{"unexpected", "unexpected value at result.nameMatch"},
		{"missing", "missing field result.birthDateMatch"},
		{"badref", "transactionId: reference is not a short identifier"},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			r := newRegistry(t)
			r.setMode(tc.mode)
			c := newConnector(t, r, fastTuning)
			_, err := c.Verify(context.Background(), annaQuery())
			require.ErrorIs(t, err, dbverify.ErrResponse)
			require.Contains(t, err.Error(), tc.msg)
			require.EqualValues(t, 1, r.requests.Load(), "an answer that cannot be read is not retried")
			requireNoPII(t, err)
			require.NotContains(t, err.Error(), "maintenance", "the body is not echoed")
			require.Equal(t, "closed", c.State(), "a registry that answers is up")
		})
	}
}

func TestVerifyRejectedRequests(t *testing.T) {
	t.Run("wrong key", func(t *testing.T) {
		r := newRegistry(t)
		m, err := dbverify.ParseMapping([]byte(mappingFor(r.srv.URL, fastTuning)))
		require.NoError(t, err)
		c, err := dbverify.NewHTTPConnector("registry", m, dbverify.WithLookupEnv(env(apiKeyEnv, "not-the-key")))
		require.NoError(t, err)
		_, err = c.Verify(context.Background(), annaQuery())
		require.ErrorIs(t, err, dbverify.ErrRejected)
		require.ErrorIs(t, err, dbverify.ErrUnauthorized)
		require.NotContains(t, err.Error(), "not-the-key")
		require.EqualValues(t, 1, r.requests.Load(), "4xx is not retried")
	})
	t.Run("no key", func(t *testing.T) {
		r := newRegistry(t)
		m, err := dbverify.ParseMapping([]byte(strings.Replace(mappingFor(r.srv.URL, fastTuning),
			"auth_header: {name: X-Api-Key, value_env: "+apiKeyEnv+"}", "", 1)))
		require.NoError(t, err)
		c, err := dbverify.NewHTTPConnector("registry", m)
		require.NoError(t, err)
		_, err = c.Verify(context.Background(), annaQuery())
		require.ErrorIs(t, err, dbverify.ErrUnauthorized)
		require.EqualValues(t, 1, r.requests.Load())
	})
	t.Run("unset env", func(t *testing.T) {
		r := newRegistry(t)
		m, err := dbverify.ParseMapping([]byte(mappingFor(r.srv.URL, fastTuning)))
		require.NoError(t, err)
		_, err = dbverify.NewHTTPConnector("registry", m, dbverify.WithLookupEnv(env("OTHER", "x")))
		require.ErrorIs(t, err, dbverify.ErrMapping)
		require.Contains(t, err.Error(), apiKeyEnv+" is not set")
	})
	t.Run("400", func(t *testing.T) {
		r := newRegistry(t)
		r.setMode("400")
		c := newConnector(t, r, fastTuning)
		_, err := c.Verify(context.Background(), annaQuery())
		require.ErrorIs(t, err, dbverify.ErrRejected)
		require.NotErrorIs(t, err, dbverify.ErrUnauthorized)
		require.EqualValues(t, 1, r.requests.Load())
	})
	t.Run("redirect not followed", func(t *testing.T) {
		r := newRegistry(t)
		r.setMode("redirect")
		c := newConnector(t, r, fastTuning)
		_, err := c.Verify(context.Background(), annaQuery())
		require.ErrorIs(t, err, dbverify.ErrRejected)
		require.Contains(t, err.Error(), "HTTP 302")
	})
}

func TestVerifyNotFoundStatus(t *testing.T) {
	srv := newStatusServer(t, http.StatusNotFound)
	m, err := dbverify.ParseMapping([]byte(strings.Replace(mappingFor(srv, fastTuning),
		"  reference: transactionId", "  reference: transactionId\n  not_found_status: [404]", 1)))
	require.NoError(t, err)
	c, err := dbverify.NewHTTPConnector("registry", m, dbverify.WithLookupEnv(env(apiKeyEnv, apiKey)))
	require.NoError(t, err)
	res, err := c.Verify(context.Background(), annaQuery())
	require.NoError(t, err)
	require.False(t, res.Found)
	require.Equal(t, dbverify.OutcomeNoMatch, res.Outcome())
}

func TestVerifyInsufficientData(t *testing.T) {
	r := newRegistry(t)
	c := newConnector(t, r, fastTuning)
	q := annaQuery()
	q.DocumentNumber = " "
	_, err := c.Verify(context.Background(), q)
	require.ErrorIs(t, err, dbverify.ErrInsufficientData)
	require.Contains(t, err.Error(), "document_number")
	require.Zero(t, r.requests.Load(), "the registry is not asked")
}

func TestVerifyCancelledDoesNotTripBreaker(t *testing.T) {
	r := newRegistry(t)
	r.setMode("slow")
	c := newConnector(t, r, "timeout: 1m\nretries: 0\nbreaker: {failures: 1, cooldown: 1m}")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := c.Verify(ctx, annaQuery())
		done <- err
	}()
	require.Eventually(t, func() bool { return r.requests.Load() == 1 }, 10*time.Second, 5*time.Millisecond)
	cancel()
	err := <-done
	require.ErrorIs(t, err, context.Canceled)
	require.Equal(t, "closed", c.State(), "a caller giving up says nothing about the registry")
}

// TestTemplateEscaping: names with quotes, backslashes, non-ASCII letters,
// markup, and text that looks like JSON or a placeholder reach the
// registry as exactly those strings, and add no keys to the request.
func TestTemplateEscaping(t *testing.T) {
	r := newRegistry(t)
	c := newConnector(t, r, fastTuning)
	q := dbverify.Query{GivenNames: records[1].given, Surname: records[1].surname, DateOfBirth: records[1].dob,
		DocumentNumber: records[1].doc}
	res, err := c.Verify(context.Background(), q)
	require.NoError(t, err)
	require.Equal(t, dbverify.OutcomeMatch, res.Outcome(), "the registry compared the exact strings")

	q.GivenNames = `x", "admin": true, "y": "`
	q.Surname = "{{document_number}} </script>\u2028\x00\t"
	q.DateOfBirth = ""
	_, err = c.Verify(context.Background(), q)
	require.NoError(t, err)
	var got map[string]any
	require.NoError(t, json.Unmarshal(r.body(), &got))
	require.Equal(t, map[string]any{
		"person":   map[string]any{"firstName": q.GivenNames, "lastName": q.Surname},
		"document": map[string]any{"number": records[1].doc},
		"consent":  true,
	}, got, "an empty whole-placeholder value is left out; nothing is substituted twice")
}

func TestTemplateAsYAML(t *testing.T) {
	r := newRegistry(t)
	m, err := dbverify.ParseMapping([]byte(`
url: ` + r.srv.URL + `
auth_header: {name: X-Api-Key, value_env: ` + apiKeyEnv + `}
request_template:
  person: {firstName: "{{given_names}}", lastName: "{{surname}}", birthDate: "{{date_of_birth}}"}
  document: {number: "Nr. {{document_number}}/{{issuing_country}}"}
  flags: [1, 2.5, null, "{{nationality}}"]
response:
  fields:
    name: {path: result.nameMatch, match: ["y"], no_match: ["n"]}
`))
	require.NoError(t, err)
	c, err := dbverify.NewHTTPConnector("registry", m, dbverify.WithLookupEnv(env(apiKeyEnv, apiKey)))
	require.NoError(t, err)
	q := annaQuery()
	q.IssuingCountry = "UTO"
	_, err = c.Verify(context.Background(), q)
	require.Error(t, err, "the registry finds no record for Nr. …, so status NOT_FOUND has no result.nameMatch")
	require.ErrorIs(t, err, dbverify.ErrResponse)
	var got map[string]any
	require.NoError(t, json.Unmarshal(r.body(), &got))
	require.Equal(t, "Nr. L898902C3/UTO", got["document"].(map[string]any)["number"])
	require.Equal(t, []any{1.0, 2.5, nil, ""}, got["flags"])
}

func requireNoPII(t *testing.T, err error) {
	t.Helper()
	for _, s := range []string{"Anna", "Eriksson", "1985", "L898902C3"} {
		require.NotContains(t, err.Error(), s)
	}
}

func newStatusServer(t *testing.T, status int) string {
	t.Helper()
	srv := newRegistry(t)
	srv.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(status) })
	return srv.srv.URL
}
