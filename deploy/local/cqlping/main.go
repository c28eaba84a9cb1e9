// Command cqlping waits until a CQL server (Apache Cassandra, ScyllaDB)
// answers a query: it connects with gocql and runs
// "SELECT release_version FROM system.local", retrying until the deadline.
// On success it prints the release version and exits 0; on timeout it prints
// the last error and exits 1. deploy/local/cassandra.sh uses it as the
// readiness check.
//
//	go run ./deploy/local/cqlping -hosts 127.0.0.1:29042 -timeout 2m
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"strings"
	"time"

	"github.com/gocql/gocql"
)

func main() {
	hosts := flag.String("hosts", "127.0.0.1:29042", "comma-separated contact points, host:port")
	timeout := flag.Duration("timeout", time.Minute, "give up after this long")
	interval := flag.Duration("interval", 500*time.Millisecond, "pause between attempts")
	quiet := flag.Bool("q", false, "print nothing on success")
	flag.Parse()

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	version, err := wait(ctx, strings.Split(*hosts, ","), *interval)
	if err != nil {
		fmt.Fprintf(os.Stderr, "cqlping: %s: no CQL answer within %v: %v\n", *hosts, *timeout, err)
		os.Exit(1)
	}
	if !*quiet {
		fmt.Println(version)
	}
}

// wait retries ping until it succeeds or ctx is done; it returns the last
// error in the latter case.
func wait(ctx context.Context, hosts []string, interval time.Duration) (string, error) {
	var last error
	for {
		version, err := ping(ctx, hosts)
		if err == nil {
			return version, nil
		}
		last = err
		select {
		case <-ctx.Done():
			return "", last
		case <-time.After(interval):
		}
	}
}

// ping connects once and reads the server's release version.
func ping(ctx context.Context, hosts []string) (string, error) {
	c := gocql.NewCluster(hosts...)
	c.Consistency = gocql.One
	c.ConnectTimeout = 5 * time.Second
	c.Timeout = 5 * time.Second
	c.NumConns = 1
	c.DisableInitialHostLookup = true
	c.Logger = log.New(io.Discard, "", 0) // the retries are expected; the last error is reported
	if d, ok := ctx.Deadline(); ok && time.Until(d) < c.ConnectTimeout {
		c.ConnectTimeout = max(time.Until(d), time.Millisecond)
	}
	s, err := c.CreateSession()
	if err != nil {
		return "", err
	}
	defer s.Close()
	var version string
	if err := s.Query("SELECT release_version FROM system.local").WithContext(ctx).Scan(&version); err != nil {
		return "", err
	}
	if version == "" {
		return "", errors.New("empty release_version")
	}
	return version, nil
}
