// Command milvusping checks that a Milvus server answers (it lists the
// collections). deploy/local/milvus.sh builds it for its readiness check.
//
//	milvusping -addr 127.0.0.1:29530 [-timeout 2s] [-q]
//
// It exits 0 when the server answered, 1 otherwise.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/openekyc/ekyc/store/vectors/milvusstore"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:29530", "host:port of the Milvus server")
	timeout := flag.Duration("timeout", 2*time.Second, "give up after this long")
	quiet := flag.Bool("q", false, "print nothing")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	if err := milvusstore.Ping(ctx, *addr); err != nil {
		if !*quiet {
			fmt.Fprintln(os.Stderr, "milvusping:", err)
		}
		os.Exit(1)
	}
	if !*quiet {
		fmt.Println("milvus answering on", *addr)
	}
}
