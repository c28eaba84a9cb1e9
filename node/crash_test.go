package node_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/openekyc/ekyc/config"
	"github.com/openekyc/ekyc/internal/testgen"
	"github.com/openekyc/ekyc/node"
	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
	"github.com/openekyc/ekyc/streams"
	"github.com/openekyc/ekyc/streams/codec"
)

const childEnv = "EKYC_TEST_CRASH_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		os.Exit(crashChild())
	}
	os.Exit(m.Run())
}

// crashChild runs a node in this (re-executed test) process until SIGTERM
// (graceful) or SIGKILL (the crash).
func crashChild() int {
	cfg, err := config.Load("", os.Environ())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	n, err := node.Start(ctx, cfg, node.WithLogger(quietLogger()), node.WithClock(func() time.Time { return fixedNow }))
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "start:", err)
		return 1
	}
	fmt.Println("READY")
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	<-sig
	n.Close(true)
	return 0
}

type liveOutputs struct {
	mu        sync.Mutex
	decisions map[string][]*ekycv1.Decision
	dlq       map[string][]string
	records   int
}

func (o *liveOutputs) counts() (decided, dead, records int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.decisions), len(o.dlq), o.records
}

func startChild(t *testing.T, env []string, logPath string) *exec.Cmd {
	t.Helper()
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	require.NoError(t, err)
	t.Cleanup(func() { logf.Close() })
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = logf
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.TrimSpace(sc.Text()) == "READY" {
				ready <- true
			}
		}
		ready <- false
	}()
	select {
	case ok := <-ready:
		require.True(t, ok, "child node did not start; see %s", logPath)
	case <-time.After(90 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("child node did not start within 90s; see %s", logPath)
	}
	return cmd
}

// TestCrashRecovery kills a node with SIGKILL in the middle of a 2,000-request
// run and starts it again on the same data directory. Every request must end
// with exactly one decision outcome (re-emits carry the same decision id and
// outcome) or its dead letter, and none may be lost.
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test skipped in -short mode")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	// Kafka lives in the test process: it survives the node's crash, as a real
	// cluster would.
	emb, err := streams.StartEmbedded(streams.EmbeddedPartitions(4))
	require.NoError(t, err)
	defer emb.Close()
	brokers := emb.Addrs()
	dataDir := t.TempDir()
	env := []string{
		childEnv + "=1",
		"EKYC_KAFKA_BROKERS=" + strings.Join(brokers, ","),
		"EKYC_KAFKA_PARTITIONS=4",
		"EKYC_KAFKA_COMMIT_INTERVAL=100ms",
		"EKYC_KAFKA_SESSION_TIMEOUT=6s",
		"EKYC_DATA_DIR=" + dataDir,
		"EKYC_ADMIN_LISTEN=127.0.0.1:0", "EKYC_GATEWAY_LISTEN=127.0.0.1:0",
		"EKYC_POLICIES_DIR=" + mustAbs(t, filepath.Join("..", "deploy", "policies")),
		"EKYC_NODE_ID=crash",
	}
	cfg, err := config.Load("", env[1:])
	require.NoError(t, err)

	gen := testgen.New(2, fixedNow, "demo", cfg.Kafka.Topics.Requests, "crash")
	cases := make([]testgen.Case, 2000)
	for i := range cases {
		cases[i] = gen.Next()
	}
	admin := mustClient(t, brokers)
	require.NoError(t, streams.EnsureTopics(ctx, admin, 4, 1, cfg.Kafka.Topics.Requests, cfg.Kafka.Topics.Decisions, cfg.Kafka.Topics.DLQ))
	produceAll(ctx, t, brokers, cases)

	out := &liveOutputs{decisions: map[string][]*ekycv1.Decision{}, dlq: map[string][]string{}}
	collectCtx, stopCollect := context.WithCancel(ctx)
	collected := make(chan struct{})
	go func() {
		defer close(collected)
		cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(cfg.Kafka.Topics.Decisions, cfg.Kafka.Topics.DLQ),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
		if err != nil {
			return
		}
		defer cl.Close()
		for collectCtx.Err() == nil {
			fs := cl.PollFetches(collectCtx)
			out.mu.Lock()
			fs.EachRecord(func(r *kgo.Record) {
				out.records++
				if r.Topic == cfg.Kafka.Topics.DLQ {
					out.dlq[string(r.Key)] = append(out.dlq[string(r.Key)], header(r, "ekyc-dlq-reason"))
					return
				}
				if d, err := codec.DecodeDecision(r); err == nil {
					out.decisions[d.GetSessionId()] = append(out.decisions[d.GetSessionId()], d)
				}
			})
			out.mu.Unlock()
		}
	}()

	logPath := filepath.Join(t.TempDir(), "node.log")
	child := startChild(t, env, logPath)
	require.Eventually(t, func() bool { d, _, _ := out.counts(); return d >= 600 }, 2*time.Minute, 20*time.Millisecond,
		"the first node makes progress")
	require.NoError(t, child.Process.Signal(syscall.SIGKILL))
	_ = child.Wait()
	before, _, _ := out.counts()
	t.Logf("killed the node with SIGKILL after %d decisions", before)
	require.Less(t, before, 1650, "the crash happened in the middle of the run")

	child = startChild(t, env, logPath)
	want := 0
	for _, c := range cases {
		if !c.Malformed() {
			want++
		}
	}
	wantDead := len(cases) - want
	require.Eventually(t, func() bool { d, dl, _ := out.counts(); return d >= want && dl >= wantDead }, 3*time.Minute, 50*time.Millisecond,
		"every request ends with a decision or a dead letter after the restart; see %s", logPath)
	require.NoError(t, child.Process.Signal(syscall.SIGTERM))
	require.NoError(t, child.Wait())
	stopCollect()
	<-collected

	dups := 0
	for _, c := range cases {
		if c.Malformed() {
			key := c.SessionID
			if c.Kind == testgen.KeyMismatch {
				key = "other-" + c.SessionID
			}
			reasons := out.dlq[key]
			require.NotEmpty(t, reasons, "dead letter of %s", c.SessionID)
			for _, r := range reasons {
				require.Equal(t, c.DLQReason, r)
			}
			continue
		}
		ds := out.decisions[c.SessionID]
		require.NotEmpty(t, ds, "decision of %s lost", c.SessionID)
		first := ds[0]
		require.Equal(t, c.Outcome, first.GetOutcome(), "case %s %s", c.Kind, c.SessionID)
		for _, d := range ds[1:] {
			dups++
			require.Equal(t, first.GetDecisionId(), d.GetDecisionId(), "re-emit of %s keeps the decision id", c.SessionID)
			require.Equal(t, first.GetOutcome(), d.GetOutcome(), "re-emit of %s keeps the outcome", c.SessionID)
			require.Equal(t, first.GetScore(), d.GetScore())
		}
	}
	require.Len(t, out.decisions, want, "no decision for a session that was not requested")
	t.Logf("%d decisions, %d re-emitted duplicates (same id and outcome), %d dead letters", want, dups, wantDead)
}

func mustAbs(t *testing.T, p string) string {
	a, err := filepath.Abs(p)
	require.NoError(t, err)
	return a
}
