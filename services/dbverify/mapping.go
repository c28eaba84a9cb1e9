package dbverify

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Mapping is a parsed, validated mapping file: how one registry is asked
// and how its answer is read. Build it with ParseMapping or LoadMapping.
type Mapping struct {
	// URL is the registry endpoint (http or https).
	URL string
	// Method is POST (default) or PUT: the query travels in the body, never
	// in the URL, where proxies and access logs would keep it.
	Method string
	// Auth is the credential header, nil when the registry needs none.
	Auth *AuthHeader
	// Headers are fixed, non-secret headers sent with every request.
	Headers map[string]string
	// Timeout bounds each attempt (default 3 s).
	Timeout time.Duration
	// Retries after the first attempt (default 2) and the first backoff
	// (default 200 ms, doubled per retry, ±50% jitter).
	Retries int
	Backoff time.Duration
	// BreakerFailures consecutive failed verifications open the circuit for
	// BreakerCooldown; then one trial call closes or reopens it (defaults 5
	// and 30 s).
	BreakerFailures int
	BreakerCooldown time.Duration
	// MaxResponseBytes bounds a response body (default 1 MiB).
	MaxResponseBytes int64
	// Required are the placeholders that must be non-empty in a query
	// (else ErrInsufficientData, without asking the registry).
	Required []string

	template any // compiled request template (see render)
	resp     responseMapping
}

// AuthHeader is a credential header whose value comes from the
// environment.
type AuthHeader struct {
	// Name is the header name ("Authorization", "X-Api-Key").
	Name string
	// ValueEnv is the environment variable holding the secret.
	ValueEnv string
	// Prefix is put before the secret ("Bearer ").
	Prefix string
}

// Placeholders are the names a request template may use as {{name}}.
var Placeholders = []string{
	"given_names", "surname", "full_name", "date_of_birth", "nationality",
	"document_number", "document_type", "issuing_country",
	"address_line", "city", "postal_code", "address_country", "request_id",
}

// value returns the query's value of a placeholder.
func (q Query) value(name string) string {
	switch name {
	case "given_names":
		return q.GivenNames
	case "surname":
		return q.Surname
	case "full_name":
		return strings.TrimSpace(strings.TrimSpace(q.GivenNames) + " " + strings.TrimSpace(q.Surname))
	case "date_of_birth":
		return q.DateOfBirth
	case "nationality":
		return q.Nationality
	case "document_number":
		return q.DocumentNumber
	case "document_type":
		return q.DocumentType
	case "issuing_country":
		return q.IssuingCountry
	case "address_line":
		return q.AddressLine
	case "city":
		return q.City
	case "postal_code":
		return q.PostalCode
	case "address_country":
		return q.AddressCountry
	case "request_id":
		return q.RequestID
	}
	return ""
}

// rawMapping is the file's shape.
type rawMapping struct {
	URL              string            `yaml:"url"`
	Method           string            `yaml:"method"`
	AuthHeader       *rawAuth          `yaml:"auth_header"`
	Headers          map[string]string `yaml:"headers"`
	Timeout          string            `yaml:"timeout"`
	Retries          *int              `yaml:"retries"`
	Backoff          string            `yaml:"backoff"`
	Breaker          *rawBreaker       `yaml:"breaker"`
	MaxResponseBytes int64             `yaml:"max_response_bytes"`
	Required         []string          `yaml:"required"`
	RequestTemplate  yaml.Node         `yaml:"request_template"`
	Response         *rawResponse      `yaml:"response"`
}

type rawAuth struct {
	Name     string `yaml:"name"`
	ValueEnv string `yaml:"value_env"`
	Prefix   string `yaml:"prefix"`
	// Value is rejected: secrets do not belong in the file.
	Value yaml.Node `yaml:"value"`
}

type rawBreaker struct {
	Failures int    `yaml:"failures"`
	Cooldown string `yaml:"cooldown"`
}

type rawResponse struct {
	Found          *rawFound            `yaml:"found"`
	NotFoundStatus []int                `yaml:"not_found_status"`
	Reference      string               `yaml:"reference"`
	Fields         map[string]*rawField `yaml:"fields"`
}

type rawFound struct {
	Path     string      `yaml:"path"`
	Found    []yaml.Node `yaml:"found"`
	NotFound []yaml.Node `yaml:"not_found"`
}

type rawField struct {
	Path         string      `yaml:"path"`
	Match        []yaml.Node `yaml:"match"`
	NoMatch      []yaml.Node `yaml:"no_match"`
	NotAvailable []yaml.Node `yaml:"not_available"`
	// Optional: a missing path reads as not_available instead of an error.
	Optional bool `yaml:"optional"`
}

// responseMapping is the compiled response section.
type responseMapping struct {
	found          *valueMap // nil: a 2xx answer means a record exists
	notFoundStatus []int
	reference      path // nil: none
	fields         []fieldMapping
}

type fieldMapping struct {
	field    Field
	path     path
	values   map[string]Status
	optional bool
}

// valueMap maps canonical JSON scalars to verdicts.
type valueMap struct {
	path   path
	values map[string]bool // found?
}

const (
	defaultTimeout    = 3 * time.Second
	defaultRetries    = 2
	defaultBackoff    = 200 * time.Millisecond
	defaultFailures   = 5
	defaultCooldown   = 30 * time.Second
	defaultMaxBody    = 1 << 20
	maxRetries        = 10
	maxPathSegments   = 32
	maxTemplateBytes  = 64 << 10
	maxResponseBodies = 64 << 20
)

// LoadMapping reads and parses a mapping file.
func LoadMapping(file string) (*Mapping, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMapping, err)
	}
	m, err := ParseMapping(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return m, nil
}

// ParseMapping parses and validates a mapping file's content. Unknown keys,
// a missing url or response, a bad path, an unknown field or placeholder
// and an inline secret are errors wrapping ErrMapping. It does not read the
// environment: NewHTTPConnector resolves auth_header.value_env.
func ParseMapping(data []byte) (*Mapping, error) {
	var raw rawMapping
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&raw); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: empty file", ErrMapping)
		}
		return nil, fmt.Errorf("%w: %s", ErrMapping, strings.ReplaceAll(strings.TrimPrefix(err.Error(), "yaml: "), "\n", " "))
	}
	var errs []error
	bad := func(format string, a ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrMapping}, a...)...))
	}

	m := &Mapping{URL: raw.URL, Method: strings.ToUpper(raw.Method), Headers: raw.Headers,
		Timeout: defaultTimeout, Retries: defaultRetries, Backoff: defaultBackoff,
		BreakerFailures: defaultFailures, BreakerCooldown: defaultCooldown, MaxResponseBytes: defaultMaxBody}
	if raw.URL == "" {
		bad("url is required")
	} else if u, err := url.Parse(raw.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("url must be an absolute http(s) URL")
	} else if u.User != nil {
		bad("url must not carry credentials (use auth_header)")
	}
	switch m.Method {
	case "":
		m.Method = "POST"
	case "POST", "PUT":
	default:
		bad("method %q: want POST or PUT (the query travels in the body, never in the URL)", raw.Method)
	}
	if a := raw.AuthHeader; a != nil {
		switch {
		case a.Value.Kind != 0:
			bad("auth_header.value: secrets do not belong in the mapping file; name an environment variable in value_env")
		case !validHeaderName(a.Name):
			bad("auth_header.name %q is not a valid header name", a.Name)
		case a.ValueEnv == "":
			bad("auth_header.value_env is required")
		case strings.ContainsAny(a.Prefix, "\r\n"):
			bad("auth_header.prefix must not contain line breaks")
		}
		m.Auth = &AuthHeader{Name: a.Name, ValueEnv: a.ValueEnv, Prefix: a.Prefix}
	}
	for k, v := range raw.Headers {
		if !validHeaderName(k) || strings.ContainsAny(v, "\r\n") {
			bad("headers: %q is not a valid header", k)
		}
		if m.Auth != nil && strings.EqualFold(k, m.Auth.Name) {
			bad("headers: %q is also the auth header", k)
		}
	}
	dur := func(key, s string, def time.Duration) time.Duration {
		if s == "" {
			return def
		}
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			bad("%s %q: want a positive duration such as 3s", key, s)
			return def
		}
		return d
	}
	m.Timeout = dur("timeout", raw.Timeout, defaultTimeout)
	m.Backoff = dur("backoff", raw.Backoff, defaultBackoff)
	if raw.Retries != nil {
		if *raw.Retries < 0 || *raw.Retries > maxRetries {
			bad("retries %d: want 0..%d", *raw.Retries, maxRetries)
		} else {
			m.Retries = *raw.Retries
		}
	}
	if b := raw.Breaker; b != nil {
		if b.Failures < 1 {
			bad("breaker.failures %d: want >= 1", b.Failures)
		} else {
			m.BreakerFailures = b.Failures
		}
		m.BreakerCooldown = dur("breaker.cooldown", b.Cooldown, defaultCooldown)
	}
	switch {
	case raw.MaxResponseBytes < 0 || raw.MaxResponseBytes > maxResponseBodies:
		bad("max_response_bytes %d: want 1..%d", raw.MaxResponseBytes, maxResponseBodies)
	case raw.MaxResponseBytes > 0:
		m.MaxResponseBytes = raw.MaxResponseBytes
	}
	for _, r := range raw.Required {
		if !slices.Contains(Placeholders, r) {
			bad("required: unknown input %q (want one of %s)", r, strings.Join(Placeholders, ", "))
		}
	}
	m.Required = raw.Required

	if raw.RequestTemplate.Kind == 0 {
		bad("request_template is required")
	} else if t, err := compileTemplate(&raw.RequestTemplate); err != nil {
		errs = append(errs, err)
	} else {
		m.template = t
	}

	if raw.Response == nil {
		bad("response is required")
	} else if r, err := compileResponse(raw.Response); err != nil {
		errs = append(errs, err)
	} else {
		m.resp = r
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return m, nil
}

var headerNameRE = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")

func validHeaderName(s string) bool { return headerNameRE.MatchString(s) }

func compileResponse(raw *rawResponse) (responseMapping, error) {
	var out responseMapping
	var errs []error
	bad := func(format string, a ...any) {
		errs = append(errs, fmt.Errorf("%w: response."+format, append([]any{ErrMapping}, a...)...))
	}
	if f := raw.Found; f != nil {
		p, err := parsePath(f.Path)
		if err != nil {
			bad("found.path: %v", err)
		}
		vm := &valueMap{path: p, values: map[string]bool{}}
		for _, set := range []struct {
			nodes []yaml.Node
			found bool
		}{{f.Found, true}, {f.NotFound, false}} {
			for i := range set.nodes {
				k, err := canonYAML(&set.nodes[i])
				if err != nil {
					bad("found: %v", err)
					continue
				}
				if _, dup := vm.values[k]; dup {
					bad("found: value %s listed twice", k)
				}
				vm.values[k] = set.found
			}
		}
		if len(f.Found) == 0 || len(f.NotFound) == 0 {
			bad("found: both found and not_found values are required")
		}
		out.found = vm
	}
	for _, s := range raw.NotFoundStatus {
		if s < 400 || s > 499 || s == 429 {
			bad("not_found_status %d: want a 4xx status other than 429", s)
		}
	}
	out.notFoundStatus = raw.NotFoundStatus
	if raw.Reference != "" {
		p, err := parsePath(raw.Reference)
		if err != nil {
			bad("reference: %v", err)
		}
		out.reference = p
	}
	if len(raw.Fields) == 0 {
		bad("fields: at least one field is required")
	}
	names := make([]string, 0, len(raw.Fields))
	for k := range raw.Fields {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, name := range names {
		rf := raw.Fields[name]
		f := Field(name)
		if !knownField(f) {
			bad("fields: unknown field %q (want one of name, given_names, surname, date_of_birth, document_number, nationality, address)", name)
			continue
		}
		if rf == nil {
			bad("fields.%s: empty", name)
			continue
		}
		p, err := parsePath(rf.Path)
		if err != nil {
			bad("fields.%s.path: %v", name, err)
			continue
		}
		fm := fieldMapping{field: f, path: p, values: map[string]Status{}, optional: rf.Optional}
		for _, set := range []struct {
			nodes []yaml.Node
			st    Status
		}{{rf.Match, StatusMatch}, {rf.NoMatch, StatusNoMatch}, {rf.NotAvailable, StatusNotAvailable}} {
			for i := range set.nodes {
				k, err := canonYAML(&set.nodes[i])
				if err != nil {
					bad("fields.%s.%s: %v", name, set.st, err)
					continue
				}
				if _, dup := fm.values[k]; dup {
					bad("fields.%s: value %s listed twice", name, k)
				}
				fm.values[k] = set.st
			}
		}
		if len(rf.Match) == 0 || len(rf.NoMatch) == 0 {
			bad("fields.%s: match and no_match values are required", name)
		}
		out.fields = append(out.fields, fm)
	}
	return out, errors.Join(errs...)
}

// canonYAML is the comparison key of a scalar in the mapping file: strings
// lower-cased, numbers in shortest form, true/false, null.
func canonYAML(n *yaml.Node) (string, error) {
	if n.Kind != yaml.ScalarNode {
		return "", fmt.Errorf("line %d: values must be scalars", n.Line)
	}
	switch n.ShortTag() {
	case "!!null":
		return "null", nil
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			return "", fmt.Errorf("line %d: %v", n.Line, err)
		}
		return strconv.FormatBool(b), nil
	case "!!int", "!!float":
		var f float64
		if err := n.Decode(&f); err != nil {
			return "", fmt.Errorf("line %d: %v", n.Line, err)
		}
		return canonNumber(f), nil
	case "!!str":
		return strings.ToLower(n.Value), nil
	}
	return "", fmt.Errorf("line %d: unsupported value type %s", n.Line, n.ShortTag())
}

func canonNumber(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// canonJSON is the comparison key of a decoded JSON scalar (decoded with
// UseNumber); ok is false for objects and arrays.
func canonJSON(v any) (string, bool) {
	switch x := v.(type) {
	case nil:
		return "null", true
	case bool:
		return strconv.FormatBool(x), true
	case string:
		return strings.ToLower(x), true
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return "", false
		}
		return canonNumber(f), true
	}
	return "", false
}
