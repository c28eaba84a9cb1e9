package console

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	review "github.com/openekyc/ekyc/services/review"
)

var (
	reject  = map[string]any{"outcome": "REJECT", "reason_codes": []string{"DOC_EXPIRED"}, "comment": "document expired in 2012"}
	approve = map[string]any{"outcome": "APPROVE", "reason_codes": []string{"SCREENING_SANCTIONS_HIT"}, "comment": "hit cleared: different person"}
)

func ids(t *testing.T, r resp) []string {
	t.Helper()
	require.Equal(t, http.StatusOK, r.Code, r.Body.String())
	var out []string
	for _, c := range r.json(t)["cases"].([]any) {
		out = append(out, c.(map[string]any)["id"].(string))
	}
	return out
}

func TestTenantIsolation(t *testing.T) {
	e := newEnv(t)
	e.reviewer("acme", "alice", review.RoleAdmin)
	e.reviewer("globex", "bob", review.RoleAdmin)
	ka := e.openCase("acme", "sa", []string{"DOC_EXPIRED"})
	kb := e.openCase("globex", "sb", []string{"DOC_EXPIRED"})
	a := e.login("acme", "alice")

	require.Equal(t, []string{ka.ID}, ids(t, a.get("/console/api/cases")))
	missing := a.get(casePath("no-such-case"))
	for _, r := range []resp{
		a.get(casePath(kb.ID)),
		a.get(casePath(kb.ID, "images", ImageSelfie)),
		a.post(casePath(kb.ID, "claim"), nil),
		a.post(casePath(kb.ID, "decide"), reject),
		a.post(casePath(kb.ID, "publish"), nil),
	} {
		require.Equal(t, http.StatusNotFound, r.Code, r.Body.String())
		require.Equal(t, "not_found", r.code(t))
	}
	require.Equal(t, http.StatusNotFound, missing.Code)
	require.Equal(t, missing.Body.String(), a.get(casePath(kb.ID)).Body.String(), "another tenant's case answers like a missing one")
	require.Equal(t, review.StateOpen, e.stored("globex", kb.ID).State)
	require.Empty(t, e.audit.find("session.data_accessed", "sb"))

	b := e.login("globex", "bob")
	require.Equal(t, []string{kb.ID}, ids(t, b.get("/console/api/cases")))
}

func TestListOrderSLAAndFilters(t *testing.T) {
	e := newEnv(t)
	e.reviewer("acme", "alice", review.RoleReviewer)
	doc := e.openCase("acme", "s-doc", []string{"DOC_EXPIRED"})
	sanc := e.openCase("acme", "s-sanc", []string{"SCREENING_SANCTIONS_HIT"})
	a := e.login("acme", "alice")

	e.clock.add(2 * time.Minute)
	r := a.get("/console/api/cases")
	require.Equal(t, []string{sanc.ID, doc.ID}, ids(t, r))
	first := r.json(t)["cases"].([]any)[0].(map[string]any)
	require.Equal(t, "sanctions", first["priority"])
	require.EqualValues(t, 180, first["remaining_seconds"])
	require.Equal(t, false, first["overdue"])
	require.Equal(t, true, first["claimable"])
	require.Equal(t, "no-store", r.Header().Get("Cache-Control"))

	e.clock.add(4 * time.Minute)
	first = a.get("/console/api/cases").json(t)["cases"].([]any)[0].(map[string]any)
	require.EqualValues(t, -60, first["remaining_seconds"])
	require.Equal(t, true, first["overdue"])

	require.Equal(t, []string{doc.ID}, ids(t, a.get("/console/api/cases?priority=document")))
	require.Equal(t, []string{sanc.ID}, ids(t, a.get("/console/api/cases?limit=1")))
	require.Empty(t, ids(t, a.get("/console/api/cases?state=decided")))
	for _, q := range []string{"state=closed", "priority=urgent", "limit=0", "limit=x"} {
		r := a.get("/console/api/cases?" + q)
		require.Equal(t, http.StatusBadRequest, r.Code, q)
		require.Equal(t, "invalid_request", r.code(t))
	}
}

func TestClaimConflictAndExpiry(t *testing.T) {
	e := newEnv(t)
	e.setRules("acme", review.Rules{ClaimTTL: 10 * time.Minute})
	e.reviewer("acme", "alice", review.RoleReviewer)
	e.reviewer("acme", "bob", review.RoleReviewer)
	k := e.openCase("acme", "s1", []string{"DOC_EXPIRED"})
	a, b := e.login("acme", "alice"), e.login("acme", "bob")

	r := a.post(casePath(k.ID, "claim"), nil)
	require.Equal(t, http.StatusOK, r.Code, r.Body.String())
	cj := r.json(t)["case"].(map[string]any)
	require.Equal(t, "assigned", cj["state"])
	require.Equal(t, true, cj["held_by_me"])
	require.Equal(t, t0.Add(10*time.Minute).Format(time.RFC3339), cj["claim_expires_at"])

	r = b.post(casePath(k.ID, "claim"), nil)
	require.Equal(t, http.StatusConflict, r.Code)
	require.Equal(t, "claimed_by_other", r.code(t))
	listed := b.get("/console/api/cases").json(t)["cases"].([]any)[0].(map[string]any)
	require.Equal(t, false, listed["claimable"])

	// The claim expires: bob may take it, alice's decision is refused.
	e.clock.add(10 * time.Minute)
	listed = b.get("/console/api/cases").json(t)["cases"].([]any)[0].(map[string]any)
	require.Equal(t, true, listed["claimable"])
	r = b.post(casePath(k.ID, "claim"), nil)
	require.Equal(t, http.StatusOK, r.Code, r.Body.String())
	claims := e.audit.find("review.claim", k.ID)
	require.Len(t, claims, 2)
	require.Equal(t, a.id, claims[1].Details["previous_assignee"])
	require.Equal(t, "reviewer:"+b.id, claims[1].Actor)

	r = a.post(casePath(k.ID, "decide"), reject)
	require.Equal(t, http.StatusConflict, r.Code)
	require.Equal(t, "claimed_by_other", r.code(t))

	// bob's own claim expires: his decision is claim_expired.
	e.clock.add(11 * time.Minute)
	r = b.post(casePath(k.ID, "decide"), reject)
	require.Equal(t, http.StatusConflict, r.Code)
	require.Equal(t, "claim_expired", r.code(t))

	// Release by a non-holder is refused; by the holder it reopens the case.
	require.Equal(t, http.StatusOK, b.post(casePath(k.ID, "claim"), nil).Code)
	require.Equal(t, http.StatusConflict, a.post(casePath(k.ID, "release"), nil).Code)
	r = b.post(casePath(k.ID, "release"), nil)
	require.Equal(t, http.StatusOK, r.Code)
	require.Equal(t, "open", r.json(t)["case"].(map[string]any)["state"])
	require.Empty(t, e.pub.published())
}

func TestDecideWithoutFourEyesPublishesOnce(t *testing.T) {
	e := newEnv(t)
	e.reviewer("acme", "alice", review.RoleReviewer)
	k := e.openCase("acme", "s1", []string{"DOC_EXPIRED"})
	a := e.login("acme", "alice")

	require.Equal(t, http.StatusOK, a.post(casePath(k.ID, "claim"), nil).Code)
	// Deciding needs valid input.
	for _, bad := range []map[string]any{
		{"outcome": "MAYBE", "reason_codes": []string{"DOC_EXPIRED"}, "comment": "x"},
		{"outcome": "REJECT", "reason_codes": []string{}, "comment": "x"},
		{"outcome": "REJECT", "reason_codes": []string{"NOT_A_CODE"}, "comment": "x"},
		{"outcome": "REJECT", "reason_codes": []string{"DOC_EXPIRED"}, "comment": "  "},
	} {
		r := a.post(casePath(k.ID, "decide"), bad)
		require.Equal(t, http.StatusUnprocessableEntity, r.Code, r.Body.String())
		require.Equal(t, "invalid_input", r.code(t))
	}
	r := a.post(casePath(k.ID, "decide"), map[string]any{"outcome": "REJECT", "reason_codes": []string{"DOC_EXPIRED"}, "comment": "x", "extra": 1})
	require.Equal(t, http.StatusBadRequest, r.Code)
	require.Equal(t, "invalid_json", r.code(t))

	e.clock.add(time.Minute)
	r = a.post(casePath(k.ID, "decide"), reject)
	require.Equal(t, http.StatusOK, r.Code, r.Body.String())
	cj := r.json(t)["case"].(map[string]any)
	require.Equal(t, "decided", cj["state"])
	require.Equal(t, true, cj["published"])
	require.Equal(t, []ReviewDecision{{Tenant: "acme", SessionID: "s1", CaseID: k.ID, ReviewDecisionID: "dec-s1",
		Outcome: review.OutcomeReject, ReasonCodes: []string{"DOC_EXPIRED"}, ReviewerID: a.id, DecidedAt: t0.Add(time.Minute)}},
		e.pub.published())

	decided := e.audit.find("review.decide", k.ID)
	require.Len(t, decided, 1)
	require.Equal(t, map[string]string{"session": "s1", "from": "assigned", "to": "decided", "outcome": "REJECT",
		"reason_codes": "DOC_EXPIRED"}, decided[0].Details)
	require.Len(t, e.audit.find("review.published", k.ID), 1)
	for _, ev := range e.audit.events {
		for _, v := range ev.Details {
			require.NotContains(t, v, "2012", "no comment in the audit log")
		}
	}

	// A decided case takes no more decisions and is not published again.
	r = a.post(casePath(k.ID, "claim"), nil)
	require.Equal(t, http.StatusConflict, r.Code)
	require.Equal(t, "conflict", r.code(t))
	require.Equal(t, http.StatusOK, a.post(casePath(k.ID, "publish"), nil).Code)
	require.Equal(t, http.StatusOK, a.get(casePath(k.ID)).Code)
	require.Len(t, e.pub.published(), 1)
}

func TestFourEyesReject(t *testing.T) {
	e := newEnv(t)
	e.setRules("acme", review.Rules{FourEyes: review.FourEyes{Reject: true}})
	e.reviewer("acme", "alice", review.RoleReviewer)
	e.reviewer("acme", "bob", review.RoleReviewer)
	e.reviewer("acme", "sam", review.RoleSenior)
	k := e.openCase("acme", "s1", []string{"DOC_EXPIRED"})
	a, b, s := e.login("acme", "alice"), e.login("acme", "bob"), e.login("acme", "sam")

	require.Equal(t, http.StatusOK, a.post(casePath(k.ID, "claim"), nil).Code)
	r := a.post(casePath(k.ID, "decide"), reject)
	require.Equal(t, http.StatusOK, r.Code, r.Body.String())
	require.Equal(t, "pending_confirmation", r.json(t)["case"].(map[string]any)["state"])
	require.Empty(t, e.pub.published(), "a proposal is not a decision")

	r = a.post(casePath(k.ID, "confirm"), map[string]any{"comment": "I agree with myself"})
	require.Equal(t, http.StatusForbidden, r.Code)
	require.Equal(t, "four_eyes", r.code(t))
	r = b.post(casePath(k.ID, "confirm"), nil)
	require.Equal(t, http.StatusForbidden, r.Code)
	require.Equal(t, "forbidden", r.code(t), "confirming needs a senior role")
	require.Equal(t, http.StatusBadRequest, s.post(casePath(k.ID, "confirm"), map[string]any{"outcome": "APPROVE"}).Code)

	e.clock.add(time.Minute)
	r = s.post(casePath(k.ID, "confirm"), map[string]any{"comment": "confirmed"})
	require.Equal(t, http.StatusOK, r.Code, r.Body.String())
	require.Equal(t, "decided", r.json(t)["case"].(map[string]any)["state"])
	got := e.pub.published()
	require.Len(t, got, 1)
	require.Equal(t, review.OutcomeReject, got[0].Outcome)
	require.Equal(t, a.id, got[0].ReviewerID)
	require.Equal(t, s.id, got[0].ConfirmedBy)
	require.Equal(t, t0.Add(time.Minute), got[0].DecidedAt)
	require.Len(t, e.audit.find("review.confirm", k.ID), 1)

	// A second confirmation changes nothing and publishes nothing.
	require.Equal(t, http.StatusConflict, s.post(casePath(k.ID, "confirm"), nil).Code)
	require.Len(t, e.pub.published(), 1)
}

func TestFourEyesSanctionsApproveAndOverturn(t *testing.T) {
	e := newEnv(t)
	e.setRules("acme", review.Rules{FourEyes: review.FourEyes{Sanctions: true}})
	e.reviewer("acme", "alice", review.RoleReviewer)
	e.reviewer("acme", "sam", review.RoleSenior)
	e.reviewer("acme", "ada", review.RoleAdmin)
	k := e.openCase("acme", "s1", []string{"SCREENING_SANCTIONS_HIT"})
	a, s, ad := e.login("acme", "alice"), e.login("acme", "sam"), e.login("acme", "ada")

	require.Equal(t, http.StatusOK, a.post(casePath(k.ID, "claim"), nil).Code)
	r := a.post(casePath(k.ID, "decide"), approve)
	require.Equal(t, http.StatusOK, r.Code, r.Body.String())
	require.Equal(t, "pending_confirmation", r.json(t)["case"].(map[string]any)["state"], "APPROVE of a sanctions case needs confirmation")
	require.Empty(t, e.pub.published())

	// The senior overturns: the case goes to the escalated queue, which a
	// plain reviewer neither sees nor opens.
	require.Equal(t, http.StatusUnprocessableEntity, s.post(casePath(k.ID, "reject-confirmation"), nil).Code, "comment required")
	r = s.post(casePath(k.ID, "reject-confirmation"), map[string]any{"comment": "the DOB matches the listed entity"})
	require.Equal(t, http.StatusOK, r.Code, r.Body.String())
	require.Equal(t, "escalated", r.json(t)["case"].(map[string]any)["state"])
	require.Empty(t, ids(t, a.get("/console/api/cases")))
	r = a.get(casePath(k.ID))
	require.Equal(t, http.StatusForbidden, r.Code)
	require.Equal(t, "forbidden", r.code(t))
	require.Equal(t, []string{k.ID}, ids(t, s.get("/console/api/cases?state=escalated")))

	// The senior decides afresh; under four-eyes a third person confirms.
	require.Equal(t, http.StatusOK, s.post(casePath(k.ID, "claim"), nil).Code)
	r = s.post(casePath(k.ID, "decide"), map[string]any{"outcome": "REJECT", "reason_codes": []string{"SCREENING_SANCTIONS_HIT"}, "comment": "true match"})
	require.Equal(t, http.StatusOK, r.Code, r.Body.String())
	require.Equal(t, "pending_confirmation", r.json(t)["case"].(map[string]any)["state"])
	require.Equal(t, http.StatusForbidden, s.post(casePath(k.ID, "confirm"), nil).Code)
	r = ad.post(casePath(k.ID, "confirm"), nil)
	require.Equal(t, http.StatusOK, r.Code, r.Body.String())
	got := e.pub.published()
	require.Len(t, got, 1)
	require.Equal(t, review.OutcomeReject, got[0].Outcome)
	require.Equal(t, s.id, got[0].ReviewerID)
	require.Equal(t, ad.id, got[0].ConfirmedBy)
}

func TestEscalate(t *testing.T) {
	e := newEnv(t)
	e.reviewer("acme", "alice", review.RoleReviewer)
	e.reviewer("acme", "sam", review.RoleSenior)
	k := e.openCase("acme", "s1", []string{"FACE_DUPLICATE_IDENTITY"})
	a, s := e.login("acme", "alice"), e.login("acme", "sam")

	require.Equal(t, http.StatusOK, a.post(casePath(k.ID, "claim"), nil).Code)
	r := a.post(casePath(k.ID, "escalate"), map[string]any{"comment": "needs a senior"})
	require.Equal(t, http.StatusOK, r.Code, r.Body.String())
	require.Len(t, e.audit.find("review.escalate", k.ID), 1)
	r = a.post(casePath(k.ID, "claim"), nil)
	require.Equal(t, http.StatusForbidden, r.Code)
	require.Equal(t, http.StatusOK, s.post(casePath(k.ID, "claim"), nil).Code)
}

func TestPublishFailureThenRetryPublishesOnce(t *testing.T) {
	e := newEnv(t)
	e.reviewer("acme", "alice", review.RoleReviewer)
	k := e.openCase("acme", "s1", []string{"DOC_EXPIRED"})
	a := e.login("acme", "alice")
	require.Equal(t, http.StatusOK, a.post(casePath(k.ID, "claim"), nil).Code)

	e.pub.setFail(true)
	r := a.post(casePath(k.ID, "decide"), reject)
	require.Equal(t, http.StatusServiceUnavailable, r.Code)
	require.Equal(t, "publish_failed", r.code(t))
	stored := e.stored("acme", k.ID)
	require.Equal(t, review.StateDecided, stored.State, "the case stays decided")
	require.True(t, stored.Published.IsZero())
	listed := a.get("/console/api/cases?state=decided").json(t)["cases"].([]any)[0].(map[string]any)
	require.Equal(t, false, listed["published"])

	// Still failing: the retry answers 503 again.
	r = a.post(casePath(k.ID, "publish"), nil)
	require.Equal(t, http.StatusServiceUnavailable, r.Code)
	require.Empty(t, e.pub.published())

	e.pub.setFail(false)
	e.clock.add(time.Minute)
	r = a.post(casePath(k.ID, "publish"), nil)
	require.Equal(t, http.StatusOK, r.Code, r.Body.String())
	require.Equal(t, true, r.json(t)["case"].(map[string]any)["published"])
	require.Len(t, e.pub.published(), 1)
	require.Equal(t, t0, e.pub.published()[0].DecidedAt, "the decision's time, not the publish's")
	require.Equal(t, t0.Add(time.Minute), e.stored("acme", k.ID).Published)

	// Published: retries and reads publish nothing more.
	require.Equal(t, http.StatusOK, a.post(casePath(k.ID, "publish"), nil).Code)
	require.Equal(t, http.StatusOK, a.get(casePath(k.ID)).Code)
	require.Len(t, e.pub.published(), 1)

	// publish of an undecided case is a conflict.
	k2 := e.openCase("acme", "s2", []string{"DOC_EXPIRED"})
	r = a.post(casePath(k2.ID, "publish"), nil)
	require.Equal(t, http.StatusConflict, r.Code)
}

func TestGetRepublishesAndRepublishPending(t *testing.T) {
	e := newEnv(t)
	e.reviewer("acme", "alice", review.RoleReviewer)
	k1 := e.openCase("acme", "s1", []string{"DOC_EXPIRED"})
	k2 := e.openCase("acme", "s2", []string{"DOC_EXPIRED"})
	a := e.login("acme", "alice")
	e.pub.setFail(true)
	for _, k := range []review.Case{k1, k2} {
		require.Equal(t, http.StatusOK, a.post(casePath(k.ID, "claim"), nil).Code)
		require.Equal(t, http.StatusServiceUnavailable, a.post(casePath(k.ID, "decide"), reject).Code)
	}
	n, err := e.console.RepublishPending(context.Background(), "acme")
	require.Error(t, err)
	require.Zero(t, n)

	e.pub.setFail(false)
	// Reading a decided, unpublished case publishes it.
	r := a.get(casePath(k1.ID))
	require.Equal(t, http.StatusOK, r.Code)
	require.Equal(t, true, r.json(t)["published"])
	require.Len(t, e.pub.published(), 1)

	n, err = e.console.RepublishPending(context.Background(), "acme")
	require.NoError(t, err)
	require.Equal(t, 1, n)
	n, err = e.console.RepublishPending(context.Background(), "acme")
	require.NoError(t, err)
	require.Zero(t, n)
	got := e.pub.published()
	require.Len(t, got, 2)
	require.ElementsMatch(t, []string{k1.ID, k2.ID}, []string{got[0].CaseID, got[1].CaseID})
}

// TestConcurrentClaimsOneWins races reviewers on one case: exactly one
// claim succeeds, the others get claimed_by_other.
func TestConcurrentClaimsOneWins(t *testing.T) {
	e := newEnv(t)
	k := e.openCase("acme", "s1", []string{"DOC_EXPIRED"})
	var clients []*client
	for _, u := range []string{"r1", "r2", "r3", "r4"} {
		e.reviewer("acme", u, review.RoleReviewer)
		clients = append(clients, e.login("acme", u))
	}
	codes := make(chan int, len(clients))
	for _, c := range clients {
		go func() { codes <- c.post(casePath(k.ID, "claim"), nil).Code }()
	}
	won := 0
	for range clients {
		switch code := <-codes; code {
		case http.StatusOK:
			won++
		default:
			require.Equal(t, http.StatusConflict, code)
		}
	}
	require.Equal(t, 1, won)
}

func TestMethodNotAllowedAndUnknownPaths(t *testing.T) {
	e := newEnv(t)
	e.reviewer("acme", "alice", review.RoleReviewer)
	a := e.login("acme", "alice")
	r := a.get(casePath("x", "claim"))
	require.Equal(t, http.StatusMethodNotAllowed, r.Code)
	require.Equal(t, "POST", r.Header().Get("Allow"))
	r = a.get("/console/api/nothing")
	require.Equal(t, http.StatusNotFound, r.Code)
	require.Equal(t, "not_found", r.code(t))
}
