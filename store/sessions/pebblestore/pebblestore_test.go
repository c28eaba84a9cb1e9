package pebblestore_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"log"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
	"github.com/openekyc/ekyc/store/sessions"
	"github.com/openekyc/ekyc/store/sessions/pebblestore"
	"github.com/openekyc/ekyc/store/sessions/sessionstest"
)

func open(t testing.TB, dir string) *pebblestore.Store {
	t.Helper()
	s, err := pebblestore.Open(dir)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}

func TestConformance(t *testing.T) {
	sessionstest.Run(t, func(t *testing.T) sessions.Store { return open(t, t.TempDir()) })
}

func TestReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := pebblestore.Open(dir)
	require.NoError(t, err)
	st := sessionstest.FullState("tenant-1", "session-1")
	require.NoError(t, s.Put(ctx, st, 0))
	require.NoError(t, s.Put(ctx, st, 1))
	other := sessionstest.FullState("tenant-2", "session-1")
	require.NoError(t, s.Put(ctx, other, 0))
	require.NoError(t, s.Close())

	s = open(t, dir)
	got, err := s.Get(ctx, "tenant-1", "session-1")
	require.NoError(t, err)
	require.Equal(t, int64(2), got.GetVersion())
	require.True(t, proto.Equal(st, got), "want %v\ngot  %v", st, got)
	got, err = s.Get(ctx, "tenant-2", "session-1")
	require.NoError(t, err)
	require.True(t, proto.Equal(other, got))
	// The compare-and-set goes on from the stored version.
	err = s.Put(ctx, st, 1)
	require.ErrorIs(t, err, sessions.ErrConflict)
	require.NoError(t, s.Put(ctx, st, 2))
}

func TestOpenLocked(t *testing.T) {
	dir := t.TempDir()
	open(t, dir)
	_, err := pebblestore.Open(dir)
	require.Error(t, err, "a second Open of an open store must fail (directory lock)")
}

func TestOpenEmptyDir(t *testing.T) {
	_, err := pebblestore.Open("")
	require.ErrorIs(t, err, sessions.ErrInvalidArgument)
}

func TestKey(t *testing.T) {
	require.Equal(t, []byte("s/\x01a/b/c"), pebblestore.Key("a", "b/c"))
	require.Equal(t, []byte("s/\x03a/b/c"), pebblestore.Key("a/b", "c"))
	long := strings.Repeat("t", 300) // two-byte length prefix
	require.Equal(t, append([]byte("s/\xac\x02"+long+"/"), "x"...), pebblestore.Key(long, "x"))

	seen := map[string][2]string{}
	for _, tenant := range []string{"a", "a/b", "a/", "/a", "\x01a", "a\x01", "s", "s/"} {
		for _, session := range []string{"b", "b/c", "c", "/b", "\x01b", "a/b"} {
			k := string(pebblestore.Key(tenant, session))
			prev, dup := seen[k]
			require.False(t, dup, "%q/%q and %q/%q share key %q", tenant, session, prev[0], prev[1], k)
			seen[k] = [2]string{tenant, session}
		}
	}
}

func TestQuietLogger(t *testing.T) {
	var buf bytes.Buffer
	s, err := pebblestore.Open(t.TempDir(), pebblestore.WithLogger(recordingLogger{&buf}), pebblestore.WithCacheSize(1<<20))
	require.NoError(t, err)
	require.NoError(t, s.Close())
	require.NotEmpty(t, buf.String(), "WithLogger: the logger receives Pebble's messages")

	// The default logger prints nothing on a normal open, write and close
	// (Pebble's own default logs WAL recovery and more with package log).
	var logged bytes.Buffer
	log.SetOutput(&logged)
	defer log.SetOutput(os.Stderr)
	dir := t.TempDir()
	for i := range 2 { // the second open replays the WAL
		s, err = pebblestore.Open(dir)
		require.NoError(t, err)
		require.NoError(t, s.Put(context.Background(), &ekycv1.SessionState{TenantId: "t", SessionId: "s"}, int64(i)))
		require.NoError(t, s.Close())
		_, err = pebblestore.Open("/proc/ekyc-no-such-dir/x") // an error, returned and not logged
		require.Error(t, err)
	}
	require.Empty(t, logged.String())

	// Errors go to slog.
	var errs bytes.Buffer
	pebblestore.QuietLogger{Logger: slog.New(slog.NewTextHandler(&errs, nil))}.Errorf("disk %s", "full")
	require.Contains(t, errs.String(), "disk full")
	require.Panics(t, func() { pebblestore.QuietLogger{Logger: slog.New(slog.NewTextHandler(&errs, nil))}.Fatalf("boom") })
}

type recordingLogger struct{ buf *bytes.Buffer }

func (l recordingLogger) Infof(format string, args ...any) { fmt.Fprintf(l.buf, format+"\n", args...) }
func (l recordingLogger) Errorf(format string, args ...any) {
	fmt.Fprintf(l.buf, format+"\n", args...)
}
func (l recordingLogger) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }

// Crash test: a child process writes and reports every acknowledged write on
// stdout; it is killed with SIGKILL, and every acknowledged write must be in
// the store when it is reopened.

const crashEnv = "EKYC_PEBBLESTORE_CRASH_DIR"

const (
	crashWriters = 4
	crashAcks    = 300 // acknowledged writes to see before the kill
)

func TestCrashDurability(t *testing.T) {
	if dir := os.Getenv(crashEnv); dir != "" {
		crashChild(dir)
		return
	}
	if testing.Short() {
		t.Skip("spawns a child process")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashDurability$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+dir)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())

	// acked[w] is the last version writer w's counter session was acknowledged
	// at; created holds the acknowledged one-shot sessions.
	acked := make([]int64, crashWriters)
	var created []string
	n := 0
	sc := bufio.NewScanner(stdout)
	killed := false
	deadline := time.AfterFunc(2*time.Minute, func() { _ = cmd.Process.Kill() })
	defer deadline.Stop()
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 4 || f[0] != "ack" {
			continue
		}
		w, err := strconv.Atoi(f[1])
		require.NoError(t, err)
		v, err := strconv.ParseInt(f[3], 10, 64)
		require.NoError(t, err)
		acked[w] = max(acked[w], v)
		created = append(created, f[2])
		n++
		if n == crashAcks && !killed {
			require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
			killed = true
		}
	}
	require.NoError(t, sc.Err())
	err = cmd.Wait()
	require.True(t, killed, "the child stopped before %d writes: %v", crashAcks, err)
	require.Error(t, err, "the child must have been killed")
	t.Logf("%d writes acknowledged before the child died", n)

	s := open(t, dir)
	ctx := context.Background()
	for w := range crashWriters {
		st, err := s.Get(ctx, "tenant-crash", fmt.Sprintf("counter-%d", w))
		if acked[w] == 0 {
			continue
		}
		require.NoError(t, err)
		require.GreaterOrEqual(t, st.GetVersion(), acked[w], "writer %d: acknowledged version lost", w)
	}
	for _, id := range created {
		_, err := s.Get(ctx, "tenant-crash", id)
		require.NoError(t, err, "acknowledged session %s lost", id)
	}
}

// crashChild writes until it is killed: each of crashWriters goroutines
// creates a session and increments its counter session, then prints the
// acknowledgement.
func crashChild(dir string) {
	s, err := pebblestore.Open(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(2)
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	stop := time.Now().Add(time.Minute) // in case the parent dies
	for w := range crashWriters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			counter := &ekycv1.SessionState{TenantId: "tenant-crash", SessionId: fmt.Sprintf("counter-%d", w)}
			for i := 0; time.Now().Before(stop); i++ {
				id := fmt.Sprintf("w%d-s%d", w, i)
				one := &ekycv1.SessionState{TenantId: "tenant-crash", SessionId: id, Status: ekycv1.SessionStatus_SESSION_STATUS_CREATED}
				if err := s.Put(ctx, one, 0); err != nil {
					fmt.Fprintln(os.Stderr, "child:", err)
					os.Exit(2)
				}
				counter.AppliedEventIds = append(counter.AppliedEventIds[:0], id)
				if err := s.Put(ctx, counter, counter.GetVersion()); err != nil {
					fmt.Fprintln(os.Stderr, "child:", err)
					os.Exit(2)
				}
				// One write(2) per line: lines of different goroutines do not mix.
				os.Stdout.WriteString(fmt.Sprintf("ack %d %s %d\n", w, id, counter.GetVersion()))
			}
		}()
	}
	wg.Wait()
	_ = s.Close()
	os.Exit(3)
}
