// Command gateway is a load generator for ekyc's HTTP API, run as a separate
// process against a node (see README.md).
//
//	go run ./bench/gateway -url http://127.0.0.1:8080 -key $KEY -c 32 -d 30s -mode mixed
//
// Modes:
//   - create: POST /v1/sessions (one Pebble write with sealed PII per request);
//   - status: GET /v1/sessions/{id} over sessions created in a warm-up;
//   - mixed:  one create for every four status reads.
//
// It prints requests/s, latency percentiles and error counts per operation.
// Errors (transport errors and unexpected statuses) are counted, never
// retried; 429s are counted apart, as the limiter working, not as failures.
package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "gateway bench:", err)
		os.Exit(1)
	}
}

type options struct {
	url      string
	key      string
	conc     int
	dur      time.Duration
	mode     string
	warm     int
	insecure bool
	checks   string
}

func run() error {
	var o options
	flag.StringVar(&o.url, "url", "http://127.0.0.1:8080", "gateway base URL")
	flag.StringVar(&o.key, "key", os.Getenv("EKYC_API_KEY"), "API key with write scope (default $EKYC_API_KEY)")
	flag.IntVar(&o.conc, "c", 16, "concurrent clients")
	flag.DurationVar(&o.dur, "d", 10*time.Second, "duration of the measured run")
	flag.StringVar(&o.mode, "mode", "mixed", "create, status or mixed")
	flag.IntVar(&o.warm, "warm", 200, "sessions created before a status or mixed run")
	flag.BoolVar(&o.insecure, "insecure", false, "skip TLS certificate verification (self-signed test certificates)")
	flag.StringVar(&o.checks, "checks", "screening", "comma-separated checks of the created sessions")
	flag.Parse()
	if o.key == "" {
		return errors.New("-key (or EKYC_API_KEY) is required")
	}
	if o.conc < 1 || o.dur <= 0 {
		return errors.New("-c and -d must be positive")
	}
	if o.mode != "create" && o.mode != "status" && o.mode != "mixed" {
		return fmt.Errorf("unknown -mode %q (want create, status or mixed)", o.mode)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	tr := &http.Transport{MaxIdleConns: o.conc * 2, MaxIdleConnsPerHost: o.conc * 2, IdleConnTimeout: time.Minute}
	if o.insecure {
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // opt-in for test certificates
	}
	c := &client{http: &http.Client{Transport: tr, Timeout: 30 * time.Second}, base: strings.TrimRight(o.url, "/"), key: o.key,
		body: createBody(strings.Split(o.checks, ","))}

	var ids []string
	if o.mode != "create" {
		for i := 0; i < o.warm; i++ {
			id, _, err := c.create(ctx)
			if err != nil {
				return fmt.Errorf("warm-up: %w", err)
			}
			ids = append(ids, id)
		}
	}

	stats := map[string]*opStats{"create": {}, "status": {}}
	var seq atomic.Int64
	deadline := time.Now().Add(o.dur)
	rctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < o.conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), uint64(start.UnixNano())))
			for rctx.Err() == nil {
				op := "status"
				switch o.mode {
				case "create":
					op = "create"
				case "mixed":
					if seq.Add(1)%5 == 0 {
						op = "create"
					}
				}
				t0 := time.Now()
				var status int
				var err error
				if op == "create" {
					_, status, err = c.create(rctx)
				} else {
					status, err = c.status(rctx, ids[rng.IntN(len(ids))])
				}
				if rctx.Err() != nil && err != nil {
					return // cut off by the end of the run
				}
				stats[op].record(time.Since(t0), status, err)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)

	fmt.Printf("gateway load: url=%s mode=%s c=%d d=%s\n", o.url, o.mode, o.conc, elapsed.Round(time.Millisecond))
	fmt.Printf("%-7s %9s %10s %9s %9s %9s %7s %7s\n", "op", "requests", "req/s", "p50", "p99", "max", "errors", "429")
	for _, op := range []string{"create", "status"} {
		s := stats[op]
		s.mu.Lock()
		n := len(s.lat)
		if n == 0 && s.errors == 0 {
			s.mu.Unlock()
			continue
		}
		slices.Sort(s.lat)
		fmt.Printf("%-7s %9d %10.1f %9s %9s %9s %7d %7d\n", op, n, float64(n)/elapsed.Seconds(),
			pct(s.lat, 0.50), pct(s.lat, 0.99), pct(s.lat, 1), s.errors, s.limited)
		if s.firstErr != "" {
			fmt.Printf("        first error: %s\n", s.firstErr)
		}
		s.mu.Unlock()
	}
	return nil
}

type opStats struct {
	mu       sync.Mutex
	lat      []time.Duration // successful requests
	errors   int
	limited  int
	firstErr string
}

func (s *opStats) record(d time.Duration, status int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case err != nil:
		s.errors++
		if s.firstErr == "" {
			s.firstErr = err.Error()
		}
	case status == http.StatusTooManyRequests:
		s.limited++
	default:
		s.lat = append(s.lat, d)
	}
}

func pct(sorted []time.Duration, p float64) string {
	if len(sorted) == 0 {
		return "-"
	}
	i := int(p*float64(len(sorted))) - 1
	i = max(0, min(i, len(sorted)-1))
	return sorted[i].Round(10 * time.Microsecond).String()
}

type client struct {
	http *http.Client
	base string
	key  string
	body []byte
}

// createBody is a synthetic applicant (no real person).
func createBody(checks []string) []byte {
	b, _ := json.Marshal(map[string]any{
		"applicant": map[string]any{"given_names": "Bench", "surname": "Loadtest", "date_of_birth": "1990-01-01", "nationality": "UTO"},
		"document":  map[string]any{"type": "passport", "issuing_country": "UTO"},
		"checks":    checks,
	})
	return b
}

func (c *client) do(ctx context.Context, method, path string, body []byte) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

func (c *client) create(ctx context.Context) (string, int, error) {
	status, b, err := c.do(ctx, http.MethodPost, "/v1/sessions", c.body)
	if err != nil {
		return "", status, err
	}
	if status == http.StatusTooManyRequests {
		return "", status, nil
	}
	if status != http.StatusCreated {
		return "", status, fmt.Errorf("create: status %d: %s", status, truncate(b))
	}
	var out struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(b, &out); err != nil || out.ID == "" {
		return "", status, fmt.Errorf("create: bad response: %s", truncate(b))
	}
	return out.ID, status, nil
}

func (c *client) status(ctx context.Context, id string) (int, error) {
	status, b, err := c.do(ctx, http.MethodGet, "/v1/sessions/"+id, nil)
	if err != nil {
		return status, err
	}
	if status != http.StatusOK && status != http.StatusTooManyRequests {
		return status, fmt.Errorf("status: %d: %s", status, truncate(b))
	}
	return status, nil
}

func truncate(b []byte) string {
	if len(b) > 200 {
		b = b[:200]
	}
	return string(b)
}
