package node

import (
	"context"
	"fmt"
	"net/http"

	"github.com/openekyc/ekyc/demo"
	"github.com/openekyc/ekyc/gateway"
)

// newDemo builds the /demo page (demo/, demo.enabled): each visit creates a
// session of demo.tenant with demo.checks through the gateway, as a
// tenant's server would with its API key, and hands the page the session's
// token only.
func (n *Node) newDemo(ctx context.Context, gw *gateway.Gateway) (http.Handler, error) {
	d := n.cfg.Demo
	if _, ok := n.tenant(ctx, d.Tenant); !ok {
		return nil, fmt.Errorf("node: demo.tenant %q is not a tenant of this node (configure it or run ekyc tenant create)", d.Tenant)
	}
	st := demoStarter{gw: gw, tenant: d.Tenant, checks: append([]string(nil), d.Checks...)}
	return demo.New(demo.Deps{Starter: st, Log: n.log.With("component", "demo"), StartsPerMinute: d.StartsPerMinute}), nil
}

type demoStarter struct {
	gw     *gateway.Gateway
	tenant string
	checks []string
}

func (s demoStarter) Start(ctx context.Context) (string, string, error) {
	id, tok, _, err := s.gw.StartSession(ctx, s.tenant, "demo", s.checks)
	return id, tok, err
}
