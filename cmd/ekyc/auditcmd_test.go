package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/stretchr/testify/require"

	"github.com/openekyc/ekyc/store/audit"
)

// auditFixture creates three audited changes and returns the data dir and
// the clean verify's "SEQ:HEAD" anchor.
func auditFixture(t *testing.T) (dir, anchor string) {
	t.Helper()
	dir = adminEnv(t)
	for _, id := range []string{"a1", "a2", "a3"} {
		code, _, errs := runCLI(t, "tenant", "create", "-id", id, "-name", "T "+id)
		require.Equal(t, 0, code, errs)
	}
	code, out, errs := runCLI(t, "audit", "verify")
	require.Equal(t, 0, code, errs)
	head := strings.TrimSpace(strings.TrimPrefix(out, "ok: 3 entries, head "))
	require.Len(t, head, 64, out)
	code, out, errs = runCLI(t, "audit", "verify", "-anchor", "3:"+head)
	require.Equal(t, 0, code, errs)
	require.Contains(t, out, "ok: 3 entries")
	return dir, "3:" + head
}

// editAudit changes the audit database directly.
func editAudit(t *testing.T, dir string, f func(db *pebble.DB)) {
	t.Helper()
	db, err := pebble.Open(filepath.Join(dir, "audit"), &pebble.Options{})
	require.NoError(t, err)
	f(db)
	require.NoError(t, db.Close())
}

func TestAuditVerifyCLIDetectsModification(t *testing.T) {
	dir, _ := auditFixture(t)
	editAudit(t, dir, func(db *pebble.DB) {
		v, closer, err := db.Get(audit.EntryKey(2))
		require.NoError(t, err)
		b := []byte(strings.Replace(string(v), `"a2"`, `"a9"`, -1))
		closer.Close()
		require.NoError(t, db.Set(audit.EntryKey(2), b, pebble.Sync))
	})
	code, out, errs := runCLI(t, "audit", "verify")
	require.Equal(t, 1, code)
	require.Empty(t, out)
	require.Contains(t, errs, "TAMPERED: entry 2: content modified")
}

func TestAuditVerifyCLIDetectsRemoval(t *testing.T) {
	dir, _ := auditFixture(t)
	editAudit(t, dir, func(db *pebble.DB) { require.NoError(t, db.Delete(audit.EntryKey(3), pebble.Sync)) })
	code, _, errs := runCLI(t, "audit", "verify")
	require.Equal(t, 1, code)
	require.Contains(t, errs, "TAMPERED: entry 3:")
}

// TestAuditVerifyCLIAnchor: a consistent rewrite of the chain and head
// passes the chain check but not an anchored head.
func TestAuditVerifyCLIAnchor(t *testing.T) {
	dir, anchor := auditFixture(t)
	editAudit(t, dir, func(db *pebble.DB) {
		prev := ""
		for seq := uint64(1); seq <= 3; seq++ {
			v, closer, err := db.Get(audit.EntryKey(seq))
			require.NoError(t, err)
			var e audit.Entry
			require.NoError(t, json.Unmarshal(v, &e))
			closer.Close()
			if seq == 1 {
				e.Actor = "someone-else"
			}
			e.PrevHash = prev
			e.Hash = audit.ComputeHash(e)
			b, err := json.Marshal(e)
			require.NoError(t, err)
			require.NoError(t, db.Set(audit.EntryKey(seq), b, pebble.Sync))
			prev = e.Hash
		}
		h, err := json.Marshal(map[string]any{"seq": 3, "hash": prev})
		require.NoError(t, err)
		require.NoError(t, db.Set(audit.HeadKey(), h, pebble.Sync))
	})
	require.Equal(t, 0, first(runCLI(t, "audit", "verify")), "the chain alone cannot tell")
	code, _, errs := runCLI(t, "audit", "verify", "-anchor", anchor)
	require.Equal(t, 1, code)
	require.Contains(t, errs, "TAMPERED: entry 3: does not match the anchored hash")

	require.Equal(t, 2, first(runCLI(t, "audit", "verify", "-anchor", "3")))
	require.Equal(t, 2, first(runCLI(t, "audit", "verify", "-anchor", "x:abc")))
	require.Equal(t, 2, first(runCLI(t, "audit")))
	require.Equal(t, 2, first(runCLI(t, "audit", "rewrite")))
}

func TestAuditVerifyCLIEmpty(t *testing.T) {
	adminEnv(t)
	code, out, errs := runCLI(t, "audit", "verify")
	require.Equal(t, 0, code, errs)
	require.Equal(t, "ok: 0 entries, head (empty log)\n", out)
}
