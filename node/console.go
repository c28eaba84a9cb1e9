package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/jpeg"
	"maps"
	"slices"

	"google.golang.org/protobuf/types/known/timestamppb"

	areview "github.com/openekyc/ekyc/actors/review"
	"github.com/openekyc/ekyc/console"
	"github.com/openekyc/ekyc/gateway"
	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
	"github.com/openekyc/ekyc/services/document/ocr"
	"github.com/openekyc/ekyc/services/face"
	rv "github.com/openekyc/ekyc/services/review"
	"github.com/openekyc/ekyc/store/audit"
	"github.com/openekyc/ekyc/store/blobs"
	"github.com/openekyc/ekyc/store/keys"
)

// newConsole builds the reviewers' console (console/) over the node's
// review store, session store, encrypted blobs, audit log and the review
// decisions topic. It is mounted at /console/ on the API listener.
func (n *Node) newConsole() (*console.Console, error) {
	opts := []console.Option{
		console.WithRules(n.ReviewRules),
		console.WithClock(n.now),
		console.WithLogger(n.log.With("component", "console")),
	}
	if n.pools != nil { // the face detector crops the portrait
		opts = append(opts, console.WithDerivedImages(portraitImage))
	}
	if a := consoleAssets(); a != nil {
		opts = append(opts, console.WithAssets(a))
	}
	deps := console.Deps{
		Reviews:   n.review.store,
		Evidence:  consoleEvidence{n},
		Publisher: reviewPublisher{n},
		Auditor:   consoleAuditor{n},
	}
	if n.pools[ocr.ModelRecognise] != nil { // OCR reads the MRZ of image-only sessions
		deps.MRZ = consoleMRZ{n}
	}
	return console.New(deps, opts...)
}

// startReviewMonitor starts the review-queue monitor (actors/review):
// every review.sweep_interval it republishes decided cases whose decision
// did not reach Kafka (when the console runs) and measures each tenant's
// queue into the ekyc_review_* gauges.
func (n *Node) startReviewMonitor() error {
	if n.review == nil {
		return nil
	}
	mon, err := areview.Start(n.member.System(), areview.Deps{
		Tenants: n.reviewTenants,
		Stats:   n.review.store.QueueStats,
		Republish: func(ctx context.Context, tenant string) (int, error) {
			if n.console == nil {
				return 0, nil
			}
			return n.console.RepublishPending(ctx, tenant)
		},
		Now: n.now,
	}, areview.Config{Interval: n.cfg.Review.SweepInterval.D()},
		areview.WithRegisterer(n.reg), areview.WithLogger(n.log))
	if err != nil {
		return fmt.Errorf("node: review monitor: %w", err)
	}
	n.review.monitor = mon
	return nil
}

// reviewTenants lists the tenants of the configuration and of the tenants
// store.
func (n *Node) reviewTenants(ctx context.Context) ([]string, error) {
	out := slices.Collect(maps.Keys(n.tenants))
	if n.protect == nil {
		return out, nil
	}
	ts, err := n.protect.tenants.Tenants(ctx)
	for _, t := range ts {
		if _, ok := n.tenants[t.ID]; !ok {
			out = append(out, t.ID)
		}
	}
	return out, err
}

type consoleEvidence struct{ n *Node }

func (e consoleEvidence) Session(ctx context.Context, tenant, session string) (*ekycv1.SessionState, error) {
	return e.n.Session(ctx, tenant, session)
}

// portraitImage is the derived image of the console: the holder's photo
// cropped from the document image by the face detector.
const portraitImage = "portrait"

func (e consoleEvidence) Image(ctx context.Context, tenant, session, name string) ([]byte, string, error) {
	if name == portraitImage {
		return e.portrait(ctx, tenant, session)
	}
	b, ct, err := e.n.protect.blobs.Get(ctx, tenant, session, name)
	if errors.Is(err, blobs.ErrNotFound) || errors.Is(err, keys.ErrShredded) || errors.Is(err, blobs.ErrInvalidArgument) {
		return nil, "", console.ErrNotFound
	}
	return b, ct, err
}

type reviewPublisher struct{ n *Node }

func (p reviewPublisher) PublishReviewDecision(ctx context.Context, d console.ReviewDecision) error {
	out := ekycv1.Outcome_OUTCOME_REJECT
	if d.Outcome == rv.OutcomeApprove {
		out = ekycv1.Outcome_OUTCOME_APPROVE
	}
	return p.n.PublishReviewDecision(ctx, &ekycv1.ReviewDecision{
		TenantId: d.Tenant, SessionId: d.SessionID, CaseId: d.CaseID, ReviewDecisionId: d.ReviewDecisionID,
		Outcome: out, ReasonCodes: d.ReasonCodes, ReviewerId: d.ReviewerID, ConfirmedBy: d.ConfirmedBy,
		DecidedAt: timestamppb.New(d.DecidedAt), EventId: d.CaseID,
	})
}

type consoleAuditor struct{ n *Node }

func (a consoleAuditor) Record(ctx context.Context, e console.AuditEvent) error {
	return a.n.record(ctx, audit.Entry{Tenant: e.Tenant, Actor: e.Actor, Action: e.Action, Subject: e.Subject, Details: e.Details})
}

// portrait crops the holder's photo out of the session's document image
// (face.Portrait through the inference pools), computed per request and
// never stored: it is as sensitive as the image it comes from.
func (e consoleEvidence) portrait(ctx context.Context, tenant, session string) ([]byte, string, error) {
	b, _, err := e.Image(ctx, tenant, session, gateway.ImageDocumentFront)
	if err != nil {
		return nil, "", err
	}
	img, err := face.Decode(b, face.Limits{})
	if err != nil {
		return nil, "", console.ErrNotFound
	}
	crop, _, err := face.Portrait(ctx, e.n.runner(), img)
	if errors.Is(err, face.ErrNoFace) || errors.Is(err, face.ErrImageTooSmall) {
		return nil, "", console.ErrNotFound
	}
	if err != nil {
		return nil, "", err
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, crop, &jpeg.Options{Quality: 90}); err != nil {
		return nil, "", err
	}
	return buf.Bytes(), "image/jpeg", nil
}

// consoleMRZ reads the MRZ of a session's document image for the
// reviewer's view (the document check read it too, but keeps only its
// signals: the lines are personal data and the check results are not
// sealed). Computed per request through the OCR pools, never stored.
type consoleMRZ struct{ n *Node }

func (m consoleMRZ) ReadMRZ(ctx context.Context, tenant, session string) ([]string, error) {
	b, _, err := consoleEvidence{m.n}.Image(ctx, tenant, session, gateway.ImageDocumentFront)
	if err != nil {
		return nil, err
	}
	img, err := face.Decode(b, face.Limits{})
	if err != nil {
		return nil, console.ErrNotFound
	}
	read, err := ocr.ReadMRZ(ctx, ocr.RunnerFunc(m.n.runner().Run), img, ocr.WithReference(m.n.now()))
	if err != nil {
		return nil, err
	}
	return read.Lines, nil
}
