package media

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// provider is a real HTTP server speaking the protocol; each test scripts
// its answers.
func provider(t *testing.T, handle func(w http.ResponseWriter, q Query, n int64)) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		var q Query
		if r.Method != http.MethodPost || json.NewDecoder(r.Body).Decode(&q) != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		handle(w, q, n)
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

func noSleep(context.Context, time.Duration) error { return nil }

func TestSearchReturnsProviderArticles(t *testing.T) {
	srv, _ := provider(t, func(w http.ResponseWriter, q Query, _ int64) {
		require.Equal(t, "JOHN DOE", q.Name)
		require.Equal(t, []string{"GB"}, q.Countries)
		_, _ = w.Write([]byte(`{"articles":[{"id":"a1","title":"Fraud charges","url":"https://news.example/a1","categories":["fraud"],"score":0.9}]}`))
	})
	c := NewHTTPClient(srv.URL, WithToken("t0k"))
	arts, err := c.Search(context.Background(), Query{Name: "JOHN DOE", Countries: []string{"GB"}})
	require.NoError(t, err)
	require.Equal(t, []Article{{ID: "a1", Title: "Fraud charges", URL: "https://news.example/a1", Categories: []string{"fraud"}, Score: 0.9}}, arts)
}

func TestSearchRetriesTransientFailures(t *testing.T) {
	srv, calls := provider(t, func(w http.ResponseWriter, _ Query, n int64) {
		if n < 3 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte(`{"articles":[]}`))
	})
	c := NewHTTPClient(srv.URL, WithRetries(2, time.Millisecond))
	c.sleep = noSleep
	arts, err := c.Search(context.Background(), Query{Name: "X"})
	require.NoError(t, err)
	require.Empty(t, arts)
	require.EqualValues(t, 3, calls.Load())
}

func TestSearchDoesNotRetryClientErrorsOrBadBodies(t *testing.T) {
	for name, h := range map[string]func(http.ResponseWriter){
		"403":       func(w http.ResponseWriter) { http.Error(w, "no", http.StatusForbidden) },
		"malformed": func(w http.ResponseWriter) { _, _ = w.Write([]byte(`{"articles":[{`)) },
		"score":     func(w http.ResponseWriter) { _, _ = w.Write([]byte(`{"articles":[{"id":"x","score":7}]}`)) },
	} {
		t.Run(name, func(t *testing.T) {
			srv, calls := provider(t, func(w http.ResponseWriter, _ Query, _ int64) { h(w) })
			c := NewHTTPClient(srv.URL, WithRetries(3, time.Millisecond))
			c.sleep = noSleep
			_, err := c.Search(context.Background(), Query{Name: "X"})
			require.ErrorIs(t, err, ErrProvider)
			require.EqualValues(t, 1, calls.Load())
		})
	}
	_, err := NewHTTPClient("http://127.0.0.1:1").Search(context.Background(), Query{})
	require.ErrorIs(t, err, ErrBadQuery)
}

func TestSearchTimeout(t *testing.T) {
	srv, _ := provider(t, func(w http.ResponseWriter, _ Query, _ int64) {
		time.Sleep(200 * time.Millisecond)
		_, _ = w.Write([]byte(`{"articles":[]}`))
	})
	c := NewHTTPClient(srv.URL, WithTimeout(20*time.Millisecond), WithRetries(0, 0))
	_, err := c.Search(context.Background(), Query{Name: "X"})
	require.ErrorIs(t, err, ErrProvider)
}

func TestCircuitBreaker(t *testing.T) {
	var healthy atomic.Bool
	srv, calls := provider(t, func(w http.ResponseWriter, _ Query, _ int64) {
		if !healthy.Load() {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		_, _ = w.Write([]byte(`{"articles":[]}`))
	})
	now := time.Unix(1_700_000_000, 0)
	c := NewHTTPClient(srv.URL, WithRetries(0, 0), WithBreaker(3, time.Minute))
	c.breaker.now = func() time.Time { return now }
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		_, err := c.Search(ctx, Query{Name: "X"})
		require.ErrorIs(t, err, ErrProvider)
	}
	require.Equal(t, "open", c.State())
	_, err := c.Search(ctx, Query{Name: "X"})
	require.True(t, errors.Is(err, ErrCircuitOpen))
	require.EqualValues(t, 3, calls.Load(), "an open circuit does not call the provider")

	now = now.Add(2 * time.Minute) // cooldown over: one trial
	require.Equal(t, "half-open", c.State())
	_, err = c.Search(ctx, Query{Name: "X"})
	require.ErrorIs(t, err, ErrProvider, "the trial fails: open again")
	require.Equal(t, "open", c.State())

	now = now.Add(2 * time.Minute)
	healthy.Store(true)
	_, err = c.Search(ctx, Query{Name: "X"})
	require.NoError(t, err)
	require.Equal(t, "closed", c.State())
}
