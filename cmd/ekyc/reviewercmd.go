package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/openekyc/ekyc/node"
	rv "github.com/openekyc/ekyc/services/review"
	"github.com/openekyc/ekyc/store/audit"
	"github.com/openekyc/ekyc/store/keys"
	"github.com/openekyc/ekyc/store/review"
)

const reviewerUsage = `usage:
  ekyc reviewer create [-config F] -tenant T -username U [-role reviewer|senior_reviewer|admin] [-actor A] < password
      creates a reviewer of the console (/console); the password is the first line of stdin
      (at least 12 characters), hashed with argon2id
  ` + adminLockNote + ` (and <data_dir>/review)
`

// cmdReviewer: ekyc reviewer create.
func cmdReviewer(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "create" {
		fmt.Fprint(stderr, reviewerUsage)
		return 2
	}
	fs, actor := adminFlags("reviewer create", stderr, reviewerUsage)
	tenant := fs.String("tenant", "", "tenant id")
	username := fs.String("username", "", "login name")
	role := fs.String("role", string(rv.RoleReviewer), "reviewer, senior_reviewer or admin")
	return withAdmin(fs, args[1:], stderr, "reviewer create", false, func(ctx context.Context, a *adminStores) int {
		if stdin == nil {
			fmt.Fprintln(stderr, "reviewer create: the password is read from stdin")
			return 2
		}
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			fmt.Fprintln(stderr, "reviewer create: reading the password:", err)
			return 1
		}
		password := strings.TrimRight(line, "\r\n")
		if len(password) < 12 {
			fmt.Fprintln(stderr, "reviewer create: the password must have at least 12 characters")
			return 2
		}
		if !knownTenant(ctx, a, *tenant) {
			fmt.Fprintf(stderr, "reviewer create: unknown tenant %q (configure it or run ekyc tenant create)\n", *tenant)
			return 2
		}
		master, err := keys.FileMaster(a.cfg.MasterKeyFile)
		if err != nil {
			fmt.Fprintln(stderr, "reviewer create:", err)
			return 1
		}
		ring, err := keys.Open(ctx, node.KeyringDir(a.cfg), master)
		if err != nil {
			fmt.Fprintln(stderr, "reviewer create:", err)
			return 1
		}
		defer ring.Close()
		st, err := review.Open(ctx, node.ReviewDir(a.cfg), ring)
		if err != nil {
			fmt.Fprintln(stderr, "reviewer create:", err)
			return 1
		}
		defer st.Close()
		r, err := st.CreateReviewer(ctx, *tenant, *username, password, rv.Role(*role))
		if err != nil {
			fmt.Fprintln(stderr, "reviewer create:", err)
			if errors.Is(err, review.ErrInvalid) {
				return 2
			}
			return 1
		}
		if !record(ctx, a, stderr, audit.Entry{Tenant: *tenant, Actor: *actor, Action: "review.reviewer_created", Subject: r.ID,
			Details: map[string]string{"role": string(r.Role)}}) {
			return 1
		}
		fmt.Fprintf(stdout, "reviewer %s created (id %s, role %s)\n", r.Username, r.ID, r.Role)
		return 0
	})
}

// knownTenant: a tenant of the configuration or of the tenants store.
func knownTenant(ctx context.Context, a *adminStores, id string) bool {
	for _, t := range a.cfg.Tenants {
		if t.ID == id {
			return true
		}
	}
	_, err := a.tenants.Tenant(ctx, id)
	return err == nil
}
