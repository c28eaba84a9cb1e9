package console

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	review "github.com/openekyc/ekyc/services/review"
	"github.com/openekyc/ekyc/store/keys"
	reviewstore "github.com/openekyc/ekyc/store/review"
)

// activeStates are the states a queue shows when the request names none.
var activeStates = []review.State{review.StateOpen, review.StateAssigned, review.StatePendingConfirmation, review.StateEscalated}

type rulingJSON struct {
	Outcome     string     `json:"outcome"`
	ReasonCodes []string   `json:"reason_codes"`
	Comment     string     `json:"comment,omitempty"`
	By          string     `json:"by"`
	At          time.Time  `json:"at"`
	ConfirmedBy string     `json:"confirmed_by,omitempty"`
	ConfirmedAt *time.Time `json:"confirmed_at,omitempty"`
}

type entryJSON struct {
	At       time.Time `json:"at"`
	Actor    string    `json:"actor"`
	Action   string    `json:"action"`
	From     string    `json:"from,omitempty"`
	To       string    `json:"to"`
	Outcome  string    `json:"outcome,omitempty"`
	Reasons  []string  `json:"reason_codes,omitempty"`
	Previous string    `json:"previous,omitempty"`
	Comment  string    `json:"comment,omitempty"`
}

type caseJSON struct {
	ID               string       `json:"id"`
	SessionID        string       `json:"session_id"`
	DecisionID       string       `json:"decision_id"`
	Reasons          []string     `json:"reasons"`
	Priority         string       `json:"priority"`
	State            string       `json:"state"`
	Escalated        bool         `json:"escalated"`
	OpenedAt         time.Time    `json:"opened_at"`
	DueAt            time.Time    `json:"due_at"`
	RemainingSeconds int64        `json:"remaining_seconds"`
	Overdue          bool         `json:"overdue"`
	Assignee         string       `json:"assignee,omitempty"`
	ClaimExpiresAt   *time.Time   `json:"claim_expires_at,omitempty"`
	ClaimLive        bool         `json:"claim_live"`
	HeldByMe         bool         `json:"held_by_me"`
	Claimable        bool         `json:"claimable"`
	Proposal         *rulingJSON  `json:"proposal,omitempty"`
	Decision         *rulingJSON  `json:"decision,omitempty"`
	Published        bool         `json:"published"`
	PublishedAt      *time.Time   `json:"published_at,omitempty"`
	Version          uint64       `json:"version"`
	History          []entryJSON  `json:"history,omitempty"`
	Evidence         *evidenceOut `json:"evidence,omitempty"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func rulingView(r *review.Ruling, withComment bool) *rulingJSON {
	if r == nil {
		return nil
	}
	out := &rulingJSON{Outcome: string(r.Outcome), ReasonCodes: nonNil(r.Reasons), By: r.By, At: r.At.UTC(),
		ConfirmedBy: r.ConfirmedBy, ConfirmedAt: timePtr(r.ConfirmedAt)}
	if withComment {
		out.Comment = r.Comment
	}
	return out
}

// caseView is a case as a reviewer sees it at now. Comments (which may
// hold personal data) and the history are in the detail view only.
func caseView(k review.Case, a review.Actor, now time.Time, detail bool) caseJSON {
	rem := k.Remaining(now)
	v := caseJSON{
		ID: k.ID, SessionID: k.SessionID, DecisionID: k.DecisionID, Reasons: nonNil(k.Reasons),
		Priority: k.Priority.String(), State: string(k.State), Escalated: k.Escalated,
		OpenedAt: k.OpenedAt.UTC(), DueAt: k.Due.UTC(),
		RemainingSeconds: int64(math.Floor(rem.Seconds())), Overdue: k.Overdue(now),
		Assignee: k.Assignee, ClaimExpiresAt: timePtr(k.ClaimExpires), ClaimLive: k.ClaimLive(now),
		HeldByMe:  k.State == review.StateAssigned && k.Assignee == a.ID,
		Claimable: k.Claimable(a, now),
		Proposal:  rulingView(k.Proposal, detail), Decision: rulingView(k.Decision, detail),
		Published: !k.Published.IsZero(), PublishedAt: timePtr(k.Published), Version: k.Version,
	}
	if detail {
		v.History = make([]entryJSON, 0, len(k.History))
		for _, e := range k.History {
			v.History = append(v.History, entryJSON{At: e.At.UTC(), Actor: e.Actor, Action: string(e.Action),
				From: string(e.From), To: string(e.To), Outcome: string(e.Outcome), Reasons: e.Reasons,
				Previous: e.Previous, Comment: e.Comment})
		}
	}
	return v
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// visible reports whether a reviewer may see a case: escalated cases are
// for senior roles only.
func visible(k review.Case, a review.Actor) bool { return !k.Escalated || a.Role.Senior() }

type listResponse struct {
	Cases []caseJSON `json:"cases"`
	Now   time.Time  `json:"now"`
}

// listCases: GET /console/api/cases?state=&priority=&limit=. Without
// state, the active queue (open, assigned, pending_confirmation,
// escalated); most urgent first (priority, then SLA due time).
func (c *Console) listCases(w http.ResponseWriter, r *http.Request, s *session) error {
	q := r.URL.Query()
	states := activeStates
	if v := q.Get("state"); v != "" {
		st := review.State(v)
		if !st.Valid() {
			return errorf(CodeInvalidRequest, "state: want one of open, assigned, pending_confirmation, escalated, decided")
		}
		states = []review.State{st}
	}
	var prio review.Priority
	if v := q.Get("priority"); v != "" {
		p, err := review.ParsePriority(v)
		if err != nil {
			return errorf(CodeInvalidRequest, "priority: want one of sanctions, duplicate_identity, liveness, document, other")
		}
		prio = p
	}
	limit := DefaultListLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > reviewstore.MaxListLimit {
			return errorf(CodeInvalidRequest, fmt.Sprintf("limit: want 1..%d", reviewstore.MaxListLimit))
		}
		limit = n
	}
	a := s.actor()
	var cases []review.Case
	for _, st := range states {
		got, err := c.deps.Reviews.List(r.Context(), a.Tenant, reviewstore.Filter{State: st, Priority: prio, Limit: limit})
		if err != nil {
			return unavailable(err)
		}
		cases = append(cases, got...)
	}
	slices.SortFunc(cases, func(x, y review.Case) int {
		return cmp.Or(cmp.Compare(x.Priority, y.Priority), x.Due.Compare(y.Due), cmp.Compare(x.ID, y.ID))
	})
	now := c.cfg.now()
	out := listResponse{Cases: []caseJSON{}, Now: now.UTC()}
	for _, k := range cases {
		if len(out.Cases) == limit {
			break
		}
		if k.Tenant != a.Tenant || !visible(k, a) { // the tenant check is defence in depth
			continue
		}
		out.Cases = append(out.Cases, caseView(k, a, now, false))
	}
	return writeJSON(w, http.StatusOK, out)
}

// loadCase reads the reviewer's case named in the path: 404 for a missing
// case, another tenant's and an erased session's; 403 for an escalated
// case and a reviewer without a senior role.
func (c *Console) loadCase(ctx context.Context, r *http.Request, s *session) (review.Case, error) {
	id := r.PathValue("id")
	if id == "" || len(id) > review.MaxIDLen {
		return review.Case{}, errorf(CodeNotFound, "case not found")
	}
	k, err := c.deps.Reviews.Get(ctx, s.actor().Tenant, id)
	if err != nil {
		return review.Case{}, storeError(err)
	}
	if k.Tenant != s.actor().Tenant {
		return review.Case{}, errorf(CodeNotFound, "case not found")
	}
	if !visible(k, s.actor()) {
		return review.Case{}, errorf(CodeForbidden, "escalated cases need role senior_reviewer or admin")
	}
	return k, nil
}

// storeError maps store and transition errors to API errors.
func storeError(err error) error {
	switch {
	case errors.Is(err, reviewstore.ErrNotFound), errors.Is(err, keys.ErrShredded):
		return errorf(CodeNotFound, "case not found")
	case errors.Is(err, review.ErrClaimedByOther):
		return errorf(CodeClaimedByOther, "another reviewer holds a live claim on the case")
	case errors.Is(err, review.ErrClaimExpired):
		return errorf(CodeClaimExpired, "your claim expired; claim the case again")
	case errors.Is(err, review.ErrFourEyes):
		return errorf(CodeFourEyes, "the reviewer who proposed the decision cannot confirm or overturn it")
	case errors.Is(err, review.ErrForbidden):
		return errorf(CodeForbidden, strings.TrimPrefix(err.Error(), "review: forbidden: "))
	case errors.Is(err, review.ErrInvalid):
		return errorf(CodeInvalidInput, strings.TrimPrefix(err.Error(), "review: invalid argument: "))
	case errors.Is(err, review.ErrConflict):
		return errorf(CodeConflict, strings.TrimPrefix(err.Error(), "review: not allowed in the case's state: "))
	case errors.Is(err, reviewstore.ErrConflict):
		return errorf(CodeConflict, "the case kept changing; reload it and retry")
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return unavailable(err)
	}
	return unavailable(err)
}

// getCase: GET /console/api/cases/{id}: the case with its history and
// evidence. Reading it is audited (session.data_accessed) before the data
// leaves. A decided case whose decision was not published yet is
// published again first.
func (c *Console) getCase(w http.ResponseWriter, r *http.Request, s *session) error {
	k, err := c.loadCase(r.Context(), r, s)
	if err != nil {
		return err
	}
	if k.State == review.StateDecided && k.Published.IsZero() {
		if n, err := c.publish(r.Context(), k, s); err == nil {
			k = n
		} // else the view says published: false; the data is still served
	}
	ev, err := c.evidence(r.Context(), k)
	if err != nil {
		return err
	}
	if err := c.audit(r, s, "session.data_accessed", k.SessionID, map[string]string{"case": k.ID, "data": "evidence"}); err != nil {
		return unavailable(err)
	}
	v := caseView(k, s.actor(), c.cfg.now(), true)
	v.Evidence = ev
	return writeJSON(w, http.StatusOK, v)
}

type actionRequest struct {
	Outcome     string   `json:"outcome"`
	ReasonCodes []string `json:"reason_codes"`
	Comment     string   `json:"comment"`
}

// transitionFunc is one services/review transition, bound to its
// arguments but for the time.
type transitionFunc func(k review.Case, now time.Time) (review.Case, error)

func (c *Console) claim(w http.ResponseWriter, r *http.Request, s *session) error {
	rules := c.cfg.rules(s.actor().Tenant)
	return c.act(w, r, s, review.ActionClaim, nil, func(k review.Case, now time.Time) (review.Case, error) {
		return review.Claim(k, s.actor(), now, rules)
	})
}

func (c *Console) release(w http.ResponseWriter, r *http.Request, s *session) error {
	return c.act(w, r, s, review.ActionRelease, nil, func(k review.Case, now time.Time) (review.Case, error) {
		return review.Release(k, s.actor(), now)
	})
}

func (c *Console) decide(w http.ResponseWriter, r *http.Request, s *session) error {
	var req actionRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	v := review.Verdict{Outcome: review.Outcome(strings.ToUpper(req.Outcome)), Reasons: req.ReasonCodes, Comment: req.Comment}
	rules := c.cfg.rules(s.actor().Tenant)
	return c.act(w, r, s, review.ActionDecide, &v, func(k review.Case, now time.Time) (review.Case, error) {
		return review.Decide(k, s.actor(), now, rules, v)
	})
}

func (c *Console) confirm(w http.ResponseWriter, r *http.Request, s *session) error {
	var req actionRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if req.Outcome != "" || len(req.ReasonCodes) > 0 {
		return errorf(CodeInvalidRequest, "confirm takes a comment only")
	}
	return c.act(w, r, s, review.ActionConfirm, nil, func(k review.Case, now time.Time) (review.Case, error) {
		return review.Confirm(k, s.actor(), now, req.Comment)
	})
}

func (c *Console) rejectConfirmation(w http.ResponseWriter, r *http.Request, s *session) error {
	var req actionRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if req.Outcome != "" || len(req.ReasonCodes) > 0 {
		return errorf(CodeInvalidRequest, "reject-confirmation takes a comment only")
	}
	return c.act(w, r, s, review.ActionRejectConfirmation, nil, func(k review.Case, now time.Time) (review.Case, error) {
		return review.RejectConfirmation(k, s.actor(), now, req.Comment)
	})
}

func (c *Console) escalate(w http.ResponseWriter, r *http.Request, s *session) error {
	var req actionRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if req.Outcome != "" || len(req.ReasonCodes) > 0 {
		return errorf(CodeInvalidRequest, "escalate takes a comment only")
	}
	return c.act(w, r, s, review.ActionEscalate, nil, func(k review.Case, now time.Time) (review.Case, error) {
		return review.Escalate(k, s.actor(), now, req.Comment)
	})
}

type actionResponse struct {
	Case caseJSON `json:"case"`
}

// act applies a transition to the case in the path, audits it, and
// publishes the decision when the case became decided.
func (c *Console) act(w http.ResponseWriter, r *http.Request, s *session, action review.Action, v *review.Verdict, fn transitionFunc) error {
	k, err := c.loadCase(r.Context(), r, s)
	if err != nil {
		return err
	}
	n, err := c.update(r.Context(), k, fn)
	if err != nil {
		return storeError(err)
	}
	details := map[string]string{"session": n.SessionID, "from": string(k.State), "to": string(n.State)}
	if last := n.History[len(n.History)-1]; last.Outcome != "" {
		details["outcome"] = string(last.Outcome)
	}
	if v != nil && len(v.Reasons) > 0 {
		details["reason_codes"] = strings.Join(n.History[len(n.History)-1].Reasons, ",")
	}
	if last := n.History[len(n.History)-1]; last.Previous != "" {
		details["previous_assignee"] = last.Previous
	}
	c.auditAfter(r, s, "review."+string(action), n.ID, details)
	c.cfg.log.Info("console: case "+string(action), "tenant", n.Tenant, "case", n.ID, "reviewer", s.actor().ID, "state", n.State)
	if n.State == review.StateDecided && k.State != review.StateDecided {
		p, err := c.publish(r.Context(), n, s)
		if err != nil {
			return err
		}
		n = p
	}
	return writeJSON(w, http.StatusOK, actionResponse{Case: caseView(n, s.actor(), c.cfg.now(), true)})
}

// update applies fn with a compare-and-set from k's version; when another
// writer got there first it reloads the case and applies fn again, at most
// updateAttempts times. fn sees the current time of each attempt.
func (c *Console) update(ctx context.Context, k review.Case, fn transitionFunc) (review.Case, error) {
	for attempt := 1; ; attempt++ {
		now := c.cfg.now()
		n, err := c.deps.Reviews.Update(ctx, k.Tenant, k.ID, k.Version, func(cur review.Case) (review.Case, error) {
			return fn(cur, now)
		})
		if !errors.Is(err, reviewstore.ErrConflict) || attempt == updateAttempts {
			return n, err
		}
		if k, err = c.deps.Reviews.Get(ctx, k.Tenant, k.ID); err != nil {
			return review.Case{}, err
		}
	}
}

// republish: POST /console/api/cases/{id}/publish. Publishes a decided
// case's decision when it has not been (a 503 publish_failed before);
// answers the case either way. Any reviewer of the tenant may ask.
func (c *Console) republish(w http.ResponseWriter, r *http.Request, s *session) error {
	k, err := c.loadCase(r.Context(), r, s)
	if err != nil {
		return err
	}
	if k.State != review.StateDecided {
		return errorf(CodeConflict, fmt.Sprintf("case is %s, not decided", k.State))
	}
	if k.Published.IsZero() {
		if k, err = c.publish(r.Context(), k, s); err != nil {
			return err
		}
	}
	return writeJSON(w, http.StatusOK, actionResponse{Case: caseView(k, s.actor(), c.cfg.now(), true)})
}

func errPublishFailed(cause error) *apiError {
	return &apiError{code: CodePublishFailed, err: cause,
		msg: "the case is decided but its decision could not be published; retry with POST .../publish"}
}

// DecisionOf is the ReviewDecision of a decided case (ok false otherwise).
func DecisionOf(k review.Case) (ReviewDecision, bool) {
	if k.State != review.StateDecided || k.Decision == nil {
		return ReviewDecision{}, false
	}
	d := k.Decision
	at := d.At
	if !d.ConfirmedAt.IsZero() {
		at = d.ConfirmedAt
	}
	return ReviewDecision{
		Tenant: k.Tenant, SessionID: k.SessionID, CaseID: k.ID, ReviewDecisionID: k.DecisionID,
		Outcome: d.Outcome, ReasonCodes: slices.Clone(d.Reasons), ReviewerID: d.By, ConfirmedBy: d.ConfirmedBy,
		DecidedAt: at.UTC(),
	}, true
}

// publish hands a decided case's decision on and marks the case
// published. A failed publish is a publish_failed error (the case stays decided
// and unpublished); a failure to mark it after a successful publish only
// means it will be published once more, which is harmless.
func (c *Console) publish(ctx context.Context, k review.Case, s *session) (review.Case, error) {
	d, ok := DecisionOf(k)
	if !ok {
		return k, nil
	}
	if err := c.deps.Publisher.PublishReviewDecision(ctx, d); err != nil {
		c.cfg.log.Warn("console: publishing a review decision failed", "tenant", k.Tenant, "case", k.ID, "err", err)
		return k, errPublishFailed(err)
	}
	n, err := c.update(ctx, k, markPublished)
	if err != nil {
		c.cfg.log.Warn("console: marking a review decision published failed; it will be published again",
			"tenant", k.Tenant, "case", k.ID, "err", err)
		return k, nil
	}
	actor := "node"
	if s != nil {
		actor = s.auditActor()
	}
	if err := c.deps.Auditor.Record(ctx, AuditEvent{Tenant: k.Tenant, Actor: actor, Action: "review.published", Subject: k.ID,
		Details: map[string]string{"session": k.SessionID, "outcome": string(d.Outcome)}}); err != nil {
		c.cfg.log.Warn("console: audit record failed", "action", "review.published", "tenant", k.Tenant, "subject", k.ID, "err", err)
	}
	return n, nil
}

func markPublished(k review.Case, now time.Time) (review.Case, error) {
	if k.State != review.StateDecided {
		return review.Case{}, fmt.Errorf("%w: case is %s, not decided", review.ErrConflict, k.State)
	}
	if k.Published.IsZero() {
		k.Published = now.UTC()
	}
	return k, nil
}

// RepublishPending publishes the decisions of a tenant's decided cases
// that were not published (a publish failed and nobody retried), and
// returns how many it published. The node runs it periodically for each
// tenant with reviewers. It reads at most reviewstore.MaxListLimit decided
// cases, most urgent first; the first error stops it.
func (c *Console) RepublishPending(ctx context.Context, tenant string) (int, error) {
	cases, err := c.deps.Reviews.List(ctx, tenant, reviewstore.Filter{State: review.StateDecided, Limit: reviewstore.MaxListLimit})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, k := range cases {
		if !k.Published.IsZero() || k.Tenant != tenant {
			continue
		}
		if _, err := c.publish(ctx, k, nil); err != nil {
			return n, fmt.Errorf("console: republish case %s: %w", k.ID, err)
		}
		n++
	}
	return n, nil
}
