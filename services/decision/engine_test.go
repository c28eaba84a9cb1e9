package decision

import (
	"fmt"
	"math"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
)

func TestDecideRulePaths(t *testing.T) {
	p := mustParse(t, testPolicy)

	tests := []struct {
		name       string
		checks     []*ekycv1.CheckResult
		outcome    ekycv1.Outcome
		score      float64
		reasons    []string
		fired      []string
		ruleErrors []string
	}{
		{
			name:    "all good approves",
			checks:  []*ekycv1.CheckResult{goodDocument()},
			outcome: approve, score: 100, reasons: []string{}, fired: []string{},
		},
		{
			name: "invalid MRZ rejects",
			checks: []*ekycv1.CheckResult{check(kDoc, sFail, []string{"DOC_MRZ_CHECK_DOCUMENT_NUMBER"},
				flag("mrz.valid", false), flag("mrz.expired", false), num("mrz.days_to_expiry", 400),
				num("data.name_match", 1), flag("data.dob_match", true))},
			outcome: reject, score: 50,
			reasons: []string{"DOC_MRZ_CHECK_DOCUMENT_NUMBER", "DOC_MRZ_UNREADABLE", ReasonScoreReview},
			fired:   []string{"mrz_invalid"},
		},
		{
			name: "expired rejects even with an approving score",
			checks: []*ekycv1.CheckResult{check(kDoc, sPass, nil,
				flag("mrz.valid", true), flag("mrz.expired", true), num("mrz.days_to_expiry", -3),
				num("data.name_match", 1), flag("data.dob_match", true))},
			outcome: reject, score: 90, reasons: []string{"DOC_EXPIRED"}, fired: []string{"expired"},
		},
		{
			name: "two rules fire, in policy order",
			checks: []*ekycv1.CheckResult{check(kDoc, sPass, nil,
				flag("mrz.valid", false), flag("mrz.expired", true), num("mrz.days_to_expiry", 0),
				num("data.name_match", 1), flag("data.dob_match", true))},
			outcome: reject, score: 40,
			reasons: []string{"DOC_MRZ_UNREADABLE", "DOC_EXPIRED", ReasonScoreReject},
			fired:   []string{"mrz_invalid", "expired"},
		},
		{
			name:    "screening hit reviews",
			checks:  []*ekycv1.CheckResult{goodDocument(), check(kScreening, sPass, nil, num("hits", 2))},
			outcome: review, score: 100, reasons: []string{}, fired: []string{"screening_hit"},
		},
		{
			name:    "screening without hits approves",
			checks:  []*ekycv1.CheckResult{goodDocument(), check(kScreening, sPass, nil, num("hits", 0))},
			outcome: approve, score: 100, reasons: []string{}, fired: []string{},
		},
		{
			name:    "CONSIDER check reviews with its reasons",
			checks:  []*ekycv1.CheckResult{check(kDoc, sConsider, []string{"DOC_MRZ_INVALID_SEX"}, goodDocument().Signals...)},
			outcome: review, score: 100, reasons: []string{"DOC_MRZ_INVALID_SEX"}, fired: []string{},
		},
		{
			name:    "FAIL check rejects with its reasons",
			checks:  []*ekycv1.CheckResult{check(kDoc, sFail, []string{"DATA_NAME_MISMATCH"}, goodDocument().Signals...)},
			outcome: reject, score: 100, reasons: []string{"DATA_NAME_MISMATCH"}, fired: []string{},
		},
		{
			// The errored check is performed: its missing signals count 0
			// (band REJECT) and rules reading them fail.
			name:    "ERROR check without reasons adds CHECK_ERROR",
			checks:  []*ekycv1.CheckResult{check(kDoc, sError, nil)},
			outcome: reject, score: 0,
			reasons:    []string{ReasonCheckError, ReasonRuleError, ReasonScoreReject},
			fired:      []string{},
			ruleErrors: []string{"mrz_invalid", "expired"},
		},
		{
			name:    "ERROR check keeps its own reasons",
			checks:  []*ekycv1.CheckResult{check(kDoc, sError, []string{"CHECK_TIMEOUT"}, goodDocument().Signals...)},
			outcome: review, score: 100, reasons: []string{"CHECK_TIMEOUT"}, fired: []string{},
		},
		{
			name:    "PASS check reasons are not reported",
			checks:  []*ekycv1.CheckResult{check(kDoc, sPass, []string{"INFO_ONLY"}, goodDocument().Signals...)},
			outcome: approve, score: 100, reasons: []string{}, fired: []string{},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := decide(t, p, Input{Request: request(), Checks: tc.checks})
			require.Equal(t, tc.outcome, res.Outcome, "%+v", res)
			require.InDelta(t, tc.score, res.Score, 1e-9)
			require.Equal(t, tc.reasons, res.ReasonCodes)
			require.Equal(t, tc.fired, res.FiredRules)
			var errored []string
			for _, re := range res.RuleErrors {
				errored = append(errored, re.Rule)
			}
			require.Equal(t, tc.ruleErrors, errored)
			require.Equal(t, "default", res.PolicyID)
			require.Equal(t, int32(3), res.PolicyVersion)
		})
	}
}

func TestDecideStatusOutcomesOverride(t *testing.T) {
	src := strings.Replace(testPolicy, "status_outcomes: {FAIL: REJECT, CONSIDER: REVIEW, ERROR: REVIEW}",
		"status_outcomes: {FAIL: REVIEW, CONSIDER: APPROVE}", 1)
	p := mustParse(t, src)

	res := decide(t, p, Input{Checks: []*ekycv1.CheckResult{check(kDoc, sFail, []string{"X_FAIL"}, goodDocument().Signals...)}})
	require.Equal(t, review, res.Outcome)
	require.Equal(t, []string{"X_FAIL"}, res.ReasonCodes)

	// CONSIDER now approves, but its reasons are still reported.
	res = decide(t, p, Input{Checks: []*ekycv1.CheckResult{check(kDoc, sConsider, []string{"X_CONSIDER"}, goodDocument().Signals...)}})
	require.Equal(t, approve, res.Outcome)
	require.Equal(t, []string{"X_CONSIDER"}, res.ReasonCodes)

	// ERROR keeps its default (REVIEW).
	res = decide(t, p, Input{Checks: []*ekycv1.CheckResult{check(kDoc, sError, nil, goodDocument().Signals...)}})
	require.Equal(t, review, res.Outcome)
}

const bandPolicy = `
id: bands
version: 1
score:
  weights:
    - {signal: document.level, weight: 1, min: 0, max: 100}
  bands: {approve: 80, review: 50}
`

func TestDecideBandEdges(t *testing.T) {
	p := mustParse(t, bandPolicy)
	tests := []struct {
		level   float64
		score   float64
		band    ekycv1.Outcome
		reasons []string
	}{
		{100, 100, approve, []string{}},
		{80, 80, approve, []string{}},
		{79.9999, 79.9999, review, []string{ReasonScoreReview}},
		// Float noise below 1e-6 is rounded away: thresholds behave as written.
		{80 - 1e-9, 80, approve, []string{}},
		{50, 50, review, []string{ReasonScoreReview}},
		{49.9999, 49.9999, reject, []string{ReasonScoreReject}},
		{0, 0, reject, []string{ReasonScoreReject}},
		{150, 100, approve, []string{}},              // clamped to max
		{-5, 0, reject, []string{ReasonScoreReject}}, // clamped to min
		{math.Inf(-1), 0, reject, []string{ReasonScoreReject}},
		{math.NaN(), 0, reject, []string{ReasonScoreReject}}, // NaN counts 0
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.level), func(t *testing.T) {
			res := decide(t, p, Input{Checks: []*ekycv1.CheckResult{check(kDoc, sPass, nil, num("level", tc.level))}})
			require.Equal(t, tc.score, res.Score)
			require.Equal(t, tc.band, res.ScoreBand)
			require.Equal(t, tc.band, res.Outcome)
			require.Equal(t, tc.reasons, res.ReasonCodes)
		})
	}

	t.Run("equal bands leave no review band", func(t *testing.T) {
		p := mustParse(t, strings.Replace(bandPolicy, "{approve: 80, review: 50}", "{approve: 60, review: 60}", 1))
		res := decide(t, p, Input{Checks: []*ekycv1.CheckResult{check(kDoc, sPass, nil, num("level", 60))}})
		require.Equal(t, approve, res.Outcome)
		res = decide(t, p, Input{Checks: []*ekycv1.CheckResult{check(kDoc, sPass, nil, num("level", 59.5))}})
		require.Equal(t, reject, res.Outcome)
	})
}

func TestDecideSignalScaling(t *testing.T) {
	p := mustParse(t, `
id: scaling
version: 1
score:
  weights:
    - {signal: document.a, weight: 2}
    - {signal: document.b, weight: 1, min: 0, max: 4, invert: true}
    - {signal: document.c, weight: 1, invert: true}
  bands: {approve: 80, review: 50}
`)
	tests := []struct {
		name    string
		signals []*ekycv1.Signal
		score   float64
	}{
		{"flags and inverted count", []*ekycv1.Signal{flag("a", true), num("b", 0), flag("c", false)}, 100},
		{"inverted number scaled", []*ekycv1.Signal{flag("a", true), num("b", 1), flag("c", false)}, 100 * (2 + 0.75 + 1) / 4},
		{"inverted number clamped", []*ekycv1.Signal{flag("a", true), num("b", 10), flag("c", false)}, 75},
		{"inverted flag true counts 0", []*ekycv1.Signal{flag("a", true), num("b", 0), flag("c", true)}, 75},
		{"false flag counts 0", []*ekycv1.Signal{flag("a", false), num("b", 4), flag("c", true)}, 0},
		{"text counts 0", []*ekycv1.Signal{text("a", "yes"), num("b", 0), flag("c", false)}, 50},
		{"missing counts 0 even when inverted", []*ekycv1.Signal{flag("a", true)}, 50},
		{"number as flag-weight is scaled 0..1", []*ekycv1.Signal{num("a", 0.5), num("b", 0), flag("c", false)}, 75},
		{"no value counts 0", []*ekycv1.Signal{{Name: "a"}, num("b", 0), flag("c", false)}, 50},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := decide(t, p, Input{Checks: []*ekycv1.CheckResult{check(kDoc, sPass, nil, tc.signals...)}})
			require.InDelta(t, tc.score, res.Score, 1e-6)
		})
	}
}

func TestDecideMissingChecks(t *testing.T) {
	p := mustParse(t, testPolicy)

	t.Run("no checks at all: score 0, band REVIEW", func(t *testing.T) {
		res := decide(t, p, Input{Request: request()})
		require.Equal(t, review, res.Outcome)
		require.Equal(t, review, res.ScoreBand)
		require.Equal(t, 0.0, res.Score)
		require.Equal(t, []string{ReasonScoreReview}, res.ReasonCodes)
		require.Empty(t, res.FiredRules)
		require.Empty(t, res.RuleErrors)
	})

	t.Run("no weighted check performed: band REVIEW", func(t *testing.T) {
		res := decide(t, p, Input{Checks: []*ekycv1.CheckResult{check(kScreening, sPass, nil, num("hits", 0))}})
		require.Equal(t, review, res.Outcome)
		require.Equal(t, 0.0, res.Score)
		require.Equal(t, []string{ReasonScoreReview}, res.ReasonCodes)
	})

	t.Run("rule requiring an unperformed check is skipped", func(t *testing.T) {
		res := decide(t, p, Input{Checks: []*ekycv1.CheckResult{goodDocument()}})
		require.Equal(t, approve, res.Outcome)
		require.Empty(t, res.RuleErrors)
	})

	t.Run("requested check without a result reviews", func(t *testing.T) {
		res := decide(t, p, Input{Request: request(kDoc, kScreening), Checks: []*ekycv1.CheckResult{goodDocument()}})
		require.Equal(t, review, res.Outcome)
		require.Equal(t, 100.0, res.Score)
		require.Equal(t, []string{ReasonCheckUnavailable}, res.ReasonCodes)
		require.Empty(t, res.FiredRules, "screening_hit must not run without a screening result")
	})

	t.Run("requested and performed approves", func(t *testing.T) {
		res := decide(t, p, Input{Request: request(kDoc), Checks: []*ekycv1.CheckResult{goodDocument()}})
		require.Equal(t, approve, res.Outcome)
	})

	t.Run("signals of an unperformed check leave the denominator", func(t *testing.T) {
		p := mustParse(t, `
id: two
version: 1
score:
  weights:
    - {signal: document.ok, weight: 1}
    - {signal: face.match, weight: 3}
  bands: {approve: 80, review: 20}
`)
		res := decide(t, p, Input{Checks: []*ekycv1.CheckResult{check(kDoc, sPass, nil, flag("ok", true))}})
		require.Equal(t, 100.0, res.Score)
		require.Equal(t, approve, res.Outcome)

		// Performed but errored: its signal counts 0.
		res = decide(t, p, Input{Checks: []*ekycv1.CheckResult{
			check(kDoc, sPass, nil, flag("ok", true)), check(kFace, sError, nil)}})
		require.Equal(t, 25.0, res.Score)
		require.Equal(t, review, res.Outcome)
		require.Equal(t, []string{ReasonCheckError, ReasonScoreReview}, res.ReasonCodes)
	})

	t.Run("rule reading an unperformed check without requires errors", func(t *testing.T) {
		p := mustParse(t, strings.Replace(testPolicy, "    requires: [screening]\n", "", 1))
		res := decide(t, p, Input{Checks: []*ekycv1.CheckResult{goodDocument()}})
		require.Equal(t, review, res.Outcome)
		require.Equal(t, []string{ReasonRuleError}, res.ReasonCodes)
		require.Len(t, res.RuleErrors, 1)
		require.Equal(t, "screening_hit", res.RuleErrors[0].Rule)
		require.Contains(t, res.RuleErrors[0].Message, "hits")
	})
}

func TestDecideRuleErrors(t *testing.T) {
	p := mustParse(t, bandPolicy+`
rules:
  - name: missing_key
    when: document.mrz.age > 3
    outcome: REJECT
  - name: text_not_bool
    when: document.format
    outcome: REJECT
  - name: number_not_bool
    when: document.level
    outcome: REJECT
  - name: fine
    when: document.level >= 0
    outcome: APPROVE
    reason: INFO_FINE
`)
	res := decide(t, p, Input{Checks: []*ekycv1.CheckResult{check(kDoc, sPass, nil, num("level", 100), text("format", "TD3"))}})
	require.Equal(t, review, res.Outcome)
	require.Equal(t, approve, res.ScoreBand)
	require.Equal(t, []string{"fine"}, res.FiredRules)
	require.Equal(t, []string{"INFO_FINE", ReasonRuleError}, res.ReasonCodes)
	require.Len(t, res.RuleErrors, 3)
	require.Equal(t, "missing_key", res.RuleErrors[0].Rule)
	require.Contains(t, res.RuleErrors[0].Message, "mrz")
	require.Equal(t, RuleError{Rule: "text_not_bool", Message: "evaluated to string, want bool"}, res.RuleErrors[1])
	require.Equal(t, RuleError{Rule: "number_not_bool", Message: "evaluated to double, want bool"}, res.RuleErrors[2])

	t.Run("a rule error never lowers a REJECT", func(t *testing.T) {
		res := decide(t, p, Input{Checks: []*ekycv1.CheckResult{check(kDoc, sFail, []string{"X"}, num("level", 100))}})
		require.Equal(t, reject, res.Outcome)
		require.Contains(t, res.ReasonCodes, ReasonRuleError)
	})
}

func TestDecideCostLimit(t *testing.T) {
	src := bandPolicy + `
rules:
  - name: expensive
    when: document.reasons.all(r, r.startsWith("X"))
    outcome: REVIEW
    reason: INFO_ALL_X
`
	reasons := make([]string, 500)
	for i := range reasons {
		reasons[i] = fmt.Sprintf("X%d", i)
	}
	in := Input{Checks: []*ekycv1.CheckResult{check(kDoc, sPass, reasons, num("level", 100))}}

	// Within the default budget the rule evaluates (and fires).
	res := decide(t, mustParse(t, src), in)
	require.Equal(t, []string{"expensive"}, res.FiredRules)
	require.Empty(t, res.RuleErrors)

	// Over a small budget it is cut off and reported.
	res = decide(t, mustParse(t, src, WithCostLimit(100)), in)
	require.Equal(t, review, res.Outcome)
	require.Empty(t, res.FiredRules)
	require.Equal(t, []string{ReasonRuleError}, res.ReasonCodes)
	require.Len(t, res.RuleErrors, 1)
	require.Contains(t, res.RuleErrors[0].Message, "cost limit")
}

func TestDecideCELVariables(t *testing.T) {
	rules := []struct{ name, when string }{
		{"status", `document.status == "PASS" && face.status == "CONSIDER"`},
		{"score", `document.score == 0.5`},
		{"reasons", `"R1" in document.reasons && size(face.reasons) == 0`},
		{"nested_flag", `document.mrz.valid == true`},
		{"nested_number", `document.mrz.days_to_expiry == 400.0 && document.mrz.days_to_expiry > 399`},
		{"text", `document.mrz.format == "TD3"`},
		{"own_prefix_stripped", `document.doc.type_match`},
		{"deep", `document.a.b.c.d == 1.0`},
		{"unset_is_null", `document.unset == null`},
		{"applicant", `applicant.nationality == "UTO" && applicant.date_of_birth == "1974-08-12"`},
		{"no_names", `!("surname" in applicant) && !("given_names" in applicant) && size(applicant) == 2`},
		{"checks", `checks == ["document", "face"]`},
		{"unperformed_is_empty", `size(database) == 0 && size(screening) == 0`},
		{"optional", `database.?hits.orValue(0.0) == 0.0 && document.?mrz.?nope.orValue(7.0) == 7.0`},
		{"never", `document.mrz.valid == false`},
	}
	var b strings.Builder
	b.WriteString("rules:\n")
	want := []string{}
	for _, r := range rules {
		fmt.Fprintf(&b, "  - name: %s\n    when: '%s'\n    outcome: REVIEW\n", r.name, r.when)
		if r.name != "never" {
			want = append(want, r.name)
		}
	}
	p := mustParse(t, `
id: vars
version: 1
score:
  weights:
    - {signal: document.mrz.valid, weight: 1}
  bands: {approve: 80, review: 50}
`+b.String())

	doc := check(kDoc, sPass, []string{"R1"},
		flag("mrz.valid", true), num("mrz.days_to_expiry", 400), text("mrz.format", "TD3"),
		flag("document.doc.type_match", true), num("a.b.c.d", 1), &ekycv1.Signal{Name: "unset"})
	face := check(kFace, sConsider, nil)
	// Checks given out of kind order: `checks` is still in kind order.
	res := decide(t, p, Input{Request: request(), Checks: []*ekycv1.CheckResult{face, doc}})
	require.Empty(t, res.RuleErrors)
	require.Equal(t, want, res.FiredRules)

	// Without a request the applicant map still has its keys (empty).
	p2 := mustParse(t, bandPolicy+`
rules:
  - name: empty_applicant
    when: applicant.nationality == "" && applicant.date_of_birth == ""
    outcome: REVIEW
`)
	res = decide(t, p2, Input{Checks: []*ekycv1.CheckResult{check(kDoc, sPass, nil, num("level", 100))}})
	require.Empty(t, res.RuleErrors)
	require.Equal(t, []string{"empty_applicant"}, res.FiredRules)
}

func TestDecideReasonOrderAndDedup(t *testing.T) {
	p := mustParse(t, `
id: order
version: 1
score:
  weights:
    - {signal: document.mrz.valid, weight: 1}
  bands: {approve: 80, review: 50}
rules:
  - {name: r1, when: 'true', outcome: REVIEW, reason: D_RULE}
  - {name: r2, when: 'true', outcome: REVIEW, reason: A_DOC}
  - {name: r3, when: 'false', outcome: REJECT, reason: E_NEVER}
  - {name: r4, when: 'document.nope', outcome: REJECT, reason: F_ERR}
`)
	checks := []*ekycv1.CheckResult{
		check(kDatabase, sError, nil),
		check(kScreening, sPass, []string{"P_PASS"}),
		check(kFace, sConsider, []string{"B_DOC", "C_FACE"}),
		check(kDoc, sFail, []string{"A_DOC", "B_DOC", "A_DOC"}),
	}
	res := decide(t, p, Input{Checks: checks})
	require.Equal(t, reject, res.Outcome)
	require.Equal(t, []string{"A_DOC", "B_DOC", "C_FACE", ReasonCheckError, "D_RULE", ReasonRuleError, ReasonScoreReject}, res.ReasonCodes)
	require.Equal(t, []string{"r1", "r2"}, res.FiredRules)
}

func TestDecideDuplicateKindLastWins(t *testing.T) {
	p := mustParse(t, testPolicy)
	res := decide(t, p, Input{Checks: []*ekycv1.CheckResult{check(kDoc, sFail, []string{"OLD"}), goodDocument()}})
	require.Equal(t, approve, res.Outcome)
	require.Equal(t, []string{}, res.ReasonCodes)
}

func TestDecideInvalidInput(t *testing.T) {
	p := mustParse(t, testPolicy)
	tests := []struct {
		name   string
		checks []*ekycv1.CheckResult
		want   string
	}{
		{"nil check", []*ekycv1.CheckResult{nil}, "check 0 is nil"},
		{"unspecified kind", []*ekycv1.CheckResult{check(ekycv1.CheckKind_CHECK_KIND_UNSPECIFIED, sPass, nil)}, "unknown kind"},
		{"unknown kind", []*ekycv1.CheckResult{check(ekycv1.CheckKind(42), sPass, nil)}, "unknown kind"},
		{"unspecified status", []*ekycv1.CheckResult{check(kDoc, ekycv1.CheckStatus_CHECK_STATUS_UNSPECIFIED, nil)}, "unknown status"},
		{"nil signal", []*ekycv1.CheckResult{check(kDoc, sPass, nil, nil)}, "signal 0 is nil"},
		{"unnamed signal", []*ekycv1.CheckResult{check(kDoc, sPass, nil, flag("", true))}, "has no name"},
		{"empty segment", []*ekycv1.CheckResult{check(kDoc, sPass, nil, flag("mrz..valid", true))}, "empty name segment"},
		{"reserved name", []*ekycv1.CheckResult{check(kDoc, sPass, nil, num("score", 1))}, "reserved name"},
		{"leaf then subtree", []*ekycv1.CheckResult{check(kDoc, sPass, nil, flag("mrz", true), flag("mrz.valid", true))}, `"mrz.valid" conflicts with signal "mrz"`},
		// Reported the same way whatever the signal order.
		{"subtree then leaf", []*ekycv1.CheckResult{check(kDoc, sPass, nil, flag("mrz.valid.x", true), flag("mrz.valid", true))}, `"mrz.valid.x" conflicts with signal "mrz.valid"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := p.Decide(Input{Checks: tc.checks})
			require.ErrorIs(t, err, ErrInvalidInput)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

// richInput exercises every part of the engine.
func richInput() Input {
	return Input{
		Request: request(kDoc, kFace, kScreening, kDatabase),
		Checks: []*ekycv1.CheckResult{
			check(kScreening, sConsider, []string{"SCREEN_PEP", "SCREEN_ADVERSE"}, num("hits", 3), text("list", "pep")),
			check(kDoc, sFail, []string{"DOC_MRZ_CHECK_COMPOSITE", "DOC_EXPIRED"},
				flag("mrz.valid", false), flag("mrz.expired", true), num("mrz.days_to_expiry", -10),
				num("data.name_match", 0.7), flag("data.dob_match", true), text("mrz.format", "TD3"),
				flag("doc.type_match", true), num("holder.age_years", 30)),
			check(kFace, sError, nil),
		},
	}
}

func TestDecideDeterministic(t *testing.T) {
	p := mustParse(t, testPolicy)
	first := decide(t, p, richInput())
	require.Equal(t, reject, first.Outcome)
	require.Equal(t, []string{"DOC_MRZ_CHECK_COMPOSITE", "DOC_EXPIRED", ReasonCheckError, "SCREEN_PEP", "SCREEN_ADVERSE",
		ReasonCheckUnavailable, "DOC_MRZ_UNREADABLE", ReasonScoreReject}, first.ReasonCodes)
	require.Equal(t, []string{"mrz_invalid", "expired", "screening_hit"}, first.FiredRules)
	for range 50 {
		require.Equal(t, first, decide(t, p, richInput()))
	}
	// A separately parsed copy of the same policy decides the same.
	require.Equal(t, first, decide(t, mustParse(t, testPolicy), richInput()))
	// Signal order within a check does not matter.
	in := richInput()
	sigs := in.Checks[1].Signals
	for i, j := 0, len(sigs)-1; i < j; i, j = i+1, j-1 {
		sigs[i], sigs[j] = sigs[j], sigs[i]
	}
	require.Equal(t, first, decide(t, p, in))
}

func TestDecideConcurrent(t *testing.T) {
	p := mustParse(t, testPolicy)
	inputs := []Input{
		richInput(),
		{Request: request(), Checks: []*ekycv1.CheckResult{goodDocument()}},
		{Checks: []*ekycv1.CheckResult{goodDocument(), check(kScreening, sPass, nil, num("hits", 1))}},
		{Checks: []*ekycv1.CheckResult{check(kDoc, sError, nil)}},
		{Request: request(kDoc, kFace)},
	}
	want := make([]Result, len(inputs))
	for i, in := range inputs {
		want[i] = decide(t, p, in)
	}
	var mismatches, failures atomic.Int64
	var wg sync.WaitGroup
	for g := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				k := (g + i) % len(inputs)
				got, err := p.Decide(inputs[k])
				if err != nil {
					failures.Add(1)
				} else if !reflect.DeepEqual(want[k], got) {
					mismatches.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	require.Zero(t, failures.Load())
	require.Zero(t, mismatches.Load())
}

const benchPolicy = `
id: bench
version: 1
score:
  weights:
    - {signal: document.mrz.valid, weight: 50}
    - {signal: document.data.name_match, weight: 20}
    - {signal: document.data.dob_match, weight: 20}
    - {signal: document.mrz.days_to_expiry, weight: 10, min: 0, max: 180}
    - {signal: face.similarity, weight: 30, min: 0.5, max: 1}
  bands: {approve: 80, review: 50}
rules:
  - {name: mrz_invalid, when: 'document.mrz.valid == false', requires: [document], outcome: REJECT, reason: DOC_MRZ_UNREADABLE}
  - {name: expired, when: 'document.mrz.expired', requires: [document], outcome: REJECT, reason: DOC_EXPIRED}
  - {name: name_mismatch, when: 'document.?data.?name_match.orValue(1.0) < 0.85', requires: [document], outcome: REVIEW, reason: DATA_NAME_MISMATCH}
  - {name: underage, when: 'document.holder.age_years < 18', requires: [document], outcome: REVIEW, reason: DOC_HOLDER_UNDERAGE}
  - {name: face_low, when: 'face.status != "PASS" || face.similarity < 0.6', requires: [face], outcome: REVIEW}
`

func BenchmarkDecide(b *testing.B) {
	p := mustParse(b, benchPolicy)
	in := Input{
		Request: request(kDoc, kFace),
		Checks: []*ekycv1.CheckResult{
			goodDocument(num("holder.age_years", 40), text("mrz.format", "TD3")),
			check(kFace, sPass, nil, num("similarity", 0.93)),
		},
	}
	res, err := p.Decide(in)
	require.NoError(b, err)
	require.Equal(b, approve, res.Outcome)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := p.Decide(in); err != nil {
			b.Fatal(err)
		}
	}
}
