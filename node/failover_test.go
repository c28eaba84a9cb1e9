package node_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	pcluster "github.com/asynkron/protoactor-go/cluster"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/openekyc/ekyc/cluster"
	"github.com/openekyc/ekyc/config"
	"github.com/openekyc/ekyc/internal/testgen"
	"github.com/openekyc/ekyc/node"
	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
	"github.com/openekyc/ekyc/store/sessions/cqlstore"
	"github.com/openekyc/ekyc/streams"
	"github.com/openekyc/ekyc/streams/codec"
)

const (
	failoverRequests   = 5000
	failoverPartitions = 6
	failoverInFlight   = 32 // kafka.max_in_flight_per_partition of the nodes
)

// failoverEnv returns the servers of the failover test, or skips naming the
// missing ones.
func failoverEnv(t *testing.T) (kafka, cql, etcd string) {
	t.Helper()
	scripts := map[string]string{
		"EKYC_TEST_KAFKA": "deploy/local/kafka.sh start (127.0.0.1:29092)",
		"EKYC_TEST_CQL":   "deploy/local/cassandra.sh start (127.0.0.1:29042)",
		"EKYC_TEST_ETCD":  "deploy/local/etcd.sh start (127.0.0.1:22379)",
	}
	var missing []string
	for _, k := range []string{"EKYC_TEST_KAFKA", "EKYC_TEST_CQL", "EKYC_TEST_ETCD"} {
		if os.Getenv(k) == "" {
			missing = append(missing, k+" — "+scripts[k])
		}
	}
	if len(missing) > 0 {
		t.Skipf("cluster failover test needs real servers; not set: %s", strings.Join(missing, "; "))
	}
	return os.Getenv("EKYC_TEST_KAFKA"), os.Getenv("EKYC_TEST_CQL"), os.Getenv("EKYC_TEST_ETCD")
}

// outRecord is one record read from the decisions or the DLQ topic.
type outRecord struct {
	dlq      bool
	key      string
	reason   string           // DLQ
	decision *ekycv1.Decision // decisions
	ts       time.Time        // producer timestamp (the emitting node's clock)
}

type failoverOutputs struct {
	mu        sync.Mutex
	recs      []outRecord
	decided   map[string]bool
	deadKeys  map[string]bool
	perNode   map[string]int // decision records by node_id
	decodeErr error
}

func (o *failoverOutputs) snapshot() (decided, dead int, perNode map[string]int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	perNode = map[string]int{}
	for k, v := range o.perNode {
		perNode[k] = v
	}
	return len(o.decided), len(o.deadKeys), perNode
}

// etcdMembers reads the cluster members registered under prefix: etcd key →
// actor address (host:port).
func etcdMembers(ctx context.Context, cl *clientv3.Client, prefix string) (map[string]string, error) {
	resp, err := cl.Get(ctx, prefix+"/", clientv3.WithPrefix())
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, kv := range resp.Kvs {
		var n struct {
			Host string `json:"host"`
			Port int    `json:"port"`
		}
		if err := json.Unmarshal(kv.Value, &n); err != nil {
			return nil, err
		}
		out[string(kv.Key)] = n.Host + ":" + strconv.Itoa(n.Port)
	}
	return out, nil
}

// groupAssignment is the request-topic partitions each consumer (by client
// id) owns, when the group is stable with want members that all own some.
func groupAssignment(ctx context.Context, adm *kadm.Client, group, topic string, want int) (map[string][]int32, bool) {
	gs, err := adm.DescribeGroups(ctx, group)
	if err != nil {
		return nil, false
	}
	g, ok := gs[group]
	if !ok || g.Err != nil || g.State != "Stable" || len(g.Members) != want {
		return nil, false
	}
	out := map[string][]int32{}
	total := 0
	for _, m := range g.Members {
		ca, ok := m.Assigned.AsConsumer()
		if !ok {
			return nil, false
		}
		for _, tp := range ca.Topics {
			if tp.Topic == topic {
				out[m.ClientID] = append(out[m.ClientID], tp.Partitions...)
				total += len(tp.Partitions)
			}
		}
	}
	if len(out) != want || total != failoverPartitions {
		return nil, false
	}
	return out, true
}

func logTail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// TestClusterFailover runs three ekyc node processes forming one cluster
// through etcd, on a real Kafka broker and a real CQL session store, kills
// one with SIGKILL while 5,000 requests flow, and checks that the survivors
// take over its Kafka partitions and its session grains: every valid request
// decided once in outcome (re-emits keep decision id and outcome), every
// malformed one dead-lettered, none lost, and the sessions still open at the
// kill decided by the survivors.
//
// Recovery time is logged under two definitions: Kafka takeover (SIGKILL →
// the first decision, by its producer timestamp, for a request in a partition
// the dead node's consumer owned, of a session not decided before the kill)
// and grain takeover (SIGKILL → the first decision made by a survivor for a
// session whose grain the dead node owned); plus the time until the decision
// rate is back to half its rate before the kill.
func TestClusterFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("failover test skipped in -short mode")
	}
	kafkaAddr, cqlHosts, etcdAddr := failoverEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()

	idb := make([]byte, 5)
	_, err := rand.Read(idb)
	require.NoError(t, err)
	runID := hex.EncodeToString(idb)
	brokers := strings.Split(kafkaAddr, ",")
	prefix := "/ekyc-test/failover-" + runID
	keyspace := "ekyc_failover_" + runID
	topics := config.Topics{
		Requests:  "ekyc-failover-" + runID + ".requests",
		Decisions: "ekyc-failover-" + runID + ".decisions",
		DLQ:       "ekyc-failover-" + runID + ".dlq",
	}
	group := "ekyc-failover-" + runID

	common := []string{
		"EKYC_KAFKA_BROKERS=" + kafkaAddr,
		"EKYC_KAFKA_GROUP=" + group,
		"EKYC_KAFKA_TOPICS_REQUESTS=" + topics.Requests,
		"EKYC_KAFKA_TOPICS_DECISIONS=" + topics.Decisions,
		"EKYC_KAFKA_TOPICS_DLQ=" + topics.DLQ,
		"EKYC_KAFKA_PARTITIONS=" + strconv.Itoa(failoverPartitions),
		"EKYC_KAFKA_COMMIT_INTERVAL=200ms",
		"EKYC_KAFKA_SESSION_TIMEOUT=6s",
		"EKYC_KAFKA_MAX_IN_FLIGHT_PER_PARTITION=" + strconv.Itoa(failoverInFlight),
		"EKYC_CLUSTER_PROVIDER=etcd",
		"EKYC_CLUSTER_HOST=127.0.0.1",
		"EKYC_CLUSTER_PORT=0",
		"EKYC_CLUSTER_ETCD_ENDPOINTS=" + etcdAddr,
		"EKYC_CLUSTER_ETCD_PREFIX=" + prefix,
		"EKYC_CLUSTER_REQUEST_TIMEOUT=10s",
		"EKYC_CHECKS_TIMEOUT=2s",
		"EKYC_CHECKS_RETRIES=1",
		"EKYC_STORE_BACKEND=cql",
		"EKYC_STORE_CQL_HOSTS=" + cqlHosts,
		"EKYC_STORE_CQL_KEYSPACE=" + keyspace,
		"EKYC_ADMIN_LISTEN=127.0.0.1:0", "EKYC_GATEWAY_LISTEN=127.0.0.1:0",
		"EKYC_POLICIES_DIR=" + mustAbs(t, filepath.Join("..", "deploy", "policies")),
	}
	cfg, err := config.Load("", append(append([]string{}, common...), "EKYC_NODE_ID=test"))
	require.NoError(t, err)

	// A fresh keyspace, dropped at the end.
	cc, err := node.CQLConfig(cfg.Store.CQL)
	require.NoError(t, err)
	t.Cleanup(func() {
		dctx, dcancel := context.WithTimeout(context.Background(), time.Minute)
		defer dcancel()
		if err := cqlstore.DropKeyspace(dctx, cc); err != nil {
			t.Logf("drop keyspace %s: %v", keyspace, err)
		}
	})
	mctx, mcancel := context.WithTimeout(ctx, 2*time.Minute)
	require.NoError(t, node.MigrateCQL(mctx, cfg), "create keyspace %s on %s", keyspace, cqlHosts)
	mcancel()

	// Fresh topics, deleted at the end with the group.
	admCl := mustClient(t, brokers)
	adm := kadm.NewClient(admCl)
	require.NoError(t, streams.EnsureTopics(ctx, admCl, failoverPartitions, 1, topics.Requests, topics.Decisions, topics.DLQ))
	t.Cleanup(func() {
		dctx, dcancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer dcancel()
		_, _ = adm.DeleteGroups(dctx, group)
		_, _ = adm.DeleteTopics(dctx, topics.Requests, topics.Decisions, topics.DLQ)
	})

	etcdCl, err := clientv3.New(clientv3.Config{Endpoints: []string{etcdAddr}, DialTimeout: 5 * time.Second})
	require.NoError(t, err)
	t.Cleanup(func() {
		dctx, dcancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer dcancel()
		_, _ = etcdCl.Delete(dctx, prefix+"/", clientv3.WithPrefix())
		etcdCl.Close()
	})

	// The collector reads both output topics from the start.
	out := &failoverOutputs{decided: map[string]bool{}, deadKeys: map[string]bool{}, perNode: map[string]int{}}
	collectCtx, stopCollect := context.WithCancel(ctx)
	collected := make(chan struct{})
	colCl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topics.Decisions, topics.DLQ),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(100*time.Millisecond))
	require.NoError(t, err)
	go func() {
		defer close(collected)
		defer colCl.Close()
		for collectCtx.Err() == nil {
			fs := colCl.PollFetches(collectCtx)
			out.mu.Lock()
			fs.EachRecord(func(r *kgo.Record) {
				rec := outRecord{key: string(r.Key), ts: r.Timestamp}
				if r.Topic == topics.DLQ {
					rec.dlq, rec.reason = true, header(r, "ekyc-dlq-reason")
					out.deadKeys[rec.key] = true
				} else {
					d, err := codec.DecodeDecision(r)
					if err != nil {
						out.decodeErr = err
						return
					}
					rec.decision = d
					out.decided[d.GetSessionId()] = true
					out.perNode[d.GetNodeId()]++
				}
				out.recs = append(out.recs, rec)
			})
			out.mu.Unlock()
		}
	}()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			stopCollect()
			<-collected
		}
	}
	defer stop()

	// Three node processes, started one after the other so that each one's
	// etcd registration (and so its actor address) is known.
	logDir := t.TempDir()
	type proc struct {
		id   string
		cmd  *exec.Cmd
		addr string
		log  string
		dead bool
	}
	var procs []*proc
	t.Cleanup(func() {
		for _, p := range procs {
			if !p.dead {
				_ = p.cmd.Process.Kill()
				_ = p.cmd.Wait()
			}
		}
		if t.Failed() {
			for _, p := range procs {
				t.Logf("--- %s log tail (%s; EKYC_TEST_LOG=1 for debug logs) ---\n%s", p.id, p.log, logTail(p.log, 40))
			}
		}
	})
	known := map[string]string{}
	for i := 1; i <= 3; i++ {
		id := fmt.Sprintf("node-%d", i)
		p := &proc{id: id, log: filepath.Join(logDir, id+".log")}
		env := append([]string{childEnv + "=1", "EKYC_NODE_ID=" + id, "EKYC_DATA_DIR=" + filepath.Join(logDir, id)}, common...)
		p.cmd = startChild(t, env, p.log)
		procs = append(procs, p)
		var members map[string]string
		require.Eventually(t, func() bool {
			members, err = etcdMembers(ctx, etcdCl, prefix)
			return err == nil && len(members) == i
		}, 30*time.Second, 20*time.Millisecond, "%s registers in etcd", id)
		for k, a := range members {
			if _, ok := known[k]; !ok {
				known[k], p.addr = a, a
			}
		}
		require.NotEmpty(t, p.addr)
	}
	var assigned map[string][]int32
	require.Eventually(t, func() bool {
		var ok bool
		assigned, ok = groupAssignment(ctx, adm, group, topics.Requests, 3)
		return ok
	}, 2*time.Minute, 100*time.Millisecond, "the consumer group is stable with three members")
	t.Logf("cluster of 3: %s=%s %s=%s %s=%s; partitions %v",
		procs[0].id, procs[0].addr, procs[1].id, procs[1].addr, procs[2].id, procs[2].addr, assigned)

	// Where each session's grain lives while all three are up (disthash:
	// rendezvous hashing over the members' addresses).
	rdv := pcluster.NewRendezvous()
	var members []*pcluster.Member
	for i, p := range procs {
		host, port, ok := strings.Cut(p.addr, ":")
		require.True(t, ok)
		pn, err := strconv.Atoi(port)
		require.NoError(t, err)
		members = append(members, &pcluster.Member{Id: strconv.Itoa(i), Host: host, Port: int32(pn), Kinds: []string{cluster.SessionKind}})
	}
	rdv.UpdateMembers(members)
	grainOwner := func(sid string) string {
		addr := rdv.GetByClusterIdentity(pcluster.NewClusterIdentity(cluster.SessionIdentity("demo", sid), cluster.SessionKind))
		for _, p := range procs {
			if p.addr == addr {
				return p.id
			}
		}
		return ""
	}

	gen := testgen.New(7, fixedNow, "demo", topics.Requests, "fo-"+runID)
	cases := make([]testgen.Case, failoverRequests)
	want, wantDead := 0, 0
	for i := range cases {
		cases[i] = gen.Next()
		if cases[i].Malformed() {
			wantDead++
		} else {
			want++
		}
	}
	produced := time.Now()
	produceAll(ctx, t, brokers, cases)
	t.Logf("produced %d requests (%d to decide, %d malformed) in %s", len(cases), want, wantDead, time.Since(produced).Round(time.Millisecond))

	// Kill one node once decisions flow and it has decided some itself.
	victim := procs[1]
	survivors := map[string]bool{procs[0].id: true, procs[2].id: true}
	require.Eventually(t, func() bool {
		d, _, per := out.snapshot()
		return d >= want/6 && per[victim.id] >= 50
	}, 3*time.Minute, 10*time.Millisecond, "decisions flow, some made by %s", victim.id)
	victimParts := assigned["ekyc-"+victim.id]
	require.NotEmpty(t, victimParts, "%s owns request partitions", victim.id)
	killAt := time.Now()
	require.NoError(t, victim.cmd.Process.Signal(syscall.SIGKILL))
	_ = victim.cmd.Wait()
	victim.dead = true
	deadAt := time.Now() // every record produced by the victim has an earlier timestamp
	before, _, per := out.snapshot()
	t.Logf("SIGKILL %s (partitions %v, grain address %s) after %s with %d/%d sessions decided (by node: %v)",
		victim.id, victimParts, victim.addr, killAt.Sub(produced).Round(time.Millisecond), before, want, per)
	require.Less(t, before, want*9/10, "the kill happened in the middle of the run")

	// The dead member leaves etcd when its lease expires; the survivors'
	// consumers take its partitions after the Kafka session timeout.
	var etcdLeftAt, takeoverAt time.Time
	require.Eventually(t, func() bool {
		if etcdLeftAt.IsZero() {
			if ms, err := etcdMembers(ctx, etcdCl, prefix); err == nil && len(ms) == 2 {
				etcdLeftAt = time.Now()
			}
		}
		if takeoverAt.IsZero() {
			if a, ok := groupAssignment(ctx, adm, group, topics.Requests, 2); ok && a["ekyc-"+victim.id] == nil {
				takeoverAt = time.Now()
			}
		}
		return !etcdLeftAt.IsZero() && !takeoverAt.IsZero()
	}, time.Minute, 25*time.Millisecond, "the dead member leaves etcd and the consumer group")
	t.Logf("dead member left etcd %s after SIGKILL; survivors own all partitions %s after SIGKILL",
		etcdLeftAt.Sub(killAt).Round(time.Millisecond), takeoverAt.Sub(killAt).Round(time.Millisecond))

	require.Eventually(t, func() bool {
		d, dl, _ := out.snapshot()
		return d >= want && dl >= wantDead
	}, 4*time.Minute, 50*time.Millisecond, "every request ends with a decision or a dead letter after the kill")
	finished := time.Now()

	// Offsets are committed to the end: nothing is left behind.
	require.Eventually(t, func() bool {
		ends, err := adm.ListEndOffsets(ctx, topics.Requests)
		if err != nil {
			return false
		}
		committed, err := adm.FetchOffsets(ctx, group)
		if err != nil {
			return false
		}
		ok := true
		ends.Each(func(e kadm.ListedOffset) {
			c, found := committed.Lookup(e.Topic, e.Partition)
			if !found || c.At != e.Offset {
				ok = false
			}
		})
		return ok
	}, time.Minute, 100*time.Millisecond, "the survivors commit the request topic to its end")

	for _, p := range procs {
		if p.dead {
			continue
		}
		require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
		require.NoError(t, p.cmd.Wait(), "%s shuts down cleanly on SIGTERM", p.id)
		p.dead = true
	}
	stop()
	require.NoError(t, out.decodeErr)

	// Exactly one outcome per valid request, one reason per malformed one.
	partOf := map[string]int32{}
	for _, c := range cases {
		partOf[c.SessionID] = c.Record.Partition
	}
	decisions := map[string][]outRecord{}
	dlq := map[string][]outRecord{}
	for _, r := range out.recs {
		if r.dlq {
			dlq[r.key] = append(dlq[r.key], r)
		} else {
			decisions[r.decision.GetSessionId()] = append(decisions[r.decision.GetSessionId()], r)
		}
	}
	dups := 0
	for _, c := range cases {
		if c.Malformed() {
			key := c.SessionID
			if c.Kind == testgen.KeyMismatch {
				key = "other-" + c.SessionID
			}
			require.NotEmpty(t, dlq[key], "dead letter of %s %s", c.Kind, c.SessionID)
			for _, r := range dlq[key] {
				require.Equal(t, c.DLQReason, r.reason, "case %s %s", c.Kind, c.SessionID)
			}
			require.Empty(t, decisions[c.SessionID], "no decision for malformed %s", c.SessionID)
			continue
		}
		ds := decisions[c.SessionID]
		require.NotEmpty(t, ds, "decision of %s lost", c.SessionID)
		first := ds[0].decision
		require.Equal(t, c.Outcome, first.GetOutcome(), "case %s %s: reasons %v", c.Kind, c.SessionID, first.GetReasonCodes())
		for _, r := range ds[1:] {
			dups++
			require.Equal(t, first.GetDecisionId(), r.decision.GetDecisionId(), "re-emit of %s keeps the decision id", c.SessionID)
			require.Equal(t, first.GetOutcome(), r.decision.GetOutcome(), "re-emit of %s keeps the outcome", c.SessionID)
			require.Equal(t, first.GetNodeId(), r.decision.GetNodeId(), "re-emit of %s is the stored decision", c.SessionID)
		}
	}
	require.Len(t, decisions, want, "no decision for a session that was not requested")

	// The survivors own the dead member's work. A session is "open at the
	// kill" when no decision record for it was produced before deadAt. Such a
	// session is decided by a survivor, except one the victim stored but had
	// not yet published when it died (a survivor then publishes the stored
	// decision, naming the victim): at most the victim's in-flight work.
	var (
		open, openVictimGrain, openVictimPart, storedNotSent int
		byNode                                               = map[string]int{}
		agree, total                                         int
		firstPartTakeover, firstGrainTakeover                time.Time
	)
	isVictimPart := map[int32]bool{}
	for _, p := range victimParts {
		isVictimPart[p] = true
	}
	for sid, ds := range decisions {
		first := ds[0]
		for _, r := range ds {
			if r.ts.Before(first.ts) {
				first = r
			}
		}
		nodeID := first.decision.GetNodeId()
		require.Contains(t, []string{procs[0].id, procs[1].id, procs[2].id}, nodeID)
		if first.ts.Before(deadAt) {
			total++
			if grainOwner(sid) == nodeID {
				agree++
			}
			continue
		}
		open++
		byNode[nodeID]++
		if !survivors[nodeID] {
			storedNotSent++
			continue
		}
		if isVictimPart[partOf[sid]] && !first.ts.Before(takeoverAt) {
			openVictimPart++
			if firstPartTakeover.IsZero() || first.ts.Before(firstPartTakeover) {
				firstPartTakeover = first.ts
			}
		}
		if grainOwner(sid) == victim.id {
			openVictimGrain++
			if firstGrainTakeover.IsZero() || first.ts.Before(firstGrainTakeover) {
				firstGrainTakeover = first.ts
			}
		}
	}
	t.Logf("%d decisions (%d re-emitted duplicates, same id and outcome), %d dead letters; run took %s",
		want, dups, wantDead, finished.Sub(produced).Round(time.Millisecond))
	t.Logf("before the kill: %d/%d decisions made on the member rendezvous hashing names as the grain owner", agree, total)
	t.Logf("open at the kill: %d sessions, decided by %v (%d stored by %s before it died, published by a survivor); "+
		"%d in its partitions and %d on its grains decided by survivors", open, byNode, storedNotSent, victim.id, openVictimPart, openVictimGrain)
	require.Positive(t, open)
	require.LessOrEqual(t, storedNotSent, failoverInFlight*len(victimParts)+failoverInFlight*failoverPartitions,
		"only work in flight at the kill may carry the dead node's id after it")
	require.Positive(t, openVictimPart, "survivors decide requests of the dead node's partitions after taking them over")
	require.Positive(t, openVictimGrain, "survivors host the dead node's session grains")
	require.GreaterOrEqual(t, agree*100, total*95, "decisions before the kill are made by the grain owner")

	// Recovery times, from the producer timestamps of the decisions.
	var stamps []time.Time
	for _, r := range out.recs {
		if !r.dlq {
			stamps = append(stamps, r.ts)
		}
	}
	sort.Slice(stamps, func(i, j int) bool { return stamps[i].Before(stamps[j]) })
	count := func(from, to time.Time) int {
		i := sort.Search(len(stamps), func(i int) bool { return !stamps[i].Before(from) })
		j := sort.Search(len(stamps), func(i int) bool { return !stamps[i].Before(to) })
		return j - i
	}
	const window = 3 * time.Second
	preRate := float64(count(killAt.Add(-window), killAt)) / window.Seconds()
	// Primary definition: decisions flow again at a steady rate from the
	// first decision after the kill from which on every one-second window (in
	// 100ms steps, up to one second before the last decision, when the
	// backlog drains) holds at least half the decisions per second of the
	// three seconds before the kill.
	last := stamps[len(stamps)-1]
	okFrom := killAt
	for b := time.Duration(0); killAt.Add(b + time.Second).Before(last); b += 100 * time.Millisecond {
		if float64(count(killAt.Add(b), killAt.Add(b+time.Second))) < preRate/2 {
			okFrom = killAt.Add(b + 100*time.Millisecond)
		}
	}
	steadyAt := stamps[sort.Search(len(stamps), func(i int) bool { return !stamps[i].Before(okFrom) })]
	steady := steadyAt.Sub(killAt).Round(time.Millisecond)
	var stall time.Duration // the longest gap between decisions after the kill, and when it ended
	var stallEnd time.Time
	for i := 1; i < len(stamps); i++ {
		if stamps[i].After(killAt) && stamps[i].Sub(stamps[i-1]) > stall {
			stall, stallEnd = stamps[i].Sub(stamps[i-1]), stamps[i]
		}
	}
	t.Logf("RECOVERY (steady rate: SIGKILL → the first decision from which on every 1s window holds ≥ half the %.0f decisions/s before the kill): %s",
		preRate, steady)
	t.Logf("recovery (stall: the longest gap between decisions after the kill was %s; it ended %s after SIGKILL)",
		stall.Round(time.Millisecond), stallEnd.Sub(killAt).Round(time.Millisecond))
	t.Logf("recovery (grains: SIGKILL → first survivor decision of an open session whose grain was on %s): %s",
		victim.id, firstGrainTakeover.Sub(killAt).Round(time.Millisecond))
	t.Logf("recovery (partitions: SIGKILL → first decision of an open session in a partition of %s, after the group handed it to a survivor): %s",
		victim.id, firstPartTakeover.Sub(killAt).Round(time.Millisecond))
}
