package review

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openekyc/ekyc/services/reasons"
)

var (
	t0     = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	alice  = Actor{ID: "rev-alice", Tenant: "acme", Role: RoleReviewer}
	bob    = Actor{ID: "rev-bob", Tenant: "acme", Role: RoleReviewer}
	carol  = Actor{ID: "rev-carol", Tenant: "acme", Role: RoleSenior}
	dave   = Actor{ID: "rev-dave", Tenant: "acme", Role: RoleAdmin}
	mallet = Actor{ID: "rev-mallet", Tenant: "globex", Role: RoleAdmin}
	rules  = Rules{ClaimTTL: 10 * time.Minute}
)

func approve() Verdict {
	return Verdict{Outcome: OutcomeApprove, Reasons: []string{reasons.DecisionScoreReview}, Comment: "checked the portrait"}
}

func reject() Verdict {
	return Verdict{Outcome: OutcomeReject, Reasons: []string{reasons.FaceMismatch}, Comment: "different person"}
}

func newCase(t *testing.T, codes ...string) Case {
	t.Helper()
	c, err := NewCase(Opening{Tenant: "acme", SessionID: "s-1", DecisionID: "d-1", Reasons: codes, OpenedAt: t0}, DefaultSLA())
	require.NoError(t, err)
	return c
}

func claimed(t *testing.T, c Case, a Actor, at time.Time) Case {
	t.Helper()
	n, err := Claim(c, a, at, rules)
	require.NoError(t, err)
	return n
}

func lastEntry(c Case) Entry { return c.History[len(c.History)-1] }

func TestNewCase(t *testing.T) {
	c := newCase(t, reasons.ScreeningSanctionsHit, reasons.DocExpired)
	require.Equal(t, CaseID("acme", "d-1"), c.ID)
	require.NotEqual(t, CaseID("globex", "d-1"), c.ID, "case ids are per tenant")
	require.Equal(t, PrioritySanctions, c.Priority)
	require.Equal(t, t0.Add(5*time.Minute), c.Due)
	require.Equal(t, StateOpen, c.State)
	require.Len(t, c.History, 1)
	require.Equal(t, Entry{At: t0, Actor: SystemActor, Action: ActionOpen, To: StateOpen,
		Reasons: []string{reasons.ScreeningSanctionsHit, reasons.DocExpired}}, c.History[0])
	require.Equal(t, 2*time.Minute, c.Remaining(t0.Add(3*time.Minute)))
	require.False(t, c.Overdue(t0.Add(4*time.Minute)))
	require.True(t, c.Overdue(t0.Add(5*time.Minute)))

	for _, o := range []Opening{
		{SessionID: "s", DecisionID: "d", OpenedAt: t0},
		{Tenant: "acme", DecisionID: "d", OpenedAt: t0},
		{Tenant: "acme", SessionID: "s", OpenedAt: t0},
		{Tenant: "acme", SessionID: "s", DecisionID: "d"},
		{Tenant: strings.Repeat("x", MaxIDLen+1), SessionID: "s", DecisionID: "d", OpenedAt: t0},
	} {
		_, err := NewCase(o, DefaultSLA())
		require.ErrorIs(t, err, ErrInvalid)
	}
	_, err := NewCase(Opening{Tenant: "acme", SessionID: "s", DecisionID: "d", OpenedAt: t0}, SLA{Other: -1})
	require.ErrorIs(t, err, ErrInvalid)
}

func TestTransitionsDoNotModifyInput(t *testing.T) {
	c := newCase(t, reasons.DocExpired)
	c.History = append(make([]Entry, 0, 8), c.History...) // spare capacity must not be shared
	n := claimed(t, c, alice, t0)
	require.Equal(t, StateOpen, c.State)
	require.Len(t, c.History, 1)
	d, err := Decide(n, alice, t0.Add(time.Minute), rules, approve())
	require.NoError(t, err)
	require.Equal(t, StateAssigned, n.State)
	require.Len(t, n.History, 2)
	require.Len(t, d.History, 3)
}

func TestClaim(t *testing.T) {
	c := newCase(t, reasons.DocExpired)

	n := claimed(t, c, alice, t0)
	require.Equal(t, StateAssigned, n.State)
	require.Equal(t, alice.ID, n.Assignee)
	require.Equal(t, t0.Add(10*time.Minute), n.ClaimExpires)
	require.Equal(t, Entry{At: t0, Actor: alice.ID, Action: ActionClaim, From: StateOpen, To: StateAssigned}, lastEntry(n))

	// Default TTL.
	d, err := Claim(c, alice, t0, Rules{})
	require.NoError(t, err)
	require.Equal(t, t0.Add(DefaultClaimTTL), d.ClaimExpires)

	// Another reviewer while the claim is live.
	_, err = Claim(n, bob, t0.Add(10*time.Minute-time.Nanosecond), rules)
	require.ErrorIs(t, err, ErrClaimedByOther)
	require.False(t, n.Claimable(bob, t0.Add(time.Minute)))

	// The holder renews.
	r := claimed(t, n, alice, t0.Add(5*time.Minute))
	require.Equal(t, t0.Add(15*time.Minute), r.ClaimExpires)
	require.Empty(t, lastEntry(r).Previous)

	// Expired: another reviewer takes it over.
	at := t0.Add(10 * time.Minute)
	require.True(t, n.Claimable(bob, at))
	o := claimed(t, n, bob, at)
	require.Equal(t, bob.ID, o.Assignee)
	require.Equal(t, at.Add(10*time.Minute), o.ClaimExpires)
	require.Equal(t, alice.ID, lastEntry(o).Previous)
	require.Equal(t, StateAssigned, lastEntry(o).From)

	// Alice's old claim is gone: she cannot decide, release or escalate.
	_, err = Decide(o, alice, at, rules, approve())
	require.ErrorIs(t, err, ErrClaimedByOther)
	_, err = Release(o, alice, at)
	require.ErrorIs(t, err, ErrClaimedByOther)
	_, err = Escalate(o, alice, at, "why")
	require.ErrorIs(t, err, ErrClaimedByOther)

	// Refused: other tenant, bad actors.
	for _, a := range []Actor{
		mallet,
		{ID: "x", Tenant: "acme", Role: "root"},
		{ID: "", Tenant: "acme", Role: RoleAdmin},
		{ID: SystemActor, Tenant: "acme", Role: RoleAdmin},
		{ID: "x", Tenant: "", Role: RoleAdmin},
	} {
		_, err := Claim(c, a, t0, rules)
		require.ErrorIs(t, err, ErrForbidden, "%+v", a)
	}
}

func TestClaimByState(t *testing.T) {
	sanctions := newCase(t, reasons.ScreeningSanctionsHit)
	pending, err := Decide(claimed(t, sanctions, alice, t0), alice, t0, Rules{FourEyes: FourEyes{Sanctions: true}}, approve())
	require.NoError(t, err)
	require.Equal(t, StatePendingConfirmation, pending.State)
	decided, err := Decide(claimed(t, newCase(t), alice, t0), alice, t0, rules, approve())
	require.NoError(t, err)
	for _, c := range []Case{pending, decided} {
		_, err := Claim(c, carol, t0, rules)
		require.ErrorIs(t, err, ErrConflict, c.State)
	}
}

func TestEscalatedOnlySenior(t *testing.T) {
	c := claimed(t, newCase(t, reasons.DocExpired), alice, t0)
	e, err := Escalate(c, alice, t0.Add(time.Minute), "unsure about the hologram")
	require.NoError(t, err)
	require.Equal(t, StateEscalated, e.State)
	require.True(t, e.Escalated)
	require.Empty(t, e.Assignee)
	require.Equal(t, Entry{At: t0.Add(time.Minute), Actor: alice.ID, Action: ActionEscalate, From: StateAssigned,
		To: StateEscalated, Comment: "unsure about the hologram"}, lastEntry(e))

	_, err = Claim(e, alice, t0, rules)
	require.ErrorIs(t, err, ErrForbidden)
	_, err = Claim(e, bob, t0, rules)
	require.ErrorIs(t, err, ErrForbidden)
	for _, a := range []Actor{carol, dave} {
		n, err := Claim(e, a, t0, rules)
		require.NoError(t, err)
		require.Equal(t, StateAssigned, n.State)
		require.True(t, n.Escalated)
	}

	// A senior's expired claim on an escalated case is still closed to
	// reviewers, open to another senior.
	s := claimed(t, e, carol, t0)
	_, err = Claim(s, bob, t0.Add(time.Hour), rules)
	require.ErrorIs(t, err, ErrForbidden)
	_, err = Claim(s, dave, t0.Add(time.Hour), rules)
	require.NoError(t, err)

	// Released: back to the escalated queue. Escalating again: conflict.
	r, err := Release(s, carol, t0)
	require.NoError(t, err)
	require.Equal(t, StateEscalated, r.State)
	_, err = Escalate(s, carol, t0, "again")
	require.ErrorIs(t, err, ErrConflict)

	// Escalating needs a live claim and a comment.
	_, err = Escalate(newCase(t), alice, t0, "x")
	require.ErrorIs(t, err, ErrConflict)
	_, err = Escalate(c, alice, t0, "  ")
	require.ErrorIs(t, err, ErrInvalid)
	_, err = Escalate(c, alice, t0.Add(10*time.Minute), "late")
	require.ErrorIs(t, err, ErrClaimExpired)
	_, err = Escalate(c, bob, t0, "not mine")
	require.ErrorIs(t, err, ErrClaimedByOther)
}

func TestRelease(t *testing.T) {
	c := claimed(t, newCase(t), alice, t0)
	r, err := Release(c, alice, t0.Add(time.Minute))
	require.NoError(t, err)
	require.Equal(t, StateOpen, r.State)
	require.Empty(t, r.Assignee)
	require.True(t, r.ClaimExpires.IsZero())
	require.Equal(t, Entry{At: t0.Add(time.Minute), Actor: alice.ID, Action: ActionRelease, From: StateAssigned, To: StateOpen}, lastEntry(r))

	// Own expired claim: still releasable.
	_, err = Release(c, alice, t0.Add(time.Hour))
	require.NoError(t, err)
	// Someone else's.
	_, err = Release(c, bob, t0)
	require.ErrorIs(t, err, ErrClaimedByOther)
	_, err = Release(c, bob, t0.Add(time.Hour))
	require.ErrorIs(t, err, ErrConflict)
	// Not claimed.
	_, err = Release(r, alice, t0)
	require.ErrorIs(t, err, ErrConflict)
	_, err = Release(c, mallet, t0)
	require.ErrorIs(t, err, ErrForbidden)
}

func TestDecide(t *testing.T) {
	c := claimed(t, newCase(t, reasons.DocExpired), alice, t0)
	at := t0.Add(2 * time.Minute)

	d, err := Decide(c, alice, at, rules, Verdict{
		Outcome: OutcomeApprove,
		Reasons: []string{reasons.DocExpired, reasons.DecisionScoreReview, reasons.DocExpired},
		Comment: "  renewed passport shown  ",
	})
	require.NoError(t, err)
	require.Equal(t, StateDecided, d.State)
	require.Nil(t, d.Proposal)
	require.Equal(t, &Ruling{Verdict: Verdict{Outcome: OutcomeApprove, Reasons: []string{reasons.DocExpired, reasons.DecisionScoreReview},
		Comment: "renewed passport shown"}, By: alice.ID, At: at}, d.Decision)
	require.Empty(t, d.Assignee)
	require.Equal(t, Entry{At: at, Actor: alice.ID, Action: ActionDecide, From: StateAssigned, To: StateDecided,
		Outcome: OutcomeApprove, Reasons: []string{reasons.DocExpired, reasons.DecisionScoreReview}, Comment: "renewed passport shown"}, lastEntry(d))
	require.False(t, d.Overdue(t0.Add(48*time.Hour)), "a decided case is never overdue")

	// Without four-eyes a REJECT is final too.
	r, err := Decide(c, alice, at, rules, reject())
	require.NoError(t, err)
	require.Equal(t, StateDecided, r.State)
	require.Equal(t, OutcomeReject, r.Decision.Outcome)

	// Everything on a decided case is a conflict.
	_, err = Decide(d, alice, at, rules, approve())
	require.ErrorIs(t, err, ErrConflict)
	_, err = Claim(d, alice, at, rules)
	require.ErrorIs(t, err, ErrConflict)
	_, err = Release(d, alice, at)
	require.ErrorIs(t, err, ErrConflict)
	_, err = Escalate(d, alice, at, "x")
	require.ErrorIs(t, err, ErrConflict)
	_, err = Confirm(d, carol, at, "")
	require.ErrorIs(t, err, ErrConflict)
	_, err = RejectConfirmation(d, carol, at, "x")
	require.ErrorIs(t, err, ErrConflict)

	// Claim rules.
	_, err = Decide(newCase(t), alice, at, rules, approve())
	require.ErrorIs(t, err, ErrConflict, "no claim")
	_, err = Decide(c, bob, at, rules, approve())
	require.ErrorIs(t, err, ErrClaimedByOther)
	_, err = Decide(c, alice, t0.Add(10*time.Minute), rules, approve())
	require.ErrorIs(t, err, ErrClaimExpired)
	_, err = Decide(c, Actor{ID: alice.ID, Tenant: "globex", Role: RoleReviewer}, at, rules, approve())
	require.ErrorIs(t, err, ErrForbidden, "same id, other tenant")

	// Verdict validation.
	for name, v := range map[string]Verdict{
		"no outcome":      {Reasons: []string{reasons.DocExpired}, Comment: "Jane Roe 1980"},
		"review outcome":  {Outcome: "REVIEW", Reasons: []string{reasons.DocExpired}, Comment: "Jane Roe 1980"},
		"no reasons":      {Outcome: OutcomeApprove, Comment: "Jane Roe 1980"},
		"unknown reason":  {Outcome: OutcomeApprove, Reasons: []string{"LOOKS_FINE"}, Comment: "Jane Roe 1980"},
		"empty reason":    {Outcome: OutcomeApprove, Reasons: []string{""}, Comment: "Jane Roe 1980"},
		"no comment":      {Outcome: OutcomeReject, Reasons: []string{reasons.DocExpired}},
		"blank comment":   {Outcome: OutcomeReject, Reasons: []string{reasons.DocExpired}, Comment: " \n\t"},
		"long comment":    {Outcome: OutcomeReject, Reasons: []string{reasons.DocExpired}, Comment: strings.Repeat("a", MaxCommentBytes+1)},
		"invalid utf8":    {Outcome: OutcomeReject, Reasons: []string{reasons.DocExpired}, Comment: "a\xffb"},
		"too many reason": {Outcome: OutcomeReject, Reasons: repeat(reasons.DocExpired, MaxReasons+1), Comment: "Jane Roe 1980"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Decide(c, alice, at, rules, v)
			require.ErrorIs(t, err, ErrInvalid)
			if v.Comment != "" {
				require.NotContains(t, err.Error(), v.Comment, "no comment text in errors")
			}
		})
	}
}

func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

func TestFourEyes(t *testing.T) {
	fe := Rules{ClaimTTL: rules.ClaimTTL, FourEyes: FourEyes{Reject: true, Sanctions: true}}
	at := t0.Add(time.Minute)

	t.Run("reject needs confirmation", func(t *testing.T) {
		c := claimed(t, newCase(t, reasons.DocExpired), alice, t0)
		p, err := Decide(c, alice, at, fe, reject())
		require.NoError(t, err)
		require.Equal(t, StatePendingConfirmation, p.State)
		require.Nil(t, p.Decision)
		require.Equal(t, alice.ID, p.Proposal.By)
		require.Equal(t, StatePendingConfirmation, lastEntry(p).To)

		// Approve of a non-sanctions case does not.
		a, err := Decide(c, alice, at, fe, approve())
		require.NoError(t, err)
		require.Equal(t, StateDecided, a.State)

		// Flag off: reject is final.
		off, err := Decide(c, alice, at, Rules{FourEyes: FourEyes{Sanctions: true}}, reject())
		require.NoError(t, err)
		require.Equal(t, StateDecided, off.State)
	})

	t.Run("sanctions needs confirmation even for approve", func(t *testing.T) {
		c := claimed(t, newCase(t, reasons.ScreeningSanctionsHit), alice, t0)
		p, err := Decide(c, alice, at, fe, approve())
		require.NoError(t, err)
		require.Equal(t, StatePendingConfirmation, p.State)

		off, err := Decide(c, alice, at, Rules{FourEyes: FourEyes{Reject: true}}, approve())
		require.NoError(t, err)
		require.Equal(t, StateDecided, off.State)
	})

	// A senior proposer: the same person may not confirm even with the
	// role; a reviewer may not confirm at all; another senior may.
	c := claimed(t, newCase(t, reasons.ScreeningSanctionsHit), carol, t0)
	p, err := Decide(c, carol, at, fe, reject())
	require.NoError(t, err)
	require.Equal(t, StatePendingConfirmation, p.State)

	_, err = Confirm(p, carol, at, "")
	require.ErrorIs(t, err, ErrFourEyes)
	_, err = RejectConfirmation(p, carol, at, "changed my mind")
	require.ErrorIs(t, err, ErrFourEyes)
	_, err = Confirm(p, bob, at, "")
	require.ErrorIs(t, err, ErrForbidden)
	_, err = RejectConfirmation(p, bob, at, "no")
	require.ErrorIs(t, err, ErrForbidden)
	_, err = Confirm(p, mallet, at, "")
	require.ErrorIs(t, err, ErrForbidden)
	// Nothing else moves a pending case.
	_, err = Decide(p, carol, at, fe, approve())
	require.ErrorIs(t, err, ErrConflict)
	_, err = Escalate(p, carol, at, "x")
	require.ErrorIs(t, err, ErrConflict)
	_, err = Release(p, carol, at)
	require.ErrorIs(t, err, ErrConflict)

	done, err := Confirm(p, dave, at.Add(time.Minute), " agreed ")
	require.NoError(t, err)
	require.Equal(t, StateDecided, done.State)
	require.Nil(t, done.Proposal)
	require.Equal(t, carol.ID, done.Decision.By)
	require.Equal(t, dave.ID, done.Decision.ConfirmedBy)
	require.Equal(t, at.Add(time.Minute), done.Decision.ConfirmedAt)
	require.Equal(t, OutcomeReject, done.Decision.Outcome)
	require.Equal(t, Entry{At: at.Add(time.Minute), Actor: dave.ID, Action: ActionConfirm, From: StatePendingConfirmation,
		To: StateDecided, Outcome: OutcomeReject, Comment: "agreed"}, lastEntry(done))

	// Overturn: back to the escalated queue; the proposal stays in history.
	o, err := RejectConfirmation(p, dave, at, "the hit is a namesake")
	require.NoError(t, err)
	require.Equal(t, StateEscalated, o.State)
	require.True(t, o.Escalated)
	require.Nil(t, o.Proposal)
	require.Nil(t, o.Decision)
	require.Equal(t, ActionDecide, o.History[len(o.History)-2].Action)
	require.Equal(t, ActionRejectConfirmation, lastEntry(o).Action)
	_, err = RejectConfirmation(p, dave, at, "")
	require.ErrorIs(t, err, ErrInvalid, "overturning needs a comment")

	// The escalated case is decided afresh by a senior, under the rule
	// again: carol (the first proposer) proposes, dave confirms.
	_, err = Claim(o, alice, at, fe)
	require.ErrorIs(t, err, ErrForbidden)
	again, err := Decide(claimed(t, o, carol, at), carol, at, fe, approve())
	require.NoError(t, err)
	require.Equal(t, StatePendingConfirmation, again.State)
	final, err := Confirm(again, dave, at, "")
	require.NoError(t, err)
	require.Equal(t, OutcomeApprove, final.Decision.Outcome)
	require.Equal(t, dave.ID, final.Decision.ConfirmedBy)
}
