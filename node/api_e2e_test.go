package node_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openekyc/ekyc/actors/webhook"
	"github.com/openekyc/ekyc/config"
	"github.com/openekyc/ekyc/inference/ort"
	"github.com/openekyc/ekyc/internal/envelope"
	"github.com/openekyc/ekyc/internal/testgen"
	"github.com/openekyc/ekyc/node"
	"github.com/openekyc/ekyc/store/audit"
	"github.com/openekyc/ekyc/store/blobs"
	"github.com/openekyc/ekyc/store/keys"
	"github.com/openekyc/ekyc/store/sessions/pebblestore"
	"github.com/openekyc/ekyc/store/tenants"
)

// apiClient talks to the node's HTTP API with one tenant's key.
type apiClient struct {
	t    *testing.T
	base string
	key  string
}

func (c apiClient) do(method, path, contentType string, body []byte) (int, map[string]any) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, bytes.NewReader(body))
	require.NoError(c.t, err)
	req.Header.Set("Authorization", "Bearer "+c.key)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(c.t, err)
	var out map[string]any
	if len(raw) > 0 {
		require.NoError(c.t, json.Unmarshal(raw, &out), "%s %s: %s", method, path, raw)
	}
	return resp.StatusCode, out
}

// receiver is a webhook endpoint that verifies signatures and keeps the
// events by Idempotency-Key.
type receiver struct {
	mu      sync.Mutex
	secrets []string
	events  map[string][]byte
	bad     []string
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := webhook.Verify(req.Header.Get(webhook.SignatureHeader), body, r.secrets, webhook.DefaultTolerance, time.Now()); err != nil {
		r.bad = append(r.bad, err.Error())
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	r.events[req.Header.Get("Idempotency-Key")] = body
	w.WriteHeader(http.StatusNoContent)
}

func (r *receiver) snapshot() (map[string][]byte, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := map[string][]byte{}
	for k, v := range r.events {
		m[k] = v
	}
	return m, append([]string(nil), r.bad...)
}

// TestAPIEndToEnd drives a node through its HTTP API like a client: two
// tenants created with their keys (as `ekyc tenant create` / `key create`
// do, before the node starts), a session created, its images uploaded,
// submitted, decided through Kafka and the session actor, read back,
// reported, its signed webhook received; tenant B sees none of tenant A's
// session; no image byte or applicant name is in plaintext anywhere under
// the data directory; erasure leaves nothing of the applicant readable
// and the audit chain verifies.
func TestAPIEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test skipped in -short mode")
	}
	if _, err := os.Stat(filepath.Join(ort.DefaultDir(), "face_embed")); err != nil {
		t.Skipf("face models not in %s: run make models", ort.DefaultDir())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cfg := testConfig(t)
	cfg.Checks.Timeout = config.Duration(30 * time.Second)
	cfg.Cluster.RequestTimeout = config.Duration(2 * time.Minute)
	cfg.Gateway.Listen = "127.0.0.1:0"

	rcv := &receiver{events: map[string][]byte{}}
	hook := httptest.NewServer(rcv)
	defer hook.Close()

	// Tenants and keys, as the CLI creates them while the node is stopped.
	envKeys, err := envelope.LoadOrCreateKeyFile(cfg.MasterKeyFile)
	require.NoError(t, err)
	ts, err := tenants.Open(ctx, filepath.Join(cfg.DataDir, "tenants"), tenants.WithSealer(envKeys))
	require.NoError(t, err)
	require.NoError(t, ts.CreateTenant(ctx, tenants.Tenant{ID: "acme", Name: "Acme", WebhookURL: hook.URL + "/hooks"}))
	require.NoError(t, ts.CreateTenant(ctx, tenants.Tenant{ID: "globex", Name: "Globex"}))
	keyA, _, err := ts.CreateKey(ctx, "acme", "ci", tenants.ScopeAdmin)
	require.NoError(t, err)
	keyB, _, err := ts.CreateKey(ctx, "globex", "ci", tenants.ScopeAdmin)
	require.NoError(t, err)
	secret, err := ts.RotateWebhookSecret(ctx, "acme")
	require.NoError(t, err)
	rcv.secrets = []string{secret}
	require.NoError(t, ts.Close())

	n, err := node.Start(ctx, cfg, node.WithLogger(quietLogger()), node.WithClock(func() time.Time { return fixedNow }))
	require.NoError(t, err)
	defer n.Close(true)
	base := "http://" + n.GatewayAddr()
	a := apiClient{t: t, base: base, key: keyA}
	b := apiClient{t: t, base: base, key: keyB}

	const given, surname = "Barakiel", "Obamasson-Quist"
	p := testgen.TD3{Issuer: "UTO", Nationality: "UTO", Surname: "OBAMASSON QUIST", Given: "BARAKIEL", Number: "L12345678", Sex: "M",
		Birth: time.Date(1961, 8, 4, 0, 0, 0, 0, time.UTC), Expiry: fixedNow.AddDate(5, 0, 0)}
	lines := p.Lines()
	create, err := json.Marshal(map[string]any{
		"applicant": map[string]any{"given_names": given, "surname": surname, "date_of_birth": "1961-08-04", "nationality": "UTO"},
		"document":  map[string]any{"type": "passport", "issuing_country": "UTO", "mrz_lines": lines[:]},
		"checks":    []string{"document", "face"},
	})
	require.NoError(t, err)
	code, out := a.do("POST", "/v1/sessions", "application/json", create)
	require.Equal(t, http.StatusCreated, code, "%v", out)
	id := out["id"].(string)

	docImg, err := os.ReadFile(filepath.Join("..", "testdata", "faces", "obama2.jpg"))
	require.NoError(t, err)
	selfie, err := os.ReadFile(filepath.Join("..", "testdata", "faces", "obama.jpg"))
	require.NoError(t, err)
	code, out = a.do("PUT", "/v1/sessions/"+id+"/document?side=front", "image/jpeg", docImg)
	require.Equal(t, http.StatusOK, code, "%v", out)
	code, out = a.do("PUT", "/v1/sessions/"+id+"/selfie", "image/jpeg", selfie)
	require.Equal(t, http.StatusOK, code, "%v", out)

	// Tenant B can neither see nor touch A's session: 404 like a missing one.
	for _, c := range []struct{ method, path, ct string }{
		{"GET", "/v1/sessions/" + id, ""}, {"GET", "/v1/sessions/" + id + "/report", ""},
		{"PUT", "/v1/sessions/" + id + "/selfie", "image/jpeg"}, {"POST", "/v1/sessions/" + id + "/submit", ""},
		{"DELETE", "/v1/sessions/" + id, ""},
	} {
		code, out := b.do(c.method, c.path, c.ct, selfie)
		require.Equal(t, http.StatusNotFound, code, "%s %s: %v", c.method, c.path, out)
	}

	code, out = a.do("POST", "/v1/sessions/"+id+"/submit", "", nil)
	require.Equal(t, http.StatusAccepted, code, "%v", out)
	var sess map[string]any
	require.Eventually(t, func() bool {
		_, sess = a.do("GET", "/v1/sessions/"+id, "", nil)
		return sess["decision"] != nil
	}, 3*time.Minute, 100*time.Millisecond)
	require.Equal(t, "approved", sess["status"], "%v", sess)
	code, report := a.do("GET", "/v1/sessions/"+id+"/report", "", nil)
	require.Equal(t, http.StatusOK, code)
	require.Len(t, report["checks"], 2)

	// The decision webhook arrives, signed with the tenant's secret.
	var events map[string][]byte
	if !assertEventually(func() bool { events, _ = rcv.snapshot(); return len(events) == 1 }, time.Minute) {
		_, out := a.do("GET", "/v1/webhooks/events", "", nil)
		_, bad := rcv.snapshot()
		t.Fatalf("no webhook received: events %v, refused %v", out, bad)
	}
	_, bad := rcv.snapshot()
	require.Empty(t, bad)
	for _, body := range events {
		var ev struct {
			Type string `json:"type"`
			Data struct {
				SessionID string `json:"session_id"`
				Outcome   string `json:"outcome"`
			} `json:"data"`
		}
		require.NoError(t, json.Unmarshal(body, &ev))
		require.Equal(t, "verification.decided", ev.Type)
		require.Equal(t, id, ev.Data.SessionID)
		require.Equal(t, "APPROVE", ev.Data.Outcome)
		require.NotContains(t, string(body), surname)
	}
	code, out = a.do("GET", "/v1/webhooks/events", "", nil)
	require.Equal(t, http.StatusOK, code, "%v", out)
	code, _ = b.do("GET", "/v1/webhooks/events/dec_x", "", nil)
	require.Equal(t, http.StatusNotFound, code)

	// Nothing of the applicant in plaintext under the data directory.
	requireNoPlaintext(t, cfg.DataDir, [][]byte{[]byte(surname), []byte(given), []byte("OBAMASSON"), []byte(lines[0])}, docImg, selfie)

	// Erasure.
	code, out = b.do("DELETE", "/v1/sessions/"+id, "", nil)
	require.Equal(t, http.StatusNotFound, code, "%v", out)
	code, out = a.do("DELETE", "/v1/sessions/"+id, "", nil)
	require.Equal(t, http.StatusNoContent, code, "%v", out)
	_, sess = a.do("GET", "/v1/sessions/"+id, "", nil)
	require.Equal(t, "erased", sess["status"], "%v", sess)
	n.Close(true)

	// After erasure the key is gone: the blobs and the sealed request cannot
	// be decrypted, and nothing of the applicant is left in the files.
	master, err := keys.FileMaster(cfg.MasterKeyFile)
	require.NoError(t, err)
	ring, err := keys.Open(ctx, filepath.Join(cfg.DataDir, "keys", "ring"), master)
	require.NoError(t, err)
	gone, err := ring.Shredded(ctx, "acme", id)
	require.NoError(t, err)
	require.True(t, gone)
	bs, err := blobs.Open(ctx, cfg.Blobs.URL, ring)
	require.NoError(t, err)
	names, err := bs.List(ctx, "acme", id)
	require.NoError(t, err)
	require.Empty(t, names)
	_, _, err = bs.Get(ctx, "acme", id, "selfie")
	require.Error(t, err)
	require.NoError(t, bs.Close())
	require.NoError(t, ring.Close())
	raw, err := pebblestore.Open(cfg.Store.Pebble.Dir)
	require.NoError(t, err)
	st, err := raw.Get(ctx, "acme", id)
	require.NoError(t, err)
	require.Nil(t, st.GetRequest())
	require.Empty(t, st.GetSealedRequest())
	require.NotNil(t, st.GetErasedAt())
	require.NotNil(t, st.GetDecision(), "the decision record is kept")
	require.NoError(t, raw.Close())
	requireNoPlaintext(t, cfg.DataDir, [][]byte{[]byte(surname), []byte(given), []byte(lines[0])}, docImg, selfie)

	// The audit log has the story and verifies.
	log, err := audit.Open(ctx, filepath.Join(cfg.DataDir, "audit"))
	require.NoError(t, err)
	defer log.Close()
	rep, err := log.Verify(ctx)
	require.NoError(t, err)
	require.Positive(t, rep.Entries)
	entries, err := log.List(ctx, "acme", 100)
	require.NoError(t, err)
	var actions []string
	for _, e := range entries {
		if e.Subject == id {
			actions = append(actions, e.Action)
		}
	}
	for _, want := range []string{"session.created", "session.submitted", "session.decided", "session.data_accessed", "session.erased"} {
		require.Contains(t, actions, want)
	}
}

func assertEventually(f func() bool, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if f() {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return f()
}

// requireNoPlaintext walks every file under dir: none holds any of the
// secrets, nor any 32-byte window of the images.
func requireNoPlaintext(t *testing.T, dir string, secrets [][]byte, images ...[]byte) {
	t.Helper()
	var windows [][]byte
	for _, img := range images {
		for off := len(img) / 4; off+32 <= len(img)*3/4; off += len(img) / 64 {
			windows = append(windows, img[off:off+32])
		}
	}
	files := 0
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) { // a file removed while walking (compaction)
				return nil
			}
			return err
		}
		if d.IsDir() {
			return nil
		}
		b, err := os.ReadFile(p)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		require.NoError(t, err)
		files++
		rel := strings.TrimPrefix(p, dir)
		for _, s := range secrets {
			require.False(t, bytes.Contains(b, s), "%q in plaintext in %s", s, rel)
		}
		for _, w := range windows {
			require.False(t, bytes.Contains(b, w), "image bytes in plaintext in %s", rel)
		}
		return nil
	}))
	require.Greater(t, files, 10)
}
