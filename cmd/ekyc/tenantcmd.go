package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/openekyc/ekyc/config"
	"github.com/openekyc/ekyc/internal/envelope"
	"github.com/openekyc/ekyc/node"
	"github.com/openekyc/ekyc/store/audit"
	"github.com/openekyc/ekyc/store/keys"
	"github.com/openekyc/ekyc/store/tenants"
)

// The administration commands open the embedded stores directly. Pebble
// lets one process hold a directory, so they fail with a clear error while
// a node runs on the same data directory.
const adminLockNote = "these commands open <data_dir>/tenants and <data_dir>/audit directly: stop the node on this data directory first"

const tenantUsage = `usage:
  ekyc tenant create [-config F] -id ID -name NAME [-retention-days N] [-webhook-url URL] [-actor A]
  ekyc tenant update [-config F] -id ID [-name NAME] [-retention-days N] [-webhook-url URL] [-actor A]
  ekyc tenant list   [-config F]
  ekyc tenant rotate-key [-config F] -tenant T [-actor A]
      new version of the tenant's key-encryption key: every session data key of the
      tenant is re-wrapped under it and the old version destroyed (images and
      sealed records are not re-encrypted)
  ` + adminLockNote + "\n"

const keyUsage = `usage:
  ekyc key create [-config F] -tenant T -name NAME [-scopes read,write,admin] [-actor A]
      prints the key on stdout, once: it is stored only as a hash
  ekyc key list   [-config F] -tenant T
  ekyc key revoke [-config F] -tenant T -id KEY_ID [-actor A]
  ` + adminLockNote + "\n"

const webhookSecretUsage = `usage:
  ekyc webhook-secret rotate [-config F] -tenant T [-actor A]
      prints the new signing secret on stdout, once; the previous one stays valid for the overlap
  ekyc webhook-secret retire [-config F] -tenant T [-actor A]
      ends the validity of the previous secret now
  ` + adminLockNote + "\n"

// adminTimeout bounds one administration command.
const adminTimeout = time.Minute

// adminStores are the stores an administration command works on.
type adminStores struct {
	cfg     config.Config
	tenants *tenants.Store
	audit   *audit.Log
}

func (a *adminStores) Close() error {
	var errs []error
	if a.tenants != nil {
		errs = append(errs, a.tenants.Close())
	}
	if a.audit != nil {
		errs = append(errs, a.audit.Close())
	}
	return errors.Join(errs...)
}

// tenantsDir and auditDir are the embedded stores' directories.
func tenantsDir(cfg config.Config) string { return filepath.Join(cfg.DataDir, "tenants") }
func auditDir(cfg config.Config) string   { return filepath.Join(cfg.DataDir, "audit") }

// openAdmin opens the tenants store and the audit log; withSealer also
// loads (creating it if needed) the master key, for webhook secrets.
func openAdmin(ctx context.Context, cfg config.Config, withSealer bool) (*adminStores, error) {
	var opts []tenants.Option
	if withSealer {
		kr, err := envelope.LoadOrCreateKeyFile(cfg.MasterKeyFile)
		if err != nil {
			return nil, err
		}
		opts = append(opts, tenants.WithSealer(kr))
	}
	a := &adminStores{cfg: cfg}
	var err error
	if a.tenants, err = tenants.Open(ctx, tenantsDir(cfg), opts...); err != nil {
		return nil, err
	}
	if a.audit, err = audit.Open(ctx, auditDir(cfg)); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

// adminFlags is a subcommand's flag set with the -actor flag every
// auditing command has.
func adminFlags(name string, stderr io.Writer, usage string) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	actor := fs.String("actor", "cli", "who acts, for the audit log (an operator id, not a name)")
	return fs, actor
}

// record appends an audit entry for a change that has been made; a failure
// is reported as such (the change stays).
func record(ctx context.Context, a *adminStores, stderr io.Writer, e audit.Entry) bool {
	if _, err := a.audit.Append(ctx, e); err != nil {
		fmt.Fprintf(stderr, "%s: the change was made but its audit entry was not written: %v\n", e.Action, err)
		return false
	}
	return true
}

// withAdmin loads the configuration, opens the stores and runs f.
func withAdmin(fs *flag.FlagSet, args []string, stderr io.Writer, prog string, withSealer bool, f func(ctx context.Context, a *adminStores) int) int {
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
	a, err := openAdmin(ctx, cfg, withSealer)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", prog, err)
		if errors.Is(err, tenants.ErrLocked) || errors.Is(err, audit.ErrLocked) {
			fmt.Fprintf(stderr, "%s: %s\n", prog, adminLockNote)
		}
		return 1
	}
	code := f(ctx, a)
	if err := a.Close(); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", prog, err)
		return max(code, 1)
	}
	return code
}

// exitFor maps a store error to an exit code: 2 for invalid input, 1
// otherwise.
func exitFor(err error) int {
	if errors.Is(err, tenants.ErrInvalid) {
		return 2
	}
	return 1
}

// cmdTenant: ekyc tenant create|update|list.
func cmdTenant(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, tenantUsage)
		return 2
	}
	fs, actor := adminFlags("tenant "+args[0], stderr, tenantUsage)
	switch args[0] {
	case "create", "update":
		update := args[0] == "update"
		id := fs.String("id", "", "tenant id (a-z, 0-9, '_', '-'; up to 63)")
		name := fs.String("name", "", "display name")
		days := fs.Int("retention-days", 0, "days to keep session data (0: the node's default)")
		hook := fs.String("webhook-url", "", "URL that receives the tenant's decisions")
		return withAdmin(fs, args[1:], stderr, "tenant "+args[0], false, func(ctx context.Context, a *adminStores) int {
			t := tenants.Tenant{ID: *id, Name: *name, RetentionDays: *days, WebhookURL: *hook}
			action := audit.ActionTenantCreated
			var err error
			if update {
				action = audit.ActionTenantUpdated
				err = updateTenant(ctx, a.tenants, fs, t)
			} else {
				err = a.tenants.CreateTenant(ctx, t)
			}
			if err != nil {
				fmt.Fprintf(stderr, "tenant %s: %v\n", args[0], err)
				return exitFor(err)
			}
			// Details carry no names or URLs: only which fields were set.
			details := map[string]string{}
			if update {
				var fields []string
				fs.Visit(func(f *flag.Flag) {
					if f.Name != "id" && f.Name != "config" && f.Name != "actor" {
						fields = append(fields, f.Name)
					}
				})
				details["fields"] = strings.Join(fields, ",")
			} else {
				details["retention_days"] = strconv.Itoa(*days)
				details["webhook_url_set"] = strconv.FormatBool(*hook != "")
			}
			if !record(ctx, a, stderr, audit.Entry{Tenant: *id, Actor: *actor, Action: action, Subject: *id, Details: details}) {
				return 1
			}
			fmt.Fprintf(stdout, "tenant %s %sd\n", *id, args[0])
			return 0
		})
	case "rotate-key":
		tenant := fs.String("tenant", "", "tenant id")
		return withAdmin(fs, args[1:], stderr, "tenant rotate-key", false, func(ctx context.Context, a *adminStores) int {
			if _, err := a.tenants.Tenant(ctx, *tenant); err != nil && !errors.Is(err, tenants.ErrNotFound) {
				fmt.Fprintln(stderr, "tenant rotate-key:", err)
				return exitFor(err)
			}
			master, err := keys.FileMaster(a.cfg.MasterKeyFile)
			if err != nil {
				fmt.Fprintln(stderr, "tenant rotate-key:", err)
				return 1
			}
			ring, err := keys.Open(ctx, node.KeyringDir(a.cfg), master)
			if err != nil {
				fmt.Fprintln(stderr, "tenant rotate-key:", err)
				return 1
			}
			v, err := ring.RotateTenant(ctx, *tenant)
			if cerr := ring.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				fmt.Fprintln(stderr, "tenant rotate-key:", err)
				if errors.Is(err, keys.ErrInvalidArgument) {
					return 2
				}
				return 1
			}
			if !record(ctx, a, stderr, audit.Entry{Tenant: *tenant, Actor: *actor, Action: "tenant.key_rotated", Subject: *tenant,
				Details: map[string]string{"version": strconv.Itoa(v)}}) {
				return 1
			}
			fmt.Fprintf(stdout, "tenant %s key rotated to version %d\n", *tenant, v)
			return 0
		})
	case "list":
		return withAdmin(fs, args[1:], stderr, "tenant list", false, func(ctx context.Context, a *adminStores) int {
			ts, err := a.tenants.Tenants(ctx)
			if err != nil {
				fmt.Fprintln(stderr, "tenant list:", err)
				return 1
			}
			enc := json.NewEncoder(stdout)
			for _, t := range ts {
				if err := enc.Encode(t); err != nil {
					fmt.Fprintln(stderr, "tenant list:", err)
					return 1
				}
			}
			return 0
		})
	default:
		fmt.Fprintf(stderr, "ekyc tenant: unknown subcommand %q\n%s", args[0], tenantUsage)
		return 2
	}
}

// updateTenant applies the flags that were given to the stored tenant.
func updateTenant(ctx context.Context, st *tenants.Store, fs *flag.FlagSet, t tenants.Tenant) error {
	if err := tenants.ValidateTenantID(t.ID); err != nil {
		return err
	}
	cur, err := st.Tenant(ctx, t.ID)
	if err != nil {
		return err
	}
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "name":
			cur.Name = t.Name
		case "retention-days":
			cur.RetentionDays = t.RetentionDays
		case "webhook-url":
			cur.WebhookURL = t.WebhookURL
		}
	})
	return st.UpdateTenant(ctx, cur)
}

// cmdKey: ekyc key create|list|revoke.
func cmdKey(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, keyUsage)
		return 2
	}
	fs, actor := adminFlags("key "+args[0], stderr, keyUsage)
	tenant := fs.String("tenant", "", "tenant id")
	switch args[0] {
	case "create":
		name := fs.String("name", "", "key name, for display (e.g. ci, backend)")
		scopes := fs.String("scopes", "read", "comma-separated scopes: read, write, admin (admin implies write implies read)")
		return withAdmin(fs, args[1:], stderr, "key create", false, func(ctx context.Context, a *adminStores) int {
			sc, err := tenants.ParseScopes(*scopes)
			if err != nil {
				fmt.Fprintln(stderr, "key create:", err)
				return 2
			}
			secret, k, err := a.tenants.CreateKey(ctx, *tenant, *name, sc...)
			if err != nil {
				fmt.Fprintln(stderr, "key create:", err)
				return exitFor(err)
			}
			if _, err := a.audit.Append(ctx, audit.Entry{
				Tenant: k.Tenant, Actor: *actor, Action: audit.ActionKeyCreated, Subject: k.ID,
				Details: map[string]string{"scopes": joinScopes(k.Scopes), "prefix": k.Prefix},
			}); err != nil {
				// An unaudited key must not be usable: revoke it.
				rerr := a.tenants.RevokeKey(ctx, k.Tenant, k.ID)
				fmt.Fprintf(stderr, "key create: audit entry not written (%v); the key was revoked (%v)\n", err, rerr)
				return 1
			}
			fmt.Fprintln(stdout, secret)
			fmt.Fprintf(stderr, "created key %s for tenant %s (scopes %s)\n", k.ID, k.Tenant, joinScopes(k.Scopes))
			fmt.Fprintln(stderr, "warning: this key is shown once and is not stored; keep it now (it cannot be shown again)")
			return 0
		})
	case "list":
		return withAdmin(fs, args[1:], stderr, "key list", false, func(ctx context.Context, a *adminStores) int {
			keys, err := a.tenants.Keys(ctx, *tenant)
			if err != nil {
				fmt.Fprintln(stderr, "key list:", err)
				return exitFor(err)
			}
			enc := json.NewEncoder(stdout)
			for _, k := range keys {
				if err := enc.Encode(k); err != nil {
					fmt.Fprintln(stderr, "key list:", err)
					return 1
				}
			}
			return 0
		})
	case "revoke":
		id := fs.String("id", "", "key id (as in key list)")
		return withAdmin(fs, args[1:], stderr, "key revoke", false, func(ctx context.Context, a *adminStores) int {
			if err := a.tenants.RevokeKey(ctx, *tenant, *id); err != nil {
				fmt.Fprintln(stderr, "key revoke:", err)
				return exitFor(err)
			}
			if !record(ctx, a, stderr, audit.Entry{Tenant: *tenant, Actor: *actor, Action: audit.ActionKeyRevoked, Subject: *id}) {
				return 1
			}
			fmt.Fprintf(stdout, "key %s revoked\n", *id)
			return 0
		})
	default:
		fmt.Fprintf(stderr, "ekyc key: unknown subcommand %q\n%s", args[0], keyUsage)
		return 2
	}
}

func joinScopes(sc []tenants.Scope) string {
	s := make([]string, len(sc))
	for i, x := range sc {
		s[i] = string(x)
	}
	return strings.Join(s, ",")
}

// cmdWebhookSecret: ekyc webhook-secret rotate|retire.
func cmdWebhookSecret(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, webhookSecretUsage)
		return 2
	}
	fs, actor := adminFlags("webhook-secret "+args[0], stderr, webhookSecretUsage)
	tenant := fs.String("tenant", "", "tenant id")
	switch args[0] {
	case "rotate":
		return withAdmin(fs, args[1:], stderr, "webhook-secret rotate", true, func(ctx context.Context, a *adminStores) int {
			secret, err := a.tenants.RotateWebhookSecret(ctx, *tenant)
			if err != nil {
				fmt.Fprintln(stderr, "webhook-secret rotate:", err)
				return exitFor(err)
			}
			if !record(ctx, a, stderr, audit.Entry{Tenant: *tenant, Actor: *actor, Action: audit.ActionWebhookSecretRotated, Subject: *tenant}) {
				return 1
			}
			fmt.Fprintln(stdout, secret)
			fmt.Fprintln(stderr, "warning: the new webhook signing secret is shown once; give it to the tenant now")
			return 0
		})
	case "retire":
		return withAdmin(fs, args[1:], stderr, "webhook-secret retire", true, func(ctx context.Context, a *adminStores) int {
			if err := a.tenants.RetireWebhookSecret(ctx, *tenant); err != nil {
				fmt.Fprintln(stderr, "webhook-secret retire:", err)
				return exitFor(err)
			}
			if !record(ctx, a, stderr, audit.Entry{Tenant: *tenant, Actor: *actor, Action: audit.ActionWebhookSecretRetired, Subject: *tenant}) {
				return 1
			}
			fmt.Fprintf(stdout, "previous webhook secret of %s retired\n", *tenant)
			return 0
		})
	default:
		fmt.Fprintf(stderr, "ekyc webhook-secret: unknown subcommand %q\n%s", args[0], webhookSecretUsage)
		return 2
	}
}
