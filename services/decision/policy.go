package decision

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"strings"

	"github.com/google/cel-go/cel"
	"gopkg.in/yaml.v3"

	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
)

// ErrInvalidPolicy is wrapped by every error ParsePolicy returns for a policy
// document that does not satisfy the schema (see README.md).
var ErrInvalidPolicy = errors.New("invalid policy")

// Limits applied to every policy.
const (
	// DefaultCostLimit is the CEL runtime cost budget of one rule evaluation
	// unless WithCostLimit says otherwise. A typical rule costs well under 50.
	DefaultCostLimit uint64 = 10_000
	// MaxPolicySize is the largest policy document ParsePolicy accepts.
	MaxPolicySize = 1 << 20
	// MaxExpressionSize is the largest `when` expression, in code points.
	MaxExpressionSize = 4096
	// MaxRules is the most rules a policy may hold.
	MaxRules = 256
	// MaxWeights is the most score weights a policy may hold.
	MaxWeights = 256
)

var (
	defaultCodePattern = regexp.MustCompile(`^[A-Z][A-Z0-9_]+$`)
	policyIDPattern    = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,127}$`)
	ruleNamePattern    = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.-]{0,127}$`)
	signalSegPattern   = regexp.MustCompile(`^[A-Za-z0-9_]+$`)
)

// Option configures ParsePolicy and LoadDir.
type Option func(*options)

type options struct {
	knownCode func(string) bool
	costLimit uint64
}

func buildOptions(opts []Option) options {
	o := options{
		knownCode: defaultCodePattern.MatchString,
		costLimit: DefaultCostLimit,
	}
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	return o
}

// WithKnownCode sets the predicate that decides whether a rule's `reason` is a
// known reason code. Pass the generated reason table's lookup. The default
// accepts any code matching ^[A-Z][A-Z0-9_]+$. A nil func keeps the default.
func WithKnownCode(known func(code string) bool) Option {
	return func(o *options) {
		if known != nil {
			o.knownCode = known
		}
	}
}

// WithCostLimit sets the CEL runtime cost budget of one rule evaluation. A rule
// that exceeds it fails (and the decision goes to review with
// DECISION_RULE_ERROR). Zero keeps DefaultCostLimit.
func WithCostLimit(limit uint64) Option {
	return func(o *options) {
		if limit > 0 {
			o.costLimit = limit
		}
	}
}

// ----------------------------------------------------------- YAML schema ---

// policyDoc is the YAML document as written by a tenant.
type policyDoc struct {
	ID             string            `yaml:"id"`
	Version        *int64            `yaml:"version"`
	Description    string            `yaml:"description"`
	Score          *scoreDoc         `yaml:"score"`
	StatusOutcomes map[string]string `yaml:"status_outcomes"`
	Rules          []ruleDoc         `yaml:"rules"`
	Documents      *documentsDoc     `yaml:"documents"`
}

// documentsDoc lists the documents a tenant accepts. A document check that
// classified the document (doc.class, doc.issuing_state) outside the list
// fires the built-in rule documents_not_accepted with DOC_NOT_ACCEPTED.
type documentsDoc struct {
	Accept  []acceptDoc `yaml:"accept"`
	Outcome string      `yaml:"outcome"` // default REJECT
}

type acceptDoc struct {
	Class     string   `yaml:"class"`
	Countries []string `yaml:"countries"` // empty: any issuing state
}

// documentClasses are the document check's doc.class values
// (services/document.Classes; a test keeps them in step).
var documentClasses = []string{"passport", "id_card", "travel_document", "visa", "unknown"}

// issuingStatePattern matches an ICAO 9303 state code as the document check
// reports it (fillers trimmed: "D", "FRA", "UTO").
var issuingStatePattern = regexp.MustCompile(`^[A-Z]{1,3}$`)

// ReasonDocNotAccepted is the reason code of the documents rule.
const ReasonDocNotAccepted = "DOC_NOT_ACCEPTED"

// documentsRule compiles the documents section into a rule.
func documentsRule(v *validator, d *documentsDoc) (ruleDoc, bool) {
	if d == nil {
		return ruleDoc{}, false
	}
	if len(d.Accept) == 0 {
		v.add("documents.accept", "required (at least one accepted class)")
		return ruleDoc{}, false
	}
	const cls, st = "document.?doc.?class.orValue('')", "document.?doc.?issuing_state.orValue('')"
	var alts []string
	for i, a := range d.Accept {
		path := fmt.Sprintf("documents.accept[%d]", i)
		if !slices.Contains(documentClasses, a.Class) {
			v.add(path+".class", "%q is not one of %s", a.Class, strings.Join(documentClasses, ", "))
			continue
		}
		alt := fmt.Sprintf("%s == '%s'", cls, a.Class)
		if len(a.Countries) > 0 {
			quoted := make([]string, 0, len(a.Countries))
			for _, c := range a.Countries {
				if !issuingStatePattern.MatchString(c) {
					v.add(path+".countries", "%q is not an ICAO state code (A-Z, 1 to 3 letters)", c)
					continue
				}
				quoted = append(quoted, "'"+c+"'")
			}
			alt = fmt.Sprintf("(%s && %s in [%s])", alt, st, strings.Join(quoted, ", "))
		}
		alts = append(alts, alt)
	}
	outcome := d.Outcome
	if outcome == "" {
		outcome = "REJECT"
	}
	return ruleDoc{
		Name:        "documents_not_accepted",
		Description: "The document's class or issuing state is not in the policy's documents.accept list.",
		When:        fmt.Sprintf("%s != '' && !(%s)", cls, strings.Join(alts, " || ")),
		Requires:    []string{"document"},
		Outcome:     outcome,
		Reason:      ReasonDocNotAccepted,
	}, true
}

type scoreDoc struct {
	Weights []weightDoc `yaml:"weights"`
	Bands   *bandsDoc   `yaml:"bands"`
}

type weightDoc struct {
	Signal string   `yaml:"signal"`
	Weight float64  `yaml:"weight"`
	Min    *float64 `yaml:"min"`
	Max    *float64 `yaml:"max"`
	Invert bool     `yaml:"invert"`
}

type bandsDoc struct {
	Approve *float64 `yaml:"approve"`
	Review  *float64 `yaml:"review"`
}

type ruleDoc struct {
	Name        string   `yaml:"name"`
	Description string   `yaml:"description"`
	When        string   `yaml:"when"`
	Requires    []string `yaml:"requires"`
	Outcome     string   `yaml:"outcome"`
	Reason      string   `yaml:"reason"`
}

// ------------------------------------------------------ compiled policy ---

// Policy is a parsed, validated and compiled decision policy. It is immutable
// and safe for concurrent use.
type Policy struct {
	id          string
	version     int32
	description string
	digest      string

	weights        []weight
	approveAt      float64
	reviewAt       float64
	statusOutcomes [numStatuses]ekycv1.Outcome // indexed by ekycv1.CheckStatus
	rules          []rule
}

type weight struct {
	kind   int    // index into checkKinds
	name   string // signal name within the check, e.g. "mrz.valid"
	weight float64
	min    float64
	max    float64
	invert bool
}

type rule struct {
	name     string
	requires []int // indexes into checkKinds
	outcome  ekycv1.Outcome
	reason   string
	program  cel.Program
}

// ID is the policy id.
func (p *Policy) ID() string { return p.id }

// Version is the policy version.
func (p *Policy) Version() int32 { return p.version }

// Ref is "id@version", the key under which a Registry addresses this exact version.
func (p *Policy) Ref() string { return fmt.Sprintf("%s@%d", p.id, p.version) }

// Description is the policy's free-text description.
func (p *Policy) Description() string { return p.description }

// Digest is the hex SHA-256 of the policy document the policy was parsed
// from, for audit logs (two policies with the same id@version but different
// digests were edited without bumping the version).
func (p *Policy) Digest() string { return p.digest }

// RuleNames lists the policy's rules in evaluation order.
func (p *Policy) RuleNames() []string {
	out := make([]string, len(p.rules))
	for i, r := range p.rules {
		out[i] = r.name
	}
	return out
}

// ------------------------------------------------------------- parsing ---

// ParsePolicy parses, validates and compiles one policy document. Every
// validation problem is reported (joined) in the returned error, which wraps
// ErrInvalidPolicy.
func ParsePolicy(data []byte, opts ...Option) (*Policy, error) {
	o := buildOptions(opts)
	if len(data) > MaxPolicySize {
		return nil, fmt.Errorf("%w: document is %d bytes, limit %d", ErrInvalidPolicy, len(data), MaxPolicySize)
	}
	var doc policyDoc
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: empty document", ErrInvalidPolicy)
		}
		return nil, fmt.Errorf("%w: %v", ErrInvalidPolicy, err)
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: more than one YAML document", ErrInvalidPolicy)
	}

	v := &validator{}
	p := &Policy{description: doc.Description}
	sum := sha256.Sum256(data)
	p.digest = hex.EncodeToString(sum[:])

	// id, version
	switch {
	case doc.ID == "":
		v.add("id", "required")
	case !policyIDPattern.MatchString(doc.ID):
		v.add("id", "%q must match %s", doc.ID, policyIDPattern)
	default:
		p.id = doc.ID
	}
	switch {
	case doc.Version == nil:
		v.add("version", "required")
	case *doc.Version < 1 || *doc.Version > math.MaxInt32:
		v.add("version", "%d out of range 1..%d", *doc.Version, math.MaxInt32)
	default:
		p.version = int32(*doc.Version)
	}

	parseScore(v, p, doc.Score)
	parseStatusOutcomes(v, p, doc.StatusOutcomes)
	rules := doc.Rules
	if r, ok := documentsRule(v, doc.Documents); ok {
		rules = append(rules[:len(rules):len(rules)], r)
	}
	parseRules(v, p, rules, o)

	if err := v.err(); err != nil {
		return nil, err
	}
	return p, nil
}

func parseScore(v *validator, p *Policy, s *scoreDoc) {
	if s == nil {
		v.add("score", "required")
		return
	}
	if len(s.Weights) == 0 {
		v.add("score.weights", "at least one weight is required")
	}
	if len(s.Weights) > MaxWeights {
		v.add("score.weights", "%d weights, limit %d", len(s.Weights), MaxWeights)
	}
	seen := map[string]int{}
	for i, w := range s.Weights {
		path := fmt.Sprintf("score.weights[%d]", i)
		kind, name, err := splitSignal(w.Signal)
		if err != nil {
			v.add(path+".signal", "%v", err)
		} else if j, dup := seen[w.Signal]; dup {
			v.add(path+".signal", "%q already weighted by score.weights[%d]", w.Signal, j)
		} else {
			seen[w.Signal] = i
		}
		if !(w.Weight > 0) || math.IsInf(w.Weight, 0) {
			v.add(path+".weight", "must be a finite number > 0, got %v", w.Weight)
		}
		lo, hi := 0.0, 1.0
		if w.Min != nil {
			lo = *w.Min
		}
		if w.Max != nil {
			hi = *w.Max
		}
		if math.IsNaN(lo) || math.IsInf(lo, 0) || math.IsNaN(hi) || math.IsInf(hi, 0) {
			v.add(path, "min and max must be finite")
		} else if !(lo < hi) {
			v.add(path, "min (%v) must be < max (%v)", lo, hi)
		}
		p.weights = append(p.weights, weight{kind: kind, name: name, weight: w.Weight, min: lo, max: hi, invert: w.Invert})
	}
	b := s.Bands
	if b == nil {
		v.add("score.bands", "required")
		return
	}
	okBand := func(name string, x *float64) bool {
		if x == nil {
			v.add("score.bands."+name, "required")
			return false
		}
		if math.IsNaN(*x) || *x < 0 || *x > 100 {
			v.add("score.bands."+name, "%v out of range 0..100", *x)
			return false
		}
		return true
	}
	okA, okR := okBand("approve", b.Approve), okBand("review", b.Review)
	if okA && okR {
		if *b.Review > *b.Approve {
			v.add("score.bands", "out of order: review (%v) must be <= approve (%v)", *b.Review, *b.Approve)
		}
		p.approveAt, p.reviewAt = *b.Approve, *b.Review
	}
}

func parseStatusOutcomes(v *validator, p *Policy, m map[string]string) {
	// Defaults.
	p.statusOutcomes[ekycv1.CheckStatus_CHECK_STATUS_PASS] = ekycv1.Outcome_OUTCOME_APPROVE
	p.statusOutcomes[ekycv1.CheckStatus_CHECK_STATUS_FAIL] = ekycv1.Outcome_OUTCOME_REJECT
	p.statusOutcomes[ekycv1.CheckStatus_CHECK_STATUS_CONSIDER] = ekycv1.Outcome_OUTCOME_REVIEW
	p.statusOutcomes[ekycv1.CheckStatus_CHECK_STATUS_ERROR] = ekycv1.Outcome_OUTCOME_REVIEW
	for _, key := range sortedKeys(m) {
		st, ok := parseStatus(key)
		if !ok {
			v.add("status_outcomes", "unknown check status %q (want PASS, FAIL, CONSIDER or ERROR)", key)
			continue
		}
		out, err := parseOutcome(m[key])
		if err != nil {
			v.add("status_outcomes."+key, "%v", err)
			continue
		}
		p.statusOutcomes[st] = out
	}
}

func parseRules(v *validator, p *Policy, rules []ruleDoc, o options) {
	if len(rules) > MaxRules {
		v.add("rules", "%d rules, limit %d", len(rules), MaxRules)
		return
	}
	env, err := sharedEnv()
	if err != nil {
		// Only a programming error in this package can get here.
		v.add("rules", "building CEL environment: %v", err)
		return
	}
	names := map[string]int{}
	for i, rd := range rules {
		path := fmt.Sprintf("rules[%d]", i)
		if rd.Name != "" {
			path = fmt.Sprintf("rules[%d] (%s)", i, rd.Name)
		}
		r := rule{name: rd.Name}
		switch {
		case rd.Name == "":
			v.add(path+".name", "required")
		case !ruleNamePattern.MatchString(rd.Name):
			v.add(path+".name", "%q must match %s", rd.Name, ruleNamePattern)
		default:
			if j, dup := names[rd.Name]; dup {
				v.add(path+".name", "duplicate of rules[%d]", j)
			}
			names[rd.Name] = i
		}

		seenReq := map[int]bool{}
		for _, req := range rd.Requires {
			k, ok := kindIndexByName(req)
			if !ok {
				v.add(path+".requires", "unknown check kind %q (want one of %s)", req, strings.Join(kindNames(), ", "))
				continue
			}
			if seenReq[k] {
				v.add(path+".requires", "%q listed twice", req)
				continue
			}
			seenReq[k] = true
			r.requires = append(r.requires, k)
		}

		if rd.Outcome == "" {
			v.add(path+".outcome", "required")
		} else if out, err := parseOutcome(rd.Outcome); err != nil {
			v.add(path+".outcome", "%v", err)
		} else {
			r.outcome = out
		}

		if rd.Reason != "" {
			if !o.knownCode(rd.Reason) {
				v.add(path+".reason", "unknown reason code %q", rd.Reason)
			}
			r.reason = rd.Reason
		}

		if strings.TrimSpace(rd.When) == "" {
			v.add(path+".when", "required")
		} else if prg, err := compileRule(env, rd.When, o.costLimit); err != nil {
			v.add(path+".when", "%v", err)
		} else {
			r.program = prg
		}
		p.rules = append(p.rules, r)
	}
}

// splitSignal splits "document.mrz.valid" into the document kind and "mrz.valid".
func splitSignal(s string) (kind int, name string, err error) {
	head, rest, ok := strings.Cut(s, ".")
	if s == "" {
		return 0, "", errors.New("required")
	}
	k, known := kindIndexByName(head)
	if !ok || !known {
		return 0, "", fmt.Errorf("%q must be <check>.<signal> with <check> one of %s", s, strings.Join(kindNames(), ", "))
	}
	for _, seg := range strings.Split(rest, ".") {
		if !signalSegPattern.MatchString(seg) {
			return 0, "", fmt.Errorf("%q: bad signal name segment %q (want [A-Za-z0-9_]+)", s, seg)
		}
	}
	return k, rest, nil
}

func parseOutcome(s string) (ekycv1.Outcome, error) {
	switch s {
	case "APPROVE":
		return ekycv1.Outcome_OUTCOME_APPROVE, nil
	case "REVIEW":
		return ekycv1.Outcome_OUTCOME_REVIEW, nil
	case "REJECT":
		return ekycv1.Outcome_OUTCOME_REJECT, nil
	}
	return 0, fmt.Errorf("unknown outcome %q (want APPROVE, REVIEW or REJECT)", s)
}

func parseStatus(s string) (ekycv1.CheckStatus, bool) {
	switch s {
	case "PASS":
		return ekycv1.CheckStatus_CHECK_STATUS_PASS, true
	case "FAIL":
		return ekycv1.CheckStatus_CHECK_STATUS_FAIL, true
	case "CONSIDER":
		return ekycv1.CheckStatus_CHECK_STATUS_CONSIDER, true
	case "ERROR":
		return ekycv1.CheckStatus_CHECK_STATUS_ERROR, true
	}
	return 0, false
}

// validator collects every problem of a policy document.
type validator struct{ errs []error }

func (v *validator) add(path, format string, args ...any) {
	v.errs = append(v.errs, fmt.Errorf("%s: %s", path, fmt.Sprintf(format, args...)))
}

func (v *validator) err() error {
	if len(v.errs) == 0 {
		return nil
	}
	return &PolicyError{Problems: v.errs}
}

// PolicyError lists every validation problem of one policy document. It
// wraps ErrInvalidPolicy.
type PolicyError struct {
	// Problems, each prefixed with the path of the offending key.
	Problems []error
}

func (e *PolicyError) Error() string {
	var b strings.Builder
	b.WriteString(ErrInvalidPolicy.Error())
	b.WriteString(": ")
	for i, err := range e.Problems {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(err.Error())
	}
	return b.String()
}

// Unwrap returns ErrInvalidPolicy followed by each problem.
func (e *PolicyError) Unwrap() []error {
	return append([]error{ErrInvalidPolicy}, e.Problems...)
}
