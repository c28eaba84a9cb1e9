package node_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gocloud.dev/blob"

	"github.com/openekyc/ekyc/config"
	"github.com/openekyc/ekyc/inference/ort"
	"github.com/openekyc/ekyc/node"
	"github.com/openekyc/ekyc/store/tenants"
)

// TestS3BlobsEndToEnd: with blobs.url on an S3-compatible server (the one
// deploy/local/s3.sh starts: S3Proxy from Maven Central, EKYC_TEST_S3) a
// whole node keeps the API's images there — sealed, under keys without
// ids —, the face check reads them back from it, and erasure deletes them
// from the bucket.
func TestS3BlobsEndToEnd(t *testing.T) {
	base := os.Getenv("EKYC_TEST_S3")
	if base == "" {
		t.Skip("EKYC_TEST_S3 not set: no S3-compatible server; run deploy/local/s3.sh start (make itest)")
	}
	if _, err := os.Stat(filepath.Join(ort.DefaultDir(), "face_embed")); err != nil {
		t.Skipf("face models not in %s: run make models", ort.DefaultDir())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	bucketURL := base + sep + "prefix=" + url.QueryEscape(fmt.Sprintf("node-%x/", rnd))

	cfg := testConfig(t)
	cfg.Blobs.URL = bucketURL
	cfg.Checks.Timeout = config.Duration(30 * time.Second)
	cfg.Cluster.RequestTimeout = config.Duration(2 * time.Minute)
	ts := openTenants(ctx, t, cfg)
	require.NoError(t, ts.CreateTenant(ctx, tenants.Tenant{ID: "acme", Name: "Acme"}))
	key, _, err := ts.CreateKey(ctx, "acme", "ci", tenants.ScopeAdmin)
	require.NoError(t, err)
	require.NoError(t, ts.Close())

	n, err := node.Start(ctx, cfg, node.WithLogger(quietLogger()))
	require.NoError(t, err)
	defer n.Close(true)
	api := apiClient{t: t, base: "http://" + n.GatewayAddr(), key: key}
	code, out := api.do("POST", "/v1/sessions", "application/json", []byte(`{"checks":["face"]}`))
	require.Equal(t, http.StatusCreated, code, "%v", out)
	id := out["id"].(string)
	doc := readTestdata(t, "faces", "obama2.jpg")
	selfie := readTestdata(t, "faces", "obama.jpg")
	code, out = api.do("PUT", "/v1/sessions/"+id+"/document?side=front", "image/jpeg", doc)
	require.Equal(t, http.StatusOK, code, "%v", out)
	code, out = api.do("PUT", "/v1/sessions/"+id+"/selfie", "image/jpeg", selfie)
	require.Equal(t, http.StatusOK, code, "%v", out)

	// The bucket holds the two images, sealed.
	objects := func() map[string][]byte {
		t.Helper()
		b, err := blob.OpenBucket(ctx, bucketURL)
		require.NoError(t, err)
		defer b.Close()
		got := map[string][]byte{}
		it := b.List(nil)
		for {
			o, err := it.Next(ctx)
			if err != nil {
				break
			}
			v, err := b.ReadAll(ctx, o.Key)
			require.NoError(t, err)
			got[o.Key] = v
		}
		return got
	}
	objs := objects()
	require.Len(t, objs, 2)
	for k, v := range objs {
		require.NotContains(t, k, "acme")
		require.NotContains(t, k, id)
		require.False(t, bytes.Contains(v, doc[:64]) || bytes.Contains(v, selfie[:64]), "object %s is not ciphertext", k)
	}

	// The face check reads them back from S3.
	code, out = api.do("POST", "/v1/sessions/"+id+"/submit", "", nil)
	require.Equal(t, http.StatusAccepted, code, "%v", out)
	var sess map[string]any
	require.Eventually(t, func() bool {
		_, sess = api.do("GET", "/v1/sessions/"+id, "", nil)
		return sess["decision"] != nil
	}, 2*time.Minute, 100*time.Millisecond)
	require.Equal(t, "approved", sess["status"], "%v", sess)

	// Erasure deletes them from the bucket.
	code, out = api.do("DELETE", "/v1/sessions/"+id, "", nil)
	require.Equal(t, http.StatusNoContent, code, "%v", out)
	require.Empty(t, objects())
}
