package analyticstest

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/openekyc/ekyc/store/analytics"
)

// Expected computes report name over rows in Go, independently of any
// store: the reference the conformance suite compares against. rows may
// contain redeliveries (the first row of each decision id counts) and
// unnormalized values.
func Expected(name string, rows []analytics.Decision, p analytics.Params) (*analytics.Table, error) {
	info, rp, err := analytics.Resolve(name, p)
	if err != nil {
		return nil, err
	}
	var sel []analytics.Decision
	for _, d := range analytics.Dedupe(rows) {
		d = analytics.Normalize(d)
		if rp.Tenant != "" && d.TenantID != rp.Tenant {
			continue
		}
		if d.DecidedAt.Before(rp.From) || !d.DecidedAt.Before(rp.To) {
			continue
		}
		sel = append(sel, d)
	}
	t := analytics.NewTable(info)
	switch name {
	case analytics.ReportOutcomesDaily:
		t.Rows = outcomesDaily(sel)
	case analytics.ReportTopReasonCodes:
		t.Rows = topReasonCodes(sel)
	case analytics.ReportSTPRate:
		t.Rows = stpRate(sel)
	case analytics.ReportCheckLatency:
		t.Rows = checkLatency(sel)
	case analytics.ReportCheckStatus:
		t.Rows = checkStatus(sel)
	case analytics.ReportScreeningHitRate:
		t.Rows = screeningHitRate(sel)
	case analytics.ReportDocumentTypes:
		t.Rows = documentTypes(sel)
	default:
		return nil, fmt.Errorf("analyticstest: no reference for report %q", name)
	}
	if len(t.Rows) > rp.Limit {
		t.Rows = t.Rows[:rp.Limit]
	}
	return t, nil
}

func ratio(a, b int64) float64 { return float64(a) / float64(b) }

// groups counts rows per key and keeps the keys in first-seen order.
type groups[K comparable, V any] struct {
	keys []K
	m    map[K]*V
}

func (g *groups[K, V]) get(k K) *V {
	if g.m == nil {
		g.m = map[K]*V{}
	}
	v, ok := g.m[k]
	if !ok {
		v = new(V)
		g.m[k] = v
		g.keys = append(g.keys, k)
	}
	return v
}

func outcomesDaily(sel []analytics.Decision) [][]any {
	type key struct{ day, tenant string }
	type counts struct{ n, approve, review, reject int64 }
	var g groups[key, counts]
	for _, d := range sel {
		c := g.get(key{d.DecidedAt.Format("2006-01-02"), d.TenantID})
		c.n++
		switch d.Outcome {
		case analytics.OutcomeApprove:
			c.approve++
		case analytics.OutcomeReview:
			c.review++
		case analytics.OutcomeReject:
			c.reject++
		}
	}
	slices.SortFunc(g.keys, func(a, b key) int { return cmp.Or(cmp.Compare(a.day, b.day), cmp.Compare(a.tenant, b.tenant)) })
	rows := [][]any{}
	for _, k := range g.keys {
		c := g.m[k]
		rows = append(rows, []any{k.day, k.tenant, c.n, c.approve, c.review, c.reject,
			ratio(c.approve, c.n), ratio(c.review, c.n), ratio(c.reject, c.n)})
	}
	return rows
}

func topReasonCodes(sel []analytics.Decision) [][]any {
	var g groups[string, int64]
	for _, d := range sel {
		seen := map[string]bool{}
		for _, c := range d.ReasonCodes {
			if !seen[c] {
				seen[c] = true
				*g.get(c)++
			}
		}
	}
	slices.SortFunc(g.keys, func(a, b string) int { return cmp.Or(cmp.Compare(*g.m[b], *g.m[a]), cmp.Compare(a, b)) })
	rows := [][]any{}
	for _, k := range g.keys {
		rows = append(rows, []any{k, *g.m[k], ratio(*g.m[k], int64(len(sel)))})
	}
	return rows
}

func stpRate(sel []analytics.Decision) [][]any {
	type counts struct{ n, stp, approve int64 }
	var g groups[string, counts]
	for _, d := range sel {
		c := g.get(d.TenantID)
		c.n++
		if d.Outcome == analytics.OutcomeApprove || d.Outcome == analytics.OutcomeReject {
			c.stp++
		}
		if d.Outcome == analytics.OutcomeApprove {
			c.approve++
		}
	}
	slices.Sort(g.keys)
	rows := [][]any{}
	for _, k := range g.keys {
		c := g.m[k]
		rows = append(rows, []any{k, c.n, c.stp, ratio(c.stp, c.n), c.approve, ratio(c.approve, c.n)})
	}
	return rows
}

// NearestRank is the p-th percentile (0 < p <= 100) of values by the
// nearest-rank method: the value of rank ceil(p*n/100), 1-based, in sorted
// order. values must not be empty; it is sorted in place.
func NearestRank(values []float64, p int) float64 {
	slices.Sort(values)
	rank := (p*len(values) + 99) / 100
	return values[rank-1]
}

func checkLatency(sel []analytics.Decision) [][]any {
	var g groups[string, []float64]
	for _, d := range sel {
		for _, c := range d.Checks {
			l := g.get(c.Kind)
			*l = append(*l, c.LatencyMS)
		}
		l := g.get(analytics.EndToEnd)
		*l = append(*l, d.LatencyMS)
	}
	slices.Sort(g.keys)
	rows := [][]any{}
	for _, k := range g.keys {
		l := *g.m[k]
		rows = append(rows, []any{k, int64(len(l)), NearestRank(l, 50), NearestRank(l, 95), NearestRank(l, 99)})
	}
	return rows
}

func checkStatus(sel []analytics.Decision) [][]any {
	type key struct{ kind, status string }
	type acc struct {
		n   int64
		sum float64
	}
	var g groups[key, acc]
	total := map[string]int64{}
	for _, d := range sel {
		for _, c := range d.Checks {
			a := g.get(key{c.Kind, c.Status})
			a.n++
			a.sum += c.Score
			total[c.Kind]++
		}
	}
	slices.SortFunc(g.keys, func(a, b key) int { return cmp.Or(cmp.Compare(a.kind, b.kind), cmp.Compare(a.status, b.status)) })
	rows := [][]any{}
	for _, k := range g.keys {
		a := g.m[k]
		rows = append(rows, []any{k.kind, k.status, a.n, ratio(a.n, total[k.kind]), a.sum / float64(a.n)})
	}
	return rows
}

func screeningHitRate(sel []analytics.Decision) [][]any {
	type counts struct{ screened, hits int64 }
	var g groups[string, counts]
	for _, d := range sel {
		for _, v := range d.ListVersions {
			c := g.get(v)
			c.screened++
			if slices.Contains(d.HitListVersions, v) {
				c.hits++
			}
		}
	}
	slices.Sort(g.keys)
	rows := [][]any{}
	for _, k := range g.keys {
		c := g.m[k]
		rows = append(rows, []any{k, c.screened, c.hits, ratio(c.hits, c.screened)})
	}
	return rows
}

func documentTypes(sel []analytics.Decision) [][]any {
	type key struct{ country, docType string }
	type counts struct{ n, approve int64 }
	var g groups[key, counts]
	for _, d := range sel {
		if d.DocumentType == "" {
			continue
		}
		c := g.get(key{d.IssuingCountry, d.DocumentType})
		c.n++
		if d.Outcome == analytics.OutcomeApprove {
			c.approve++
		}
	}
	slices.SortFunc(g.keys, func(a, b key) int {
		return cmp.Or(cmp.Compare(a.country, b.country), cmp.Compare(g.m[b].n, g.m[a].n), cmp.Compare(a.docType, b.docType))
	})
	rows := [][]any{}
	for _, k := range g.keys {
		c := g.m[k]
		rows = append(rows, []any{k.country, k.docType, c.n, ratio(c.approve, c.n)})
	}
	return rows
}
