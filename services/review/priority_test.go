package review

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/openekyc/ekyc/services/reasons"
)

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		code string
		want Priority
	}{
		{reasons.ScreeningSanctionsHit, PrioritySanctions},
		{reasons.ScreeningPEPHit, PrioritySanctions},
		{reasons.ScreeningAdverseMedia, PriorityOther},
		{reasons.ScreeningNoName, PriorityOther},
		{reasons.FaceDuplicateIdentity, PriorityDuplicate},
		{reasons.FaceLivenessFailed, PriorityLiveness},
		{reasons.FaceMismatch, PriorityOther},
		{reasons.FaceBlurry, PriorityOther},
		{reasons.DocExpired, PriorityDocument},
		{reasons.DocMRZCheckComposite, PriorityDocument},
		{reasons.DocImageEditedRegion, PriorityDocument},
		{reasons.DataNameMismatch, PriorityDocument},
		{reasons.DatabaseNoMatch, PriorityOther},
		{reasons.CheckTimeout, PriorityOther},
		{reasons.DecisionScoreReview, PriorityOther},
		{"NOT_A_CODE", PriorityOther},
		{"SCREENING_MADE_UP_HIT", PriorityOther}, // not in the table: no category
		{"", PriorityOther},
	} {
		t.Run(tc.code, func(t *testing.T) {
			require.Equal(t, tc.want, Classify(tc.code))
		})
	}
}

func TestPriorityOf(t *testing.T) {
	for _, tc := range []struct {
		name  string
		codes []string
		want  Priority
	}{
		{"none", nil, PriorityOther},
		{"other only", []string{reasons.DecisionScoreReview}, PriorityOther},
		{"document beats other", []string{reasons.DecisionScoreReview, reasons.DocExpired}, PriorityDocument},
		{"liveness beats document", []string{reasons.DocExpired, reasons.FaceLivenessFailed}, PriorityLiveness},
		{"duplicate beats liveness", []string{reasons.FaceLivenessFailed, reasons.FaceDuplicateIdentity}, PriorityDuplicate},
		{"sanctions beats all", []string{reasons.FaceDuplicateIdentity, reasons.DocExpired, reasons.ScreeningSanctionsHit}, PrioritySanctions},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, PriorityOf(tc.codes))
		})
	}
}

// TestEveryCodeClassified reads codes.yaml itself (not only the generated
// constants): every row's category must be one Classify knows, and every
// priority must be reached by at least one code, so renaming
// FACE_LIVENESS_FAILED or SCREENING_SANCTIONS_HIT, or adding a category,
// fails here.
func TestEveryCodeClassified(t *testing.T) {
	raw, err := os.ReadFile("../reasons/codes.yaml")
	require.NoError(t, err)
	var table struct {
		Codes []struct {
			Code     string `yaml:"code"`
			Category string `yaml:"category"`
		} `yaml:"codes"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &table))
	require.NotEmpty(t, table.Codes)
	reached := map[Priority]bool{}
	for _, row := range table.Codes {
		_, ok := categoryPriority[row.Category]
		require.Truef(t, ok, "category %q of %s has no priority in categoryPriority", row.Category, row.Code)
		require.Truef(t, reasons.Known(row.Code), "%s is in codes.yaml but not generated (make generate)", row.Code)
		p := Classify(row.Code)
		require.Truef(t, p.Valid(), "%s classified as %v", row.Code, p)
		reached[p] = true
	}
	for _, p := range Priorities {
		require.Truef(t, reached[p], "no code of codes.yaml has priority %s", p)
	}
	for _, i := range reasons.All {
		require.True(t, Classify(i.Code).Valid())
	}
}

func TestPriorityNames(t *testing.T) {
	for _, p := range Priorities {
		q, err := ParsePriority(p.String())
		require.NoError(t, err)
		require.Equal(t, p, q)
	}
	_, err := ParsePriority("urgent")
	require.ErrorIs(t, err, ErrInvalid)
	require.False(t, Priority(0).Valid())
	require.False(t, Priority(6).Valid())
	require.Equal(t, "priority(9)", Priority(9).String())
}

func TestSLA(t *testing.T) {
	opened := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	def := DefaultSLA()
	for _, tc := range []struct {
		p    Priority
		want time.Duration
	}{
		{PrioritySanctions, 5 * time.Minute},
		{PriorityDuplicate, 30 * time.Minute},
		{PriorityLiveness, 4 * time.Hour},
		{PriorityDocument, 24 * time.Hour},
		{PriorityOther, 24 * time.Hour},
		{Priority(0), 24 * time.Hour},
	} {
		t.Run(tc.p.String(), func(t *testing.T) {
			require.Equal(t, tc.want, def.For(tc.p))
			require.Equal(t, opened.Add(tc.want), def.Due(tc.p, opened))
			require.Equal(t, tc.want, SLA{}.For(tc.p), "zero SLA uses the defaults")
		})
	}

	custom := SLA{Sanctions: time.Minute, Other: 2 * time.Hour}
	require.NoError(t, custom.Validate())
	require.Equal(t, time.Minute, custom.For(PrioritySanctions))
	require.Equal(t, 30*time.Minute, custom.For(PriorityDuplicate))
	require.Equal(t, 2*time.Hour, custom.For(PriorityOther))
	require.Equal(t, opened.Add(time.Minute), custom.Due(PrioritySanctions, opened))

	require.ErrorIs(t, SLA{Liveness: -time.Second}.Validate(), ErrInvalid)

	var fromYAML SLA
	require.NoError(t, yaml.Unmarshal([]byte("sanctions: 2m\nduplicate_identity: 1h\n"), &fromYAML))
	require.Equal(t, 2*time.Minute, fromYAML.For(PrioritySanctions))
	require.Equal(t, time.Hour, fromYAML.For(PriorityDuplicate))
}
