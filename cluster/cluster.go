// Package cluster owns membership: it starts a Proto.Actor cluster member with
// the configured provider (an in-process provider for one node, etcd for real
// clusters) and routes requests to virtual actors (grains) by identity.
//
// It knows nothing of eKYC rules: callers register kinds and send proto
// messages. Proto.Actor's cluster layer is alpha: during membership changes two
// activations of one identity can exist for a short time. Correctness never
// depends on single activation; session state in the store is the authority
// (compare-and-set on a version).
package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	pcluster "github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/cluster/clusterproviders/etcd"
	"github.com/asynkron/protoactor-go/cluster/clusterproviders/test"
	"github.com/asynkron/protoactor-go/cluster/identitylookup/disthash"
	"github.com/asynkron/protoactor-go/remote"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Provider names.
const (
	ProviderLocal = "local"
	ProviderEtcd  = "etcd"
)

// ErrUnavailable is returned when a grain could not be reached in time; the
// caller may retry.
var ErrUnavailable = errors.New("cluster: grain unavailable")

// Config configures a member.
type Config struct {
	Name            string
	Provider        string // local|etcd
	Host            string
	Port            int
	AdvertisedHost  string
	EtcdEndpoints   []string
	EtcdPrefix      string
	EtcdDialTimeout time.Duration
	RequestTimeout  time.Duration
	// LocalAgent lets several members in one process share the in-memory
	// provider (tests). Nil gives the member its own agent.
	LocalAgent *test.InMemAgent
	Logger     *slog.Logger
}

// Member is one started cluster member.
type Member struct {
	system  *actor.ActorSystem
	cluster *pcluster.Cluster
	timeout time.Duration
	// etcd (provider etcd) is a client of our own: the provider never stops
	// the keep-alive of its lease, so Shutdown revokes the lease of etcdKey.
	etcd         *clientv3.Client
	etcdKey      string
	shutdownOnce sync.Once
}

// Start starts a member hosting kinds. Proto.Actor panics on start-up
// failures (bind errors, provider errors); Start turns them into errors.
func Start(cfg Config, kinds ...*pcluster.Kind) (m *Member, err error) {
	if cfg.Name == "" {
		cfg.Name = "ekyc"
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 30 * time.Second
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	// Proto.Actor logs whole messages at debug level, and our messages carry
	// PII: its logger never goes below warn.
	pl := slog.New(levelFloor{logger.Handler(), slog.LevelWarn}).With("lib", "protoactor")
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return pl }))

	var provider pcluster.ClusterProvider
	switch cfg.Provider {
	case "", ProviderLocal:
		agent := cfg.LocalAgent
		if agent == nil {
			agent = test.NewInMemAgent()
		}
		provider = test.NewTestProvider(agent)
	case ProviderEtcd:
		if cfg.EtcdDialTimeout <= 0 {
			cfg.EtcdDialTimeout = 5 * time.Second
		}
		p, err := etcd.NewWithConfig(strings.TrimSuffix(cfg.EtcdPrefix, "/"), clientv3.Config{Endpoints: cfg.EtcdEndpoints, DialTimeout: cfg.EtcdDialTimeout})
		if err != nil {
			return nil, fmt.Errorf("cluster: etcd provider: %w", err)
		}
		provider = p
	default:
		return nil, fmt.Errorf("cluster: unknown provider %q", cfg.Provider)
	}

	ropts := []remote.ConfigOption{}
	if cfg.AdvertisedHost != "" {
		ropts = append(ropts, remote.WithAdvertisedHost(cfg.AdvertisedHost))
	}
	rcfg := remote.Configure(cfg.Host, cfg.Port, ropts...)
	ccfg := pcluster.Configure(cfg.Name, provider, disthash.New(), rcfg,
		pcluster.WithKinds(kinds...),
		pcluster.WithRequestTimeout(cfg.RequestTimeout),
	)
	c := pcluster.New(system, ccfg)
	m = &Member{system: system, cluster: c, timeout: cfg.RequestTimeout}
	if cfg.Provider == ProviderEtcd {
		if m.etcd, err = clientv3.New(clientv3.Config{Endpoints: cfg.EtcdEndpoints, DialTimeout: cfg.EtcdDialTimeout}); err != nil {
			return nil, fmt.Errorf("cluster: etcd client: %w", err)
		}
		// The key the etcd provider registers this member under.
		m.etcdKey = strings.TrimSuffix(cfg.EtcdPrefix, "/") + "/" + cfg.Name + "/" + cfg.Name + "@" + system.ID
	}
	defer func() {
		if r := recover(); r != nil {
			if m.etcd != nil {
				_ = m.etcd.Close()
			}
			m, err = nil, fmt.Errorf("cluster: start member: %v", r)
		}
	}()
	c.StartMember()
	return m, nil
}

// Address is the member's host:port.
func (m *Member) Address() string { return m.system.Address() }

// Members is the number of members in the current topology.
func (m *Member) Members() int { return m.cluster.MemberList.Members().Len() }

// System exposes the actor system (for spawning node-local actors).
func (m *Member) System() *actor.ActorSystem { return m.system }

// Request sends msg to the grain (kind, identity), activating it if needed, and
// waits for its reply, the member's request timeout, or ctx, whichever comes
// first. Timeouts and dead letters return ErrUnavailable (retryable).
func (m *Member) Request(ctx context.Context, kind, identity string, msg any) (any, error) {
	timeout := m.timeout
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < timeout {
		timeout = time.Until(dl)
	}
	if timeout <= 0 {
		return nil, ctx.Err()
	}
	type result struct {
		v   any
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := m.cluster.Request(identity, kind, msg, pcluster.WithTimeout(timeout), pcluster.WithRetryCount(3))
		done <- result{v, err}
	}()
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case r := <-done:
		if r.err != nil {
			m.cluster.PidCache.Remove(identity, kind)
			return nil, fmt.Errorf("%w: %s/%s: %v", ErrUnavailable, kind, identity, r.err)
		}
		if r.v == nil {
			return nil, fmt.Errorf("%w: %s/%s: no reply", ErrUnavailable, kind, identity)
		}
		return r.v, nil
	}
}

// Shutdown leaves the cluster. graceful=false stops at once (crash-like).
// Only the first call does anything.
func (m *Member) Shutdown(graceful bool) {
	m.shutdownOnce.Do(func() {
		lease := m.etcdLease()
		func() {
			defer func() { _ = recover() }() // Proto.Actor may panic on shutdown
			m.cluster.Shutdown(graceful)
			if !graceful {
				// Cluster.Shutdown(false) leaves the provider running: its
				// keep-alive would keep this stopped member registered for
				// as long as the process lives, and the other members would
				// route a share of the identities to it. Deregister it, as
				// a crashed process's expiring lease would.
				_ = m.cluster.Config.ClusterProvider.Shutdown(false)
			}
		}()
		if m.etcd != nil {
			// The etcd provider's Shutdown deletes the key but keeps its
			// lease alive forever (and logs a warning every second once the
			// unread keep-alive responses fill their queue): revoke it.
			if lease != 0 {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				_, _ = m.etcd.Revoke(ctx, lease)
				cancel()
			}
			_ = m.etcd.Close()
		}
	})
}

// etcdLease is the lease of the member's etcd key (0: none or not found).
func (m *Member) etcdLease() clientv3.LeaseID {
	if m.etcd == nil {
		return 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r, err := m.etcd.Get(ctx, m.etcdKey)
	if err != nil || len(r.Kvs) != 1 {
		return 0
	}
	return clientv3.LeaseID(r.Kvs[0].Lease)
}

// levelFloor drops records below a minimum level.
type levelFloor struct {
	slog.Handler
	min slog.Level
}

func (h levelFloor) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h levelFloor) WithAttrs(a []slog.Attr) slog.Handler {
	return levelFloor{h.Handler.WithAttrs(a), h.min}
}
func (h levelFloor) WithGroup(n string) slog.Handler {
	return levelFloor{h.Handler.WithGroup(n), h.min}
}
