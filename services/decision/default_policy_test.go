package decision

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
)

const (
	policiesDir = "../../deploy/policies"
	codesTable  = "../reasons/codes.yaml"
)

// knownCodes reads the reason-code table, as the generated lookup will.
func knownCodes(t *testing.T) map[string]bool {
	t.Helper()
	data, err := os.ReadFile(codesTable)
	require.NoError(t, err)
	var table struct {
		Codes []struct {
			Code string `yaml:"code"`
		} `yaml:"codes"`
	}
	require.NoError(t, yaml.Unmarshal(data, &table))
	known := map[string]bool{}
	for _, c := range table.Codes {
		known[c.Code] = true
	}
	require.NotEmpty(t, known)
	return known
}

func TestEmittedCodesAreInTable(t *testing.T) {
	known := knownCodes(t)
	for _, c := range []string{ReasonScoreReview, ReasonScoreReject, ReasonRuleError, ReasonCheckError, ReasonCheckUnavailable} {
		require.True(t, known[c], "%s missing from %s", c, codesTable)
	}
}

func loadDefault(t *testing.T) *Policy {
	t.Helper()
	known := knownCodes(t)
	r, err := LoadDir(policiesDir, WithKnownCode(func(c string) bool { return known[c] }))
	require.NoError(t, err)
	p, err := r.Get("default")
	require.NoError(t, err)
	return p
}

// specimenSignals are the document check's signals for a valid, unexpired
// TD3 specimen whose declared data match the MRZ.
func specimenSignals() []*ekycv1.Signal {
	return []*ekycv1.Signal{
		flag("mrz.present", true),
		flag("mrz.valid", true),
		text("mrz.format", "TD3"),
		num("mrz.check_digit_failures", 0),
		flag("mrz.expired", false),
		num("mrz.days_to_expiry", 2400),
		num("holder.age_years", 52),
		num("data.name_match", 1),
		flag("data.dob_match", true),
		flag("data.nationality_match", true),
		flag("doc.type_match", true),
	}
}

// withSignal replaces (or adds) one signal of the specimen.
func withSignal(s *ekycv1.Signal) []*ekycv1.Signal {
	out := []*ekycv1.Signal{}
	for _, x := range specimenSignals() {
		if x.GetName() != s.GetName() {
			out = append(out, x)
		}
	}
	return append(out, s)
}

func TestDefaultPolicy(t *testing.T) {
	p := loadDefault(t)
	req := request(kDoc)

	t.Run("valid specimen approves", func(t *testing.T) {
		res := decide(t, p, Input{Request: req, Checks: []*ekycv1.CheckResult{check(kDoc, sPass, nil, specimenSignals()...)}})
		require.Equal(t, approve, res.Outcome)
		require.Equal(t, 100.0, res.Score)
		require.Empty(t, res.ReasonCodes)
		require.Empty(t, res.FiredRules)
		require.Empty(t, res.RuleErrors)
		require.Equal(t, "default", res.PolicyID)
		require.Equal(t, p.Version(), res.PolicyVersion)
	})

	t.Run("specimen without declared data approves", func(t *testing.T) {
		var sigs []*ekycv1.Signal
		for _, s := range specimenSignals() {
			if s.GetName() != "data.name_match" && s.GetName() != "data.dob_match" && s.GetName() != "data.nationality_match" {
				sigs = append(sigs, s)
			}
		}
		res := decide(t, p, Input{Request: req, Checks: []*ekycv1.CheckResult{check(kDoc, sPass, nil, sigs...)}})
		require.Equal(t, approve, res.Outcome)
		require.Empty(t, res.RuleErrors)
	})

	t.Run("invalid MRZ rejects with its reasons", func(t *testing.T) {
		sigs := []*ekycv1.Signal{
			flag("mrz.present", true), flag("mrz.valid", false), text("mrz.format", "TD3"),
			num("mrz.check_digit_failures", 2), flag("mrz.expired", false), num("mrz.days_to_expiry", 2400),
			num("holder.age_years", 52), flag("doc.type_match", true),
		}
		reasons := []string{"DOC_MRZ_CHECK_DOCUMENT_NUMBER", "DOC_MRZ_CHECK_COMPOSITE"}
		res := decide(t, p, Input{Request: req, Checks: []*ekycv1.CheckResult{check(kDoc, sFail, reasons, sigs...)}})
		require.Equal(t, reject, res.Outcome)
		require.Equal(t, 32.0, res.Score) // 20*(1-2/5) + 10 + 10 of 100
		require.Equal(t, []string{"DOC_MRZ_CHECK_DOCUMENT_NUMBER", "DOC_MRZ_CHECK_COMPOSITE", ReasonScoreReview}, res.ReasonCodes)
		require.Equal(t, []string{"mrz_invalid"}, res.FiredRules)
		require.Empty(t, res.RuleErrors)
	})

	t.Run("unreadable MRZ rejects without rule errors", func(t *testing.T) {
		sigs := []*ekycv1.Signal{flag("mrz.present", true), flag("mrz.valid", false)}
		res := decide(t, p, Input{Request: req, Checks: []*ekycv1.CheckResult{check(kDoc, sFail, []string{"DOC_MRZ_UNREADABLE"}, sigs...)}})
		require.Equal(t, reject, res.Outcome)
		require.Equal(t, []string{"DOC_MRZ_UNREADABLE", ReasonScoreReview}, res.ReasonCodes)
		require.Equal(t, []string{"mrz_invalid"}, res.FiredRules)
		require.Empty(t, res.RuleErrors)
	})

	tests := []struct {
		name    string
		status  ekycv1.CheckStatus
		reasons []string
		signals []*ekycv1.Signal
		outcome ekycv1.Outcome
		codes   []string
		fired   []string
	}{
		{"expired", sPass, nil, append(withSignal(flag("mrz.expired", true)), num("mrz.days_to_expiry", -1)),
			reject, []string{"DOC_EXPIRED"}, []string{"document_expired"}},
		{"expired reported by the check too", sFail, []string{"DOC_EXPIRED"}, withSignal(flag("mrz.expired", true)),
			reject, []string{"DOC_EXPIRED"}, []string{"document_expired"}},
		{"dob mismatch", sPass, nil, withSignal(flag("data.dob_match", false)),
			reject, []string{"DATA_DOB_MISMATCH"}, []string{"dob_mismatch"}},
		{"weak name match", sPass, nil, withSignal(num("data.name_match", 0.6)),
			review, []string{"DATA_NAME_MISMATCH"}, []string{"name_mismatch"}},
		{"name match at threshold", sPass, nil, withSignal(num("data.name_match", 0.85)),
			approve, []string{}, []string{}},
		{"nationality mismatch", sPass, nil, withSignal(flag("data.nationality_match", false)),
			review, []string{"DATA_NATIONALITY_MISMATCH"}, []string{"nationality_mismatch"}},
		{"document type mismatch", sPass, nil, withSignal(flag("doc.type_match", false)),
			review, []string{"DOC_TYPE_MISMATCH"}, []string{"document_type_mismatch"}},
		{"under 18", sPass, nil, withSignal(num("holder.age_years", 17)),
			review, []string{"DOC_HOLDER_UNDERAGE"}, []string{"underage"}},
		{"exactly 18", sPass, nil, withSignal(num("holder.age_years", 18)),
			approve, []string{}, []string{}},
		// The score band never rejects: missing evidence goes to review.
		{"images only, OCR unavailable", sConsider, []string{"DOC_OCR_UNAVAILABLE"}, []*ekycv1.Signal{flag("mrz.present", false)},
			review, []string{"DOC_OCR_UNAVAILABLE", ReasonScoreReview}, []string{}},
		{"check timed out", sError, []string{"CHECK_TIMEOUT"}, nil,
			review, []string{"CHECK_TIMEOUT", ReasonScoreReview}, []string{}},
		{"check errored", sError, nil, nil,
			review, []string{ReasonCheckError, ReasonScoreReview}, []string{}},
		{"valid MRZ, low score", sPass, nil, []*ekycv1.Signal{flag("mrz.valid", true)},
			review, []string{ReasonScoreReview}, []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := decide(t, p, Input{Request: req, Checks: []*ekycv1.CheckResult{check(kDoc, tc.status, tc.reasons, tc.signals...)}})
			require.Equal(t, tc.outcome, res.Outcome, "%+v", res)
			require.Equal(t, tc.codes, res.ReasonCodes)
			require.Equal(t, tc.fired, res.FiredRules)
			require.Empty(t, res.RuleErrors)
		})
	}

	t.Run("screening rules", func(t *testing.T) {
		doc := check(kDoc, sPass, nil, specimenSignals()...)
		res := decide(t, p, Input{Request: req, Checks: []*ekycv1.CheckResult{doc}})
		require.NotContains(t, res.FiredRules, "sanctions_hit", "inert without screening")

		for rule, sig := range map[string]string{"sanctions_hit": "sanction_hits", "pep_hit": "pep_hits", "adverse_media": "adverse_media_hits"} {
			res = decide(t, p, Input{Request: request(kDoc, kScreening), Checks: []*ekycv1.CheckResult{doc, check(kScreening, sConsider, nil, num(sig, 1))}})
			require.Equal(t, review, res.Outcome, rule)
			require.Equal(t, []string{rule}, res.FiredRules)
		}

		res = decide(t, p, Input{Request: request(kDoc, kScreening), Checks: []*ekycv1.CheckResult{doc, check(kScreening, sPass, nil, num("hits", 0), num("sanction_hits", 0), num("pep_hits", 0))}})
		require.Equal(t, approve, res.Outcome)
	})
}
