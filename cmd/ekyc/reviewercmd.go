package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

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
  ekyc reviewer list [-config F] -tenant T
      the tenant's reviewers, one JSON object per line (no password material)
  ekyc reviewer set-role [-config F] -tenant T -username U -role R [-actor A]
  ekyc reviewer disable|enable [-config F] -tenant T -username U [-actor A]
      a disabled reviewer cannot log in; disabling ends the reviewer's logins
  ekyc reviewer password [-config F] -tenant T -username U [-actor A] < password
      sets a new password (first line of stdin); ends the reviewer's logins
  ` + adminLockNote + ` (and <data_dir>/review)
`

// cmdReviewer: ekyc reviewer create|list|set-role|disable|enable|password.
// Every change is an audit entry.
func cmdReviewer(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, reviewerUsage)
		return 2
	}
	sub := args[0]
	prog := "reviewer " + sub
	fs, actor := adminFlags(prog, stderr, reviewerUsage)
	tenant := fs.String("tenant", "", "tenant id")
	var username, role *string
	switch sub {
	case "create", "set-role":
		username = fs.String("username", "", "login name")
		def := ""
		if sub == "create" {
			def = string(rv.RoleReviewer)
		}
		role = fs.String("role", def, "reviewer, senior_reviewer or admin")
	case "disable", "enable", "password":
		username = fs.String("username", "", "login name")
	case "list":
	default:
		fmt.Fprint(stderr, reviewerUsage)
		return 2
	}
	return withAdmin(fs, args[1:], stderr, prog, false, func(ctx context.Context, a *adminStores) int {
		if !knownTenant(ctx, a, *tenant) {
			fmt.Fprintf(stderr, "%s: unknown tenant %q (configure it or run ekyc tenant create)\n", prog, *tenant)
			return 2
		}
		var password string
		if sub == "create" || sub == "password" {
			var ok bool
			if password, ok = readPassword(stdin, stderr, prog); !ok {
				return 2
			}
		}
		st, closeStore, err := openReviewStore(ctx, a)
		if err != nil {
			fmt.Fprintln(stderr, prog+":", err)
			return 1
		}
		defer closeStore()
		fail := func(err error) int {
			fmt.Fprintln(stderr, prog+":", err)
			if errors.Is(err, review.ErrInvalid) || errors.Is(err, review.ErrNotFound) {
				return 2
			}
			return 1
		}

		if sub == "list" {
			rs, err := st.Reviewers(ctx, *tenant)
			if err != nil {
				return fail(err)
			}
			enc := json.NewEncoder(stdout)
			for _, r := range rs {
				if err := enc.Encode(reviewerJSON{ID: r.ID, Tenant: r.Tenant, Username: r.Username, Role: string(r.Role),
					Disabled: r.Disabled, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}); err != nil {
					return 1
				}
			}
			return 0
		}
		if sub == "create" {
			r, err := st.CreateReviewer(ctx, *tenant, *username, password, rv.Role(*role))
			if err != nil {
				return fail(err)
			}
			if !record(ctx, a, stderr, audit.Entry{Tenant: *tenant, Actor: *actor, Action: "review.reviewer_created", Subject: r.ID,
				Details: map[string]string{"role": string(r.Role)}}) {
				return 1
			}
			fmt.Fprintf(stdout, "reviewer %s created (id %s, role %s)\n", r.Username, r.ID, r.Role)
			return 0
		}

		r, err := reviewerByName(ctx, st, *tenant, *username)
		if err != nil {
			return fail(err)
		}
		var action string
		details := map[string]string{}
		switch sub {
		case "set-role":
			if r, err = st.SetRole(ctx, *tenant, r.ID, rv.Role(*role)); err != nil {
				return fail(err)
			}
			action, details["role"] = "review.reviewer_role_set", string(r.Role)
		case "disable", "enable":
			if r, err = st.SetDisabled(ctx, *tenant, r.ID, sub == "disable"); err != nil {
				return fail(err)
			}
			action = "review.reviewer_" + sub + "d"
		case "password":
			if err := st.SetPassword(ctx, *tenant, r.ID, password); err != nil {
				return fail(err)
			}
			action = "review.reviewer_password_set"
		}
		if !record(ctx, a, stderr, audit.Entry{Tenant: *tenant, Actor: *actor, Action: action, Subject: r.ID, Details: details}) {
			return 1
		}
		fmt.Fprintf(stdout, "reviewer %s: %s\n", r.Username, strings.TrimPrefix(action, "review.reviewer_"))
		return 0
	})
}

type reviewerJSON struct {
	ID        string    `json:"id"`
	Tenant    string    `json:"tenant"`
	Username  string    `json:"username"`
	Role      string    `json:"role"`
	Disabled  bool      `json:"disabled"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// readPassword reads the first line of stdin (at least 12 characters).
func readPassword(stdin io.Reader, stderr io.Writer, prog string) (string, bool) {
	if stdin == nil {
		fmt.Fprintln(stderr, prog+": the password is read from stdin")
		return "", false
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		fmt.Fprintln(stderr, prog+": reading the password:", err)
		return "", false
	}
	password := strings.TrimRight(line, "\r\n")
	if len(password) < 12 {
		fmt.Fprintln(stderr, prog+": the password must have at least 12 characters")
		return "", false
	}
	return password, true
}

// openReviewStore opens the key ring and the review store of the node's
// data directory (node stopped).
func openReviewStore(ctx context.Context, a *adminStores) (*review.Store, func(), error) {
	master, err := keys.FileMaster(a.cfg.MasterKeyFile)
	if err != nil {
		return nil, nil, err
	}
	ring, err := keys.Open(ctx, node.KeyringDir(a.cfg), master)
	if err != nil {
		return nil, nil, err
	}
	st, err := review.Open(ctx, node.ReviewDir(a.cfg), ring)
	if err != nil {
		_ = ring.Close()
		return nil, nil, err
	}
	return st, func() { _ = st.Close(); _ = ring.Close() }, nil
}

// reviewerByName finds a tenant's reviewer by login name.
func reviewerByName(ctx context.Context, st *review.Store, tenant, username string) (review.Reviewer, error) {
	rs, err := st.Reviewers(ctx, tenant)
	if err != nil {
		return review.Reviewer{}, err
	}
	for _, r := range rs {
		if r.Username == username {
			return r, nil
		}
	}
	return review.Reviewer{}, fmt.Errorf("%w: no reviewer %q in tenant %s", review.ErrNotFound, username, tenant)
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
