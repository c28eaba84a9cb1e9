// Command un2senzing converts the UN Security Council Consolidated List XML into
// Senzing JSON lines that moov-io/watchman loads as a Senzing list (watchman
// v0.60.0 has no UN source). bench/screening/watchman.sh runs it.
//
//	go run ./bench/screening/cmd/un2senzing -in consolidated.xml -out un.jsonl
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"

	screeningbench "github.com/openekyc/ekyc/bench/screening"
)

func main() {
	in := flag.String("in", "", "UN consolidated.xml")
	out := flag.String("out", "", "output JSON lines file (default stdout)")
	flag.Parse()
	if err := run(*in, *out); err != nil {
		fmt.Fprintln(os.Stderr, "un2senzing:", err)
		os.Exit(1)
	}
}

func run(in, out string) error {
	if in == "" {
		return fmt.Errorf("-in is required")
	}
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	entries, err := screeningbench.ReadUN(f)
	if err != nil {
		return err
	}
	w := os.Stdout
	if out != "" {
		tmp := out + ".tmp"
		if w, err = os.Create(tmp); err != nil {
			return err
		}
		defer os.Remove(tmp)
	}
	bw := bufio.NewWriter(w)
	n, err := screeningbench.WriteSenzing(bw, entries)
	if err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if out != "" {
		if err := w.Close(); err != nil {
			return err
		}
		if err := os.Rename(out+".tmp", out); err != nil {
			return err
		}
	}
	fmt.Fprintf(os.Stderr, "un2senzing: %d UN entries, %d Senzing records\n", len(entries), n)
	return nil
}
