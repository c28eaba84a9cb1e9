package cluster

import (
	"fmt"
	"strings"
)

// SessionKind is the cluster kind of session virtual actors.
const SessionKind = "session"

// SessionIdentity is the grain identity of a session: tenant_id/session_id.
// Tenant ids never contain '/', so the first '/' separates the two.
func SessionIdentity(tenantID, sessionID string) string { return tenantID + "/" + sessionID }

// ParseSessionIdentity splits an identity made by SessionIdentity.
func ParseSessionIdentity(id string) (tenantID, sessionID string, err error) {
	t, s, ok := strings.Cut(id, "/")
	if !ok || t == "" || s == "" {
		return "", "", fmt.Errorf("cluster: bad session identity %q", id)
	}
	return t, s, nil
}
