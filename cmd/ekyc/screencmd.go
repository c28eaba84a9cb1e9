package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/openekyc/ekyc/config"
	"github.com/openekyc/ekyc/node"
	"github.com/openekyc/ekyc/services/screening"
)

// listFlags collects repeated -list flags.
type listFlags []string

func (l *listFlags) String() string     { return strings.Join(*l, ",") }
func (l *listFlags) Set(v string) error { *l = append(*l, v); return nil }

// cmdScreen runs `ekyc screen`: one query (-name, -dob, -country) or a batch
// (-batch file.jsonl, one query per line: {"name", "dob", "countries",
// "doc_numbers", "type"}), against the lists of -config (screening.lists) or
// of -list flags. It prints JSON: the hits with their score components and
// the list versions; a batch prints one result per line, in input order,
// with {"line", "error"} for a line that cannot be screened.
func cmdScreen(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("screen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "deploy/ekyc.yaml", "node configuration whose screening.lists to use")
	var lists listFlags
	fs.Var(&lists, "list", "source=location list (repeatable; replaces the configuration's lists)")
	name := fs.String("name", "", "name to screen")
	dob := fs.String("dob", "", "date of birth: YYYY-MM-DD, YYYY-MM or YYYY")
	country := fs.String("country", "", "nationalities or countries, comma separated")
	batch := fs.String("batch", "", "JSON-lines file of queries (- for stdin)")
	threshold := fs.Float64("threshold", 0, "minimum score of a printed hit (default screening.threshold)")
	limit := fs.Int("limit", screening.DefaultLimit, "maximum hits per query")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if (*name == "") == (*batch == "") {
		fmt.Fprintln(stderr, "usage: ekyc screen -name NAME [-dob DATE] [-country C] | -batch FILE.jsonl  [-config FILE | -list source=location ...]")
		return 2
	}
	min := *threshold
	if len(lists) == 0 || min == 0 {
		cfg, err := config.Load(*cfgPath, os.Environ())
		if err != nil {
			fmt.Fprintln(stderr, "ekyc screen:", err)
			return 2
		}
		if len(lists) == 0 {
			lists = cfg.Screening.Lists
		}
		if min == 0 {
			min = cfg.Screening.Threshold
		}
	}
	if len(lists) == 0 {
		fmt.Fprintln(stderr, "ekyc screen: no lists (screening.lists in the configuration, or -list source=location)")
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	loaded, err := node.LoadLists(ctx, lists)
	if err != nil {
		fmt.Fprintln(stderr, "ekyc screen: lists:", err)
		return 1
	}
	ix, err := screening.NewIndex(loaded)
	if err != nil {
		fmt.Fprintln(stderr, "ekyc screen: index:", err)
		return 1
	}
	opts := []screening.ScreenOption{screening.WithLimit(*limit), screening.WithMinScore(min)}
	enc := json.NewEncoder(stdout)
	if *name != "" {
		q := screening.Query{Name: *name}
		if *dob != "" {
			if q.DOB, err = screening.ParseDate(*dob); err != nil {
				fmt.Fprintln(stderr, "ekyc screen: -dob:", err)
				return 2
			}
		}
		if *country != "" {
			q.Countries = strings.Split(*country, ",")
		}
		res, err := ix.Screen(q, opts...)
		if err != nil {
			fmt.Fprintln(stderr, "ekyc screen:", err)
			return 2
		}
		enc.SetIndent("", "  ")
		_ = enc.Encode(res)
		return 0
	}
	in := io.Reader(os.Stdin)
	if *batch != "-" {
		f, err := os.Open(*batch)
		if err != nil {
			fmt.Fprintln(stderr, "ekyc screen:", err)
			return 2
		}
		defer f.Close()
		in = f
	}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	failed := 0
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		var q screening.Query
		var res *screening.Result
		err := json.Unmarshal([]byte(text), &q)
		if err == nil {
			res, err = ix.Screen(q, opts...)
		}
		if err != nil {
			failed++
			_ = enc.Encode(map[string]any{"line": line, "error": err.Error()})
			continue
		}
		_ = enc.Encode(map[string]any{"line": line, "query": q.Name, "result": res})
	}
	if err := sc.Err(); err != nil && !errors.Is(err, io.EOF) {
		fmt.Fprintln(stderr, "ekyc screen:", err)
		return 1
	}
	if failed > 0 {
		fmt.Fprintf(stderr, "ekyc screen: %d lines could not be screened\n", failed)
		return 3
	}
	return 0
}
