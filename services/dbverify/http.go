package dbverify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"
)

// HTTPConnector is the generic HTTP/JSON Connector driven by a Mapping.
// Safe for concurrent use.
type HTTPConnector struct {
	name    string
	m       *Mapping
	hc      *http.Client
	auth    string // the auth header's full value, "" without one
	breaker *breaker
}

// Option configures NewHTTPConnector.
type Option func(*connectorOptions)

type connectorOptions struct {
	hc        *http.Client
	lookupEnv func(string) (string, bool)
	now       func() time.Time
}

// WithHTTPClient replaces the http.Client (TLS settings, proxies). Its
// redirect policy is replaced: redirects are never followed, so that a
// credential header is never sent to another address.
func WithHTTPClient(hc *http.Client) Option { return func(o *connectorOptions) { o.hc = hc } }

// WithLookupEnv replaces os.LookupEnv for auth_header.value_env.
func WithLookupEnv(fn func(string) (string, bool)) Option {
	return func(o *connectorOptions) { o.lookupEnv = fn }
}

// WithClock replaces time.Now for the circuit breaker's cool-down.
func WithClock(now func() time.Time) Option { return func(o *connectorOptions) { o.now = now } }

var connectorNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// NewHTTPConnector returns the connector name for mapping m. The auth
// header's secret is read from the environment now; an unset or empty
// variable is an error wrapping ErrMapping that names the variable.
func NewHTTPConnector(name string, m *Mapping, opts ...Option) (*HTTPConnector, error) {
	if !connectorNameRE.MatchString(name) {
		return nil, fmt.Errorf("%w: connector name %q: want %s", ErrMapping, name, connectorNameRE)
	}
	if m == nil || m.template == nil {
		return nil, fmt.Errorf("%w: connector %s: no parsed mapping (use ParseMapping)", ErrMapping, name)
	}
	o := connectorOptions{lookupEnv: os.LookupEnv, now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	c := &HTTPConnector{name: name, m: m,
		breaker: &breaker{threshold: m.BreakerFailures, cooldown: m.BreakerCooldown, now: o.now}}
	hc := &http.Client{}
	if o.hc != nil {
		cp := *o.hc
		hc = &cp
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.hc = hc
	if a := m.Auth; a != nil {
		v, ok := o.lookupEnv(a.ValueEnv)
		v = strings.TrimSpace(v)
		switch {
		case !ok || v == "":
			return nil, fmt.Errorf("%w: connector %s: auth_header.value_env: %s is not set", ErrMapping, name, a.ValueEnv)
		case strings.ContainsAny(v, "\r\n"):
			return nil, fmt.Errorf("%w: connector %s: auth_header.value_env: %s holds a line break", ErrMapping, name, a.ValueEnv)
		}
		c.auth = a.Prefix + v
	}
	return c, nil
}

// Name implements Connector.
func (c *HTTPConnector) Name() string { return c.name }

// Mapping returns the connector's mapping (read only).
func (c *HTTPConnector) Mapping() *Mapping { return c.m }

// State is the breaker's state: "closed", "open" or "half-open".
func (c *HTTPConnector) State() string { return c.breaker.state() }

// Verify implements Connector. It checks the mapping's required inputs,
// consults the breaker, then makes up to 1+retries attempts, each bounded
// by the mapping's timeout; connection errors, timeouts, 429 and 5xx are
// retried, other failures are not. ctx bounds the whole call.
func (c *HTTPConnector) Verify(ctx context.Context, q Query) (Result, error) {
	var missing []string
	for _, r := range c.m.Required {
		if strings.TrimSpace(q.value(r)) == "" {
			missing = append(missing, r)
		}
	}
	if len(missing) > 0 {
		return Result{}, fmt.Errorf("%w: connector %s requires %s", ErrInsufficientData, c.name, strings.Join(missing, ", "))
	}
	body, err := render(c.m.template, q)
	if err != nil { // unreachable: every template rendered at parse time
		return Result{}, fmt.Errorf("%w: connector %s: rendering the request: %v", ErrMapping, c.name, err)
	}
	ok, trial := c.breaker.allow()
	if !ok {
		return Result{}, fmt.Errorf("%w: connector %s: %w", ErrUnavailable, c.name, ErrCircuitOpen)
	}
	var last error
	for attempt := 0; attempt <= c.m.Retries; attempt++ {
		if attempt > 0 {
			d := c.m.Backoff << (attempt - 1)
			d = d/2 + time.Duration(rand.Int64N(int64(d)+1)) // ±50% jitter
			if sleepCtx(ctx, d) != nil {
				break
			}
		}
		res, retry, err := c.once(ctx, body)
		if err == nil {
			c.breaker.done(trial, outcomeSuccess)
			res.Connector = c.name
			return res, nil
		}
		last = err
		if !retry || ctx.Err() != nil {
			break
		}
	}
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		// The caller gave up (shutdown): says nothing about the registry.
		c.breaker.done(trial, outcomeIgnore)
		return Result{}, fmt.Errorf("%w: connector %s: %w", ErrUnavailable, c.name, ctx.Err())
	case ctx.Err() != nil:
		c.breaker.done(trial, outcomeFailure)
		return Result{}, fmt.Errorf("%w: connector %s: %w", ErrUnavailable, c.name, ctx.Err())
	case errors.Is(last, ErrUnavailable):
		c.breaker.done(trial, outcomeFailure)
	default:
		// The registry answered (4xx, unreadable response): it is up.
		c.breaker.done(trial, outcomeSuccess)
	}
	return Result{}, last
}

// once makes one attempt; retry says whether another may help.
func (c *HTTPConnector) once(ctx context.Context, body []byte) (res Result, retry bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, c.m.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, c.m.Method, c.m.URL, bytes.NewReader(body))
	if err != nil {
		return Result{}, false, fmt.Errorf("%w: connector %s: building the request: %v", ErrRejected, c.name, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	for k, v := range c.m.Headers {
		req.Header.Set(k, v)
	}
	if c.auth != "" {
		req.Header.Set(c.m.Auth.Name, c.auth)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		// *url.Error names the URL (configuration, not applicant data).
		return Result{}, true, fmt.Errorf("%w: connector %s: %w", ErrUnavailable, c.name, transportError(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, c.m.MaxResponseBytes+1))
	if err != nil {
		return Result{}, true, fmt.Errorf("%w: connector %s: reading the response: %w", ErrUnavailable, c.name, transportError(err))
	}
	st := resp.StatusCode
	switch {
	case st == http.StatusTooManyRequests || st >= 500:
		return Result{}, true, fmt.Errorf("%w: connector %s: HTTP %d", ErrUnavailable, c.name, st)
	case slices.Contains(c.m.resp.notFoundStatus, st):
		return Result{Found: false}, false, nil
	case st == http.StatusUnauthorized || st == http.StatusForbidden:
		return Result{}, false, fmt.Errorf("%w: connector %s: HTTP %d: %w", ErrRejected, c.name, st, ErrUnauthorized)
	case st < 200 || st > 299:
		return Result{}, false, fmt.Errorf("%w: connector %s: HTTP %d", ErrRejected, c.name, st)
	case int64(len(data)) > c.m.MaxResponseBytes:
		return Result{}, false, fmt.Errorf("%w: connector %s: response over %d bytes", ErrResponse, c.name, c.m.MaxResponseBytes)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return Result{}, false, fmt.Errorf("%w: connector %s: content type is not JSON", ErrResponse, c.name)
		}
	}
	res, err = c.m.resp.read(data)
	if err != nil {
		return Result{}, false, fmt.Errorf("%w: connector %s: %v", ErrResponse, c.name, err)
	}
	return res, false, nil
}

// transportError drops the *url.Error wrapper, which repeats the method
// and URL (configuration the connector's name already identifies), and
// keeps its cause for errors.Is (context.DeadlineExceeded).
func transportError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		return ue.Err
	}
	return err
}

// read maps a response body to a Result.
func (r responseMapping) read(data []byte) (Result, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return Result{}, errors.New("malformed JSON")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Result{}, errors.New("malformed JSON: data after the value")
	}
	res := Result{Found: true}
	if r.found != nil {
		v, ok := r.found.path.lookup(doc)
		if !ok {
			return Result{}, fmt.Errorf("missing field %s", r.found.path)
		}
		k, ok := canonJSON(v)
		found, known := r.found.values[k]
		if !ok || !known {
			return Result{}, fmt.Errorf("unexpected value at %s", r.found.path)
		}
		res.Found = found
	}
	if r.reference != nil {
		if v, ok := r.reference.lookup(doc); ok && v != nil {
			ref, err := reference(v)
			if err != nil {
				return Result{}, fmt.Errorf("%s: %v", r.reference, err)
			}
			res.Reference = ref
		}
	}
	if !res.Found {
		return res, nil
	}
	res.Fields = make(map[Field]Status, len(r.fields))
	for _, f := range r.fields {
		v, ok := f.path.lookup(doc)
		if !ok {
			if f.optional {
				res.Fields[f.field] = StatusNotAvailable
				continue
			}
			return Result{}, fmt.Errorf("missing field %s", f.path)
		}
		k, ok := canonJSON(v)
		st, known := f.values[k]
		if !ok || !known {
			return Result{}, fmt.Errorf("unexpected value at %s", f.path)
		}
		res.Fields[f.field] = st
	}
	return res, nil
}

var referenceRE = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

// reference accepts a short identifier: a registry reference is kept in
// the decision, so anything that could be free text (a name) is refused.
func reference(v any) (string, error) {
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case json.Number:
		s = x.String()
	default:
		return "", errors.New("reference is not a string or number")
	}
	if !referenceRE.MatchString(s) {
		return "", errors.New("reference is not a short identifier (1..128 of A-Z a-z 0-9 . _ : -)")
	}
	return s, nil
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
