package node

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/openekyc/ekyc/actors/webhook"
	"github.com/openekyc/ekyc/gateway"
	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
	"github.com/openekyc/ekyc/store/webhooks"
	"github.com/openekyc/ekyc/store/webhooks/pebblestore"
)

// webhookLog is the node's webhook outbox (store/webhooks, persisted) and
// its dispatcher (actors/webhook). Decisions are enqueued by the
// AfterDecided hook, before the decision is published: an accepted
// decision's webhook is durable before anyone can see the decision, and
// the enqueue is idempotent by event id, so a redelivered event does not
// send it twice.
type webhookLog struct {
	store webhooks.Store
	disp  *webhook.Dispatcher
}

func (n *Node) startWebhooks(ctx context.Context) error {
	st, err := pebblestore.Open(webhooksDir(n.cfg), n.protect.env)
	if err != nil {
		return fmt.Errorf("node: webhooks: %w", err)
	}
	sched := make([]time.Duration, len(n.cfg.Webhooks.Schedule))
	for i, d := range n.cfg.Webhooks.Schedule {
		sched[i] = d.D()
	}
	d, err := webhook.New(st,
		webhook.WithSecrets(n.protect.tenants.WebhookSecrets),
		webhook.WithTimeout(n.cfg.Webhooks.Timeout.D()),
		webhook.WithSchedule(sched...),
		webhook.WithEndpointConcurrency(n.cfg.Webhooks.PerEndpoint),
		webhook.WithAllowPrivate(n.cfg.Webhooks.AllowPrivate),
		// Real time, not the node's clock (tests fix that one for
		// deterministic decisions): delivery schedules are wall-clock.
		webhook.WithLogger(n.log.With("component", "webhooks")),
		webhook.WithRegisterer(n.reg),
	)
	if err != nil {
		_ = st.Close()
		return fmt.Errorf("node: webhooks: %w", err)
	}
	if err := d.Start(ctx); err != nil {
		_ = st.Close()
		return fmt.Errorf("node: webhooks: %w", err)
	}
	n.hooks = &webhookLog{store: st, disp: d}
	return nil
}

func (w *webhookLog) close() {
	if w == nil {
		return
	}
	_ = w.disp.Close()
	_ = w.store.Close()
}

// decisionEvent is the JSON body of a verification.decided webhook: ids,
// outcome and codes, no personal data.
type decisionEvent struct {
	ID        string       `json:"id"`
	Type      string       `json:"type"`
	CreatedAt time.Time    `json:"created_at"`
	Data      decisionData `json:"data"`
}

type decisionData struct {
	TenantID      string   `json:"tenant_id"`
	SessionID     string   `json:"session_id"`
	DecisionID    string   `json:"decision_id"`
	Outcome       string   `json:"outcome"`
	Score         float64  `json:"score"`
	ReasonCodes   []string `json:"reason_codes"`
	PolicyID      string   `json:"policy_id"`
	PolicyVersion int32    `json:"policy_version"`
	// Of a review.decided event only: the reviewer's id and the REVIEW
	// decision the reviewer's final decision replaces (the comment stays
	// in the review store).
	ReviewerID           string `json:"reviewer_id,omitempty"`
	SupersedesDecisionID string `json:"supersedes_decision_id,omitempty"`
}

// afterDecided enqueues the session's decision webhook when the request
// named a callback URL or the tenant registered one.
func (w *webhookLog) afterDecided(ctx context.Context, n *Node, st *ekycv1.SessionState) error {
	d := st.GetDecision()
	if d == nil {
		return nil
	}
	url := st.GetRequest().GetCallbackUrl()
	if url == "" {
		if t, err := n.protect.tenants.Tenant(ctx, st.GetTenantId()); err == nil {
			url = t.WebhookURL
		}
	}
	if url == "" {
		return nil
	}
	id := "dec_" + d.GetDecisionId()
	at := d.GetDecidedAt().AsTime()
	typ := webhooks.TypeVerificationDecided
	data := decisionData{
		TenantID: d.GetTenantId(), SessionID: d.GetSessionId(), DecisionID: d.GetDecisionId(),
		Outcome: outcomeName(d.GetOutcome()), Score: d.GetScore(), ReasonCodes: d.GetReasonCodes(),
		PolicyID: d.GetPolicyId(), PolicyVersion: d.GetPolicyVersion(),
	}
	if d.GetReviewed() { // a reviewer's final decision on a session in REVIEW
		typ = webhooks.TypeReviewDecided
		data.ReviewerID, data.SupersedesDecisionID = d.GetReviewerId(), d.GetSupersedesDecisionId()
	}
	body, err := json.Marshal(decisionEvent{ID: id, Type: typ, CreatedAt: at, Data: data})
	if err != nil {
		return err
	}
	_, err = w.disp.Enqueue(ctx, webhooks.Event{ID: id, Tenant: st.GetTenantId(), Type: typ, URL: url, Body: body, CreatedAt: at})
	if errors.Is(err, webhooks.ErrInvalidArgument) {
		// A URL the store refuses (not http(s), too long) cannot succeed on
		// retry; the decision stands without its webhook.
		n.log.Warn("webhook not enqueued", "tenant", st.GetTenantId(), "session", st.GetSessionId(), "err", err)
		return nil
	}
	return err
}

// alertEvent is the JSON body of a monitoring.alert webhook: the alert's
// ids and the list entry that now matches (public list data), nothing of
// the applicant.
type alertEvent struct {
	ID        string    `json:"id"`
	Type      string    `json:"type"`
	CreatedAt time.Time `json:"created_at"`
	Data      alertData `json:"data"`
}

type alertData struct {
	TenantID    string   `json:"tenant_id"`
	SessionID   string   `json:"session_id"`
	AlertID     string   `json:"alert_id"`
	ListVersion string   `json:"list_version"`
	EntityID    string   `json:"entity_id"`
	Source      string   `json:"source"`
	Programs    []string `json:"programs,omitempty"`
	PEP         bool     `json:"pep"`
	Score       float64  `json:"score"`
}

// alert enqueues a monitoring alert's webhook to the tenant's URL (none
// registered: no webhook). Idempotent by alert id.
func (w *webhookLog) alert(ctx context.Context, n *Node, a *ekycv1.MonitoringAlert) error {
	t, err := n.protect.tenants.Tenant(ctx, a.GetTenantId())
	if err != nil || t.WebhookURL == "" {
		return nil
	}
	id := "alr_" + a.GetAlertId()
	at := a.GetCreatedAt().AsTime()
	h := a.GetHit()
	body, err := json.Marshal(alertEvent{ID: id, Type: webhooks.TypeMonitoringAlert, CreatedAt: at, Data: alertData{
		TenantID: a.GetTenantId(), SessionID: a.GetSessionId(), AlertID: a.GetAlertId(), ListVersion: a.GetListVersion(),
		EntityID: h.GetEntityId(), Source: h.GetSource(), Programs: h.GetPrograms(), PEP: h.GetPep(), Score: h.GetScore(),
	}})
	if err != nil {
		return err
	}
	_, err = w.disp.Enqueue(ctx, webhooks.Event{ID: id, Tenant: a.GetTenantId(), Type: webhooks.TypeMonitoringAlert, URL: t.WebhookURL, Body: body, CreatedAt: at})
	if errors.Is(err, webhooks.ErrInvalidArgument) {
		n.log.Warn("webhook not enqueued", "tenant", a.GetTenantId(), "session", a.GetSessionId(), "err", err)
		return nil
	}
	return err
}

// outcomeName is the outcome without its enum prefix: APPROVE, REJECT, REVIEW.
func outcomeName(o ekycv1.Outcome) string {
	s := o.String()
	const p = "OUTCOME_"
	if len(s) > len(p) && s[:len(p)] == p {
		return s[len(p):]
	}
	return s
}

// gateway.Webhooks: the delivery log as the API shows it.

func (w *webhookLog) Events(ctx context.Context, tenant string, limit int) ([]gateway.WebhookEvent, error) {
	recs, err := w.store.List(ctx, tenant, webhooks.Filter{Limit: webhooks.MaxListLimit})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(recs, func(a, b webhooks.Record) int { return cmp.Compare(b.CreatedAt.UnixNano(), a.CreatedAt.UnixNano()) })
	if limit > 0 && len(recs) > limit {
		recs = recs[:limit]
	}
	out := make([]gateway.WebhookEvent, len(recs))
	for i, r := range recs {
		out[i] = apiEvent(r)
	}
	return out, nil
}

func (w *webhookLog) Event(ctx context.Context, tenant, id string) (gateway.WebhookEvent, error) {
	r, err := w.store.Get(ctx, tenant, id)
	if err != nil {
		if errors.Is(err, webhooks.ErrNotFound) || errors.Is(err, webhooks.ErrInvalidArgument) {
			return gateway.WebhookEvent{}, gateway.ErrNotFound
		}
		return gateway.WebhookEvent{}, err
	}
	return apiEvent(r), nil
}

func (w *webhookLog) Replay(ctx context.Context, tenant, id string) error {
	_, err := w.disp.Replay(ctx, tenant, id)
	if errors.Is(err, webhooks.ErrNotFound) || errors.Is(err, webhooks.ErrInvalidArgument) {
		return gateway.ErrNotFound
	}
	return err
}

func apiEvent(r webhooks.Record) gateway.WebhookEvent {
	e := gateway.WebhookEvent{ID: r.ID, Type: r.Type, CreatedAt: r.CreatedAt}
	switch r.State {
	case webhooks.StateDead:
		e.Status = "failed"
	default:
		e.Status = string(r.State)
	}
	var body struct {
		Data struct {
			SessionID string `json:"session_id"`
		} `json:"data"`
	}
	if json.Unmarshal(r.Body, &body) == nil {
		e.SessionID = body.Data.SessionID
	}
	for _, a := range r.Log {
		e.Attempts = append(e.Attempts, gateway.WebhookAttempt{At: a.At, StatusCode: a.Status, Error: a.Error, Duration: a.Duration})
	}
	return e
}
