package node

import (
	"context"
	"errors"
	"fmt"
	areview "github.com/openekyc/ekyc/actors/review"
	"path/filepath"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/openekyc/ekyc/actors/session"
	"github.com/openekyc/ekyc/cluster"
	"github.com/openekyc/ekyc/config"
	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
	"github.com/openekyc/ekyc/services/reasons"
	rv "github.com/openekyc/ekyc/services/review"
	"github.com/openekyc/ekyc/store/audit"
	"github.com/openekyc/ekyc/store/labels"
	"github.com/openekyc/ekyc/store/review"
	"github.com/openekyc/ekyc/streams"
	"github.com/openekyc/ekyc/streams/codec"
)

// The review decision path (issue 9): a REVIEW decision opens a case in
// store/review (AfterDecided, idempotent by decision id); a reviewer's
// final decision comes back as a ReviewDecision record on
// kafka.topics.review_decisions, which a second streams consumer hands to
// the session actor (ProcessReviewDecision); the actor stores and emits the
// final decision, and its AfterDecided run stores the labelled example and
// enqueues the review.decided webhook.

// AuditActionCaseOpened is the audit action of a case opened by a REVIEW
// decision.
const AuditActionCaseOpened = "review.case_opened"

// reviewQueue holds the review store, the labelled examples and the
// consumer of review decisions.
type reviewQueue struct {
	store    *review.Store
	labels   *labels.Store
	sla      rv.SLA
	consumer *streams.Consumer
	done     chan struct{}
	monitor  *areview.Monitor // node/console.go
}

// ReviewDir is the review store's Pebble directory (<data_dir>/review).
func ReviewDir(cfg config.Config) string { return filepath.Join(cfg.DataDir, "review") }

// LabelsDir is the labelled examples' Pebble directory (<data_dir>/labels).
func LabelsDir(cfg config.Config) string { return filepath.Join(cfg.DataDir, "labels") }

// reviewGroup is the consumer group of the review decisions topic: its own
// group, as the requests consumer's group consumes only the requests.
func reviewGroup(group string) string { return group + "-review" }

// startReviewStores opens the review store (sealed with the key ring, so
// erasing a session shreds its reviewers' comments) and the labels store.
// It runs after startProtection.
func (n *Node) startReviewStores(ctx context.Context) error {
	s := n.cfg.Review.SLA
	q := &reviewQueue{sla: rv.SLA{
		Sanctions: s.Sanctions.D(), Duplicate: s.DuplicateIdentity.D(), Liveness: s.Liveness.D(),
		Document: s.Document.D(), Other: s.Other.D(),
	}, done: make(chan struct{})}
	if err := q.sla.Validate(); err != nil {
		return fmt.Errorf("node: review: %w", err)
	}
	st, err := review.Open(ctx, ReviewDir(n.cfg), n.protect.ring)
	if err != nil {
		return fmt.Errorf("node: review: %w", err)
	}
	q.store = st
	if q.labels, err = labels.Open(ctx, LabelsDir(n.cfg)); err != nil {
		_ = st.Close()
		return fmt.Errorf("node: labels: %w", err)
	}
	n.review = q
	return nil
}

// startReviewConsumer starts the consumer of review decisions. It runs
// after the cluster member started.
func (n *Node) startReviewConsumer(ctx context.Context) error {
	cfg := n.cfg.Kafka
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := streams.EnsureTopics(tctx, n.producer.Client(), cfg.Partitions, cfg.Replication, cfg.Topics.ReviewDecisions); err != nil {
		return fmt.Errorf("node: review topic: %w", err)
	}
	c, err := streams.NewConsumer(streams.ConsumerConfig{
		Brokers:                 n.brokers,
		Group:                   reviewGroup(cfg.Group),
		Topic:                   cfg.Topics.ReviewDecisions,
		DLQTopic:                cfg.Topics.DLQ,
		MaxInFlightPerPartition: cfg.MaxInFlightPerPartition,
		CommitInterval:          cfg.CommitInterval.D(),
		ClientID:                "ekyc-" + n.cfg.NodeID + "-review",
	}, n.handleReviewDecision, streams.WithLogger(n.log.With("component", "review")),
		streams.WithKgoOpts(kgo.SessionTimeout(cfg.SessionTimeout.D())))
	if err != nil {
		return fmt.Errorf("node: review consumer: %w", err)
	}
	n.review.consumer = c
	go func() {
		defer close(n.review.done)
		if err := c.Run(context.Background()); err != nil && !errors.Is(err, context.Canceled) {
			n.log.Error("review consumer stopped", "err", err)
		}
	}()
	return nil
}

// stopConsumer stops the consumer (before the cluster member stops).
func (q *reviewQueue) stopConsumer(graceful bool) {
	if q == nil || q.consumer == nil {
		return
	}
	q.consumer.Close(graceful)
	select {
	case <-q.done:
	case <-time.After(30 * time.Second):
	}
}

func (q *reviewQueue) stopMonitor() {
	if q != nil && q.monitor != nil {
		q.monitor.Close()
	}
}

// close closes the stores (after the actors stopped using them).
func (q *reviewQueue) close() error {
	if q == nil {
		return nil
	}
	var errs []error
	if q.store != nil {
		errs = append(errs, q.store.Close())
	}
	if q.labels != nil {
		errs = append(errs, q.labels.Close())
	}
	return errors.Join(errs...)
}

// ReviewStore is the review queue's store (cases, reviewers, login
// sessions) for the reviewers' console; nil before Start succeeded.
func (n *Node) ReviewStore() *review.Store {
	if n.review == nil {
		return nil
	}
	return n.review.store
}

// Labels is the store of labelled examples; nil before Start succeeded.
func (n *Node) Labels() *labels.Store {
	if n.review == nil {
		return nil
	}
	return n.review.labels
}

// ReviewRules are a tenant's review rules: the node's claim TTL and the
// tenant's four-eyes flags (none for a tenant not in the configuration).
func (n *Node) ReviewRules(tenant string) rv.Rules {
	t := n.tenants[tenant]
	return rv.Rules{ClaimTTL: n.cfg.Review.ClaimTTL.D(), FourEyes: rv.FourEyes{
		Reject: t.Review.FourEyesReject, Sanctions: t.Review.FourEyesSanctions,
	}}
}

// afterDecided opens the case of a REVIEW decision, or stores the labelled
// example of a reviewer's final decision. Both are idempotent (by case id).
func (q *reviewQueue) afterDecided(ctx context.Context, n *Node, st *ekycv1.SessionState) error {
	d := st.GetDecision()
	switch {
	case d.GetReviewed():
		ex, ok := labels.FromSession(st)
		if !ok {
			return nil
		}
		if _, err := q.labels.Put(ctx, ex); err != nil {
			return fmt.Errorf("labels: %w", err)
		}
		return nil
	case d.GetOutcome() == ekycv1.Outcome_OUTCOME_REVIEW:
		at := d.GetDecidedAt().AsTime()
		if !d.GetDecidedAt().IsValid() || at.IsZero() {
			at = n.now()
		}
		c, err := rv.NewCase(rv.Opening{Tenant: st.GetTenantId(), SessionID: st.GetSessionId(), DecisionID: d.GetDecisionId(),
			Reasons: d.GetReasonCodes(), OpenedAt: at}, q.sla)
		if err != nil {
			return fmt.Errorf("review case: %w", err)
		}
		stored, created, err := q.store.Create(ctx, c)
		if err != nil {
			return fmt.Errorf("review case: %w", err)
		}
		if !created {
			return nil
		}
		return n.record(ctx, audit.Entry{Tenant: st.GetTenantId(), Actor: "node:" + n.cfg.NodeID, Action: AuditActionCaseOpened,
			Subject: st.GetSessionId(), Details: map[string]string{"case_id": stored.ID, "decision_id": d.GetDecisionId(),
				"priority": stored.Priority.String()}})
	}
	return nil
}

// validateReviewDecision checks a review decision before it goes to the
// session actor; the error names fields, never their values beyond ids.
func (n *Node) validateReviewDecision(ctx context.Context, rd *ekycv1.ReviewDecision) (reason string, err error) {
	for _, f := range []struct{ name, v string }{
		{"tenant_id", rd.GetTenantId()}, {"session_id", rd.GetSessionId()}, {"case_id", rd.GetCaseId()},
		{"review_decision_id", rd.GetReviewDecisionId()}, {"reviewer_id", rd.GetReviewerId()}, {"event_id", rd.GetEventId()},
	} {
		if f.v == "" {
			return reasons.InputValidationError, fmt.Errorf("review decision: %s is required", f.name)
		}
		if len(f.v) > rv.MaxIDLen {
			return reasons.InputValidationError, fmt.Errorf("review decision: %s longer than %d bytes", f.name, rv.MaxIDLen)
		}
	}
	if rd.GetEventId() != rd.GetCaseId() {
		return reasons.InputValidationError, errors.New("review decision: event_id must equal case_id (one final decision per case)")
	}
	if rd.GetCaseId() != rv.CaseID(rd.GetTenantId(), rd.GetReviewDecisionId()) {
		return reasons.InputValidationError, errors.New("review decision: case_id is not the case of review_decision_id")
	}
	if o := rd.GetOutcome(); o != ekycv1.Outcome_OUTCOME_APPROVE && o != ekycv1.Outcome_OUTCOME_REJECT {
		return reasons.InputValidationError, fmt.Errorf("review decision: outcome must be APPROVE or REJECT, got %s", o)
	}
	codes := rd.GetReasonCodes()
	if len(codes) == 0 || len(codes) > rv.MaxReasons {
		return reasons.InputValidationError, fmt.Errorf("review decision: want 1 to %d reason codes, got %d", rv.MaxReasons, len(codes))
	}
	for i, c := range codes {
		if !reasons.Known(c) {
			return reasons.InputValidationError, fmt.Errorf("review decision: reason code %d is not a known code", i)
		}
	}
	if t := rd.GetDecidedAt(); t != nil && !t.IsValid() {
		return reasons.InputValidationError, errors.New("review decision: decided_at is not a valid time")
	}
	if _, ok := n.tenant(ctx, rd.GetTenantId()); !ok {
		return reasons.InputUnknownTenant, errors.New("review decision: unknown tenant " + rd.GetTenantId())
	}
	return "", nil
}

// handleReviewDecision is the streams handler of the review decisions
// topic. Invalid records, and review decisions the session actor refuses
// (the session is not in review, ...), are dead-lettered; anything else
// that fails is retried.
func (n *Node) handleReviewDecision(ctx context.Context, rec *kgo.Record) error {
	rd, enc, err := codec.DecodeReviewDecision(rec)
	if err != nil {
		return streams.Reject(reasons.InputDecodeError, err.Error())
	}
	if reason, err := n.validateReviewDecision(ctx, rd); err != nil {
		return streams.Reject(reason, err.Error())
	}
	if len(rec.Key) > 0 && string(rec.Key) != rd.GetSessionId() {
		return streams.Reject(reasons.InputKeyMismatch, "record key differs from session_id")
	}
	msg := &ekycv1.ProcessReviewDecision{
		Decision:      rd,
		Source:        &ekycv1.EventSource{Topic: rec.Topic, Partition: rec.Partition, Offset: rec.Offset},
		ReplyEncoding: enc,
	}
	resp, err := n.member.Request(ctx, cluster.SessionKind, cluster.SessionIdentity(rd.GetTenantId(), rd.GetSessionId()), msg)
	if err != nil {
		return err
	}
	ack, ok := resp.(*ekycv1.ProcessAck)
	if !ok {
		return fmt.Errorf("node: unexpected reply %T from session actor", resp)
	}
	if r := ack.GetRejected(); r != "" {
		return streams.Reject(reasons.InputValidationError, "review decision not applicable: "+r)
	}
	if ack.GetError() != "" {
		return fmt.Errorf("node: review decision for session %s not applied: %s", rd.GetSessionId(), ack.GetError())
	}
	return nil
}

// PublishReviewDecision validates a reviewer's final decision and
// produces it (protobuf, key = session id) to kafka.topics.review_decisions,
// from where the session actor finalises the session. An empty event_id is
// set to the case id. It returns once the record is acknowledged by the
// brokers; the console's Publisher is this function.
func (n *Node) PublishReviewDecision(ctx context.Context, rd *ekycv1.ReviewDecision) error {
	if rd == nil {
		return errors.New("node: nil review decision")
	}
	if rd.GetEventId() == "" {
		rd.EventId = rd.GetCaseId()
	}
	if _, err := n.validateReviewDecision(ctx, rd); err != nil {
		return err
	}
	b, ct, err := codec.Encode(rd, ekycv1.Encoding_ENCODING_PROTOBUF)
	if err != nil {
		return err
	}
	return n.producer.Produce(ctx, n.cfg.Kafka.Topics.ReviewDecisions, []byte(rd.GetSessionId()), b, map[string]string{
		codec.HeaderContentType: ct,
		"ekyc-case-id":          rd.GetCaseId(),
		"ekyc-tenant-id":        rd.GetTenantId(),
	})
}

// ReviewedDecisionID is the id of the final decision a review case makes
// (the session actor's), for callers that correlate it.
func ReviewedDecisionID(tenant, sessionID, caseID string) string {
	return session.ReviewedDecisionID(tenant, sessionID, caseID)
}

// Session is a session's stored state (the request unsealed), for the
// reviewers' console and tests; sessions.ErrNotFound when there is none.
func (n *Node) Session(ctx context.Context, tenant, sessionID string) (*ekycv1.SessionState, error) {
	return n.store.Get(ctx, tenant, sessionID)
}
