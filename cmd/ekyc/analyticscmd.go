package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/openekyc/ekyc/node"
	"github.com/openekyc/ekyc/store/analytics"
)

// cmdAnalytics runs one analyst report against the configured analytics
// store and prints it.
//
//	ekyc analytics [-config F] [-tenant T] [-from D] [-to D] [-limit N] [-csv] REPORT
//	ekyc analytics -list
func cmdAnalytics(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("analytics", flag.ContinueOnError)
	fs.SetOutput(stderr)
	tenant := fs.String("tenant", "", "restrict to one tenant")
	from := fs.String("from", "", "first day or instant (YYYY-MM-DD or RFC 3339), inclusive")
	to := fs.String("to", "", "last bound (YYYY-MM-DD or RFC 3339), exclusive")
	limit := fs.Int("limit", 0, "row limit (0: the report's default)")
	asCSV := fs.Bool("csv", false, "print CSV instead of an aligned table")
	list := fs.Bool("list", false, "list the reports")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: ekyc analytics [-config FILE] [-tenant T] [-from D] [-to D] [-limit N] [-csv] REPORT\n       ekyc analytics -list")
		fs.PrintDefaults()
	}
	cfg, ok := loadConfig(fs, args, stderr)
	if !ok {
		return 2
	}
	if *list {
		for _, r := range analytics.Reports() {
			fmt.Fprintf(stdout, "%-20s %s\n", r.Name, r.Description)
		}
		return 0
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	name := fs.Arg(0)
	if _, ok := analytics.LookupReport(name); !ok {
		fmt.Fprintf(stderr, "analytics: unknown report %q (ekyc analytics -list)\n", name)
		return 2
	}
	p := analytics.Params{Tenant: *tenant, Limit: *limit}
	var err error
	if p.From, err = parseWhen(*from); err != nil {
		fmt.Fprintln(stderr, "analytics: -from:", err)
		return 2
	}
	if p.To, err = parseWhen(*to); err != nil {
		fmt.Fprintln(stderr, "analytics: -to:", err)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st, err := node.OpenAnalytics(ctx, cfg)
	if err != nil {
		fmt.Fprintln(stderr, "analytics:", err)
		return 1
	}
	if st == nil {
		fmt.Fprintln(stderr, "analytics: analytics.backend is \"none\"")
		return 1
	}
	defer st.Close()
	tb, err := st.Report(ctx, name, p)
	if err != nil {
		fmt.Fprintln(stderr, "analytics:", err)
		return 1
	}
	if *asCSV {
		err = tb.WriteCSV(stdout)
	} else {
		err = tb.WriteText(stdout)
	}
	if err != nil {
		fmt.Fprintln(stderr, "analytics:", err)
		return 1
	}
	return 0
}

func parseWhen(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	return time.Parse(time.RFC3339, s)
}
