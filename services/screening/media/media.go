// Package media is the adverse-media side of screening: a Provider interface
// for news/adverse-media search services, and an HTTP client for providers
// that speak the small JSON protocol below, with timeouts, retries with
// exponential backoff and jitter, and a circuit breaker. It returns what the
// provider returns and nothing else: with no provider configured there are no
// adverse-media results, never invented ones.
//
// Protocol (POST {endpoint}, JSON; bearer token optional):
//
//	request:  {"name": "…", "birth_date": "1970-01-31", "countries": ["DE"], "limit": 20}
//	response: {"articles": [{"id": "…", "title": "…", "url": "…", "published": "2025-03-01",
//	           "source": "…", "categories": ["fraud", "corruption"], "score": 0.87}]}
//
// Adapters for commercial providers translate to and from this shape.
package media

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"
)

// Query is what is searched.
type Query struct {
	Name      string   `json:"name"`
	BirthDate string   `json:"birth_date,omitempty"` // YYYY-MM-DD, YYYY-MM or YYYY
	Countries []string `json:"countries,omitempty"`  // ISO 3166-1 alpha-2
	Limit     int      `json:"limit,omitempty"`
}

// Article is one adverse-media result.
type Article struct {
	ID         string   `json:"id"`
	Title      string   `json:"title"`
	URL        string   `json:"url"`
	Published  string   `json:"published,omitempty"`
	Source     string   `json:"source,omitempty"`
	Categories []string `json:"categories,omitempty"`
	// Score is the provider's relevance in 0..1.
	Score float64 `json:"score"`
}

// Provider searches adverse media.
type Provider interface {
	Search(ctx context.Context, q Query) ([]Article, error)
}

// Errors.
var (
	// ErrCircuitOpen is returned without calling the provider while the
	// breaker is open.
	ErrCircuitOpen = errors.New("media: circuit open")
	// ErrProvider wraps failures of the provider (status, body, transport).
	ErrProvider = errors.New("media: provider error")
	// ErrBadQuery is returned for a query without a name.
	ErrBadQuery = errors.New("media: bad query")
)

// HTTPClient is a Provider over HTTP. Safe for concurrent use.
type HTTPClient struct {
	endpoint string
	token    string
	hc       *http.Client
	timeout  time.Duration
	retries  int
	backoff  time.Duration
	maxBody  int64
	breaker  *breaker
	sleep    func(context.Context, time.Duration) error
}

// Option configures NewHTTPClient.
type Option func(*HTTPClient)

// WithToken sends "Authorization: Bearer token".
func WithToken(token string) Option { return func(c *HTTPClient) { c.token = token } }

// WithTimeout bounds each attempt (default 3 s).
func WithTimeout(d time.Duration) Option { return func(c *HTTPClient) { c.timeout = d } }

// WithRetries sets the retries after the first attempt (default 2) and the
// first backoff (default 200 ms, doubled per retry, ±50% jitter).
func WithRetries(n int, backoff time.Duration) Option {
	return func(c *HTTPClient) { c.retries, c.backoff = max(n, 0), backoff }
}

// WithBreaker opens the circuit after failures consecutive failed searches
// and keeps it open for cooldown; then one trial search closes it again or
// reopens it (defaults 5 and 30 s).
func WithBreaker(failures int, cooldown time.Duration) Option {
	return func(c *HTTPClient) {
		c.breaker = &breaker{threshold: max(failures, 1), cooldown: cooldown, now: time.Now}
	}
}

// WithHTTPClient replaces the http.Client (TLS settings, proxies).
func WithHTTPClient(hc *http.Client) Option { return func(c *HTTPClient) { c.hc = hc } }

// NewHTTPClient returns a client for the provider at endpoint.
func NewHTTPClient(endpoint string, opts ...Option) *HTTPClient {
	c := &HTTPClient{endpoint: endpoint, hc: &http.Client{}, timeout: 3 * time.Second, retries: 2,
		backoff: 200 * time.Millisecond, maxBody: 4 << 20, sleep: sleepCtx}
	for _, o := range opts {
		o(c)
	}
	if c.breaker == nil {
		c.breaker = &breaker{threshold: 5, cooldown: 30 * time.Second, now: time.Now}
	}
	return c
}

// Search queries the provider, retrying transport errors, timeouts, 429 and
// 5xx; 4xx other than 429 are not retried.
func (c *HTTPClient) Search(ctx context.Context, q Query) ([]Article, error) {
	if q.Name == "" {
		return nil, fmt.Errorf("%w: name required", ErrBadQuery)
	}
	if !c.breaker.allow() {
		return nil, ErrCircuitOpen
	}
	body, err := json.Marshal(q)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadQuery, err)
	}
	var last error
	for attempt := 0; attempt <= c.retries; attempt++ {
		if attempt > 0 {
			d := c.backoff << (attempt - 1)
			d = d/2 + time.Duration(rand.Int64N(int64(d)+1)) // ±50% jitter
			if err := c.sleep(ctx, d); err != nil {
				break
			}
		}
		arts, retry, err := c.once(ctx, body)
		if err == nil {
			c.breaker.record(true)
			return arts, nil
		}
		last = err
		if !retry || ctx.Err() != nil {
			break
		}
	}
	c.breaker.record(false)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return nil, last
}

func (c *HTTPClient) once(ctx context.Context, body []byte) (arts []Article, retry bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, false, fmt.Errorf("%w: %v", ErrProvider, err)
	}
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, true, fmt.Errorf("%w: %v", ErrProvider, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, c.maxBody+1))
	if err != nil {
		return nil, true, fmt.Errorf("%w: reading body: %v", ErrProvider, err)
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return nil, true, fmt.Errorf("%w: status %d", ErrProvider, resp.StatusCode)
	case resp.StatusCode != http.StatusOK:
		return nil, false, fmt.Errorf("%w: status %d", ErrProvider, resp.StatusCode)
	case int64(len(data)) > c.maxBody:
		return nil, false, fmt.Errorf("%w: response over %d bytes", ErrProvider, c.maxBody)
	}
	var out struct {
		Articles []Article `json:"articles"`
	}
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, false, fmt.Errorf("%w: malformed response: %v", ErrProvider, err)
	}
	for _, a := range out.Articles {
		if a.Score < 0 || a.Score > 1 {
			return nil, false, fmt.Errorf("%w: article %q score %v outside 0..1", ErrProvider, a.ID, a.Score)
		}
	}
	return out.Articles, false, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// breaker is a consecutive-failure circuit breaker: closed → open after
// threshold failures → half-open after cooldown (one trial) → closed or open.
type breaker struct {
	mu        sync.Mutex
	threshold int
	cooldown  time.Duration
	now       func() time.Time
	failures  int
	openUntil time.Time
	trial     bool
}

func (b *breaker) allow() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.failures < b.threshold {
		return true
	}
	if b.now().Before(b.openUntil) || b.trial {
		return false
	}
	b.trial = true // half-open: this caller is the trial
	return true
}

func (b *breaker) record(ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.trial = false
	if ok {
		b.failures = 0
		return
	}
	b.failures++
	if b.failures >= b.threshold {
		b.openUntil = b.now().Add(b.cooldown)
	}
}

// State reports the breaker's state: "closed", "open" or "half-open".
func (c *HTTPClient) State() string {
	b := c.breaker
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.failures < b.threshold:
		return "closed"
	case b.now().Before(b.openUntil) || b.trial:
		return "open"
	default:
		return "half-open"
	}
}
