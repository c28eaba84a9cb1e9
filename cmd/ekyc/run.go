package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/openekyc/ekyc/config"
	"github.com/openekyc/ekyc/node"
)

func loadConfig(fs *flag.FlagSet, args []string, stderr io.Writer) (config.Config, bool) {
	path := fs.String("config", os.Getenv("EKYC_CONFIG"), "YAML configuration file (env EKYC_CONFIG)")
	if err := fs.Parse(args); err != nil {
		return config.Config{}, false
	}
	cfg, err := config.Load(*path, os.Environ())
	if err != nil {
		fmt.Fprintln(stderr, err)
		return cfg, false
	}
	return cfg, true
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(strings.ToUpper(cfg.Log.Level)))
	o := &slog.HandlerOptions{Level: lvl}
	if cfg.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, o))
	}
	return slog.New(slog.NewTextHandler(w, o))
}

func cmdRun(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg, ok := loadConfig(fs, args, stderr)
	if !ok {
		return 2
	}
	log := newLogger(cfg, stderr)
	slog.SetDefault(log)
	startCtx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	n, err := node.Start(startCtx, cfg, node.WithLogger(log))
	cancel()
	if err != nil {
		log.Error("node failed to start", "err", err)
		return 1
	}
	brokers := strings.Join(n.Brokers(), ",")
	fmt.Fprintf(stderr, `
ekyc node is running (tenants: %s; admin: http://%s/metrics /healthz /readyz).
Submit a verification and wait for its decision:

    bin/ekyc submit -brokers %s -file testdata/requests/approve.json
    bin/ekyc submit -brokers %s -file testdata/requests/reject-bad-mrz.json

or produce JSON yourself to topic %s (key = session id, header content-type: application/json)
and read decisions from %s. Stop with Ctrl-C.

`, tenantList(cfg), n.AdminAddr(), brokers, brokers, cfg.Kafka.Topics.Requests, cfg.Kafka.Topics.Decisions)
	if addr := n.GatewayAddr(); addr != "" {
		browserAddr := addr
		if host, port, err := net.SplitHostPort(addr); err == nil && (host == "127.0.0.1" || host == "::1") {
			browserAddr = net.JoinHostPort("localhost", port) // browsers offer the camera on localhost
		}
		scheme := "http"
		if cfg.Gateway.TLS.Enabled() {
			scheme = "https"
		}
		fmt.Fprintf(stderr, "HTTP API: %s://%s/v1 (docs/api.md)\n", scheme, addr)
		if cfg.Demo.Enabled {
			fmt.Fprintf(stderr, "Capture demo (web SDK): %s://%s/demo/\n", scheme, browserAddr)
		}
		fmt.Fprintf(stderr, "Reviewer console: %s://%s/console/ (reviewers: ekyc reviewer create, node stopped)\n\n", scheme, browserAddr)
	}

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	log.Info("stopping (graceful drain)")
	n.Close(true)
	return 0
}

func tenantList(cfg config.Config) string {
	var ids []string
	for _, t := range cfg.Tenants {
		ids = append(ids, t.ID)
	}
	return strings.Join(ids, ",")
}

func cmdMigrate(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg, ok := loadConfig(fs, args, stderr)
	if !ok {
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if cfg.Store.Backend == "cql" {
		if err := node.MigrateCQL(ctx, cfg); err != nil {
			fmt.Fprintln(stderr, "migrate:", err)
			return 1
		}
		fmt.Fprintf(stdout, "keyspace %s: session and monitoring tables are in place\n", cfg.Store.CQL.Keyspace)
	} else {
		fmt.Fprintf(stdout, "store.backend is %q: nothing to migrate (Pebble needs no schema)\n", cfg.Store.Backend)
	}
	switch cfg.Analytics.Backend {
	case "none":
		fmt.Fprintln(stdout, "analytics.backend is \"none\": no analytics schema")
	default:
		if err := node.MigrateAnalytics(ctx, cfg); err != nil {
			fmt.Fprintln(stderr, "migrate analytics:", err)
			return 1
		}
		fmt.Fprintf(stdout, "analytics (%s): tables and views are in place\n", cfg.Analytics.Backend)
	}
	return 0
}
