package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/openekyc/ekyc/node"
	"github.com/openekyc/ekyc/store/labels"
)

const labelsUsage = `usage:
  ekyc labels export [-config F]
      the labelled examples of reviewed cases (the reviewer's outcome as the
      label, the checks' measurements as features), one JSON object per line
  this command opens <data_dir>/labels directly: stop the node on this data directory first
`

// cmdLabels: ekyc labels export.
func cmdLabels(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "export" {
		fmt.Fprint(stderr, labelsUsage)
		return 2
	}
	fs := flag.NewFlagSet("labels export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, labelsUsage) }
	cfg, ok := loadConfig(fs, args[1:], stderr)
	if !ok {
		return 2
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(stderr, "labels export: unexpected arguments %q\n", fs.Args())
		fs.Usage()
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()
	s, err := labels.Open(ctx, node.LabelsDir(cfg))
	if err != nil {
		fmt.Fprintln(stderr, "labels export:", err)
		return 1
	}
	n, err := s.Export(ctx, stdout)
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		fmt.Fprintln(stderr, "labels export:", err)
		return 1
	}
	fmt.Fprintf(stderr, "%d examples\n", n)
	return 0
}
