package node

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	aanalytics "github.com/openekyc/ekyc/actors/analytics"
	"github.com/openekyc/ekyc/config"
	"github.com/openekyc/ekyc/services/reasons"
	"github.com/openekyc/ekyc/store/analytics"
	"github.com/openekyc/ekyc/store/analytics/clickhousestore"
	"github.com/openekyc/ekyc/store/analytics/duckstore"
	"github.com/openekyc/ekyc/store/sessions"
	"github.com/openekyc/ekyc/streams"
	"github.com/openekyc/ekyc/streams/codec"
)

// OpenAnalytics opens the configured analytics store (nil, nil for
// analytics.backend=none). The ClickHouse store does not connect here: a
// server that is down does not stop a node (its rows wait in Kafka).
func OpenAnalytics(ctx context.Context, cfg config.Config) (analytics.Store, error) {
	a := cfg.Analytics
	switch a.Backend {
	case "none":
		return nil, nil
	case "clickhouse":
		var password string
		if a.ClickHouse.PasswordFile != "" {
			b, err := os.ReadFile(a.ClickHouse.PasswordFile)
			if err != nil {
				return nil, fmt.Errorf("analytics: clickhouse password file: %w", err)
			}
			password = strings.TrimSpace(string(b))
		}
		return clickhousestore.Open(clickhousestore.Config{
			Addr: a.ClickHouse.Addr, Database: a.ClickHouse.Database,
			Username: a.ClickHouse.Username, Password: password,
			DialTimeout: a.ClickHouse.DialTimeout.D(),
		})
	default:
		return duckstore.Open(ctx, a.DuckDB.Path)
	}
}

// MigrateAnalytics creates or upgrades the analytics schema (ekyc
// migrate; the embedded store migrates itself when opened).
func MigrateAnalytics(ctx context.Context, cfg config.Config) error {
	st, err := OpenAnalytics(ctx, cfg)
	if err != nil || st == nil {
		return err
	}
	defer st.Close()
	return st.Migrate(ctx)
}

// analyticsSink is the node's analytics pipeline: its own consumer group on
// the decisions topic → the analytics actor (batches) → the store. The
// decisions topic is the durable buffer: a record's offset is committed
// only once its row is written, so a slow or down store delays nothing on
// the decision path and loses nothing (see actors/analytics).
type analyticsSink struct {
	store    analytics.Store
	batcher  *aanalytics.Batcher[analytics.Decision]
	consumer *streams.Consumer
	sessions sessions.Store
	done     chan struct{}
}

func (n *Node) startAnalytics(ctx context.Context) error {
	cfg := n.cfg.Analytics
	st, err := OpenAnalytics(ctx, n.cfg)
	if err != nil || st == nil {
		return err
	}
	s := &analyticsSink{store: st, sessions: n.store, done: make(chan struct{})}
	s.batcher, err = aanalytics.Start(n.member.System(), st.Write, aanalytics.Config{
		BatchSize: cfg.BatchSize, MaxAge: cfg.MaxAge.D(), MaxBuffered: cfg.MaxBuffered,
	}, aanalytics.WithLogger(n.log), aanalytics.WithRegisterer(n.reg), aanalytics.WithName(cfg.Backend))
	if err != nil {
		_ = st.Close()
		return err
	}
	// In flight per partition: enough to fill a batch across the
	// partitions, bounded so that a down store stops fetching.
	inFlight := max(64, min(cfg.MaxBuffered/max(int(n.cfg.Kafka.Partitions), 1), 4096))
	s.consumer, err = streams.NewConsumer(streams.ConsumerConfig{
		Brokers:                 n.brokers,
		Group:                   cfg.Group,
		Topic:                   n.cfg.Kafka.Topics.Decisions,
		DLQTopic:                n.cfg.Kafka.Topics.DLQ,
		MaxInFlightPerPartition: inFlight,
		MaxBufferedPerPartition: 2 * inFlight,
		CommitInterval:          n.cfg.Kafka.CommitInterval.D(),
		ClientID:                "ekyc-" + n.cfg.NodeID + "-analytics",
	}, s.handle, streams.WithLogger(n.log.With("component", "analytics")), streams.WithRegisterer(n.reg),
		streams.WithKgoOpts(kgo.SessionTimeout(n.cfg.Kafka.SessionTimeout.D())))
	if err != nil {
		_ = s.batcher.Close(context.Background())
		_ = st.Close()
		return fmt.Errorf("node: analytics consumer: %w", err)
	}
	go func() {
		defer close(s.done)
		if err := s.consumer.Run(context.Background()); err != nil && !errors.Is(err, context.Canceled) {
			n.log.Error("analytics consumer stopped", "err", err)
		}
	}()
	n.analytics = s
	n.log.Info("decision analytics enabled", "backend", cfg.Backend, "group", cfg.Group)
	return nil
}

// handle turns one decision record into its analytics row and waits until
// the row is written. The row is built from the stored session (request
// data such as the applicant's nationality is not in the decision event),
// else from the decision alone.
func (s *analyticsSink) handle(ctx context.Context, rec *kgo.Record) error {
	d, err := codec.DecodeDecision(rec)
	if err != nil {
		return streams.Reject(reasons.InputDecodeError, err.Error())
	}
	var row analytics.Decision
	st, err := s.sessions.Get(ctx, d.GetTenantId(), d.GetSessionId())
	switch {
	case err == nil && st.GetDecision().GetDecisionId() == d.GetDecisionId():
		row, err = analytics.FromSession(st)
	case err == nil || errors.Is(err, sessions.ErrNotFound) || errors.Is(err, sessions.ErrInvalidArgument):
		row, err = analytics.FromProto(d, nil)
	default:
		return err // the session store is unavailable: retry
	}
	if err != nil {
		return streams.Reject(reasons.InputValidationError, "decision not recordable: "+err.Error())
	}
	return s.batcher.Add(ctx, row)
}

// close stops consuming (graceful: drain and commit what is written),
// flushes the batcher and closes the store.
func (s *analyticsSink) close(graceful bool) error {
	s.consumer.Close(graceful)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return errors.Join(s.batcher.Close(ctx), s.store.Close())
}

// Analytics is the node's analytics store, for reports (nil when
// analytics.backend=none).
func (n *Node) Analytics() analytics.Reporter {
	if n.analytics == nil {
		return nil
	}
	return n.analytics.store
}
