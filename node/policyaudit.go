package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/openekyc/ekyc/store/audit"
)

// policiesSeenFile keeps the policy versions (ref → digest) the node last
// recorded in the audit log: a cache that keeps restarts from writing the
// same entries again. The audit log is the record.
func policiesSeenFile(dataDir string) string { return filepath.Join(dataDir, "policies.seen.json") }

// auditPolicies records in the audit log, once per change, the decision
// policies this node decides with (policies are files read at start):
//
//   - policy.loaded for a version not recorded before (new file or new
//     version), with its digest and source;
//   - policy.changed for a version whose content changed without a new
//     version number (its digest differs) — also logged as a warning:
//     decisions name the version, so an in-place edit makes two different
//     rule sets look the same in the decision records;
//   - policy.removed for a recorded version no longer loaded.
//
// Entries are node-wide (no tenant), actor "node".
func (n *Node) auditPolicies(ctx context.Context) error {
	if n.protect == nil {
		return nil
	}
	cur := map[string]string{}
	for _, id := range n.policies.IDs() {
		for _, v := range n.policies.Versions(id) {
			p, err := n.policies.Get(id + "@" + strconv.Itoa(int(v)))
			if err != nil {
				return err
			}
			cur[p.Ref()] = p.Digest()
		}
	}
	path := policiesSeenFile(n.cfg.DataDir)
	seen := map[string]string{}
	switch b, err := os.ReadFile(path); {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("node: %s: %w", path, err)
	default:
		if err := json.Unmarshal(b, &seen); err != nil {
			n.log.Warn("policy record unreadable: recording every policy again", "file", path, "err", err)
			seen = map[string]string{}
		}
	}
	refs := make([]string, 0, len(cur)+len(seen))
	for r := range cur {
		refs = append(refs, r)
	}
	for r := range seen {
		if _, ok := cur[r]; !ok {
			refs = append(refs, r)
		}
	}
	slices.Sort(refs)
	changed := false
	for _, ref := range refs {
		digest, loaded := cur[ref]
		prev, known := seen[ref]
		var action string
		switch {
		case loaded && !known:
			action = "policy.loaded"
		case loaded && prev != digest:
			action = "policy.changed"
			n.log.Warn("policy content changed without a new version: decisions name the same version for two rule sets",
				"policy", ref, "digest", digest, "previous_digest", prev)
		case !loaded:
			action = "policy.removed"
		default:
			continue
		}
		details := map[string]string{"digest": digest, "dir": n.cfg.Policies.Dir}
		if action == "policy.removed" {
			details = map[string]string{"digest": prev}
		} else if known {
			details["previous_digest"] = prev
		}
		if err := n.record(ctx, audit.Entry{Actor: "node", Action: action, Subject: ref, Details: details}); err != nil {
			return fmt.Errorf("node: audit of policy %s: %w", ref, err)
		}
		changed = true
	}
	if !changed {
		return nil
	}
	b, err := json.Marshal(cur)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("node: %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("node: %s: %w", path, err)
	}
	return nil
}
