package node

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
	rv "github.com/openekyc/ekyc/services/review"
	"github.com/openekyc/ekyc/store/audit"
	"github.com/openekyc/ekyc/store/review"
	"github.com/openekyc/ekyc/store/sessions"
)

// erase removes a session's images and personal data everywhere the node
// keeps them, and keeps its decision record (retention.keep_decisions):
//
//  1. the session's data key is destroyed (crypto-shredding) and its
//     image blobs are deleted: anything ever sealed with that key — the
//     images, the request in the session state, the gateway's draft — is
//     unreadable from then on, wherever a copy lingers;
//  2. the face embedding is deleted from the vector store;
//  3. the monitoring subject (name, date of birth) is removed;
//  4. the review cases of its REVIEW decisions are deleted;
//  5. the session state is rewritten without its request (compare-and-set),
//     marked erased; with retention.keep_decisions false it is deleted
//     instead (the decision then lives on only in the decisions topic and
//     in analytics, which hold no PII);
//  6. an audit entry records who erased it.
//
// Every step is idempotent, so a retried or repeated erasure is harmless,
// and erasing a session the node never saw succeeds.
func (n *Node) erase(ctx context.Context, tenant, session, actor string) error {
	if err := sessions.ValidateKey(tenant, session); err != nil {
		return err
	}
	if err := n.protect.blobs.DeleteSession(ctx, tenant, session); err != nil {
		return fmt.Errorf("erase: images and key: %w", err)
	}
	if n.dedup != nil {
		if err := n.dedup.store.DeleteSession(ctx, tenant, session); err != nil {
			return fmt.Errorf("erase: face embedding: %w", err)
		}
	}
	if n.monitor != nil {
		if err := n.monitor.store.Unenrol(ctx, tenant, session); err != nil {
			return fmt.Errorf("erase: monitoring subject: %w", err)
		}
	}
	if err := n.eraseReviewCases(ctx, tenant, session); err != nil {
		return fmt.Errorf("erase: review cases: %w", err)
	}
	if err := n.eraseState(ctx, tenant, session); err != nil {
		return fmt.Errorf("erase: session state: %w", err)
	}
	return n.record(ctx, audit.Entry{Tenant: tenant, Actor: actor, Action: audit.ActionSessionErased, Subject: session})
}

// eraseReviewCases deletes the review cases of the session's REVIEW
// decisions (their comments are sealed with the session's key, already
// shredded; the case itself holds the reviewers' history).
func (n *Node) eraseReviewCases(ctx context.Context, tenant, session string) error {
	if n.review == nil {
		return nil
	}
	st, err := n.store.Get(ctx, tenant, session)
	if errors.Is(err, sessions.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, d := range append([]*ekycv1.Decision{st.GetDecision()}, st.GetPreviousDecisions()...) {
		if d.GetOutcome() != ekycv1.Outcome_OUTCOME_REVIEW {
			continue
		}
		if err := n.review.store.Delete(ctx, tenant, rv.CaseID(tenant, d.GetDecisionId())); err != nil && !errors.Is(err, review.ErrNotFound) {
			return err
		}
	}
	return nil
}

// eraseState drops the request from the stored session state, or the whole
// state when the decision record is not kept.
func (n *Node) eraseState(ctx context.Context, tenant, session string) error {
	for range 10 {
		st, err := n.store.Get(ctx, tenant, session)
		if errors.Is(err, sessions.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if !n.cfg.Retention.KeepDecisions {
			err = n.store.Delete(ctx, tenant, session, st.GetVersion())
			if !errors.Is(err, sessions.ErrConflict) && !errors.Is(err, sessions.ErrUnknownOutcome) {
				return err
			}
			// Lost to the session actor, or unknown: re-read and retry.
			time.Sleep(10 * time.Millisecond)
			continue
		}
		if st.GetErasedAt() != nil && st.GetRequest() == nil && len(st.GetSealedRequest()) == 0 {
			return nil
		}
		st.Request = nil
		st.SealedRequest = nil
		if st.GetErasedAt() == nil {
			st.ErasedAt = timestamppb.New(n.now())
		}
		err = n.store.Put(ctx, st, st.GetVersion())
		if !errors.Is(err, sessions.ErrConflict) {
			return err
		}
		time.Sleep(10 * time.Millisecond) // the session actor wrote in between
	}
	return fmt.Errorf("%w: erasure kept conflicting with the session actor", sessions.ErrConflict)
}
