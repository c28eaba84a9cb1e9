package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/openekyc/ekyc/store/audit"
)

const auditUsage = `usage:
  ekyc audit verify [-config F] [-anchor SEQ:HASH]
      check the hash chain; prints "ok: N entries, head HASH" (exit 0) or the
      first bad entry (exit 1). Keep the printed head outside this machine
      and pass it back as -anchor: a rewrite of the whole chain passes the
      chain check but not the anchor.
  ekyc audit list [-config F] [-tenant T] [-limit N]
      entries newest first, one JSON object per line (all tenants without -tenant)
  these commands open <data_dir>/audit directly: stop the node on this data directory first
`

// cmdAudit: ekyc audit verify|list.
func cmdAudit(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, auditUsage)
		return 2
	}
	fs := flag.NewFlagSet("audit "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, auditUsage) }
	switch args[0] {
	case "verify":
		anchor := fs.String("anchor", "", "SEQ:HASH of an earlier head that must still be in the chain")
		return withAudit(fs, args[1:], stderr, "audit verify", func(ctx context.Context, l *audit.Log) int {
			var aSeq uint64
			var aHash string
			if *anchor != "" {
				var err error
				if aSeq, aHash, err = parseAnchor(*anchor); err != nil {
					fmt.Fprintln(stderr, "audit verify: -anchor:", err)
					return 2
				}
			}
			rep, err := l.Verify(ctx)
			var te *audit.TamperError
			if errors.As(err, &te) {
				fmt.Fprintf(stderr, "TAMPERED: entry %d: %s\n", te.Seq, te.Reason)
				return 1
			}
			if err != nil {
				fmt.Fprintln(stderr, "audit verify:", err)
				return 1
			}
			if *anchor != "" {
				e, err := l.Entry(ctx, aSeq)
				if err != nil || e.Hash != aHash {
					fmt.Fprintf(stderr, "TAMPERED: entry %d: does not match the anchored hash (the chain was rewritten)\n", aSeq)
					return 1
				}
			}
			fmt.Fprintf(stdout, "ok: %d entries, head %s\n", rep.Entries, headOrNone(rep.Head))
			return 0
		})
	case "list":
		tenant := fs.String("tenant", "", "tenant id (empty: all)")
		limit := fs.Int("limit", 100, "most entries to print (at most 10000)")
		return withAudit(fs, args[1:], stderr, "audit list", func(ctx context.Context, l *audit.Log) int {
			es, err := l.List(ctx, *tenant, *limit)
			if err != nil {
				fmt.Fprintln(stderr, "audit list:", err)
				return 1
			}
			enc := json.NewEncoder(stdout)
			for _, e := range es {
				if err := enc.Encode(e); err != nil {
					fmt.Fprintln(stderr, "audit list:", err)
					return 1
				}
			}
			return 0
		})
	default:
		fmt.Fprintf(stderr, "ekyc audit: unknown subcommand %q\n%s", args[0], auditUsage)
		return 2
	}
}

func headOrNone(h string) string {
	if h == "" {
		return "(empty log)"
	}
	return h
}

// parseAnchor parses SEQ:HASH.
func parseAnchor(s string) (uint64, string, error) {
	seqS, hash, ok := strings.Cut(s, ":")
	seq, err := strconv.ParseUint(seqS, 10, 64)
	if !ok || err != nil || seq == 0 {
		return 0, "", errors.New("want SEQ:HASH, as printed by a previous run (e.g. 42:3fa9...)")
	}
	if len(hash) != 64 || strings.Trim(strings.ToLower(hash), "0123456789abcdef") != "" {
		return 0, "", errors.New("HASH must be 64 hex digits")
	}
	return seq, strings.ToLower(hash), nil
}

// withAudit loads the configuration, opens the audit log and runs f.
func withAudit(fs *flag.FlagSet, args []string, stderr io.Writer, prog string, f func(ctx context.Context, l *audit.Log) int) int {
	cfg, ok := loadConfig(fs, args, stderr)
	if !ok {
		return 2
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(stderr, "%s: unexpected arguments %q\n", prog, fs.Args())
		fs.Usage()
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()
	l, err := audit.Open(ctx, auditDir(cfg))
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", prog, err)
		if errors.Is(err, audit.ErrLocked) {
			fmt.Fprintf(stderr, "%s: stop the node on this data directory first (Pebble allows one process)\n", prog)
		}
		return 1
	}
	code := f(ctx, l)
	if err := l.Close(); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", prog, err)
		return max(code, 1)
	}
	return code
}
