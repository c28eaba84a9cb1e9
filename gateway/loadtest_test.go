package gateway_test

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openekyc/ekyc/gateway"
)

// TestLoadFromSecondProcess serves the gateway on loopback (real apistate
// on Pebble with envelope encryption; the in-test key table, blobs and
// publisher, which session creation and status reads do not touch beyond
// authentication) and drives it with bench/gateway as a separate process.
// It prints the load generator's report; it asserts only that no request
// failed (throughput is reported, never asserted).
//
//	EKYC_GATEWAY_LOADTEST=1 go test ./gateway -run TestLoadFromSecondProcess -v
//
// EKYC_GATEWAY_LOADTEST_ARGS adds flags (e.g. "-c 64 -d 20s").
func TestLoadFromSecondProcess(t *testing.T) {
	if os.Getenv("EKYC_GATEWAY_LOADTEST") == "" {
		t.Skip("set EKYC_GATEWAY_LOADTEST=1 to run the loopback load test (builds and runs bench/gateway)")
	}
	bin := filepath.Join(t.TempDir(), "gateway-bench")
	build := exec.Command("go", "build", "-o", bin, "../bench/gateway")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)

	h := newHarness(t, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- gateway.ServeListener(ctx, ln, h.g, gateway.TLSFiles{}) }()
	defer func() {
		cancel()
		require.NoError(t, <-done)
	}()

	errorsCol := regexp.MustCompile(`(?m)^(create|status)\s+(\d+)\s+\S+\s+\S+\s+\S+\s+\S+\s+(\d+)\s+`)
	for _, mode := range []string{"create", "status", "mixed"} {
		args := []string{"-url", "http://" + ln.Addr().String(), "-key", keyAWrite, "-mode", mode, "-c", "16", "-d", "5s"}
		if extra := os.Getenv("EKYC_GATEWAY_LOADTEST_ARGS"); extra != "" {
			args = append(args, regexp.MustCompile(`\s+`).Split(extra, -1)...)
		}
		cmd := exec.Command(bin, args...)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		t.Logf("\n%s", out)
		rows := errorsCol.FindAllStringSubmatch(string(out), -1)
		require.NotEmpty(t, rows, "no report rows")
		for _, r := range rows {
			n, _ := strconv.Atoi(r[2])
			require.Positive(t, n, "%s made no requests", r[1])
			require.Equal(t, "0", r[3], "%s had errors", r[1])
		}
	}
}
