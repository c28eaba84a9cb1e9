package analyticstest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/openekyc/ekyc/store/analytics"
)

// Tenants of the generated rows (one with a non-ASCII id).
var Tenants = []string{"acme", "beta", "gamma-ü"}

// ListVersions are the screening list versions of the generated rows.
var ListVersions = []string{"eu@2026-01-30", "ofac@2026-01-20", "ofac@2026-02-01", "un@2026-01-15"}

var (
	reasonCodes = []string{"DOC_EXPIRED", "DOC_TYPE_MISMATCH", "FACE_MISMATCH", "FACE_BLURRY",
		"SCREENING_SANCTIONS_HIT", "SCREENING_PEP_HIT", "CHECK_TIMEOUT", "DATA_NAME_MISMATCH"}
	docTypes  = []string{"PASSPORT", "ID_CARD", "RESIDENCE_PERMIT", "VISA", "DRIVING_LICENCE"}
	countries = []string{"GBR", "D", "FRA", "UTO", "SWE", ""}
	kinds     = []string{"DATABASE", "DOCUMENT", "FACE", "SCREENING"}
	statuses  = []string{"PASS", "FAIL", "CONSIDER", "ERROR"}
)

// Start is the first decided_at of Generate's rows: the rows span 14 days
// across a month boundary (two ClickHouse partitions).
var Start = time.Date(2026, 1, 25, 0, 0, 0, 0, time.UTC)

// Generate returns n valid, distinct decisions (ids "<prefix>-<i>") decided
// over 14 days from start, deterministic for a seed. Times carry
// sub-second parts (the stores keep seconds); latencies have microsecond
// resolution, so quantiles of different ranks differ.
func Generate(seed uint64, n int, start time.Time, prefix string) []analytics.Decision {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	pick := func(l []string) string { return l[r.IntN(len(l))] }
	out := make([]analytics.Decision, n)
	for i := range out {
		decided := start.Add(time.Duration(r.Int64N(int64(14 * 24 * time.Hour)))).Add(time.Duration(r.IntN(1e9)))
		latency := float64(1+r.IntN(8_000_000)) / 1000 // µs resolution, up to 8 s
		d := analytics.Decision{
			DecisionID:       fmt.Sprintf("%s-%06d", prefix, i),
			TenantID:         pick(Tenants),
			SessionID:        fmt.Sprintf("s-%d", r.Uint64()),
			EventID:          fmt.Sprintf("e-%d", i),
			NodeID:           fmt.Sprintf("node-%d", r.IntN(3)),
			Score:            float64(r.IntN(10001)) / 100,
			PolicyID:         pick([]string{"default", "strict"}),
			PolicyVersion:    int32(1 + r.IntN(3)),
			ApplicantCountry: pick(countries),
			DecidedAt:        decided,
			LatencyMS:        latency,
		}
		switch x := r.IntN(100); {
		case x < 58:
			d.Outcome = analytics.OutcomeApprove
		case x < 83:
			d.Outcome = analytics.OutcomeReview
		case x < 97:
			d.Outcome = analytics.OutcomeReject
		default:
			d.Outcome = analytics.OutcomeUnspecified
		}
		if r.IntN(10) > 0 {
			d.SubmittedAt = decided.Add(-time.Duration(latency * float64(time.Millisecond)))
		}
		for range r.IntN(4) {
			d.ReasonCodes = append(d.ReasonCodes, pick(reasonCodes)) // repeats within a decision happen
		}
		if r.IntN(5) > 0 {
			d.DocumentType = pick(docTypes)
			d.IssuingCountry = pick(countries)
		}
		for _, k := range kinds {
			if r.IntN(4) == 0 {
				continue
			}
			c := analytics.Check{
				Kind:      k,
				Status:    pick(statuses),
				Score:     float64(r.IntN(1001)) / 1000,
				LatencyMS: float64(1+r.IntN(3_000_000)) / 1000,
				Attempts:  int32(1 + r.IntN(3)),
			}
			if r.IntN(3) == 0 {
				c.ReasonCodes = []string{pick(reasonCodes)}
			}
			d.Checks = append(d.Checks, c)
			if k == "SCREENING" && c.Status != "ERROR" {
				vs := slices.Clone(ListVersions)
				r.Shuffle(len(vs), func(i, j int) { vs[i], vs[j] = vs[j], vs[i] })
				d.ListVersions = vs[:2+r.IntN(len(vs)-1)]
				for _, v := range d.ListVersions {
					if r.IntN(5) == 0 {
						hits := 1 + r.IntN(2)
						d.ScreeningHits += hits
						for range hits {
							d.HitListVersions = append(d.HitListVersions, v) // repeated: one per hit
						}
					}
				}
			}
		}
		r.Shuffle(len(d.Checks), func(i, j int) { d.Checks[i], d.Checks[j] = d.Checks[j], d.Checks[i] })
		out[i] = d
	}
	return out
}

// Clone returns a deep copy of a row (a redelivery of it).
func Clone(d analytics.Decision) analytics.Decision {
	d.ReasonCodes = slices.Clone(d.ReasonCodes)
	d.ListVersions = slices.Clone(d.ListVersions)
	d.HitListVersions = slices.Clone(d.HitListVersions)
	checks := make([]analytics.Check, len(d.Checks))
	for i, c := range d.Checks {
		c.ReasonCodes = slices.Clone(c.ReasonCodes)
		checks[i] = c
	}
	if d.Checks == nil {
		checks = nil
	}
	d.Checks = checks
	return d
}
