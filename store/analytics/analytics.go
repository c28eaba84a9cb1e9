// Package analytics defines the decision-analytics store: one row per
// decision and one per check of a decision, written after the decision is
// stored, and a small set of named reports over them (approval rates, top
// reason codes, straight-through processing, latency quantiles, screening
// hit rates, document types).
//
// Rows carry no personal data: no names, dates of birth, document numbers
// or images; only ids, outcomes, scores, reason codes, check statuses and
// latencies, the declared document type, the issuing country, the
// applicant's nationality and the screening list versions used. Build them
// with FromProto (or FromSession) from the stored decision.
//
// Writes are idempotent by decision id: a decision is delivered at least
// once (redeliveries, re-emits after a crash), and writing it again must not
// change any report. A decision id names one immutable decision (the
// stored decision is re-emitted as stored, with its decided_at); writing an
// id again with different contents is not supported (which version the
// reports see is implementation-defined).
//
// Implementations:
//   - duckstore: embedded DuckDB, one file under the data directory (the
//     default).
//   - clickhousestore: ClickHouse over the native protocol (ReplacingMergeTree
//     tables, materialized views for dashboards); 18.16 and current servers.
//
// analyticstest holds the conformance suite every implementation must pass:
// it computes every report independently in Go and compares.
// docs/analytics.md documents the tables and every report's SQL.
package analytics

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxIDLen is the longest id (decision, tenant, session, event, node) and
// the longest short string (codes, versions, countries) accepted, in bytes.
const MaxIDLen = 1024

var (
	// ErrInvalidArgument reports a malformed row, an unknown report name or
	// bad report parameters. Retrying the same call cannot succeed.
	ErrInvalidArgument = errors.New("analytics: invalid argument")
	// ErrUnavailable reports that the server could not be reached or did
	// not complete the call (connection refused or lost, overloaded, timed
	// out on the server). The call may have been partly applied; retry it
	// (writes are idempotent).
	ErrUnavailable = errors.New("analytics: store unavailable")
	// ErrNotMigrated reports that the schema is missing or older than this
	// code: run Migrate (`ekyc migrate`).
	ErrNotMigrated = errors.New("analytics: schema missing or out of date (run migrate)")
	// ErrClosed is returned by calls on a closed store.
	ErrClosed = errors.New("analytics: store closed")
)

// Outcome values of Decision.Outcome (proto ekyc.v1.Outcome without its
// prefix).
const (
	OutcomeUnspecified = "UNSPECIFIED"
	OutcomeApprove     = "APPROVE"
	OutcomeReview      = "REVIEW"
	OutcomeReject      = "REJECT"
)

// Outcomes are the valid values of Decision.Outcome.
var Outcomes = []string{OutcomeUnspecified, OutcomeApprove, OutcomeReview, OutcomeReject}

// EndToEnd is the check name of the end-to-end decision latency row of the
// check_latency report (never a check kind).
const EndToEnd = "END_TO_END"

// Decision is the row of one decision (table decisions).
type Decision struct {
	// DecisionID is the idempotency key: deterministic per tenant, session
	// and accepted event.
	DecisionID string
	TenantID   string
	SessionID  string
	EventID    string
	// NodeID is the node whose session actor decided.
	NodeID string
	// Outcome is one of Outcomes.
	Outcome string
	// Score is the decision score, 0..100.
	Score float64
	// ReasonCodes of the decision (services/reasons codes).
	ReasonCodes   []string
	PolicyID      string
	PolicyVersion int32
	// DocumentType is the declared document type (proto DocumentType
	// without its prefix, e.g. "PASSPORT"), or without a known request the
	// MRZ's document class ("PASSPORT", "ID_CARD", "TRAVEL_DOCUMENT",
	// "VISA", "UNSPECIFIED"); "" when there is no document.
	DocumentType string
	// IssuingCountry is the document's issuing state (ICAO code) as read
	// from the MRZ, or as declared when the MRZ gave none; "" if unknown.
	IssuingCountry string
	// ApplicantCountry is the applicant's declared nationality (ICAO code),
	// "" if not declared.
	ApplicantCountry string
	// ListVersions are the screening list versions ("source@version") the
	// screening ran on; empty when no screening ran. Stored sorted, without
	// duplicates.
	ListVersions []string
	// HitListVersions are the list versions of the entities the screening
	// matched (a subset of ListVersions). Stored sorted, without
	// duplicates.
	HitListVersions []string
	// ScreeningHits is the number of matched entities.
	ScreeningHits int
	// SubmittedAt is the request's submitted_at (zero if the client sent
	// none); DecidedAt when the decision was made. Both are stored with
	// second precision, in UTC.
	SubmittedAt time.Time
	DecidedAt   time.Time
	// LatencyMS is the end-to-end latency from submission (or first
	// receipt) to decision, in milliseconds.
	LatencyMS float64
	// Checks are the decision's check results, at most one per kind.
	Checks []Check
}

// Check is the row of one check result of a decision (table
// decision_checks).
type Check struct {
	// Kind is the proto CheckKind without its prefix ("DOCUMENT", "FACE",
	// "SCREENING", "DATABASE").
	Kind string
	// Status is the proto CheckStatus without its prefix ("PASS", "FAIL",
	// "CONSIDER", "ERROR").
	Status string
	// Score is 0..1, higher is better.
	Score float64
	// LatencyMS is the check's latency (all attempts), in milliseconds.
	LatencyMS   float64
	Attempts    int32
	ReasonCodes []string
}

// Params select what a report covers. The zero value covers everything.
type Params struct {
	// Tenant restricts the report to one tenant ("" = all tenants).
	Tenant string
	// From (inclusive) and To (exclusive) bound decided_at; zero means
	// unbounded. Both are truncated to whole seconds, like the stored
	// times.
	From, To time.Time
	// Limit caps the number of rows (0 = the report's default limit).
	Limit int
}

// Sink receives decision rows. Implementations are safe for concurrent
// use.
type Sink interface {
	// Write stores rows. It validates every row first and writes nothing
	// if any is invalid (ErrInvalidArgument). It is idempotent by decision
	// id: rows whose decision id is already stored (or repeated within the
	// call) do not count again in any report. A failed Write (for example
	// ErrUnavailable) may have stored part of the rows; the caller retries
	// the same rows.
	Write(ctx context.Context, rows []Decision) error
	// Close releases the store. It is idempotent; other calls after Close
	// return ErrClosed.
	Close() error
}

// Reporter runs the named reports (see Reports).
type Reporter interface {
	// Report runs the report name over the rows selected by p. An unknown
	// name or invalid parameters give ErrInvalidArgument.
	Report(ctx context.Context, name string, p Params) (*Table, error)
}

// Store is a Sink and a Reporter over one schema.
type Store interface {
	Sink
	Reporter
	// Migrate creates or upgrades the schema. It is idempotent and safe to
	// run concurrently from several processes.
	Migrate(ctx context.Context) error
}

// Time range of the stored times: ClickHouse's DateTime is seconds since
// the epoch in a UInt32, and 18.16 handles dates up to 2105 only. Rows
// must be decided within [MinTime, MaxTime); report bounds are clamped to
// it.
var (
	MinTime = time.Unix(0, 0).UTC()
	MaxTime = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
)

// Validate checks one row.
func Validate(d Decision) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: decision %q: %s", ErrInvalidArgument, d.DecisionID, fmt.Sprintf(format, args...))
	}
	for _, f := range []struct {
		what, v  string
		required bool
	}{
		{"decision id", d.DecisionID, true}, {"tenant id", d.TenantID, true}, {"session id", d.SessionID, true},
		{"event id", d.EventID, false}, {"node id", d.NodeID, false}, {"policy id", d.PolicyID, false},
		{"document type", d.DocumentType, false}, {"issuing country", d.IssuingCountry, false},
		{"applicant country", d.ApplicantCountry, false},
	} {
		if err := checkString(f.what, f.v, f.required); err != nil {
			return bad("%v", err)
		}
	}
	if !slices.Contains(Outcomes, d.Outcome) {
		return bad("unknown outcome %q (want one of %s)", d.Outcome, strings.Join(Outcomes, ", "))
	}
	if !finite(d.Score) {
		return bad("score is not a finite number")
	}
	if !finite(d.LatencyMS) || d.LatencyMS < 0 {
		return bad("latency %v ms is negative or not finite", d.LatencyMS)
	}
	if d.ScreeningHits < 0 || d.ScreeningHits > math.MaxUint32 {
		return bad("screening hits %d out of range", d.ScreeningHits)
	}
	if d.DecidedAt.IsZero() {
		return bad("no decided_at")
	}
	if !inRange(d.DecidedAt) {
		return bad("decided_at %s is outside [%s, %s)", d.DecidedAt.UTC().Format(time.RFC3339), MinTime.Format(time.RFC3339), MaxTime.Format(time.RFC3339))
	}
	if !d.SubmittedAt.IsZero() && !inRange(d.SubmittedAt) {
		return bad("submitted_at %s is outside [%s, %s)", d.SubmittedAt.UTC().Format(time.RFC3339), MinTime.Format(time.RFC3339), MaxTime.Format(time.RFC3339))
	}
	for _, l := range [][]string{d.ReasonCodes, d.ListVersions, d.HitListVersions} {
		for _, s := range l {
			if err := checkString("list element", s, true); err != nil {
				return bad("%v", err)
			}
		}
	}
	lv := normalizeSet(d.ListVersions)
	for _, v := range d.HitListVersions {
		if _, ok := slices.BinarySearch(lv, v); !ok {
			return bad("hit list version %q is not among the list versions", v)
		}
	}
	kinds := make(map[string]bool, len(d.Checks))
	for _, c := range d.Checks {
		if err := checkString("check kind", c.Kind, true); err != nil {
			return bad("%v", err)
		}
		if kinds[c.Kind] {
			return bad("two checks of kind %q", c.Kind)
		}
		kinds[c.Kind] = true
		if c.Kind == EndToEnd {
			return bad("check kind %q is reserved", c.Kind)
		}
		if err := checkString("check status", c.Status, true); err != nil {
			return bad("check %s: %v", c.Kind, err)
		}
		if !finite(c.Score) {
			return bad("check %s: score is not a finite number", c.Kind)
		}
		if !finite(c.LatencyMS) || c.LatencyMS < 0 {
			return bad("check %s: latency %v ms is negative or not finite", c.Kind, c.LatencyMS)
		}
		if c.Attempts < 0 {
			return bad("check %s: negative attempts", c.Kind)
		}
		for _, s := range c.ReasonCodes {
			if err := checkString("reason code", s, true); err != nil {
				return bad("check %s: %v", c.Kind, err)
			}
		}
	}
	return nil
}

// ValidateRows validates every row (see Validate).
func ValidateRows(rows []Decision) error {
	for i := range rows {
		if err := Validate(rows[i]); err != nil {
			return fmt.Errorf("row %d: %w", i, err)
		}
	}
	return nil
}

// Normalize returns the row as the stores keep it: times in UTC truncated
// to whole seconds, list versions sorted and without duplicates, nil
// slices as empty ones, checks in kind order. It does not validate.
func Normalize(d Decision) Decision {
	d.SubmittedAt = TruncateTime(d.SubmittedAt)
	d.DecidedAt = TruncateTime(d.DecidedAt)
	d.ReasonCodes = nonNil(slices.Clone(d.ReasonCodes))
	d.ListVersions = normalizeSet(d.ListVersions)
	d.HitListVersions = normalizeSet(d.HitListVersions)
	checks := make([]Check, len(d.Checks))
	for i, c := range d.Checks {
		c.ReasonCodes = nonNil(slices.Clone(c.ReasonCodes))
		checks[i] = c
	}
	slices.SortFunc(checks, func(a, b Check) int { return strings.Compare(a.Kind, b.Kind) })
	d.Checks = checks
	return d
}

// Dedupe returns the rows with the first row of every decision id (the
// order of the first occurrences is kept).
func Dedupe(rows []Decision) []Decision {
	seen := make(map[string]bool, len(rows))
	out := make([]Decision, 0, len(rows))
	for _, r := range rows {
		if seen[r.DecisionID] {
			continue
		}
		seen[r.DecisionID] = true
		out = append(out, r)
	}
	return out
}

// TruncateTime is t in UTC truncated to whole seconds; the zero time stays
// the Unix epoch's zero (1970-01-01T00:00:00Z), which is how the stores keep
// an unknown time.
func TruncateTime(t time.Time) time.Time {
	if t.IsZero() {
		return MinTime
	}
	return t.UTC().Truncate(time.Second)
}

func normalizeSet(l []string) []string {
	out := slices.Clone(l)
	slices.Sort(out)
	return nonNil(slices.Compact(out))
}

func nonNil(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

func inRange(t time.Time) bool {
	t = t.Truncate(time.Second)
	return !t.Before(MinTime) && t.Before(MaxTime)
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

func checkString(what, s string, required bool) error {
	switch {
	case s == "" && required:
		return fmt.Errorf("empty %s", what)
	case len(s) > MaxIDLen:
		return fmt.Errorf("%s is %d bytes long, the limit is %d", what, len(s), MaxIDLen)
	case !utf8.ValidString(s):
		return fmt.Errorf("%s is not valid UTF-8", what)
	case strings.ContainsRune(s, 0):
		return fmt.Errorf("%s contains a NUL byte", what)
	}
	return nil
}
