package analytics

import (
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Report names.
const (
	// ReportOutcomesDaily: per UTC day of decided_at and tenant, the number
	// of decisions, of APPROVE, REVIEW and REJECT outcomes and their rates
	// (count / decisions).
	ReportOutcomesDaily = "outcomes_daily"
	// ReportTopReasonCodes: the decision reason codes by the number of
	// decisions that carry them (a code repeated within a decision counts
	// once), with their share of all decisions in the range; most frequent
	// first, ties by code.
	ReportTopReasonCodes = "top_reason_codes"
	// ReportSTPRate: per tenant, the straight-through-processing rate: the
	// share of decisions the engine made without routing to manual review,
	// i.e. with outcome APPROVE or REJECT (REVIEW and UNSPECIFIED are not
	// straight through); and the auto-approval rate (APPROVE / decisions).
	ReportSTPRate = "stp_rate"
	// ReportCheckLatency: per check kind, the number of check results and
	// the p50/p95/p99 of their latency in milliseconds, plus one row
	// END_TO_END for the decisions' end-to-end latency. Quantiles use the
	// nearest-rank method: the p-th percentile of n sorted values is the
	// value of rank ceil(p*n/100) (1-based), an actual observation.
	ReportCheckLatency = "check_latency"
	// ReportCheckStatus: per check kind and status, the number of check
	// results, their share of the kind's results and their mean score.
	ReportCheckStatus = "check_status"
	// ReportScreeningHitRate: per screening list version, the number of
	// decisions screened on it, of those with at least one hit from it,
	// and the hit rate (with_hits / screened).
	ReportScreeningHitRate = "screening_hit_rate"
	// ReportDocumentTypes: per issuing country and declared document type
	// (decisions with a document only), the number of decisions and the
	// approval rate; by country, then most frequent first, ties by type.
	ReportDocumentTypes = "document_types"
)

// Default row limits (Params.Limit 0).
const (
	DefaultLimit          = 10000
	DefaultTopReasonCodes = 20
)

// ColumnType is the Go type of a report column's values: string, int64 or
// float64.
type ColumnType int

// Column types.
const (
	String ColumnType = iota
	Int
	Float
)

func (t ColumnType) String() string {
	switch t {
	case String:
		return "string"
	case Int:
		return "int64"
	case Float:
		return "float64"
	}
	return "ColumnType(" + strconv.Itoa(int(t)) + ")"
}

// Column of a report.
type Column struct {
	Name string
	Type ColumnType
}

// ReportInfo describes a report: every implementation returns exactly these
// columns, in this order, with values of these Go types.
type ReportInfo struct {
	Name        string
	Description string
	Columns     []Column
	// DefaultLimit applies when Params.Limit is 0.
	DefaultLimit int
}

var reports = []ReportInfo{
	{Name: ReportOutcomesDaily, DefaultLimit: DefaultLimit,
		Description: "decisions and APPROVE/REVIEW/REJECT counts and rates per UTC day and tenant",
		Columns: []Column{{"day", String}, {"tenant", String}, {"decisions", Int}, {"approved", Int}, {"review", Int},
			{"rejected", Int}, {"approve_rate", Float}, {"review_rate", Float}, {"reject_rate", Float}}},
	{Name: ReportTopReasonCodes, DefaultLimit: DefaultTopReasonCodes,
		Description: "decision reason codes by number of decisions carrying them, with their share of all decisions",
		Columns:     []Column{{"reason_code", String}, {"decisions", Int}, {"share", Float}}},
	{Name: ReportSTPRate, DefaultLimit: DefaultLimit,
		Description: "straight-through-processing rate (APPROVE or REJECT without manual review) and auto-approval rate per tenant",
		Columns: []Column{{"tenant", String}, {"decisions", Int}, {"straight_through", Int}, {"stp_rate", Float},
			{"auto_approved", Int}, {"auto_approve_rate", Float}}},
	{Name: ReportCheckLatency, DefaultLimit: DefaultLimit,
		Description: "p50/p95/p99 latency (ms, nearest rank) per check kind and END_TO_END",
		Columns:     []Column{{"check_kind", String}, {"runs", Int}, {"p50_ms", Float}, {"p95_ms", Float}, {"p99_ms", Float}}},
	{Name: ReportCheckStatus, DefaultLimit: DefaultLimit,
		Description: "check results per check kind and status, their share of the kind's results and mean score",
		Columns:     []Column{{"check_kind", String}, {"status", String}, {"results", Int}, {"share", Float}, {"avg_score", Float}}},
	{Name: ReportScreeningHitRate, DefaultLimit: DefaultLimit,
		Description: "decisions screened on each list version, those with a hit from it, and the hit rate",
		Columns:     []Column{{"list_version", String}, {"screened", Int}, {"with_hits", Int}, {"hit_rate", Float}}},
	{Name: ReportDocumentTypes, DefaultLimit: DefaultLimit,
		Description: "decisions and approval rate per issuing country and document type",
		Columns:     []Column{{"issuing_country", String}, {"document_type", String}, {"decisions", Int}, {"approve_rate", Float}}},
}

// Reports lists the reports every implementation runs.
func Reports() []ReportInfo {
	out := slices.Clone(reports)
	for i := range out {
		out[i].Columns = slices.Clone(out[i].Columns)
	}
	return out
}

// ReportNames lists the report names.
func ReportNames() []string {
	out := make([]string, len(reports))
	for i, r := range reports {
		out[i] = r.Name
	}
	return out
}

// LookupReport returns the report's description.
func LookupReport(name string) (ReportInfo, bool) {
	for _, r := range reports {
		if r.Name == name {
			return r, true
		}
	}
	return ReportInfo{}, false
}

// Resolved are report parameters with the defaults applied: the bounds of
// the decided_at range (From inclusive, To exclusive, whole seconds, UTC),
// the tenant ("" = all) and the row limit.
type Resolved struct {
	Tenant   string
	From, To time.Time
	Limit    int
}

// Resolve checks a report name and its parameters and applies the
// defaults: an unbounded From is MinTime, an unbounded To MaxTime, a zero
// Limit the report's default.
func Resolve(name string, p Params) (ReportInfo, Resolved, error) {
	info, ok := LookupReport(name)
	if !ok {
		return info, Resolved{}, fmt.Errorf("%w: unknown report %q (reports: %s)", ErrInvalidArgument, name, strings.Join(ReportNames(), ", "))
	}
	r := Resolved{Tenant: p.Tenant, From: MinTime, To: MaxTime, Limit: p.Limit}
	if p.Tenant != "" {
		if err := checkString("tenant id", p.Tenant, true); err != nil {
			return info, r, fmt.Errorf("%w: %v", ErrInvalidArgument, err)
		}
	}
	if !p.From.IsZero() {
		r.From = clampTime(p.From)
	}
	if !p.To.IsZero() {
		r.To = clampTime(p.To)
	}
	if r.To.Before(r.From) {
		return info, r, fmt.Errorf("%w: report range ends (%s) before it starts (%s)", ErrInvalidArgument,
			r.To.Format(time.RFC3339), r.From.Format(time.RFC3339))
	}
	switch {
	case p.Limit < 0:
		return info, r, fmt.Errorf("%w: negative limit %d", ErrInvalidArgument, p.Limit)
	case p.Limit == 0:
		r.Limit = info.DefaultLimit
	}
	return info, r, nil
}

func clampTime(t time.Time) time.Time {
	t = t.UTC().Truncate(time.Second)
	if t.Before(MinTime) {
		return MinTime
	}
	if t.After(MaxTime) {
		return MaxTime
	}
	return t
}

// Table is a report's result. Values are string, int64 or float64 as the
// report's ReportInfo.Columns say.
type Table struct {
	Name    string
	Columns []string
	Rows    [][]any
}

// NewTable returns an empty table of the report.
func NewTable(info ReportInfo) *Table {
	t := &Table{Name: info.Name, Columns: make([]string, len(info.Columns)), Rows: [][]any{}}
	for i, c := range info.Columns {
		t.Columns[i] = c.Name
	}
	return t
}

// FormatValue renders a cell: floats with up to 6 significant decimals.
func FormatValue(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'g', 6, 64)
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

// WriteText writes the table aligned in columns, with a header line.
func (t *Table) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(t.Columns, "\t"))
	for _, row := range t.Rows {
		cells := make([]string, len(row))
		for i, v := range row {
			cells[i] = FormatValue(v)
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

// WriteCSV writes the table as CSV with a header line; floats in full
// precision.
func (t *Table) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(t.Columns); err != nil {
		return err
	}
	for _, row := range t.Rows {
		cells := make([]string, len(row))
		for i, v := range row {
			if f, ok := v.(float64); ok {
				cells[i] = strconv.FormatFloat(f, 'g', -1, 64)
			} else {
				cells[i] = FormatValue(v)
			}
		}
		if err := cw.Write(cells); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// ScanDest returns one pointer per column of info (*string, *int64 or
// *float64) to scan a result row into; ScannedRow turns them into a Table
// row.
func ScanDest(info ReportInfo) []any {
	dest := make([]any, len(info.Columns))
	for i, c := range info.Columns {
		switch c.Type {
		case String:
			dest[i] = new(string)
		case Int:
			dest[i] = new(int64)
		case Float:
			dest[i] = new(float64)
		}
	}
	return dest
}

// ScannedRow returns the values ScanDest's pointers point to.
func ScannedRow(dest []any) []any {
	row := make([]any, len(dest))
	for i, d := range dest {
		switch v := d.(type) {
		case *string:
			row[i] = *v
		case *int64:
			row[i] = *v
		case *float64:
			row[i] = *v
		}
	}
	return row
}
