package cluster

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSessionIdentityRoundTrip(t *testing.T) {
	id := SessionIdentity("demo", "sess/with/slashes")
	tn, s, err := ParseSessionIdentity(id)
	require.NoError(t, err)
	require.Equal(t, "demo", tn)
	require.Equal(t, "sess/with/slashes", s)
	for _, bad := range []string{"", "demo", "/s", "demo/"} {
		_, _, err := ParseSessionIdentity(bad)
		require.Error(t, err, bad)
	}
}
