package node_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/openekyc/ekyc/actors/session"
	"github.com/openekyc/ekyc/cluster"
	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
	"github.com/openekyc/ekyc/store/sessions"
	"github.com/openekyc/ekyc/store/sessions/pebblestore"
)

// etcdEndpoint is the etcd the cluster tests use (EKYC_TEST_ETCD), or skips.
func etcdEndpoint(t *testing.T) string {
	t.Helper()
	ep := os.Getenv("EKYC_TEST_ETCD")
	if ep == "" {
		t.Skip("EKYC_TEST_ETCD not set: start a local etcd with `deploy/local/etcd.sh start` and set EKYC_TEST_ETCD=127.0.0.1:22379")
	}
	return ep
}

// etcdPrefix is a membership key prefix unique to this test run; its keys are
// deleted when the test ends.
func etcdPrefix(t *testing.T, endpoint string) string {
	t.Helper()
	name := strings.NewReplacer("/", "-", " ", "_").Replace(t.Name())
	prefix := fmt.Sprintf("/ekyc-test/%s-%d-%d", name, os.Getpid(), time.Now().UnixNano())
	t.Cleanup(func() {
		cl, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, DialTimeout: 5 * time.Second})
		if err != nil {
			return
		}
		defer cl.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, _ = cl.Delete(ctx, prefix+"/", clientv3.WithPrefix())
	})
	return prefix
}

// memberLease is the etcd lease under which the member at addr is registered.
func memberLease(t *testing.T, endpoint, prefix, addr string) clientv3.LeaseID {
	t.Helper()
	cl, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, DialTimeout: 5 * time.Second})
	require.NoError(t, err)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := cl.Get(ctx, prefix+"/", clientv3.WithPrefix())
	require.NoError(t, err)
	for _, kv := range resp.Kvs {
		var n struct {
			Host string `json:"host"`
			Port int    `json:"port"`
		}
		require.NoError(t, json.Unmarshal(kv.Value, &n))
		if fmt.Sprintf("%s:%d", n.Host, n.Port) == addr {
			require.NotZero(t, kv.Lease, "member %s registered with a lease", addr)
			return clientv3.LeaseID(kv.Lease)
		}
	}
	t.Fatalf("member %s not registered under %s", addr, prefix)
	return 0
}

// requireLeaseReleased checks that a stopped member's lease is not kept alive:
// it is revoked (or expires) instead of outliving the member.
func requireLeaseReleased(t *testing.T, endpoint string, lease clientv3.LeaseID) {
	t.Helper()
	cl, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, DialTimeout: 5 * time.Second})
	require.NoError(t, err)
	defer cl.Close()
	require.Eventually(t, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		r, err := cl.TimeToLive(ctx, lease)
		return err == nil && r.TTL == -1
	}, 30*time.Second, 50*time.Millisecond, "the stopped member's lease %x is released", int64(lease))
}

// emitLog records the decisions one member's session actors emit.
type emitLog struct {
	mu  sync.Mutex
	out map[string][]*ekycv1.Decision // by session id
}

func (e *emitLog) Emit(_ context.Context, d *ekycv1.Decision, _ ekycv1.Encoding) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.out[d.GetSessionId()] = append(e.out[d.GetSessionId()], d)
	return nil
}

func (e *emitLog) emitted(sessionID string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.out[sessionID])
}

type etcdMember struct {
	id     string
	member *cluster.Member
	emits  *emitLog
}

func startEtcdMember(t *testing.T, endpoint, prefix, nodeID string, st sessions.Store) *etcdMember {
	t.Helper()
	emits := &emitLog{out: map[string][]*ekycv1.Decision{}}
	deps := &session.Deps{
		Store: st,
		Checkers: map[ekycv1.CheckKind]session.Checker{
			ekycv1.CheckKind_CHECK_KIND_DOCUMENT: func(context.Context, *ekycv1.VerificationRequest) (*ekycv1.CheckResult, error) {
				return &ekycv1.CheckResult{Status: ekycv1.CheckStatus_CHECK_STATUS_PASS, Score: 1}, nil
			},
		},
		Decide: func(*ekycv1.VerificationRequest, []*ekycv1.CheckResult) (session.Verdict, error) {
			return session.Verdict{Outcome: ekycv1.Outcome_OUTCOME_APPROVE, Score: 100, PolicyID: "test", PolicyVersion: 1}, nil
		},
		Emitter:        emits,
		CheckTimeout:   time.Second,
		CheckRetries:   1,
		PassivateAfter: time.Minute,
		OpTimeout:      10 * time.Second,
		NodeID:         nodeID,
		Metrics:        session.NewMetrics(nil),
		Logger:         slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	m, err := cluster.Start(cluster.Config{
		Name:           "ekyc",
		Provider:       cluster.ProviderEtcd,
		Host:           "127.0.0.1",
		Port:           0,
		EtcdEndpoints:  []string{endpoint},
		EtcdPrefix:     prefix,
		RequestTimeout: 10 * time.Second,
		Logger:         quietLogger(),
	}, session.Kind(deps))
	require.NoError(t, err, "start member %s", nodeID)
	t.Cleanup(func() { m.Shutdown(true) })
	return &etcdMember{id: nodeID, member: m, emits: emits}
}

func processVia(t *testing.T, m *etcdMember, sessionID, eventID string) *ekycv1.ProcessAck {
	t.Helper()
	msg := &ekycv1.ProcessVerification{Request: &ekycv1.VerificationRequest{
		TenantId: "t1", SessionId: sessionID, EventId: eventID,
		RequestedChecks: []ekycv1.CheckKind{ekycv1.CheckKind_CHECK_KIND_DOCUMENT},
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := m.member.Request(ctx, cluster.SessionKind, cluster.SessionIdentity("t1", sessionID), msg)
	require.NoError(t, err, "request %s via %s", sessionID, m.id)
	ack, ok := resp.(*ekycv1.ProcessAck)
	require.True(t, ok, "reply %T", resp)
	require.Empty(t, ack.GetError(), "session %s via %s", sessionID, m.id)
	require.NotNil(t, ack.GetDecision(), "session %s via %s", sessionID, m.id)
	return ack
}

// TestEtcdClusterMembership forms a two-member cluster through a real etcd:
// the members see each other, session grains are spread over both (the node
// id in each decision names the member that decided), a session is always
// routed to the same member whichever member asks, and after one member
// leaves the other owns every identity.
func TestEtcdClusterMembership(t *testing.T) {
	endpoint := etcdEndpoint(t)
	prefix := etcdPrefix(t, endpoint)
	st, err := pebblestore.Open(t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })

	start := time.Now()
	a := startEtcdMember(t, endpoint, prefix, "member-a", st)
	b := startEtcdMember(t, endpoint, prefix, "member-b", st)
	require.NotEqual(t, a.member.Address(), b.member.Address())
	require.Eventually(t, func() bool { return a.member.Members() == 2 && b.member.Members() == 2 }, 30*time.Second, 20*time.Millisecond,
		"both members see two members (a=%d b=%d)", a.member.Members(), b.member.Members())
	t.Logf("two members joined through etcd in %s", time.Since(start).Round(time.Millisecond))

	// Decide 200 sessions, asking alternately through either member.
	const n = 200
	owner := map[string]string{}
	perNode := map[string]int{}
	for i := 0; i < n; i++ {
		sid := fmt.Sprintf("s-%03d", i)
		via := a
		if i%2 == 1 {
			via = b
		}
		ack := processVia(t, via, sid, "e1")
		require.False(t, ack.GetDuplicate())
		owner[sid] = ack.GetDecision().GetNodeId()
		perNode[owner[sid]]++
	}
	t.Logf("sessions decided per member: %v", perNode)
	require.Len(t, perNode, 2, "grains of kind session are spread over both members: %v", perNode)
	require.Greater(t, perNode["member-a"], n/5)
	require.Greater(t, perNode["member-b"], n/5)

	// Routing agrees on both members: a later event asked through the other
	// member reaches the activation on the owner, which re-emits the stored
	// decision.
	members := map[string]*etcdMember{a.id: a, b.id: b}
	for i := 0; i < n; i++ {
		sid := fmt.Sprintf("s-%03d", i)
		via := b
		if i%2 == 1 {
			via = a
		}
		ack := processVia(t, via, sid, "e2")
		require.True(t, ack.GetDuplicate(), "session %s is decided once", sid)
		require.Equal(t, owner[sid], ack.GetDecision().GetNodeId())
		require.Equal(t, 2, members[owner[sid]].emits.emitted(sid), "session %s re-emitted by its owner %s", sid, owner[sid])
	}

	// b leaves; a sees it go and owns every identity.
	lease := memberLease(t, endpoint, prefix, b.member.Address())
	left := time.Now()
	shutDown := make(chan struct{})
	go func() { defer close(shutDown); b.member.Shutdown(true) }()
	require.Eventually(t, func() bool { return a.member.Members() == 1 }, 30*time.Second, 20*time.Millisecond,
		"the survivor sees the member leave")
	t.Logf("survivor saw the member leave %s after Shutdown began", time.Since(left).Round(time.Millisecond))
	<-shutDown
	requireLeaseReleased(t, endpoint, lease)

	for i := 0; i < n; i++ {
		sid := fmt.Sprintf("s-%03d", i)
		before := a.emits.emitted(sid)
		ack := processVia(t, a, sid, "e3")
		require.True(t, ack.GetDuplicate(), "session %s stays decided once", sid)
		require.Equal(t, owner[sid], ack.GetDecision().GetNodeId(), "the stored decision is re-emitted as stored")
		require.Equal(t, before+1, a.emits.emitted(sid), "session %s (owned by %s before) now lives on the survivor", sid, owner[sid])
	}
	for i := 0; i < n/2; i++ {
		sid := fmt.Sprintf("new-%03d", i)
		ack := processVia(t, a, sid, "e1")
		require.False(t, ack.GetDuplicate())
		require.Equal(t, "member-a", ack.GetDecision().GetNodeId(), "new session %s decided by the survivor", sid)
	}
}

// TestEtcdClusterAbruptShutdown stops a member with Shutdown(false), the
// crash-like stop node.Close(false) uses, while its process lives on: the
// member must not stay registered in etcd (its lease kept alive by a
// keep-alive goroutine that outlives the actor system), or the survivor would
// route a share of the identities to a dead member forever.
func TestEtcdClusterAbruptShutdown(t *testing.T) {
	endpoint := etcdEndpoint(t)
	prefix := etcdPrefix(t, endpoint)
	st, err := pebblestore.Open(t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })

	a := startEtcdMember(t, endpoint, prefix, "member-a", st)
	b := startEtcdMember(t, endpoint, prefix, "member-b", st)
	require.Eventually(t, func() bool { return a.member.Members() == 2 && b.member.Members() == 2 }, 30*time.Second, 20*time.Millisecond,
		"both members see two members")
	onB := 0
	for i := 0; i < 50; i++ {
		if processVia(t, a, fmt.Sprintf("s-%03d", i), "e1").GetDecision().GetNodeId() == "member-b" {
			onB++
		}
	}
	require.Positive(t, onB, "some grains live on member-b")

	lease := memberLease(t, endpoint, prefix, b.member.Address())
	stopped := time.Now()
	b.member.Shutdown(false)
	require.Eventually(t, func() bool { return a.member.Members() == 1 }, 30*time.Second, 20*time.Millisecond,
		"the survivor sees the abruptly stopped member go")
	t.Logf("survivor saw the member go %s after Shutdown(false)", time.Since(stopped).Round(time.Millisecond))
	requireLeaseReleased(t, endpoint, lease)
	for i := 0; i < 50; i++ {
		sid := fmt.Sprintf("s-%03d", i)
		before := a.emits.emitted(sid)
		ack := processVia(t, a, sid, "e2")
		require.True(t, ack.GetDuplicate())
		require.Equal(t, before+1, a.emits.emitted(sid), "session %s now lives on the survivor", sid)
	}
}
