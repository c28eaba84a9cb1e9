package node

import (
	"context"
	"fmt"

	"github.com/gocql/gocql"

	"github.com/openekyc/ekyc/actors/session"
	"github.com/openekyc/ekyc/config"
	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
	monitoringcql "github.com/openekyc/ekyc/store/monitoring/cqlstore"
	"github.com/openekyc/ekyc/store/sessions"
	"github.com/openekyc/ekyc/store/sessions/cqlstore"
	"github.com/openekyc/ekyc/store/sessions/pebblestore"
)

// CQLConfig maps the node configuration to the CQL store's.
func CQLConfig(c config.CQL) (cqlstore.Config, error) {
	cons, err := gocql.ParseConsistencyWrapper(c.Consistency)
	if err != nil {
		return cqlstore.Config{}, fmt.Errorf("store.cql.consistency: %w", err)
	}
	return cqlstore.Config{
		Hosts:             c.Hosts,
		Keyspace:          c.Keyspace,
		Consistency:       cons,
		ReplicationFactor: c.ReplicationFactor,
		Timeout:           c.Timeout.D(),
		Username:          c.Username,
		Password:          c.Password,
	}, nil
}

func openStore(ctx context.Context, cfg config.Config) (sessions.Store, error) {
	switch cfg.Store.Backend {
	case "cql":
		cc, err := CQLConfig(cfg.Store.CQL)
		if err != nil {
			return nil, err
		}
		s, err := cqlstore.Open(ctx, cc)
		if err != nil {
			return nil, fmt.Errorf("node: cql store: %w", err)
		}
		return s, nil
	default:
		s, err := pebblestore.Open(cfg.Store.Pebble.Dir)
		if err != nil {
			return nil, fmt.Errorf("node: pebble store: %w", err)
		}
		return s, nil
	}
}

// checkers are the checks this node can run. Kinds without a checker yield an
// explicit ERROR result with CHECK_UNAVAILABLE (never a silent pass).
func (n *Node) checkers() map[ekycv1.CheckKind]session.Checker {
	return map[ekycv1.CheckKind]session.Checker{
		ekycv1.CheckKind_CHECK_KIND_DOCUMENT: n.documentChecker(),
	}
}

// MigrateCQL creates the CQL keyspace and tables (ekyc migrate).
func MigrateCQL(ctx context.Context, cfg config.Config) error {
	cc, err := CQLConfig(cfg.Store.CQL)
	if err != nil {
		return err
	}
	if err := cqlstore.Migrate(ctx, cc); err != nil {
		return err
	}
	return monitoringcql.Migrate(ctx, cc)
}
