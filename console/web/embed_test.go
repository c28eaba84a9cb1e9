package web_test

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	web "github.com/openekyc/ekyc/console/web"
)

// The committed build is complete: index.html names assets that exist,
// and nothing is loaded from another origin.
func TestDistIsComplete(t *testing.T) {
	sub, err := fs.Sub(web.Dist, "dist")
	require.NoError(t, err)
	page, err := fs.ReadFile(sub, "index.html")
	require.NoError(t, err)
	require.NotRegexp(t, `(src|href)="(https?:)?//`, string(page))
	refs := regexp.MustCompile(`(?:src|href)="/console/(assets/[^"]+)"`).FindAllStringSubmatch(string(page), -1)
	require.Len(t, refs, 2, "the page names its script and its stylesheet")
	for _, ref := range refs {
		b, err := fs.ReadFile(sub, ref[1])
		require.NoError(t, err, ref[1])
		require.NotEmpty(t, b)
		if strings.HasSuffix(ref[1], ".js") {
			require.NotContains(t, string(b), "https://", "no external URLs in the bundle")
			// The controls the browser tests drive are in the bundle.
			for _, id := range []string{"login-form", "login-submit", "case-row", "case-claim", "decide-outcome",
				"decide-reasons", "decide-comment", "decide-submit", "case-next", "escalate-submit", "evidence-images"} {
				require.Contains(t, string(b), id)
			}
		}
	}
}
