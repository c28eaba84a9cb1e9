package review

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/openekyc/ekyc/services/reasons"
)

// Errors of the transitions; check them with errors.Is. Their messages
// name states, roles and codes, never a comment.
var (
	// ErrForbidden: the actor may not do this (another tenant, a role
	// without the right, an invalid actor).
	ErrForbidden = errors.New("review: forbidden")
	// ErrConflict: the case's state does not allow the transition
	// (deciding a decided case, deciding without a claim, ...).
	ErrConflict = errors.New("review: not allowed in the case's state")
	// ErrClaimedByOther: another reviewer holds a live claim on the case.
	ErrClaimedByOther = errors.New("review: case claimed by another reviewer")
	// ErrClaimExpired: the actor's own claim has expired; claim again
	// (which fails with ErrClaimedByOther if someone else took it).
	ErrClaimExpired = errors.New("review: claim expired")
	// ErrInvalid: a malformed argument (unknown outcome, missing or
	// unknown reason code, empty comment, bad ids).
	ErrInvalid = errors.New("review: invalid argument")
	// ErrFourEyes: the four-eyes rule refuses the actor (the reviewer who
	// proposed a decision cannot confirm or overturn it).
	ErrFourEyes = errors.New("review: four-eyes rule")
)

// Limits of reviewer input.
const (
	MaxIDLen        = 256
	MaxReasons      = 32
	MaxCommentBytes = 4096
	// SystemActor is the actor id of the history entry that opens a case.
	SystemActor = "system"
	// DefaultClaimTTL is how long a claim lasts when Rules.ClaimTTL is 0.
	DefaultClaimTTL = 15 * time.Minute
)

// Role is a reviewer's role within a tenant.
type Role string

// Roles.
const (
	// RoleReviewer claims and decides open cases.
	RoleReviewer Role = "reviewer"
	// RoleSenior also claims escalated cases and confirms or overturns
	// decisions under the four-eyes rule.
	RoleSenior Role = "senior_reviewer"
	// RoleAdmin can do what a senior reviewer can; managing reviewers is
	// also reserved to it by the callers (the HTTP layer).
	RoleAdmin Role = "admin"
)

// Valid reports whether r is a defined role.
func (r Role) Valid() bool { return r == RoleReviewer || r == RoleSenior || r == RoleAdmin }

// Senior reports whether r may handle escalated cases and confirm
// decisions (senior_reviewer or admin).
func (r Role) Senior() bool { return r == RoleSenior || r == RoleAdmin }

// Actor is the reviewer doing a transition.
type Actor struct {
	ID     string
	Tenant string
	Role   Role
}

// State is a case's state.
type State string

// States. A claim is a state (assigned) plus a holder and an expiry; an
// expired claim leaves the case assigned until someone claims it again
// (Case.Claimable tells), so expiry needs no background job.
const (
	StateOpen State = "open"
	// StateAssigned: claimed by Case.Assignee until Case.ClaimExpires.
	StateAssigned State = "assigned"
	// StatePendingConfirmation: a reviewer decided under the four-eyes
	// rule (Case.Proposal); another, senior, reviewer confirms or
	// overturns it.
	StatePendingConfirmation State = "pending_confirmation"
	// StateEscalated: waiting for a senior reviewer or an admin.
	StateEscalated State = "escalated"
	// StateDecided: final (Case.Decision).
	StateDecided State = "decided"
)

// States lists every state.
var States = []State{StateOpen, StateAssigned, StatePendingConfirmation, StateEscalated, StateDecided}

// Valid reports whether s is a defined state.
func (s State) Valid() bool { return slices.Contains(States, s) }

// Outcome is a reviewer's verdict on a case.
type Outcome string

// Outcomes.
const (
	OutcomeApprove Outcome = "APPROVE"
	OutcomeReject  Outcome = "REJECT"
)

// Action names a history entry.
type Action string

// Actions, one per transition.
const (
	ActionOpen               Action = "open"
	ActionClaim              Action = "claim"
	ActionRelease            Action = "release"
	ActionDecide             Action = "decide"
	ActionConfirm            Action = "confirm"
	ActionRejectConfirmation Action = "reject_confirmation"
	ActionEscalate           Action = "escalate"
)

// FourEyes is a tenant's four-eyes rule: when a flag applies, a decision
// by one reviewer waits in StatePendingConfirmation for a second, different
// reviewer with a senior role.
type FourEyes struct {
	// Reject: every REJECT needs confirmation.
	Reject bool `yaml:"reject" json:"reject"`
	// Sanctions: every decision (APPROVE too) on a PrioritySanctions case
	// needs confirmation.
	Sanctions bool `yaml:"sanctions" json:"sanctions"`
}

// Rules are a tenant's review rules.
type Rules struct {
	// ClaimTTL is how long a claim lasts (DefaultClaimTTL when <= 0).
	ClaimTTL time.Duration
	FourEyes FourEyes
}

func (r Rules) claimTTL() time.Duration {
	if r.ClaimTTL <= 0 {
		return DefaultClaimTTL
	}
	return r.ClaimTTL
}

// Verdict is what a reviewer decides.
type Verdict struct {
	Outcome Outcome
	// Reasons are codes of services/reasons: at least one, all known.
	Reasons []string
	// Comment is mandatory free text; it may contain personal data.
	Comment string
}

// Ruling is a verdict with who gave it, and who confirmed it under the
// four-eyes rule.
type Ruling struct {
	Verdict
	By          string
	At          time.Time
	ConfirmedBy string    `json:",omitempty"`
	ConfirmedAt time.Time `json:",omitzero"`
}

// Entry is one line of a case's history.
type Entry struct {
	At     time.Time
	Actor  string
	Action Action
	From   State `json:",omitempty"`
	To     State
	// Outcome and Reasons: of a decision (decide), or the decision's
	// reason codes (open).
	Outcome Outcome  `json:",omitempty"`
	Reasons []string `json:",omitempty"`
	// Previous is the reviewer whose expired claim this claim took over.
	Previous string `json:",omitempty"`
	// Comment is free text and may contain personal data: sealed at rest,
	// never logged.
	Comment string `json:",omitempty"`
}

// Case is one review case. Transitions return a modified copy; the
// receiver is never changed.
type Case struct {
	ID         string
	Tenant     string
	SessionID  string
	DecisionID string
	// Reasons are the reason codes of the decision that opened the case.
	Reasons  []string
	Priority Priority
	OpenedAt time.Time
	// Due is OpenedAt plus the priority's SLA.
	Due   time.Time
	State State
	// Escalated is set once the case was escalated (or its proposal
	// overturned): from then on only senior roles may claim it.
	Escalated bool
	// Assignee and ClaimExpires: the claim, in StateAssigned.
	Assignee     string    `json:",omitempty"`
	ClaimExpires time.Time `json:",omitzero"`
	// Proposal is the decision waiting for confirmation.
	Proposal *Ruling `json:",omitempty"`
	// Decision is the final decision.
	Decision *Ruling `json:",omitempty"`
	// Published is when the final decision was handed on to the session
	// (ekyc.review.decisions); zero until then. It is set after the
	// decision is stored, by the caller that publishes it (console), not
	// by a transition: a decided case with a zero Published is published
	// again (idempotently downstream, by case id).
	Published time.Time `json:",omitzero"`
	History   []Entry
	// Version is managed by the store: it changes on every write.
	Version uint64
}

// CaseID is the id of the case a decision opens: a UUID-shaped SHA-256 of
// the tenant and the decision id, so a redelivered decision names the same
// case.
func CaseID(tenant, decisionID string) string {
	h := sha256.Sum256([]byte("ekyc/review-case\x00" + tenant + "\x00" + decisionID))
	h[6] = (h[6] & 0x0f) | 0x50
	h[8] = (h[8] & 0x3f) | 0x80
	s := hex.EncodeToString(h[:16])
	return s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:32]
}

// Opening is what a REVIEW decision tells NewCase.
type Opening struct {
	Tenant     string
	SessionID  string
	DecisionID string
	// Reasons are the decision's reason codes.
	Reasons  []string
	OpenedAt time.Time
}

// NewCase opens a case for a REVIEW decision: id from CaseID, priority
// from the reasons, due time from sla.
func NewCase(o Opening, sla SLA) (Case, error) {
	for _, id := range []struct{ name, v string }{{"tenant", o.Tenant}, {"session", o.SessionID}, {"decision", o.DecisionID}} {
		if err := checkID(id.name, id.v); err != nil {
			return Case{}, err
		}
	}
	if o.OpenedAt.IsZero() {
		return Case{}, fmt.Errorf("%w: no opening time", ErrInvalid)
	}
	if err := sla.Validate(); err != nil {
		return Case{}, err
	}
	p := PriorityOf(o.Reasons)
	at := o.OpenedAt.UTC()
	return Case{
		ID:         CaseID(o.Tenant, o.DecisionID),
		Tenant:     o.Tenant,
		SessionID:  o.SessionID,
		DecisionID: o.DecisionID,
		Reasons:    slices.Clone(o.Reasons),
		Priority:   p,
		OpenedAt:   at,
		Due:        sla.Due(p, at),
		State:      StateOpen,
		History: []Entry{{
			At: at, Actor: SystemActor, Action: ActionOpen, To: StateOpen, Reasons: slices.Clone(o.Reasons),
		}},
	}, nil
}

func checkID(name, v string) error {
	if v == "" {
		return fmt.Errorf("%w: empty %s id", ErrInvalid, name)
	}
	if len(v) > MaxIDLen {
		return fmt.Errorf("%w: %s id longer than %d bytes", ErrInvalid, name, MaxIDLen)
	}
	return nil
}

// Remaining is the time left before the case's SLA is due (negative when
// overdue). The SLA runs until the case is decided.
func (c Case) Remaining(now time.Time) time.Duration { return c.Due.Sub(now) }

// Overdue reports whether the case is undecided after its due time.
func (c Case) Overdue(now time.Time) bool { return c.State != StateDecided && !now.Before(c.Due) }

// ClaimLive reports whether the case is assigned under a claim that has
// not expired at now.
func (c Case) ClaimLive(now time.Time) bool {
	return c.State == StateAssigned && now.Before(c.ClaimExpires)
}

// Claimable reports whether a may claim the case at now (Claim would not
// refuse it for state, claim or role).
func (c Case) Claimable(a Actor, now time.Time) bool {
	_, err := Claim(c, a, now, Rules{})
	return err == nil
}

// NeedsConfirmation reports whether a decision with outcome o on c waits
// for a second reviewer under fe.
func (c Case) NeedsConfirmation(o Outcome, fe FourEyes) bool {
	return (fe.Reject && o == OutcomeReject) || (fe.Sanctions && c.Priority == PrioritySanctions)
}

// clone copies everything a transition may change, so the input case is
// never modified.
func (c Case) clone() Case {
	n := c
	n.Reasons = slices.Clone(c.Reasons)
	n.History = slices.Clone(c.History)
	if c.Proposal != nil {
		p := *c.Proposal
		p.Reasons = slices.Clone(p.Reasons)
		n.Proposal = &p
	}
	if c.Decision != nil {
		d := *c.Decision
		d.Reasons = slices.Clone(d.Reasons)
		n.Decision = &d
	}
	return n
}

func (c *Case) record(e Entry) {
	c.History = append(c.History, e)
}

// checkActor refuses an actor outside the case's tenant or without a valid
// role and id.
func checkActor(c Case, a Actor) error {
	if a.ID == "" || len(a.ID) > MaxIDLen || a.ID == SystemActor {
		return fmt.Errorf("%w: invalid actor id", ErrForbidden)
	}
	if !a.Role.Valid() {
		return fmt.Errorf("%w: unknown role", ErrForbidden)
	}
	if a.Tenant == "" || a.Tenant != c.Tenant {
		return fmt.Errorf("%w: case of another tenant", ErrForbidden)
	}
	return nil
}

// holder checks that a holds a live claim on c.
func holder(c Case, a Actor, now time.Time) error {
	if c.State != StateAssigned {
		return fmt.Errorf("%w: case is %s; claim it first", ErrConflict, c.State)
	}
	if c.Assignee != a.ID {
		if c.ClaimLive(now) {
			return ErrClaimedByOther
		}
		return fmt.Errorf("%w: case not claimed by this reviewer; claim it first", ErrConflict)
	}
	if !c.ClaimLive(now) {
		return ErrClaimExpired
	}
	return nil
}

// Claim gives a a claim on c until now+ClaimTTL. It may claim an open
// case, an escalated one (senior roles only), renew its own claim (live or
// expired) and take over another reviewer's expired claim (Entry.Previous
// names that reviewer). A live claim of another reviewer is
// ErrClaimedByOther.
func Claim(c Case, a Actor, now time.Time, r Rules) (Case, error) {
	if err := checkActor(c, a); err != nil {
		return Case{}, err
	}
	e := Entry{At: now.UTC(), Actor: a.ID, Action: ActionClaim, From: c.State, To: StateAssigned}
	switch c.State {
	case StateOpen, StateEscalated:
	case StateAssigned:
		if c.Assignee != a.ID {
			if c.ClaimLive(now) {
				return Case{}, ErrClaimedByOther
			}
			e.Previous = c.Assignee
		}
	default:
		return Case{}, fmt.Errorf("%w: cannot claim a case that is %s", ErrConflict, c.State)
	}
	if c.Escalated && !a.Role.Senior() {
		return Case{}, fmt.Errorf("%w: escalated cases need role %s or %s", ErrForbidden, RoleSenior, RoleAdmin)
	}
	n := c.clone()
	n.State = StateAssigned
	n.Assignee = a.ID
	n.ClaimExpires = now.UTC().Add(r.claimTTL())
	n.record(e)
	return n, nil
}

// Release gives up a's claim (live or expired, as long as nobody took it
// over): the case goes back to its queue (open, or escalated).
func Release(c Case, a Actor, now time.Time) (Case, error) {
	if err := checkActor(c, a); err != nil {
		return Case{}, err
	}
	if c.State != StateAssigned {
		return Case{}, fmt.Errorf("%w: cannot release a case that is %s", ErrConflict, c.State)
	}
	if c.Assignee != a.ID {
		if c.ClaimLive(now) {
			return Case{}, ErrClaimedByOther
		}
		return Case{}, fmt.Errorf("%w: case not claimed by this reviewer", ErrConflict)
	}
	n := c.clone()
	n.State = queueState(c)
	n.Assignee, n.ClaimExpires = "", time.Time{}
	n.record(Entry{At: now.UTC(), Actor: a.ID, Action: ActionRelease, From: c.State, To: n.State})
	return n, nil
}

func queueState(c Case) State {
	if c.Escalated {
		return StateEscalated
	}
	return StateOpen
}

// Decide records a's verdict on a case a holds a live claim on. When the
// four-eyes rule applies (Case.NeedsConfirmation) the case waits in
// StatePendingConfirmation with the verdict as its Proposal; otherwise it
// is decided.
func Decide(c Case, a Actor, now time.Time, r Rules, v Verdict) (Case, error) {
	if err := checkActor(c, a); err != nil {
		return Case{}, err
	}
	if err := holder(c, a, now); err != nil {
		return Case{}, err
	}
	v, err := checkVerdict(v)
	if err != nil {
		return Case{}, err
	}
	n := c.clone()
	n.Assignee, n.ClaimExpires = "", time.Time{}
	ruling := &Ruling{Verdict: v, By: a.ID, At: now.UTC()}
	if c.NeedsConfirmation(v.Outcome, r.FourEyes) {
		n.State, n.Proposal = StatePendingConfirmation, ruling
	} else {
		n.State, n.Decision = StateDecided, ruling
	}
	n.record(Entry{
		At: now.UTC(), Actor: a.ID, Action: ActionDecide, From: c.State, To: n.State,
		Outcome: v.Outcome, Reasons: slices.Clone(v.Reasons), Comment: v.Comment,
	})
	return n, nil
}

// checkFourEyes: the second reviewer must differ from the proposer and
// hold a senior role.
func checkFourEyes(c Case, a Actor) error {
	if c.State != StatePendingConfirmation || c.Proposal == nil {
		return fmt.Errorf("%w: case is %s, not pending confirmation", ErrConflict, c.State)
	}
	if a.ID == c.Proposal.By {
		return fmt.Errorf("%w: the reviewer who decided cannot confirm", ErrFourEyes)
	}
	if !a.Role.Senior() {
		return fmt.Errorf("%w: confirming needs role %s or %s", ErrForbidden, RoleSenior, RoleAdmin)
	}
	return nil
}

// Confirm makes the pending proposal the case's decision. a must be a
// senior role and not the proposer. comment is optional.
func Confirm(c Case, a Actor, now time.Time, comment string) (Case, error) {
	if err := checkActor(c, a); err != nil {
		return Case{}, err
	}
	if err := checkFourEyes(c, a); err != nil {
		return Case{}, err
	}
	comment, err := checkComment(comment, false)
	if err != nil {
		return Case{}, err
	}
	n := c.clone()
	d := n.Proposal
	d.ConfirmedBy, d.ConfirmedAt = a.ID, now.UTC()
	n.State, n.Decision, n.Proposal = StateDecided, d, nil
	n.record(Entry{
		At: now.UTC(), Actor: a.ID, Action: ActionConfirm, From: c.State, To: StateDecided,
		Outcome: d.Outcome, Comment: comment,
	})
	return n, nil
}

// RejectConfirmation overturns the pending proposal: it is dropped (its
// history entry stays) and, as two reviewers disagree, the case goes to
// the escalated queue for a senior reviewer to decide afresh (under the
// four-eyes rule again). a must be a senior role and not the proposer; the
// comment is mandatory.
func RejectConfirmation(c Case, a Actor, now time.Time, comment string) (Case, error) {
	if err := checkActor(c, a); err != nil {
		return Case{}, err
	}
	if err := checkFourEyes(c, a); err != nil {
		return Case{}, err
	}
	comment, err := checkComment(comment, true)
	if err != nil {
		return Case{}, err
	}
	n := c.clone()
	out := n.Proposal.Outcome
	n.State, n.Escalated, n.Proposal = StateEscalated, true, nil
	n.record(Entry{
		At: now.UTC(), Actor: a.ID, Action: ActionRejectConfirmation, From: c.State, To: StateEscalated,
		Outcome: out, Comment: comment,
	})
	return n, nil
}

// Escalate hands a case a holds a live claim on to the senior reviewers,
// with a mandatory comment. An escalated case cannot be escalated again.
func Escalate(c Case, a Actor, now time.Time, comment string) (Case, error) {
	if err := checkActor(c, a); err != nil {
		return Case{}, err
	}
	if err := holder(c, a, now); err != nil {
		return Case{}, err
	}
	if c.Escalated {
		return Case{}, fmt.Errorf("%w: case is already escalated", ErrConflict)
	}
	comment, err := checkComment(comment, true)
	if err != nil {
		return Case{}, err
	}
	n := c.clone()
	n.State, n.Escalated = StateEscalated, true
	n.Assignee, n.ClaimExpires = "", time.Time{}
	n.record(Entry{At: now.UTC(), Actor: a.ID, Action: ActionEscalate, From: c.State, To: StateEscalated, Comment: comment})
	return n, nil
}

// checkVerdict validates a verdict and returns it normalised (reason
// codes deduplicated in their order, comment trimmed).
func checkVerdict(v Verdict) (Verdict, error) {
	if v.Outcome != OutcomeApprove && v.Outcome != OutcomeReject {
		return Verdict{}, fmt.Errorf("%w: outcome must be %s or %s", ErrInvalid, OutcomeApprove, OutcomeReject)
	}
	if len(v.Reasons) == 0 {
		return Verdict{}, fmt.Errorf("%w: at least one reason code is required", ErrInvalid)
	}
	if len(v.Reasons) > MaxReasons {
		return Verdict{}, fmt.Errorf("%w: more than %d reason codes", ErrInvalid, MaxReasons)
	}
	codes := make([]string, 0, len(v.Reasons))
	for _, code := range v.Reasons {
		if !reasons.Known(code) {
			return Verdict{}, fmt.Errorf("%w: unknown reason code %q", ErrInvalid, truncate(code))
		}
		if !slices.Contains(codes, code) {
			codes = append(codes, code)
		}
	}
	comment, err := checkComment(v.Comment, true)
	if err != nil {
		return Verdict{}, err
	}
	return Verdict{Outcome: v.Outcome, Reasons: codes, Comment: comment}, nil
}

func checkComment(s string, required bool) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" && required {
		return "", fmt.Errorf("%w: a comment is required", ErrInvalid)
	}
	if len(s) > MaxCommentBytes {
		return "", fmt.Errorf("%w: comment longer than %d bytes", ErrInvalid, MaxCommentBytes)
	}
	if !utf8.ValidString(s) {
		return "", fmt.Errorf("%w: comment is not valid UTF-8", ErrInvalid)
	}
	return s, nil
}
