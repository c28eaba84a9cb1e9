package decision

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const (
	hdr   = "id: p\nversion: 1\n"
	score = "score:\n  weights:\n    - {signal: document.mrz.valid, weight: 1}\n  bands: {approve: 80, review: 50}\n"
)

// withRule is a valid policy plus one rule given as a flow mapping body.
func withRule(body string) string {
	return hdr + score + "rules:\n  - {" + body + "}\n"
}

func TestParsePolicyValid(t *testing.T) {
	p := mustParse(t, testPolicy)
	require.Equal(t, "default", p.ID())
	require.Equal(t, int32(3), p.Version())
	require.Equal(t, "default@3", p.Ref())
	require.Equal(t, "test policy", p.Description())
	require.Equal(t, []string{"mrz_invalid", "expired", "screening_hit"}, p.RuleNames())
	require.Len(t, p.Digest(), 64)
	require.Equal(t, p.Digest(), mustParse(t, testPolicy).Digest())
	require.NotEqual(t, p.Digest(), mustParse(t, testPolicy+"# edited\n").Digest())

	// Minimal policy: rules and status_outcomes are optional.
	p = mustParse(t, hdr+score)
	require.Empty(t, p.RuleNames())
}

func TestParsePolicyInvalid(t *testing.T) {
	tests := []struct {
		name string
		src  string
		opts []Option
		want string
		// Problems expected in the PolicyError; 0 for document-level errors
		// (YAML syntax, unknown keys) that are not a *PolicyError.
		problems int
	}{
		{name: "empty", src: "", want: "empty document"},
		{name: "comments only", src: "# nothing\n", want: "empty document"},
		{name: "unknown key", src: hdr + score + "scroe: 1\n", want: "field scroe not found"},
		{name: "unknown nested key", src: hdr + strings.Replace(score, "weight: 1}", "weight: 1, wieght: 2}", 1), want: "field wieght not found"},
		{name: "two documents", src: hdr + score + "---\nid: q\n", want: "more than one YAML document"},
		{name: "wrong type", src: "id: p\nversion: three\n" + score, want: "cannot unmarshal"},
		{name: "too large", src: hdr + score + "description: " + strings.Repeat("x", MaxPolicySize) + "\n", want: "limit"},

		{name: "missing id", src: "version: 1\n" + score, want: "id: required", problems: 1},
		{name: "bad id", src: "id: Bad Id\nversion: 1\n" + score, want: `id: "Bad Id" must match`, problems: 1},
		{name: "id with @", src: "id: a@b\nversion: 1\n" + score, want: `id: "a@b" must match`, problems: 1},
		{name: "missing version", src: "id: p\n" + score, want: "version: required", problems: 1},
		{name: "version 0", src: "id: p\nversion: 0\n" + score, want: "version: 0 out of range", problems: 1},
		{name: "version too big", src: "id: p\nversion: 2147483648\n" + score, want: "version: 2147483648 out of range", problems: 1},

		{name: "missing score", src: hdr, want: "score: required", problems: 1},
		{name: "no weights", src: hdr + "score:\n  bands: {approve: 80, review: 50}\n", want: "score.weights: at least one weight", problems: 1},
		{name: "zero weight", src: hdr + strings.Replace(score, "weight: 1", "weight: 0", 1), want: "score.weights[0].weight: must be a finite number > 0, got 0", problems: 1},
		{name: "negative weight", src: hdr + strings.Replace(score, "weight: 1", "weight: -5", 1), want: "score.weights[0].weight: must be a finite number > 0, got -5", problems: 1},
		{name: "NaN weight", src: hdr + strings.Replace(score, "weight: 1", "weight: .nan", 1), want: "score.weights[0].weight: must be a finite number > 0", problems: 1},
		{name: "infinite weight", src: hdr + strings.Replace(score, "weight: 1", "weight: .inf", 1), want: "score.weights[0].weight: must be a finite number > 0", problems: 1},
		{name: "missing signal", src: hdr + strings.Replace(score, "signal: document.mrz.valid, ", "", 1), want: "score.weights[0].signal: required", problems: 1},
		{name: "unknown check in signal", src: hdr + strings.Replace(score, "document.mrz.valid", "passport.mrz.valid", 1), want: `"passport.mrz.valid" must be <check>.<signal>`, problems: 1},
		{name: "signal without name", src: hdr + strings.Replace(score, "document.mrz.valid", "document", 1), want: `"document" must be <check>.<signal>`, problems: 1},
		{name: "bad signal segment", src: hdr + strings.Replace(score, "document.mrz.valid", "document.mrz..valid", 1), want: `bad signal name segment ""`, problems: 1},
		{name: "duplicate signal", src: hdr + strings.Replace(score, "  bands:", "    - {signal: document.mrz.valid, weight: 2}\n  bands:", 1), want: `score.weights[1].signal: "document.mrz.valid" already weighted by score.weights[0]`, problems: 1},
		{name: "min equals max", src: hdr + strings.Replace(score, "weight: 1", "weight: 1, min: 5, max: 5", 1), want: "score.weights[0]: min (5) must be < max (5)", problems: 1},
		{name: "min above default max", src: hdr + strings.Replace(score, "weight: 1", "weight: 1, min: 2", 1), want: "min (2) must be < max (1)", problems: 1},
		{name: "infinite max", src: hdr + strings.Replace(score, "weight: 1", "weight: 1, max: .inf", 1), want: "min and max must be finite", problems: 1},
		{name: "missing bands", src: hdr + "score:\n  weights:\n    - {signal: document.mrz.valid, weight: 1}\n", want: "score.bands: required", problems: 1},
		{name: "missing approve band", src: hdr + strings.Replace(score, "approve: 80, ", "", 1), want: "score.bands.approve: required", problems: 1},
		{name: "missing review band", src: hdr + strings.Replace(score, ", review: 50", "", 1), want: "score.bands.review: required", problems: 1},
		{name: "band above 100", src: hdr + strings.Replace(score, "approve: 80", "approve: 120", 1), want: "score.bands.approve: 120 out of range 0..100", problems: 1},
		{name: "negative band", src: hdr + strings.Replace(score, "review: 50", "review: -1", 1), want: "score.bands.review: -1 out of range 0..100", problems: 1},
		{name: "bands out of order", src: hdr + strings.Replace(score, "{approve: 80, review: 50}", "{approve: 40, review: 60}", 1), want: "score.bands: out of order: review (60) must be <= approve (40)", problems: 1},

		{name: "unknown status", src: hdr + score + "status_outcomes: {FAILED: REJECT}\n", want: `status_outcomes: unknown check status "FAILED"`, problems: 1},
		{name: "unknown status outcome", src: hdr + score + "status_outcomes: {FAIL: DENY}\n", want: `status_outcomes.FAIL: unknown outcome "DENY"`, problems: 1},

		{name: "rule without name", src: withRule("when: 'true', outcome: REVIEW"), want: "rules[0].name: required", problems: 1},
		{name: "bad rule name", src: withRule("name: 'has space', when: 'true', outcome: REVIEW"), want: `name: "has space" must match`, problems: 1},
		{name: "duplicate rule name", src: withRule("name: a, when: 'true', outcome: REVIEW}\n  - {name: a, when: 'false', outcome: REJECT"), want: "rules[1] (a).name: duplicate of rules[0]", problems: 1},
		{name: "rule without when", src: withRule("name: a, outcome: REVIEW"), want: "rules[0] (a).when: required", problems: 1},
		{name: "bad CEL syntax", src: withRule("name: a, when: 'document.mrz.valid ==', outcome: REVIEW"), want: "rules[0] (a).when: bad CEL", problems: 1},
		{name: "undeclared variable", src: withRule("name: a, when: 'passport.valid', outcome: REVIEW"), want: "undeclared reference to 'passport'", problems: 1},
		{name: "int expression", src: withRule("name: a, when: '1 + 2', outcome: REVIEW"), want: "rules[0] (a).when: must evaluate to bool, has type int", problems: 1},
		{name: "string expression", src: withRule("name: a, when: 'applicant.nationality', outcome: REVIEW"), want: "must evaluate to bool, has type string", problems: 1},
		{name: "expression too long", src: withRule("name: a, when: '" + strings.Repeat("true && ", MaxExpressionSize/8) + "true', outcome: REVIEW"), want: "size exceeds limit", problems: 1},
		{name: "rule without outcome", src: withRule("name: a, when: 'true'"), want: "rules[0] (a).outcome: required", problems: 1},
		{name: "unknown rule outcome", src: withRule("name: a, when: 'true', outcome: DENY"), want: `rules[0] (a).outcome: unknown outcome "DENY"`, problems: 1},
		{name: "lower-case outcome", src: withRule("name: a, when: 'true', outcome: reject"), want: `unknown outcome "reject"`, problems: 1},
		{name: "unknown required check", src: withRule("name: a, when: 'true', outcome: REVIEW, requires: [passport]"), want: `rules[0] (a).requires: unknown check kind "passport"`, problems: 1},
		{name: "duplicate required check", src: withRule("name: a, when: 'true', outcome: REVIEW, requires: [face, face]"), want: `requires: "face" listed twice`, problems: 1},
		{name: "malformed reason", src: withRule("name: a, when: 'true', outcome: REVIEW, reason: doc_expired"), want: `rules[0] (a).reason: unknown reason code "doc_expired"`, problems: 1},
		{
			name: "reason not in table", src: withRule("name: a, when: 'true', outcome: REVIEW, reason: DOC_MISSING"),
			opts: []Option{WithKnownCode(func(c string) bool { return c == "DOC_EXPIRED" })},
			want: `unknown reason code "DOC_MISSING"`, problems: 1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ParsePolicy([]byte(tc.src), tc.opts...)
			require.Nil(t, p)
			require.ErrorIs(t, err, ErrInvalidPolicy)
			require.ErrorContains(t, err, tc.want)
			var pe *PolicyError
			if tc.problems == 0 {
				require.False(t, errors.As(err, &pe), "want a document-level error, got %v", err)
				return
			}
			require.ErrorAs(t, err, &pe)
			require.Len(t, pe.Problems, tc.problems, "%v", err)
		})
	}
}

func TestParsePolicyReportsEveryProblem(t *testing.T) {
	src := `
id: p
score:
  weights:
    - {signal: document.mrz.valid, weight: 0}
  bands: {approve: 10, review: 20}
rules:
  - {name: a, when: 'nope', outcome: MAYBE}
`
	_, err := ParsePolicy([]byte(src))
	var pe *PolicyError
	require.ErrorAs(t, err, &pe)
	require.Len(t, pe.Problems, 5, "%v", err)
	for _, want := range []string{"version: required", "weight: must be", "out of order", "bad CEL", "unknown outcome"} {
		require.ErrorContains(t, err, want)
	}
}

func TestParsePolicyKnownCode(t *testing.T) {
	src := withRule("name: a, when: 'true', outcome: REVIEW, reason: DOC_EXPIRED")
	only := WithKnownCode(func(c string) bool { return c == "DOC_EXPIRED" })
	_, err := ParsePolicy([]byte(src), only)
	require.NoError(t, err)
	// A nil predicate keeps the default pattern.
	_, err = ParsePolicy([]byte(src), WithKnownCode(nil))
	require.NoError(t, err)
	_, err = ParsePolicy([]byte(withRule("name: a, when: 'true', outcome: REVIEW, reason: x")), WithKnownCode(nil))
	require.ErrorIs(t, err, ErrInvalidPolicy)
}
