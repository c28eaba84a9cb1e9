// Command ekyc is the ekyc node and its tools.
//
//	ekyc run [-config FILE]           start a node (embedded defaults without a config)
//	ekyc submit -file REQUEST.json    produce a verification request and wait for its decision
//	ekyc mrz parse < lines.txt        parse and validate an MRZ, print JSON
//	ekyc face compare SELFIE DOC      compare a selfie with a document portrait, print JSON
//	ekyc face inspect IMAGE           per-face signals, print JSON
//	ekyc analytics REPORT             run an analyst report against the analytics store
//	ekyc migrate [-config FILE]       create the CQL keyspace and tables, and the analytics schema
//	ekyc tenant|key|webhook-secret    manage tenants, API keys and webhook secrets (node stopped)
//	ekyc audit verify|list            check and read the hash-chained audit log
//	ekyc version
package main

import (
	"fmt"
	"io"
	"os"
	"time"
)

var version = "dev"

const usage = `usage: ekyc <command> [flags]

commands:
  run        start a node (see -config; embedded defaults when omitted)
  submit     produce a verification request from a JSON file and wait for its decision
  mrz parse  read MRZ lines on stdin and print the parsed result as JSON
  doc read IMAGE                 read the MRZ from a document image: fields, checks, forensics, portrait (JSON)
  face compare SELFIE DOCUMENT   detect, check quality/liveness and compare two faces (JSON)
  face inspect IMAGE             per-face signals of one image (JSON)
  screen -name NAME [-dob D] [-country C]   screen a name against the sanctions/PEP lists (JSON hits)
  screen -batch FILE.jsonl       screen one query per line (bulk re-screening), one JSON result per line
  analytics REPORT [-tenant T] [-from D] [-to D] [-csv]   run an analyst report (ekyc analytics -list)
  migrate    create the CQL keyspace and tables (store.backend=cql) and the analytics schema
  tenant create|update|list      manage tenants (ekyc tenant for flags)
  key create|list|revoke         manage API keys; create prints the key once
  webhook-secret rotate|retire   rotate a tenant's webhook signing secret; rotate prints it once
  reviewer create                console reviewers (password on stdin, argon2id)
  audit verify|list              check the audit log's hash chain (prints the head to anchor), list entries
  labels export                  labelled examples of reviewed cases, one JSON object per line
             tenant, key, webhook-secret, audit and labels open <data_dir> directly: stop the node first
  version    print the version
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "run":
		return cmdRun(args[1:], stderr)
	case "submit":
		return cmdSubmit(args[1:], stdout, stderr)
	case "migrate":
		return cmdMigrate(args[1:], stdout, stderr)
	case "mrz":
		if len(args) < 2 || args[1] != "parse" {
			fmt.Fprintln(stderr, "usage: ekyc mrz parse < lines.txt")
			return 2
		}
		return runMRZParse(stdin, stdout, stderr, time.Now())
	case "doc":
		return cmdDoc(args[1:], stdout, stderr)
	case "face":
		return cmdFace(args[1:], stdout, stderr)
	case "screen":
		return cmdScreen(args[1:], stdout, stderr)
	case "analytics":
		return cmdAnalytics(args[1:], stdout, stderr)
	case "tenant":
		return cmdTenant(args[1:], stdout, stderr)
	case "key":
		return cmdKey(args[1:], stdout, stderr)
	case "webhook-secret":
		return cmdWebhookSecret(args[1:], stdout, stderr)
	case "audit":
		return cmdAudit(args[1:], stdout, stderr)
	case "labels":
		return cmdLabels(args[1:], stdout, stderr)
	case "reviewer":
		return cmdReviewer(args[1:], stdin, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, version)
		return 0
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "ekyc: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
}
