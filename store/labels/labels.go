// Package labels stores labelled examples for the decision engine's scoring
// model: one per review case a human decided. The label is the reviewer's
// outcome (APPROVE or REJECT); the features are the measurements the checks
// made on the session (numbers and flags, and a few text signals that are
// codes, not personal data). The store is one Pebble database in a local
// directory (<data_dir>/labels in a node).
//
// # What is in an example
//
// Ids (tenant, session, case, decisions), codes, the engine's score, the
// policy and the time. No names, dates of birth, document numbers or
// images: Features keeps every numeric and boolean signal (they are
// measurements) but a text signal only when its name is in TextFeatures —
// text signals such as the registry's reference or the session id of a
// face duplicate identify a person or another applicant and are left out.
//
// # Keys
//
//	x/ lp(tenant) case id → example (JSON)
//
// lp is a uvarint length and the bytes. Put is idempotent by case id: a
// reviewed decision seen again (a redelivery, a retried hook) keeps the
// example stored first.
package labels

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
)

// Errors; check them with errors.Is.
var (
	// ErrNotFound: no example for this tenant and case.
	ErrNotFound = errors.New("labels: not found")
	// ErrInvalid: a malformed example or argument.
	ErrInvalid = errors.New("labels: invalid argument")
	// ErrCorrupt: a stored example cannot be decoded.
	ErrCorrupt = errors.New("labels: corrupt record")
	// ErrClosed: a call after Close.
	ErrClosed = errors.New("labels: closed")
)

// Label is the reviewer's outcome.
type Label string

// Labels.
const (
	LabelApprove Label = "APPROVE"
	LabelReject  Label = "REJECT"
)

// Valid reports whether l is a defined label.
func (l Label) Valid() bool { return l == LabelApprove || l == LabelReject }

// Example is one labelled example.
type Example struct {
	Tenant    string `json:"tenant_id"`
	SessionID string `json:"session_id"`
	CaseID    string `json:"case_id"`
	// DecisionID is the reviewer's final decision; ReviewDecisionID the
	// REVIEW decision it superseded.
	DecisionID       string `json:"decision_id"`
	ReviewDecisionID string `json:"review_decision_id"`
	Label            Label  `json:"label"`
	// LabelReasons are the reviewer's reason codes; ReviewReasons those of
	// the REVIEW decision (why the engine asked a human).
	LabelReasons  []string           `json:"label_reason_codes"`
	ReviewReasons []string           `json:"review_reason_codes"`
	Features      map[string]Feature `json:"features"`
	// Score is the engine's score of the REVIEW decision (0..100).
	Score         float64   `json:"score"`
	PolicyID      string    `json:"policy_id"`
	PolicyVersion int32     `json:"policy_version"`
	DecidedAt     time.Time `json:"decided_at"`
}

// Feature is one feature value: exactly one of a number, a flag or a text.
// It is written in JSON as the bare value.
type Feature struct {
	Number *float64
	Flag   *bool
	Text   *string
}

// Num, Flag and Text make features.
func Num(v float64) Feature { return Feature{Number: &v} }

// FlagOf is a boolean feature.
func FlagOf(v bool) Feature { return Feature{Flag: &v} }

// Text is a text feature.
func Text(v string) Feature { return Feature{Text: &v} }

func (f Feature) set() int {
	n := 0
	for _, p := range []bool{f.Number != nil, f.Flag != nil, f.Text != nil} {
		if p {
			n++
		}
	}
	return n
}

// MarshalJSON writes the bare value.
func (f Feature) MarshalJSON() ([]byte, error) {
	switch {
	case f.set() != 1:
		return nil, fmt.Errorf("%w: a feature holds exactly one value", ErrInvalid)
	case f.Number != nil:
		return json.Marshal(*f.Number)
	case f.Flag != nil:
		return json.Marshal(*f.Flag)
	default:
		return json.Marshal(*f.Text)
	}
}

// UnmarshalJSON reads a bare number, boolean or string.
func (f *Feature) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	switch x := v.(type) {
	case float64:
		*f = Num(x)
	case bool:
		*f = FlagOf(x)
	case string:
		*f = Text(x)
	default:
		return fmt.Errorf("%w: a feature is a number, a boolean or a string", ErrInvalid)
	}
	return nil
}

// TextFeatures are the text signals kept as features, by feature name
// ("<check>.<signal>"): codes and versions, not personal data. Every other
// text signal is left out (database.reference is the registry's record of
// the person, face.dedup.session another applicant's session).
var TextFeatures = map[string]bool{
	"document.mrz.format":        true,
	"document.doc.class":         true,
	"document.doc.code":          true,
	"document.doc.issuing_state": true,
	"database.outcome":           true,
	"database.connector":         true,
	"screening.list_versions":    true,
}

var kindNames = map[ekycv1.CheckKind]string{
	ekycv1.CheckKind_CHECK_KIND_DOCUMENT:  "document",
	ekycv1.CheckKind_CHECK_KIND_FACE:      "face",
	ekycv1.CheckKind_CHECK_KIND_SCREENING: "screening",
	ekycv1.CheckKind_CHECK_KIND_DATABASE:  "database",
}

// Features are the features of check results, named like the policies'
// signals: "<check>.status" (PASS, FAIL, CONSIDER, ERROR), "<check>.score"
// and "<check>.<signal>" for each signal (its own check's prefix removed).
// Text signals are kept only when TextFeatures names them.
func Features(checks []*ekycv1.CheckResult) map[string]Feature {
	out := map[string]Feature{}
	for _, c := range checks {
		k, ok := kindNames[c.GetKind()]
		if !ok {
			continue
		}
		out[k+".status"] = Text(strings.TrimPrefix(c.GetStatus().String(), "CHECK_STATUS_"))
		out[k+".score"] = Num(c.GetScore())
		for _, s := range c.GetSignals() {
			name := strings.TrimPrefix(s.GetName(), k+".")
			if name == "" {
				continue
			}
			full := k + "." + name
			switch v := s.GetValue().(type) {
			case *ekycv1.Signal_Number:
				out[full] = Num(v.Number)
			case *ekycv1.Signal_Flag:
				out[full] = FlagOf(v.Flag)
			case *ekycv1.Signal_Text:
				if TextFeatures[full] {
					out[full] = Text(v.Text)
				}
			}
		}
	}
	return out
}

// FromSession is the example of a session a reviewer finalised: its
// decision reviewed, the REVIEW decision it supersedes among the previous
// decisions. ok is false for any other session (nothing to learn from).
func FromSession(st *ekycv1.SessionState) (ex Example, ok bool) {
	d := st.GetDecision()
	if !d.GetReviewed() || d.GetCaseId() == "" {
		return Example{}, false
	}
	var label Label
	switch d.GetOutcome() {
	case ekycv1.Outcome_OUTCOME_APPROVE:
		label = LabelApprove
	case ekycv1.Outcome_OUTCOME_REJECT:
		label = LabelReject
	default:
		return Example{}, false
	}
	var prev *ekycv1.Decision
	for _, p := range st.GetPreviousDecisions() {
		if p.GetDecisionId() == d.GetSupersedesDecisionId() {
			prev = p
		}
	}
	checks := d.GetChecks()
	if prev != nil && len(prev.GetChecks()) > 0 {
		checks = prev.GetChecks()
	}
	return Example{
		Tenant: st.GetTenantId(), SessionID: st.GetSessionId(), CaseID: d.GetCaseId(),
		DecisionID: d.GetDecisionId(), ReviewDecisionID: d.GetSupersedesDecisionId(),
		Label: label, LabelReasons: append([]string(nil), d.GetReasonCodes()...),
		ReviewReasons: append([]string(nil), prev.GetReasonCodes()...),
		Features:      Features(checks),
		Score:         d.GetScore(), PolicyID: d.GetPolicyId(), PolicyVersion: d.GetPolicyVersion(),
		DecidedAt: d.GetDecidedAt().AsTime().UTC(),
	}, true
}

const maxIDLen = 256

func (e Example) validate() error {
	for _, id := range []struct{ name, v string }{
		{"tenant", e.Tenant}, {"session id", e.SessionID}, {"case id", e.CaseID}, {"decision id", e.DecisionID},
	} {
		if id.v == "" || len(id.v) > maxIDLen {
			return fmt.Errorf("%w: %s empty or longer than %d bytes", ErrInvalid, id.name, maxIDLen)
		}
	}
	if !e.Label.Valid() {
		return fmt.Errorf("%w: label must be APPROVE or REJECT", ErrInvalid)
	}
	for name, f := range e.Features {
		if f.set() != 1 {
			return fmt.Errorf("%w: feature %q holds %d values", ErrInvalid, name, f.set())
		}
	}
	return nil
}

// Store holds labelled examples. Safe for concurrent use.
type Store struct {
	db *pebble.DB
	// writeMu serialises Put's check-then-write (examples are rare: one
	// per reviewed case).
	writeMu sync.Mutex
	closeMu sync.RWMutex
	closed  bool
}

// Open opens (creating it if needed) the store in dir.
func Open(ctx context.Context, dir string) (*Store, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if dir == "" {
		return nil, fmt.Errorf("%w: empty directory", ErrInvalid)
	}
	if err := vfs.Default.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("labels: create %s: %w", dir, err)
	}
	db, err := pebble.Open(dir, &pebble.Options{Logger: quietLogger{}})
	if err != nil {
		return nil, fmt.Errorf("labels: open %s: %w", dir, err)
	}
	return &Store{db: db}, nil
}

// Close closes the store; later calls return ErrClosed.
func (s *Store) Close() error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("labels: close: %w", err)
	}
	return nil
}

func (s *Store) acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.closeMu.RLock()
	if s.closed {
		s.closeMu.RUnlock()
		return ErrClosed
	}
	return nil
}

const keyPrefix = "x/"

func key(tenant, caseID string) []byte {
	k := binary.AppendUvarint([]byte(keyPrefix), uint64(len(tenant)))
	k = append(k, tenant...)
	return append(k, caseID...)
}

// Put stores ex unless an example of its case exists (then created is
// false and the stored example is kept).
func (s *Store) Put(ctx context.Context, ex Example) (created bool, err error) {
	if err := ex.validate(); err != nil {
		return false, err
	}
	if err := s.acquire(ctx); err != nil {
		return false, err
	}
	defer s.closeMu.RUnlock()
	k := key(ex.Tenant, ex.CaseID)
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	_, closer, err := s.db.Get(k)
	if err == nil {
		_ = closer.Close()
		return false, nil
	}
	if !errors.Is(err, pebble.ErrNotFound) {
		return false, fmt.Errorf("labels: read: %w", err)
	}
	ex.DecidedAt = ex.DecidedAt.UTC()
	val, err := json.Marshal(ex)
	if err != nil {
		return false, fmt.Errorf("labels: encode: %w", err)
	}
	if err := s.db.Set(k, val, pebble.Sync); err != nil {
		return false, fmt.Errorf("labels: write: %w", err)
	}
	return true, nil
}

// Get returns the example of a tenant's case.
func (s *Store) Get(ctx context.Context, tenant, caseID string) (Example, error) {
	if tenant == "" || caseID == "" {
		return Example{}, fmt.Errorf("%w: empty tenant or case id", ErrInvalid)
	}
	if err := s.acquire(ctx); err != nil {
		return Example{}, err
	}
	defer s.closeMu.RUnlock()
	val, closer, err := s.db.Get(key(tenant, caseID))
	if errors.Is(err, pebble.ErrNotFound) {
		return Example{}, ErrNotFound
	}
	if err != nil {
		return Example{}, fmt.Errorf("labels: read: %w", err)
	}
	defer closer.Close()
	return decode(val)
}

func decode(val []byte) (Example, error) {
	var ex Example
	if err := json.Unmarshal(val, &ex); err != nil {
		return Example{}, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return ex, nil
}

// pageSize is how many examples Range decodes per iterator; fn runs with
// no iterator or lock held.
const pageSize = 256

// Range calls fn with every example, by tenant then case id, until fn
// returns an error (returned as is) or ctx ends.
func (s *Store) Range(ctx context.Context, fn func(Example) error) error {
	lower := []byte(keyPrefix)
	upper := []byte("x0") // '0' follows '/'
	for {
		page, next, err := s.page(ctx, lower, upper)
		if err != nil {
			return err
		}
		for _, ex := range page {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := fn(ex); err != nil {
				return err
			}
		}
		if next == nil {
			return nil
		}
		lower = next
	}
}

func (s *Store) page(ctx context.Context, lower, upper []byte) ([]Example, []byte, error) {
	if err := s.acquire(ctx); err != nil {
		return nil, nil, err
	}
	defer s.closeMu.RUnlock()
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return nil, nil, fmt.Errorf("labels: iterate: %w", err)
	}
	defer it.Close()
	var out []Example
	for ok := it.First(); ok; ok = it.Next() {
		if len(out) == pageSize {
			return out, append([]byte(nil), it.Key()...), nil
		}
		ex, err := decode(it.Value())
		if err != nil {
			return nil, nil, err
		}
		out = append(out, ex)
	}
	if err := it.Error(); err != nil {
		return nil, nil, fmt.Errorf("labels: iterate: %w", err)
	}
	return out, nil, nil
}

// Export writes every example to w as JSON lines (one object per line,
// features as name → bare value, keys sorted) and returns how many it
// wrote.
func (s *Store) Export(ctx context.Context, w io.Writer) (int, error) {
	bw := bufio.NewWriter(w)
	n := 0
	err := s.Range(ctx, func(ex Example) error {
		b, err := json.Marshal(ex) // encoding/json sorts map keys
		if err != nil {
			return fmt.Errorf("labels: encode: %w", err)
		}
		if _, err := bw.Write(append(b, '\n')); err != nil {
			return err
		}
		n++
		return nil
	})
	if err != nil {
		return n, err
	}
	return n, bw.Flush()
}

// FeatureNames lists the feature names of ex in order (for tabular
// exports).
func (e Example) FeatureNames() []string {
	names := make([]string, 0, len(e.Features))
	for n := range e.Features {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// quietLogger drops Pebble's informational messages.
type quietLogger struct{}

func (quietLogger) Infof(string, ...any) {}
func (quietLogger) Errorf(format string, args ...any) {
	slog.Error("labels: pebble: " + fmt.Sprintf(format, args...))
}
func (quietLogger) Fatalf(format string, args ...any) { pebble.DefaultLogger.Fatalf(format, args...) }
