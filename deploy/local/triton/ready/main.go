// Command ready asks a Triton (KServe v2) gRPC endpoint whether it is ready:
// ServerReady, then ModelReady for each -model. Exit status 0: ready; 1: not
// ready or unreachable (the reason on stderr); 2: usage. Used by
// deploy/local/triton.sh to wait for start-up and for `status`.
//
//	go run ./deploy/local/triton/ready -addr 127.0.0.1:28001 -model face_embed
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	inferencev1 "github.com/openekyc/ekyc/proto/inference"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:28001", "gRPC address host:port")
	timeout := flag.Duration("timeout", 2*time.Second, "deadline of the checks")
	models := flag.String("model", "", "comma-separated models that must be ready too")
	quiet := flag.Bool("q", false, "print nothing when ready")
	flag.Parse()
	if flag.NArg() != 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := check(*addr, *timeout, *models); err != nil {
		fmt.Fprintf(os.Stderr, "ready: %s: %v\n", *addr, err)
		os.Exit(1)
	}
	if !*quiet {
		fmt.Printf("ready: %s is ready\n", *addr)
	}
}

func check(addr string, timeout time.Duration, models string) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	client := inferencev1.NewGRPCInferenceServiceClient(conn)
	resp, err := client.ServerReady(ctx, &inferencev1.ServerReadyRequest{})
	if err != nil {
		return err
	}
	if !resp.GetReady() {
		return fmt.Errorf("server not ready")
	}
	for _, m := range strings.Split(models, ",") {
		if m = strings.TrimSpace(m); m == "" {
			continue
		}
		r, err := client.ModelReady(ctx, &inferencev1.ModelReadyRequest{Name: m})
		if err != nil {
			return fmt.Errorf("model %s: %w", m, err)
		}
		if !r.GetReady() {
			return fmt.Errorf("model %s not ready", m)
		}
	}
	return nil
}
