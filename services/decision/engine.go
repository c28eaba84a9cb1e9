package decision

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"

	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
)

// Reason codes this package emits itself (from services/reasons/codes.yaml).
const (
	ReasonScoreReview      = "DECISION_SCORE_REVIEW"
	ReasonScoreReject      = "DECISION_SCORE_REJECT"
	ReasonRuleError        = "DECISION_RULE_ERROR"
	ReasonCheckError       = "CHECK_ERROR"
	ReasonCheckUnavailable = "CHECK_UNAVAILABLE"
)

// ErrInvalidInput is wrapped by Decide's errors: the input itself is malformed
// (a nil or unknown-kind check, an unspecified status, a malformed signal).
var ErrInvalidInput = errors.New("invalid decision input")

// Input is everything a decision depends on.
type Input struct {
	Request *ekycv1.VerificationRequest
	// Results of the checks performed. At most one result per kind is
	// expected; if a kind appears more than once, the last one is used.
	Checks []*ekycv1.CheckResult
}

// Result is the outcome of applying a policy to an Input.
type Result struct {
	Outcome ekycv1.Outcome
	// Weighted score, 0..100 (rounded to 6 decimals).
	Score float64
	// The outcome of the score band alone.
	ScoreBand   ekycv1.Outcome
	ReasonCodes []string
	PolicyID    string
	// Policy version the decision was made with.
	PolicyVersion int32
	// Rules whose condition held, in policy order.
	FiredRules []string
	// Rules that could not be evaluated, in policy order. Each one sends the
	// decision to at least REVIEW with DECISION_RULE_ERROR.
	RuleErrors []RuleError
}

// RuleError records a rule whose evaluation failed or did not yield a bool.
type RuleError struct {
	Rule    string
	Message string
}

// severity orders outcomes: REJECT > REVIEW > APPROVE.
func severity(o ekycv1.Outcome) int {
	switch o {
	case ekycv1.Outcome_OUTCOME_APPROVE:
		return 1
	case ekycv1.Outcome_OUTCOME_REVIEW:
		return 2
	case ekycv1.Outcome_OUTCOME_REJECT:
		return 3
	}
	return 0
}

func worst(a, b ekycv1.Outcome) ekycv1.Outcome {
	if severity(b) > severity(a) {
		return b
	}
	return a
}

// Decide applies the policy to in. It is a pure function of the policy and
// the input (no clock, no randomness, no I/O), so recomputing a decision
// after a crash yields the same Result. It is safe for concurrent use.
//
// The outcome is the most severe of: the score band, each fired rule's
// outcome, each performed check's status mapped through status_outcomes,
// the ERROR mapping for each requested check with no result, and REVIEW if
// any rule failed to evaluate. Decide returns an error (wrapping
// ErrInvalidInput) only for a malformed input.
func (p *Policy) Decide(in Input) (Result, error) {
	// Index the performed checks by kind.
	var checks [numKinds]*checkView
	for i, c := range in.Checks {
		if c == nil {
			return Result{}, fmt.Errorf("%w: check %d is nil", ErrInvalidInput, i)
		}
		k, ok := kindIndex(c.GetKind())
		if !ok {
			return Result{}, fmt.Errorf("%w: check %d has unknown kind %v", ErrInvalidInput, i, c.GetKind())
		}
		if statusName(c.GetStatus()) == "" {
			return Result{}, fmt.Errorf("%w: %s check has unknown status %v", ErrInvalidInput, checkKinds[k].name, c.GetStatus())
		}
		v, err := newCheckView(k, c)
		if err != nil {
			return Result{}, fmt.Errorf("%w: %v", ErrInvalidInput, err)
		}
		checks[k] = v
	}

	res := Result{
		PolicyID:      p.id,
		PolicyVersion: p.version,
		ReasonCodes:   []string{},
		FiredRules:    []string{},
	}
	reasons := newReasonSet()

	// 1. Check statuses, in check-kind order.
	outcome := ekycv1.Outcome_OUTCOME_APPROVE
	var requested [numKinds]bool
	for _, k := range in.Request.GetRequestedChecks() {
		if i, ok := kindIndex(k); ok {
			requested[i] = true
		}
	}
	for i, c := range checks {
		if c == nil {
			if requested[i] {
				// Requested but never reported: never approve without it.
				outcome = worst(outcome, p.statusOutcomes[ekycv1.CheckStatus_CHECK_STATUS_ERROR])
				reasons.add(ReasonCheckUnavailable)
			}
			continue
		}
		st := c.res.GetStatus()
		outcome = worst(outcome, p.statusOutcomes[st])
		if st == ekycv1.CheckStatus_CHECK_STATUS_PASS {
			continue
		}
		reasons.add(c.res.GetReasonCodes()...)
		if st == ekycv1.CheckStatus_CHECK_STATUS_ERROR && len(c.res.GetReasonCodes()) == 0 {
			reasons.add(ReasonCheckError)
		}
	}

	// 2. Rules, in policy order.
	vars := make(map[string]any, numKinds+2)
	performed := make([]string, 0, numKinds)
	for i, k := range checkKinds {
		if checks[i] == nil {
			vars[k.name] = map[string]any{}
			continue
		}
		vars[k.name] = checks[i].vars
		performed = append(performed, k.name)
	}
	vars[varApplicant] = applicantVars(in.Request)
	vars[varChecks] = performed
	act, err := cel.NewActivation(vars)
	if err != nil {
		return Result{}, fmt.Errorf("decision: CEL activation: %w", err)
	}

	ruleFailed := false
rules:
	for _, r := range p.rules {
		for _, k := range r.requires {
			if checks[k] == nil {
				continue rules
			}
		}
		val, _, err := r.program.Eval(act)
		if err != nil {
			res.RuleErrors = append(res.RuleErrors, RuleError{Rule: r.name, Message: err.Error()})
			ruleFailed = true
			continue
		}
		fired, ok := val.(types.Bool)
		if !ok {
			res.RuleErrors = append(res.RuleErrors, RuleError{
				Rule:    r.name,
				Message: fmt.Sprintf("evaluated to %s, want bool", strings.ToLower(val.Type().TypeName())),
			})
			ruleFailed = true
			continue
		}
		if !fired {
			continue
		}
		res.FiredRules = append(res.FiredRules, r.name)
		outcome = worst(outcome, r.outcome)
		if r.reason != "" {
			reasons.add(r.reason)
		}
	}
	if ruleFailed {
		outcome = worst(outcome, ekycv1.Outcome_OUTCOME_REVIEW)
		reasons.add(ReasonRuleError)
	}

	// 3. Score band.
	score, applies := p.score(&checks)
	res.Score = score
	switch {
	case !applies:
		// No weighted signal belongs to a performed check: nothing to
		// approve on.
		res.ScoreBand = ekycv1.Outcome_OUTCOME_REVIEW
		reasons.add(ReasonScoreReview)
	case score >= p.approveAt:
		res.ScoreBand = ekycv1.Outcome_OUTCOME_APPROVE
	case score >= p.reviewAt:
		res.ScoreBand = ekycv1.Outcome_OUTCOME_REVIEW
		reasons.add(ReasonScoreReview)
	default:
		res.ScoreBand = ekycv1.Outcome_OUTCOME_REJECT
		reasons.add(ReasonScoreReject)
	}
	outcome = worst(outcome, res.ScoreBand)

	res.Outcome = outcome
	res.ReasonCodes = append(res.ReasonCodes, reasons.list...)
	return res, nil
}

// score is the weighted mean (0..100) of the weighted signals whose check
// was performed. A signal missing from a performed check, or holding text,
// counts as 0. Signals of checks not performed are left out entirely. If no
// weight applies the score is 0 and applies is false.
func (p *Policy) score(checks *[numKinds]*checkView) (score float64, applies bool) {
	var num, den float64
	for _, w := range p.weights {
		c := checks[w.kind]
		if c == nil {
			continue
		}
		den += w.weight
		num += w.weight * w.value(c.signals[w.name])
	}
	if den == 0 {
		return 0, false
	}
	s := 100 * num / den
	// Round away float noise so that thresholds behave as written
	// (e.g. 79.99999999999999 is 80).
	return math.Round(s*1e6) / 1e6, true
}

// value maps a signal to 0..1: flags are 1/0, numbers are clamped to
// [min,max] and scaled; `invert` flips the result. A missing signal, a text
// signal and a NaN count as 0, with or without `invert`: absence of evidence
// never raises the score.
func (w weight) value(s *ekycv1.Signal) float64 {
	var x float64
	switch v := s.GetValue().(type) {
	case *ekycv1.Signal_Flag:
		if v.Flag {
			x = 1
		}
	case *ekycv1.Signal_Number:
		n := v.Number
		if math.IsNaN(n) {
			return 0
		}
		n = math.Max(w.min, math.Min(w.max, n))
		x = (n - w.min) / (w.max - w.min)
	default:
		return 0
	}
	if w.invert {
		x = 1 - x
	}
	return x
}

// reasonSet keeps reason codes in first-seen order, without duplicates.
type reasonSet struct {
	seen map[string]bool
	list []string
}

func newReasonSet() *reasonSet { return &reasonSet{seen: map[string]bool{}} }

func (s *reasonSet) add(codes ...string) {
	for _, c := range codes {
		if c == "" || s.seen[c] {
			continue
		}
		s.seen[c] = true
		s.list = append(s.list, c)
	}
}
