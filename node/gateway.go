package node

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/openekyc/ekyc/config"
	"github.com/openekyc/ekyc/gateway"
	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
	"github.com/openekyc/ekyc/services/face"
	"github.com/openekyc/ekyc/store/apistate"
	"github.com/openekyc/ekyc/store/audit"
	"github.com/openekyc/ekyc/store/tenants"
)

// startGateway serves the HTTP API (gateway/) on gateway.listen, wired to
// the node's stores: API keys from store/tenants, drafts in store/apistate
// (PII sealed with the session's data key), images in the encrypted blob
// store, submissions produced to the requests topic, status from the
// session store, the audit log, erasure and the webhook delivery log.
func (n *Node) startGateway(ctx context.Context) error {
	if n.cfg.Gateway.Listen == "" {
		return nil
	}
	st, err := apistate.Open(apiStateDir(n.cfg), n.protect.ring)
	if err != nil {
		return fmt.Errorf("node: api state: %w", err)
	}
	n.apiState = st
	g := n.cfg.Gateway
	deps := gateway.Deps{
		Authenticator: authenticator{n.protect.tenants},
		State:         st,
		Blobs:         n.protect.blobs,
		Publisher:     publisher{n},
		SessionStates: n.store,
		Auditor:       auditor{n},
		Eraser:        eraser{n},
	}
	if n.hooks != nil {
		deps.Webhooks = n.hooks
	}
	if n.pools != nil {
		deps.FaceProber = faceProber{n}
	}
	tokenKey, err := n.protect.env.DeriveKey(sessionTokenPurpose)
	if err != nil {
		return fmt.Errorf("node: session-token key: %w", err)
	}
	defer clear(tokenKey) // the gateway keeps its own copy
	opts := []gateway.Option{
		gateway.WithTokenKey(tokenKey),
		gateway.WithTokenTTL(g.SessionTokenTTL.D()),
		gateway.WithCORSOrigins(g.CORSOrigins),
		gateway.WithBodyLimit(g.MaxBodyBytes),
		gateway.WithImageLimits(gateway.ImageLimits{MaxBytes: g.ImageMaxBytes, MinWidth: g.ImageMinSide, MinHeight: g.ImageMinSide, MaxWidth: g.ImageMaxSide, MaxHeight: g.ImageMaxSide}),
		gateway.WithRateLimits(gateway.Limit{Rate: g.TenantRPS, Burst: g.TenantBurst}, gateway.Limit{Rate: g.KeyRPS, Burst: g.KeyBurst}),
		gateway.WithClock(n.now),
		gateway.WithLogger(n.log.With("component", "gateway")),
	}
	for _, t := range n.cfg.Tenants {
		if rl := t.RateLimit; rl.RPS > 0 {
			opts = append(opts, gateway.WithTenantRateLimit(t.ID, gateway.Limit{Rate: rl.RPS, Burst: rl.Burst}))
		}
	}
	gw, err := gateway.New(deps, opts...)
	if err != nil {
		return fmt.Errorf("node: gateway: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/", gw)
	if n.review != nil {
		con, err := n.newConsole()
		if err != nil {
			return err
		}
		mux.Handle("/console/", con)
		mux.Handle("/console", con)
		n.console = con
	}
	if n.cfg.Demo.Enabled {
		h, err := n.newDemo(ctx, gw)
		if err != nil {
			return err
		}
		mux.Handle("/demo/", h)
		mux.Handle("/demo", h)
	}
	if n.api, n.apiLn, err = serveHTTP(g.Listen, g.TLS, mux); err != nil {
		return fmt.Errorf("node: gateway listener: %w", err)
	}
	go n.purgeIdempotency(ctx)
	return nil
}

// sessionTokenPurpose names the master-key derivation of the gateway's
// session-token HMAC key: every node with the same master key derives the
// same key, so a token issued by one node is accepted by the others.
const sessionTokenPurpose = "ekyc gateway session-token hmac v1"

// GatewayAddr is the HTTP API's address ("" when disabled).
func (n *Node) GatewayAddr() string {
	if n.apiLn == nil {
		return ""
	}
	return n.apiLn.Addr().String()
}

// purgeIdempotency reclaims expired idempotency records hourly.
func (n *Node) purgeIdempotency(context.Context) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		select {
		case <-n.stop:
			return
		case <-t.C:
			if _, err := n.apiState.PurgeExpired(context.Background()); err != nil {
				n.log.Warn("idempotency purge failed", "err", err)
			}
		}
	}
}

// tenant returns the configuration of a tenant the node accepts: one of
// the configuration's tenants, or one created with `ekyc tenant create`
// (default policy "default", node-wide dedup and no monitoring).
func (n *Node) tenant(ctx context.Context, id string) (config.Tenant, bool) {
	if t, ok := n.tenants[id]; ok {
		return t, true
	}
	if n.protect == nil {
		return config.Tenant{}, false
	}
	if _, err := n.protect.tenants.Tenant(ctx, id); err != nil {
		return config.Tenant{}, false
	}
	return config.Tenant{ID: id, DefaultPolicy: "default"}, true
}

type authenticator struct{ s *tenants.Store }

func (a authenticator) Authenticate(ctx context.Context, secret string) (gateway.Principal, error) {
	k, err := a.s.Authenticate(ctx, secret)
	if err != nil {
		if errors.Is(err, tenants.ErrUnauthenticated) {
			return gateway.Principal{}, gateway.ErrUnauthenticated
		}
		return gateway.Principal{}, err
	}
	p := gateway.Principal{Tenant: k.Tenant, KeyID: k.ID}
	for _, s := range k.Scopes {
		p.Scopes = append(p.Scopes, string(s))
	}
	return p, nil
}

// publisher produces a gateway submission to the requests topic (protobuf,
// keyed by session id), acknowledged by the in-sync replicas.
type publisher struct{ n *Node }

func (p publisher) Publish(ctx context.Context, req *ekycv1.VerificationRequest) error {
	v, err := proto.Marshal(req)
	if err != nil {
		return err
	}
	return p.n.producer.Produce(ctx, p.n.cfg.Kafka.Topics.Requests, []byte(req.GetSessionId()), v, nil)
}

type auditor struct{ n *Node }

func (a auditor) Record(ctx context.Context, e gateway.AuditEvent) error {
	return a.n.record(ctx, audit.Entry{Tenant: e.Tenant, Actor: e.Actor, Action: e.Action, Subject: e.Subject, Details: e.Details})
}

type eraser struct{ n *Node }

func (e eraser) Erase(ctx context.Context, tenant, session string) error {
	return e.n.erase(ctx, tenant, session, "api")
}

// faceProber runs the face detector on a camera frame for the web SDK's
// live selfie feedback (POST /v1/sessions/{id}/selfie/probe), through the
// same batching pools as the face check.
type faceProber struct{ n *Node }

func (p faceProber) ProbeFaces(ctx context.Context, data []byte) ([]gateway.FaceBox, error) {
	img, err := face.Decode(data, face.Limits{})
	if err != nil {
		return []gateway.FaceBox{}, nil // the gateway decoded it already; a frame that still fails holds no face
	}
	ds, err := face.Detect(ctx, p.n.runner(), img)
	if err != nil {
		return nil, err
	}
	w, h := float64(img.Rect.Dx()), float64(img.Rect.Dy())
	clamp := func(v float64) float64 { return min(1, max(0, v)) }
	out := make([]gateway.FaceBox, 0, len(ds))
	for _, d := range ds {
		x1, y1, x2, y2 := clamp(d.Box.X1/w), clamp(d.Box.Y1/h), clamp(d.Box.X2/w), clamp(d.Box.Y2/h)
		out = append(out, gateway.FaceBox{X: x1, Y: y1, W: x2 - x1, H: y2 - y1, Score: clamp(d.Score)})
	}
	slices.SortFunc(out, func(a, b gateway.FaceBox) int { return cmp.Compare(b.Score, a.Score) })
	return out, nil
}
