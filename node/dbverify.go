package node

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/openekyc/ekyc/actors/session"
	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
	"github.com/openekyc/ekyc/services/dbverify"
	"github.com/openekyc/ekyc/services/reasons"
)

// dbverifier is the database check: the configured registry connectors and
// which tenant uses which.
type dbverifier struct {
	n          *Node
	connectors map[string]dbverify.Connector
	byTenant   map[string]string
	def        string
	outcomes   *prometheus.CounterVec
}

// registerDBVerify loads the mapping files of dbverify.connectors and, when
// there are any, registers the database checker in deps. Without
// connectors CHECK_KIND_DATABASE stays unregistered, so the session actor
// answers it with CHECK_UNAVAILABLE. A bad mapping file or an unset
// credential variable fails the start.
func (n *Node) registerDBVerify(deps *session.Deps) error {
	cfg := n.cfg.DBVerify
	if len(cfg.Connectors) == 0 {
		return nil
	}
	v := &dbverifier{n: n, connectors: map[string]dbverify.Connector{}, byTenant: map[string]string{}, def: cfg.Default,
		outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ekyc_dbverify_verifications_total",
			Help: "Database verifications by connector and outcome (match, partial_match, no_match, inconclusive, insufficient_data, unavailable, invalid_response)."},
			[]string{"connector", "outcome"})}
	for _, e := range cfg.Connectors {
		name, file, _ := strings.Cut(e, "=")
		m, err := dbverify.LoadMapping(file)
		if err != nil {
			return fmt.Errorf("connector %s: %w", name, err)
		}
		c, err := dbverify.NewHTTPConnector(name, m)
		if err != nil {
			return err
		}
		// The connector's attempts should fit in one check attempt, or the
		// actor's deadline cuts its retries short (CHECK_TIMEOUT).
		if worst := m.Timeout * time.Duration(m.Retries+1); worst > n.cfg.Checks.Timeout.D() {
			n.log.Warn("dbverify: connector timeout × attempts exceeds checks.timeout", "connector", name,
				"timeout", m.Timeout, "attempts", m.Retries+1, "checks_timeout", n.cfg.Checks.Timeout.D())
		}
		v.connectors[name] = c
	}
	for _, e := range cfg.Tenants {
		tenant, conn, _ := strings.Cut(e, "=")
		v.byTenant[tenant] = conn
	}
	n.reg.MustRegister(v.outcomes)
	deps.Checkers[ekycv1.CheckKind_CHECK_KIND_DATABASE] = v.check
	return nil
}

// connectorFor is the tenant's connector, nil when it has none.
func (v *dbverifier) connectorFor(tenant string) dbverify.Connector {
	name, ok := v.byTenant[tenant]
	if !ok {
		name = v.def
	}
	return v.connectors[name]
}

// check is the session.Checker of CHECK_KIND_DATABASE. A registry failure
// after the connector's own retries is an ERROR result with
// DATABASE_UNAVAILABLE or DATABASE_RESPONSE_INVALID rather than an error:
// the connector already retried (and its breaker may be open), so the
// actor's retries would only multiply the calls. When the actor's deadline
// ends the call, the context's error is returned, and the actor retries or
// reports CHECK_TIMEOUT as for any check.
func (v *dbverifier) check(ctx context.Context, req *ekycv1.VerificationRequest) (*ekycv1.CheckResult, error) {
	c := v.connectorFor(req.GetTenantId())
	if c == nil {
		codes := []string{reasons.CheckUnavailable}
		return &ekycv1.CheckResult{Kind: ekycv1.CheckKind_CHECK_KIND_DATABASE, Status: ekycv1.CheckStatus_CHECK_STATUS_ERROR,
			ReasonCodes: codes, Error: "no database connector is configured for this tenant"}, nil
	}
	res, err := c.Verify(ctx, dbverify.QueryFromRequest(req))
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		out := dbverify.ErrorResult(c.Name(), err)
		v.outcomes.WithLabelValues(c.Name(), outcomeLabel(out)).Inc()
		// err names the connector and the failing status or field, never
		// applicant data.
		v.n.log.Warn("database verification failed", "session", req.GetSessionId(), "connector", c.Name(), "err", err)
		return out, nil
	}
	out := dbverify.CheckResult(res)
	v.outcomes.WithLabelValues(c.Name(), string(res.Outcome())).Inc()
	return out, nil
}

func outcomeLabel(r *ekycv1.CheckResult) string {
	switch {
	case len(r.GetReasonCodes()) == 0:
		return "error"
	case r.GetReasonCodes()[0] == reasons.DatabaseInsufficientData:
		return "insufficient_data"
	case r.GetReasonCodes()[0] == reasons.DatabaseUnavailable:
		return "unavailable"
	}
	return "invalid_response"
}
