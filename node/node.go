// Package node wires one ekyc node: Kafka (embedded kfake or real brokers),
// the session store (Pebble or CQL), the Proto.Actor cluster member hosting
// session actors, the checks, the decision engine, the streams consumer and the
// admin HTTP listener. cmd/ekyc, the end-to-end tests and bench/ start nodes
// through it.
package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/twmb/franz-go/pkg/kgo"

	ainference "github.com/openekyc/ekyc/actors/inference"
	"github.com/openekyc/ekyc/actors/session"
	"github.com/openekyc/ekyc/cluster"
	"github.com/openekyc/ekyc/config"
	"github.com/openekyc/ekyc/console"
	"github.com/openekyc/ekyc/inference"
	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
	"github.com/openekyc/ekyc/services/decision"
	"github.com/openekyc/ekyc/services/intake"
	"github.com/openekyc/ekyc/services/reasons"
	"github.com/openekyc/ekyc/services/screening/media"
	"github.com/openekyc/ekyc/store/apistate"
	"github.com/openekyc/ekyc/store/audit"
	"github.com/openekyc/ekyc/store/keys"
	"github.com/openekyc/ekyc/store/sessions"
	"github.com/openekyc/ekyc/store/sessions/sealed"
	"github.com/openekyc/ekyc/streams"
	"github.com/openekyc/ekyc/streams/codec"
)

// Option customises a node (tests, benchmarks).
type Option func(*options)

type options struct {
	logger *slog.Logger
	now    func() time.Time
	store  sessions.Store
}

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithClock sets the clock used for decisions (tests).
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithStore makes the node use st instead of opening the configured store;
// the node does not close it (tests share one store between nodes).
func WithStore(st sessions.Store) Option { return func(o *options) { o.store = st } }

// Node is a running ekyc node.
type Node struct {
	cfg       config.Config
	log       *slog.Logger
	now       func() time.Time
	reg       *prometheus.Registry
	embedded  *streams.Embedded
	brokers   []string
	producer  *streams.Producer
	store     sessions.Store
	ownStore  bool
	member    *cluster.Member
	consumer  *streams.Consumer
	policies  *decision.Registry
	tenants   map[string]config.Tenant
	images    *imageLoader
	backend   inference.Backend
	pools     map[string]*ainference.Pool
	admin     *http.Server
	adminLn   net.Listener
	lists     *listManager
	media     *media.HTTPClient
	monitor   *monitor
	analytics *analyticsSink
	dedup     *dedup
	protect   *protection
	apiState  *apistate.Store
	api       *http.Server
	apiLn     net.Listener
	hooks     *webhookLog
	console   *console.Console
	review    *reviewQueue  // review cases, labelled examples, review decisions consumer (node/review.go)
	retention *retention    // the retention job (node/retention.go)
	stop      chan struct{} // closed by Close

	ready     atomic.Bool
	runDone   chan struct{}
	closeOnce sync.Once
}

// Start starts a node and returns once it is consuming. ctx bounds start-up only.
func Start(ctx context.Context, cfg config.Config, opts ...Option) (n *Node, err error) {
	o := options{logger: slog.Default(), now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	n = &Node{cfg: cfg, log: o.logger.With("node", cfg.NodeID), now: o.now, reg: prometheus.NewRegistry(), runDone: make(chan struct{}), stop: make(chan struct{})}
	started := n // the named result is nil on the error returns
	defer func() {
		if err != nil {
			started.Close(false)
		}
	}()
	n.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	if err := n.startAdmin(); err != nil {
		return nil, err
	}
	if n.policies, err = decision.LoadDir(cfg.Policies.Dir, decision.WithKnownCode(reasons.Known)); err != nil {
		return nil, fmt.Errorf("node: policies: %w", err)
	}
	n.tenants = map[string]config.Tenant{}
	for _, t := range cfg.Tenants {
		if _, err := n.policies.Get(t.DefaultPolicy); err != nil {
			return nil, fmt.Errorf("node: tenant %s: default policy %q: %w", t.ID, t.DefaultPolicy, err)
		}
		n.tenants[t.ID] = t
	}

	if err := n.startKafka(ctx); err != nil {
		return nil, err
	}
	if o.store != nil {
		n.store = o.store
	} else {
		if n.store, err = openStore(ctx, cfg); err != nil {
			return nil, err
		}
		n.ownStore = true
	}

	if n.images, err = newImageLoader(cfg.Images.Dir, cfg.Images.MaxBytes); err != nil {
		return nil, fmt.Errorf("node: images dir: %w", err)
	}
	if err := n.startProtection(ctx); err != nil {
		return nil, err
	}
	if err := n.auditPolicies(ctx); err != nil {
		return nil, err
	}
	if err := n.startWebhooks(ctx); err != nil {
		return nil, err
	}
	if err := n.startReviewStores(ctx); err != nil {
		return nil, err
	}
	if n.ownStore && cfg.Store.Backend == "pebble" {
		// The applicant's data in the session state is sealed with the
		// session's data key (erasure shreds it). On CQL the key ring would
		// have to be shared by every node: not yet (docs/DESIGN.md).
		n.store = sealed.New(n.store, n.protect.ring, sealed.ShreddedIs(keys.ErrShredded))
	}
	deps := &session.Deps{
		Store:          n.store,
		Checkers:       n.checkers(),
		Decide:         n.decide,
		Emitter:        emitter{n},
		Now:            n.now,
		CheckTimeout:   cfg.Checks.Timeout.D(),
		CheckRetries:   cfg.Checks.Retries,
		PassivateAfter: cfg.Cluster.PassivateAfter.D(),
		OpTimeout:      cfg.Cluster.RequestTimeout.D(),
		NodeID:         cfg.NodeID,
		Metrics:        session.NewMetrics(n.reg),
		Logger:         n.log,
	}
	n.member, err = cluster.Start(cluster.Config{
		Name:            cfg.Cluster.Name,
		Provider:        cfg.Cluster.Provider,
		Host:            cfg.Cluster.Host,
		Port:            cfg.Cluster.Port,
		AdvertisedHost:  cfg.Cluster.AdvertisedHost,
		EtcdEndpoints:   cfg.Cluster.Etcd.Endpoints,
		EtcdPrefix:      cfg.Cluster.Etcd.Prefix,
		EtcdDialTimeout: cfg.Cluster.Etcd.DialTimeout.D(),
		RequestTimeout:  cfg.Cluster.RequestTimeout.D(),
		Logger:          n.log,
	}, session.Kind(deps))
	if err != nil {
		return nil, err
	}
	if err := n.startInference(ctx); err != nil {
		return nil, err
	}
	if len(n.pools) > 0 {
		if err := n.startDedup(ctx); err != nil {
			return nil, fmt.Errorf("node: face dedup: %w", err)
		}
		deps.Checkers[ekycv1.CheckKind_CHECK_KIND_FACE] = n.faceChecker()
	}
	if err := n.startScreening(); err != nil {
		return nil, fmt.Errorf("node: screening: %w", err)
	}
	if n.lists != nil {
		deps.Checkers[ekycv1.CheckKind_CHECK_KIND_SCREENING] = n.screeningChecker()
	}
	if err := n.registerDBVerify(deps); err != nil {
		return nil, fmt.Errorf("node: dbverify: %w", err)
	}
	deps.AfterDecided = n.afterDecided
	if err := n.startAnalytics(ctx); err != nil {
		return nil, fmt.Errorf("node: analytics: %w", err)
	}

	n.consumer, err = streams.NewConsumer(streams.ConsumerConfig{
		Brokers:                 n.brokers,
		Group:                   cfg.Kafka.Group,
		Topic:                   cfg.Kafka.Topics.Requests,
		DLQTopic:                cfg.Kafka.Topics.DLQ,
		MaxInFlightPerPartition: cfg.Kafka.MaxInFlightPerPartition,
		CommitInterval:          cfg.Kafka.CommitInterval.D(),
		ClientID:                "ekyc-" + cfg.NodeID,
	}, n.handle, streams.WithLogger(n.log), streams.WithRegisterer(n.reg),
		streams.WithKgoOpts(kgo.SessionTimeout(cfg.Kafka.SessionTimeout.D())))
	if err != nil {
		return nil, fmt.Errorf("node: consumer: %w", err)
	}
	go func() {
		defer close(n.runDone)
		if err := n.consumer.Run(context.Background()); err != nil && !errors.Is(err, context.Canceled) {
			n.log.Error("consumer stopped", "err", err)
		}
	}()
	if err := n.startReviewConsumer(ctx); err != nil {
		return nil, err
	}
	if err := n.startGateway(ctx); err != nil {
		return nil, err
	}
	if err := n.startReviewMonitor(); err != nil {
		return nil, err
	}
	if err := n.startRetention(); err != nil {
		return nil, err
	}
	n.ready.Store(true)
	n.log.Info("node started", "brokers", n.brokers, "store", cfg.Store.Backend, "cluster", n.member.Address(), "admin", n.AdminAddr())
	return n, nil
}

func (n *Node) startKafka(ctx context.Context) error {
	cfg := n.cfg.Kafka
	n.brokers = cfg.Brokers
	if len(n.brokers) == 0 {
		var opts []streams.EmbeddedOption
		if cfg.Embedded.Port != 0 {
			opts = append(opts, streams.EmbeddedPorts(cfg.Embedded.Port))
		}
		opts = append(opts, streams.EmbeddedPartitions(int(cfg.Partitions)))
		e, err := streams.StartEmbedded(opts...)
		if err != nil {
			return fmt.Errorf("node: embedded kafka: %w", err)
		}
		n.embedded = e
		n.brokers = e.Addrs()
		n.log.Info("embedded Kafka (kfake, in memory) started", "addrs", n.brokers)
	}
	p, err := streams.NewProducer(n.brokers, kgo.ClientID("ekyc-"+n.cfg.NodeID+"-producer"))
	if err != nil {
		return fmt.Errorf("node: producer: %w", err)
	}
	n.producer = p
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := streams.EnsureTopics(tctx, p.Client(), cfg.Partitions, cfg.Replication, cfg.Topics.Requests, cfg.Topics.Decisions, cfg.Topics.DLQ, cfg.Topics.Monitoring); err != nil {
		return fmt.Errorf("node: topics: %w", err)
	}
	return nil
}

// Brokers are the Kafka seed brokers the node uses (the embedded ones by default).
func (n *Node) Brokers() []string { return n.brokers }

// Registry is the node's Prometheus registry.
func (n *Node) Registry() *prometheus.Registry { return n.reg }

// Close stops the node. graceful drains in-flight records and commits; a
// non-graceful close stops at once, like a crash (nothing more is committed).
func (n *Node) Close(graceful bool) {
	n.closeOnce.Do(func() {
		n.ready.Store(false)
		close(n.stop)
		if n.api != nil { // no new API requests; in-flight ones finish
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			_ = n.api.Shutdown(sctx)
			cancel()
		}
		n.waitRetention() // stops at once, or after the erasure in progress
		if n.consumer != nil {
			n.consumer.Close(graceful)
			select {
			case <-n.runDone:
			case <-time.After(30 * time.Second):
			}
		}
		n.review.stopConsumer(graceful)
		n.review.stopMonitor()
		if n.analytics != nil { // its actor lives in the member's actor system
			if err := n.analytics.close(graceful); err != nil {
				n.log.Error("analytics close failed", "err", err)
			}
		}
		n.stopInference()
		if n.lists != nil {
			n.lists.close()
		}
		if n.member != nil {
			n.member.Shutdown(graceful)
		}
		if n.dedup != nil { // after the actors stopped using it
			if err := n.dedup.close(); err != nil {
				n.log.Error("vector store close failed", "err", err)
			}
		}
		if err := n.review.close(); err != nil { // after the actors stopped using it
			n.log.Error("review store close failed", "err", err)
		}
		if n.monitor != nil { // after the list manager and the actors stopped using it
			if err := n.monitor.close(); err != nil {
				n.log.Error("monitoring store close failed", "err", err)
			}
		}
		if n.producer != nil {
			n.producer.Close()
		}
		if n.store != nil && n.ownStore {
			_ = n.store.Close()
		}
		if n.apiState != nil {
			_ = n.apiState.Close()
		}
		n.hooks.close()   // before the tenants store it reads secrets from
		n.protect.close() // after the store: the sealed store uses the ring
		if n.embedded != nil {
			n.embedded.Close()
		}
		if n.admin != nil {
			_ = n.admin.Close()
		}
	})
}

// afterDecided runs the hooks of a session at rest (see
// session.Deps.AfterDecided): monitoring enrolment, then the face-embedding
// insert. Each is idempotent; an error makes the event retry both.
func (n *Node) afterDecided(ctx context.Context, st *ekycv1.SessionState) error {
	if n.monitor != nil {
		if err := n.monitor.afterDecided(ctx, st); err != nil {
			return err
		}
	}
	// A reviewer's final decision: the face was inserted with the REVIEW
	// decision it supersedes (and the selfie may be gone since).
	if n.dedup != nil && !st.GetDecision().GetReviewed() {
		if err := n.dedup.afterDecided(ctx, st); err != nil {
			return err
		}
	}
	if n.hooks != nil {
		if err := n.hooks.afterDecided(ctx, n, st); err != nil {
			return err
		}
	}
	if n.review != nil {
		if err := n.review.afterDecided(ctx, n, st); err != nil {
			return err
		}
	}
	d := st.GetDecision()
	details := map[string]string{"decision_id": d.GetDecisionId(), "outcome": outcomeName(d.GetOutcome())}
	if d.GetReviewed() {
		details["case_id"], details["reviewer_id"], details["supersedes_decision_id"] = d.GetCaseId(), d.GetReviewerId(), d.GetSupersedesDecisionId()
	}
	return n.record(ctx, audit.Entry{Tenant: st.GetTenantId(), Actor: "node:" + n.cfg.NodeID, Action: audit.ActionSessionDecided,
		Subject: st.GetSessionId(), Details: details})
}

// handle is the streams handler for one request record. Permanent problems
// are rejected to the dead-letter topic; anything else is returned and the
// record is retried.
func (n *Node) handle(ctx context.Context, rec *kgo.Record) error {
	req, enc, err := codec.DecodeRequest(rec)
	if err != nil {
		return streams.Reject(reasons.InputDecodeError, err.Error())
	}
	if err := intake.Validate(req); err != nil {
		return streams.Reject(reasons.InputValidationError, err.Error())
	}
	if len(rec.Key) > 0 && string(rec.Key) != req.GetSessionId() {
		return streams.Reject(reasons.InputKeyMismatch, "record key differs from session_id")
	}
	if _, ok := n.tenant(ctx, req.GetTenantId()); !ok {
		return streams.Reject(reasons.InputUnknownTenant, "unknown tenant "+req.GetTenantId())
	}
	if _, err := n.policyFor(req); err != nil {
		return streams.Reject(reasons.InputUnknownPolicy, err.Error())
	}
	msg := &ekycv1.ProcessVerification{
		Request:       req,
		Source:        &ekycv1.EventSource{Topic: rec.Topic, Partition: rec.Partition, Offset: rec.Offset},
		ReplyEncoding: enc,
	}
	resp, err := n.member.Request(ctx, cluster.SessionKind, cluster.SessionIdentity(req.GetTenantId(), req.GetSessionId()), msg)
	if err != nil {
		return err
	}
	ack, ok := resp.(*ekycv1.ProcessAck)
	if !ok {
		return fmt.Errorf("node: unexpected reply %T from session actor", resp)
	}
	if ack.GetError() != "" {
		return fmt.Errorf("node: session %s not applied: %s", req.GetSessionId(), ack.GetError())
	}
	return nil
}

func (n *Node) policyFor(req *ekycv1.VerificationRequest) (*decision.Policy, error) {
	id := req.GetPolicyId()
	if id == "" {
		t, _ := n.tenant(context.Background(), req.GetTenantId())
		id = t.DefaultPolicy
	}
	return n.policies.Get(id)
}

func (n *Node) decide(req *ekycv1.VerificationRequest, checks []*ekycv1.CheckResult) (session.Verdict, error) {
	p, err := n.policyFor(req)
	if err != nil {
		return session.Verdict{}, err
	}
	r, err := p.Decide(decision.Input{Request: req, Checks: checks})
	if err != nil {
		return session.Verdict{}, err
	}
	return session.Verdict{Outcome: r.Outcome, Score: r.Score, ReasonCodes: r.ReasonCodes, PolicyID: r.PolicyID, PolicyVersion: r.PolicyVersion}, nil
}

// emitter publishes decisions to the decisions topic, keyed by session id.
type emitter struct{ n *Node }

func (e emitter) Emit(ctx context.Context, d *ekycv1.Decision, enc ekycv1.Encoding) error {
	b, ct, err := codec.Encode(d, enc)
	if err != nil {
		return err
	}
	return e.n.producer.Produce(ctx, e.n.cfg.Kafka.Topics.Decisions, []byte(d.GetSessionId()), b, map[string]string{
		codec.HeaderContentType: ct,
		"ekyc-decision-id":      d.GetDecisionId(),
		"ekyc-tenant-id":        d.GetTenantId(),
	})
}
