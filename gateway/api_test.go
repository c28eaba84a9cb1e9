package gateway_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/openekyc/ekyc/gateway"
	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
	"github.com/openekyc/ekyc/store/apistate"
)

func TestOpenAPIDocumentMatchesTheMux(t *testing.T) {
	doc, _ := loadSpec(t)
	h := newHarness(t, nil)

	var documented []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented = append(documented, method+" "+path)
		}
	}
	served := h.g.Routes()
	slices.Sort(documented)
	slices.Sort(served)
	require.Equal(t, documented, served, "every served route is documented and every documented one served")

	// The error codes of the Error schema and of the info extension are the
	// error table.
	var codes []string
	for _, e := range gateway.Errors {
		codes = append(codes, string(e.Code))
	}
	enum := doc.Components.Schemas["Error"].Value.Properties["error"].Value.Properties["code"].Value.Enum
	var enumCodes []string
	for _, v := range enum {
		enumCodes = append(enumCodes, v.(string))
	}
	require.ElementsMatch(t, codes, enumCodes)
	type xcode struct {
		Code   string `json:"code"`
		Status int    `json:"status"`
	}
	var xs []xcode
	raw, err := json.Marshal(doc.Info.Extensions["x-error-codes"])
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &xs))
	require.Len(t, xs, len(gateway.Errors))
	for i, e := range gateway.Errors {
		require.Equal(t, xcode{string(e.Code), e.Status}, xs[i])
	}

	// docs/api.md lists every code with its status.
	md, err := os.ReadFile("../docs/api.md")
	require.NoError(t, err)
	for _, e := range gateway.Errors {
		require.Contains(t, string(md), "| `"+string(e.Code)+"` | "+http.StatusText(e.Status), "docs/api.md lacks %s", e.Code)
	}
}

func TestOpenAPIIsServedWithoutAuth(t *testing.T) {
	h := newHarness(t, nil)
	r := h.do("GET", "/v1/openapi.json", nil, withKey(""))
	require.Equal(t, http.StatusOK, r.Status)
	require.Equal(t, gateway.OpenAPI(), r.Body)
}

func TestSessionLifecycle(t *testing.T) {
	h := newHarness(t, nil)

	r := h.do("POST", "/v1/sessions", jsonBody(createBody("document", "face", "screening")))
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	c := r.json(t)
	id := c["id"].(string)
	require.Equal(t, "created", c["status"])
	require.Equal(t, []any{"document", "face", "screening"}, c["checks"])
	require.Equal(t, []any{"document_front", "selfie"}, c["required_images"])
	require.NotContains(t, string(r.Body), piiSurname, "the create response echoes no personal data")

	r = h.do("GET", "/v1/sessions/"+id, nil, withKey(keyARead))
	require.Equal(t, http.StatusOK, r.Status)
	require.Equal(t, "created", r.json(t)["status"])

	// Document front as raw JPEG, back as raw PNG, selfie as multipart PNG.
	front := readFace(t, "obama.jpg")
	r = h.upload(keyAWrite, id, "document?side=front", front, "image/jpeg")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	img := r.json(t)["image"].(map[string]any)
	sum := sha256.Sum256(front)
	require.Equal(t, hex.EncodeToString(sum[:]), img["sha256"])
	require.Equal(t, "image/jpeg", img["content_type"])
	require.EqualValues(t, 910, img["width"])
	require.EqualValues(t, 1137, img["height"])

	back := pngOf(t, "two_people.jpg")
	r = h.upload(keyAWrite, id, "document?side=back", back, "image/png")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.Equal(t, "image/png", r.json(t)["image"].(map[string]any)["content_type"])

	selfie := pngOf(t, "obama2.jpg")
	mp, ct := multipartBody(t, "file", "me.png", "image/png", selfie)
	r = h.do("PUT", "/v1/sessions/"+id+"/selfie", mp, withContentType(ct))
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.Equal(t, selfie, h.blobs.get("tenant-a", id, "selfie"))
	require.Equal(t, front, h.blobs.get("tenant-a", id, "document_front"))

	r = h.do("POST", "/v1/sessions/"+id+"/submit", nil)
	require.Equal(t, http.StatusAccepted, r.Status, "%s", r.Body)
	sub := r.Body
	require.Equal(t, "submitted", r.json(t)["status"])
	require.Equal(t, gateway.EventID("tenant-a", id), r.json(t)["event_id"])

	pubs := h.pub.published()
	require.Len(t, pubs, 1)
	req := pubs[0]
	require.Equal(t, "tenant-a", req.GetTenantId())
	require.Equal(t, id, req.GetSessionId())
	require.Equal(t, gateway.EventID("tenant-a", id), req.GetEventId())
	require.Equal(t, piiSurname, req.GetApplicant().GetSurname())
	require.Equal(t, piiDOB, req.GetApplicant().GetDateOfBirth())
	require.Equal(t, ekycv1.DocumentType_DOCUMENT_TYPE_PASSPORT, req.GetDocument().GetType())
	require.Equal(t, []ekycv1.CheckKind{ekycv1.CheckKind_CHECK_KIND_DOCUMENT, ekycv1.CheckKind_CHECK_KIND_FACE,
		ekycv1.CheckKind_CHECK_KIND_SCREENING}, req.GetRequestedChecks())
	require.Equal(t, "default", req.GetPolicyId())
	require.Equal(t, "https://client.example/hook", req.GetCallbackUrl())
	require.Len(t, req.GetDocument().GetImages(), 2)
	for _, im := range req.GetDocument().GetImages() {
		require.Equal(t, h.blobs.URI("tenant-a", id, "document_"+im.GetSide()), im.GetUri())
		require.NotEmpty(t, im.GetSha256())
	}
	require.Len(t, req.GetSelfies(), 1)
	require.Equal(t, h.blobs.URI("tenant-a", id, "selfie"), req.GetSelfies()[0].GetUri())
	require.Equal(t, "image/png", req.GetSelfies()[0].GetContentType())

	// A second submit answers the same and publishes nothing.
	r = h.do("POST", "/v1/sessions/"+id+"/submit", nil)
	require.Equal(t, http.StatusAccepted, r.Status)
	require.Equal(t, sub, r.Body)
	require.Len(t, h.pub.published(), 1)

	// Images can no longer change.
	r = h.upload(keyAWrite, id, "selfie", readFace(t, "obama.jpg"), "image/jpeg")
	require.Equal(t, http.StatusConflict, r.Status)
	require.Equal(t, "session_not_modifiable", r.errCode(t))

	r = h.do("GET", "/v1/sessions/"+id, nil, withKey(keyARead))
	require.Equal(t, "submitted", r.json(t)["status"])

	// The session actor picks it up, then decides.
	h.states.put(&ekycv1.SessionState{TenantId: "tenant-a", SessionId: id, Status: ekycv1.SessionStatus_SESSION_STATUS_PROCESSING, Request: req})
	r = h.do("GET", "/v1/sessions/"+id, nil, withKey(keyARead))
	require.Equal(t, "processing", r.json(t)["status"])

	decided := timestamppb.New(h.clock.Now().Add(3 * time.Second))
	checks := []*ekycv1.CheckResult{
		{Kind: ekycv1.CheckKind_CHECK_KIND_DOCUMENT, Status: ekycv1.CheckStatus_CHECK_STATUS_PASS, Score: 0.97,
			Signals: []*ekycv1.Signal{{Name: "mrz.valid", Value: &ekycv1.Signal_Flag{Flag: true}},
				{Name: "expiry.days", Value: &ekycv1.Signal_Number{Number: 900}, Unit: "days"}},
			Latency: durationpb.New(120 * time.Millisecond), Attempts: 1},
		{Kind: ekycv1.CheckKind_CHECK_KIND_FACE, Status: ekycv1.CheckStatus_CHECK_STATUS_PASS, Score: 0.91,
			Signals: []*ekycv1.Signal{{Name: "match.similarity", Value: &ekycv1.Signal_Number{Number: 0.71}, Unit: "ratio"}}, Attempts: 1},
		{Kind: ekycv1.CheckKind_CHECK_KIND_SCREENING, Status: ekycv1.CheckStatus_CHECK_STATUS_CONSIDER, Score: 0.6,
			ReasonCodes: []string{"SCREENING_POSSIBLE_MATCH"}, Attempts: 1,
			ScreeningHits: []*ekycv1.ScreeningHit{{EntityId: "ofac:1", Source: "ofac", ListVersion: "ofac@1", Name: "Listed Person",
				Score: 0.8, Components: map[string]float64{"name": 0.8}}}},
	}
	h.states.put(&ekycv1.SessionState{TenantId: "tenant-a", SessionId: id, Status: ekycv1.SessionStatus_SESSION_STATUS_DECIDED,
		Request: req, Checks: checks, ReceivedAt: timestamppb.New(h.clock.Now()), UpdatedAt: decided,
		Decision: &ekycv1.Decision{DecisionId: "dec-1", TenantId: "tenant-a", SessionId: id, Outcome: ekycv1.Outcome_OUTCOME_APPROVE,
			Score: 88, ReasonCodes: []string{"SCREENING_POSSIBLE_MATCH"}, PolicyId: "default", PolicyVersion: 3,
			DecidedAt: decided, ProcessingLatency: durationpb.New(3 * time.Second), Checks: checks}})

	r = h.do("GET", "/v1/sessions/"+id, nil, withKey(keyARead))
	require.Equal(t, http.StatusOK, r.Status)
	s := r.json(t)
	require.Equal(t, "approved", s["status"])
	require.Equal(t, []any{"SCREENING_POSSIBLE_MATCH"}, s["reason_codes"])
	require.Equal(t, "approve", s["decision"].(map[string]any)["outcome"])
	require.Len(t, s["checks"], 3)
	require.Nil(t, s["checks"].([]any)[0].(map[string]any)["signals"], "signals are in the report only")
	require.Len(t, s["images"], 3)
	require.NotContains(t, string(r.Body), piiSurname)

	r = h.do("GET", "/v1/sessions/"+id+"/report", nil, withKey(keyARead))
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	rep := r.json(t)
	require.Equal(t, "approved", rep["status"])
	require.Equal(t, gateway.EventID("tenant-a", id), rep["event_id"])
	dec := rep["decision"].(map[string]any)
	require.EqualValues(t, 3, dec["policy_version"])
	require.EqualValues(t, 3000, dec["processing_ms"])
	doc := rep["checks"].([]any)[0].(map[string]any)
	require.Len(t, doc["signals"], 2)
	require.EqualValues(t, 120, doc["latency_ms"])
	require.Len(t, rep["checks"].([]any)[2].(map[string]any)["screening_hits"], 1)
	require.Contains(t, h.audit.actions(), "tenant-a ka-read session.data_accessed "+id)
	require.Contains(t, h.audit.actions(), "tenant-a ka-write session.submitted "+id)
	require.Contains(t, h.audit.actions(), "tenant-a ka-write session.created "+id)

	// Erasure: admin only, idempotent.
	r = h.do("DELETE", "/v1/sessions/"+id, nil, withKey(keyAWrite))
	require.Equal(t, http.StatusForbidden, r.Status)
	r = h.do("DELETE", "/v1/sessions/"+id, nil, withKey(keyAAdmin))
	require.Equal(t, http.StatusNoContent, r.Status, "%s", r.Body)
	require.Equal(t, []string{"tenant-a/" + id}, h.eraser.calls())
	d, err := h.state.Get(context.Background(), "tenant-a", id)
	require.NoError(t, err)
	require.Equal(t, apistate.StatusErased, d.Status)
	require.Nil(t, d.Applicant)
	r = h.do("GET", "/v1/sessions/"+id, nil, withKey(keyARead))
	require.Equal(t, "erased", r.json(t)["status"])
	require.Empty(t, r.json(t)["images"])
	r = h.do("DELETE", "/v1/sessions/"+id, nil, withKey(keyAAdmin))
	require.Equal(t, http.StatusNoContent, r.Status)
	require.Len(t, h.eraser.calls(), 2)
	require.Contains(t, h.audit.actions(), "tenant-a ka-admin session.erase_requested "+id)
	r = h.do("POST", "/v1/sessions/"+id+"/submit", nil)
	require.Equal(t, http.StatusConflict, r.Status, "an erased session cannot be submitted again")
	require.Equal(t, "session_not_modifiable", r.errCode(t))
	require.Len(t, h.pub.published(), 1)

	// No personal data in any log line.
	logs := h.logs.String()
	require.NotEmpty(t, logs)
	for _, pii := range []string{piiGiven, piiSurname, piiDOB, "client-ref-77", "1 Test Way"} {
		require.NotContains(t, logs, pii)
	}
}

func TestSessionSubmittedThroughKafkaIsReadable(t *testing.T) {
	h := newHarness(t, nil)
	h.states.put(&ekycv1.SessionState{TenantId: "tenant-a", SessionId: "kafka-1", Status: ekycv1.SessionStatus_SESSION_STATUS_REVIEW,
		Request: &ekycv1.VerificationRequest{TenantId: "tenant-a", SessionId: "kafka-1", EventId: "e1",
			RequestedChecks: []ekycv1.CheckKind{ekycv1.CheckKind_CHECK_KIND_SCREENING}},
		Decision: &ekycv1.Decision{Outcome: ekycv1.Outcome_OUTCOME_REVIEW, ReasonCodes: []string{"X"}}})
	r := h.do("GET", "/v1/sessions/kafka-1", nil, withKey(keyARead))
	require.Equal(t, http.StatusOK, r.Status)
	require.Equal(t, "review", r.json(t)["status"])
	require.Equal(t, []any{"screening"}, r.json(t)["requested_checks"])

	r = h.do("GET", "/v1/sessions/kafka-1", nil, withKey(keyBAdmin))
	require.Equal(t, http.StatusNotFound, r.Status)
	r = h.do("DELETE", "/v1/sessions/kafka-1", nil, withKey(keyAAdmin))
	require.Equal(t, http.StatusNoContent, r.Status)
	require.Equal(t, []string{"tenant-a/kafka-1"}, h.eraser.calls())
}

func TestAuthFailures(t *testing.T) {
	h := newHarness(t, nil)
	id := h.ready(keyAWrite)
	h.hooks.add("tenant-a", gateway.WebhookEvent{ID: "ev-1", SessionID: id, Type: "verification.decided", Status: "delivered"})

	type call struct {
		method, path string
		body         []byte
		ct           string
	}
	calls := []call{
		{"POST", "/v1/sessions", jsonBody(createBody("screening")), "application/json"},
		{"GET", "/v1/sessions/" + id, nil, ""},
		{"DELETE", "/v1/sessions/" + id, nil, ""},
		{"PUT", "/v1/sessions/" + id + "/document", readFace(t, "obama.jpg"), "image/jpeg"},
		{"PUT", "/v1/sessions/" + id + "/selfie", readFace(t, "obama.jpg"), "image/jpeg"},
		{"POST", "/v1/sessions/" + id + "/submit", nil, ""},
		{"GET", "/v1/sessions/" + id + "/report", nil, ""},
		{"GET", "/v1/webhooks/events", nil, ""},
		{"GET", "/v1/webhooks/events/ev-1", nil, ""},
		{"POST", "/v1/webhooks/events/ev-1/replay", nil, ""},
	}
	for _, c := range calls {
		for name, auth := range map[string]string{
			"missing":   "",
			"basic":     "Basic dXNlcjpwYXNz",
			"empty":     "Bearer ",
			"no scheme": keyAAdmin,
			"unknown":   "Bearer sk_nobody_0123456789",
			"revoked":   "Bearer " + keyRevoked,
		} {
			opts := []reqOpt{withKey(""), withContentType(c.ct)}
			if auth != "" {
				opts = append(opts, withAuthorization(auth))
			}
			r := h.do(c.method, c.path, c.body, opts...)
			require.Equal(t, http.StatusUnauthorized, r.Status, "%s %s with %s key", c.method, c.path, name)
			require.Equal(t, "unauthenticated", r.errCode(t))
			require.Contains(t, r.Header.Get("WWW-Authenticate"), "Bearer")
		}
	}

	// Scopes: read < write < admin.
	forbidden := map[string][]call{
		keyARead:  {calls[0], calls[2], calls[3], calls[4], calls[5], calls[9]},
		keyAWrite: {calls[2], calls[9]},
	}
	for key, cs := range forbidden {
		for _, c := range cs {
			r := h.do(c.method, c.path, c.body, withKey(key), withContentType(c.ct))
			require.Equal(t, http.StatusForbidden, r.Status, "%s %s with %s", c.method, c.path, key)
			require.Equal(t, "forbidden", r.errCode(t))
		}
	}
	// Nothing happened.
	require.Empty(t, h.pub.published())
	require.Empty(t, h.eraser.calls())
	require.Empty(t, h.hooks.replayed())
	// Admin can read (admin ⊇ write ⊇ read).
	r := h.do("GET", "/v1/sessions/"+id, nil, withKey(keyAAdmin))
	require.Equal(t, http.StatusOK, r.Status)
}

func TestTenantIsolation(t *testing.T) {
	h := newHarness(t, nil)
	id := h.ready(keyAWrite)
	ready2 := h.ready(keyAWrite)
	r := h.do("POST", "/v1/sessions/"+ready2+"/submit", nil)
	require.Equal(t, http.StatusAccepted, r.Status)
	h.hooks.add("tenant-a", gateway.WebhookEvent{ID: "ev-a", SessionID: id, Type: "verification.decided", Status: "delivered"})
	h.hooks.add("tenant-b", gateway.WebhookEvent{ID: "ev-b", SessionID: "b-1", Type: "verification.decided", Status: "failed"})
	blobsBefore := h.blobs.count()
	frontBefore := h.blobs.get("tenant-a", id, "document_front")

	// The answer for another tenant's resource is byte for byte the answer
	// for a missing one.
	type probe struct {
		method, path, missing string
		body                  []byte
		ct                    string
	}
	jpg := readFace(t, "obama_small.jpg")
	probes := []probe{
		{"GET", "/v1/sessions/" + id, "/v1/sessions/nope", nil, ""},
		{"GET", "/v1/sessions/" + ready2, "/v1/sessions/nope", nil, ""},
		{"GET", "/v1/sessions/" + id + "/report", "/v1/sessions/nope/report", nil, ""},
		{"PUT", "/v1/sessions/" + id + "/document", "/v1/sessions/nope/document", jpg, "image/jpeg"},
		{"PUT", "/v1/sessions/" + id + "/selfie", "/v1/sessions/nope/selfie", jpg, "image/jpeg"},
		{"POST", "/v1/sessions/" + id + "/submit", "/v1/sessions/nope/submit", nil, ""},
		{"DELETE", "/v1/sessions/" + id, "/v1/sessions/nope", nil, ""},
		{"GET", "/v1/webhooks/events/ev-a", "/v1/webhooks/events/nope", nil, ""},
		{"POST", "/v1/webhooks/events/ev-a/replay", "/v1/webhooks/events/nope/replay", nil, ""},
	}
	for _, p := range probes {
		other := h.do(p.method, p.path, p.body, withKey(keyBAdmin), withContentType(p.ct))
		missing := h.do(p.method, p.missing, p.body, withKey(keyBAdmin), withContentType(p.ct))
		require.Equal(t, http.StatusNotFound, other.Status, "%s %s as tenant B: %s", p.method, p.path, other.Body)
		require.Equal(t, "not_found", other.errCode(t))
		require.Equal(t, missing.Status, other.Status)
		require.Equal(t, missing.Body, other.Body, "%s %s leaks existence", p.method, p.path)
	}
	// Tenant B's listing shows only its own events.
	r = h.do("GET", "/v1/webhooks/events", nil, withKey(keyBAdmin))
	require.Equal(t, http.StatusOK, r.Status)
	evs := r.json(t)["events"].([]any)
	require.Len(t, evs, 1)
	require.Equal(t, "ev-b", evs[0].(map[string]any)["id"])

	// Tenant A's data is untouched.
	require.Equal(t, blobsBefore, h.blobs.count())
	require.Equal(t, frontBefore, h.blobs.get("tenant-a", id, "document_front"))
	require.Len(t, h.pub.published(), 1)
	require.Empty(t, h.eraser.calls())
	require.Empty(t, h.hooks.replayed())
	d, err := h.state.Get(context.Background(), "tenant-a", id)
	require.NoError(t, err)
	require.Equal(t, apistate.StatusCreated, d.Status)
	require.Equal(t, piiSurname, d.Applicant.GetSurname())
	r = h.do("GET", "/v1/sessions/"+id, nil, withKey(keyARead))
	require.Equal(t, http.StatusOK, r.Status)
	require.Len(t, r.json(t)["images"], 2)
}

func TestRateLimitPerKey(t *testing.T) {
	h := newHarness(t, nil, gateway.WithRateLimits(gateway.Limit{}, gateway.Limit{Rate: 0.5, Burst: 3}))
	get := func(key string) resp { return h.do("GET", "/v1/webhooks/events", nil, withKey(key)) }
	for range 3 {
		require.Equal(t, http.StatusOK, get(keyAAdmin).Status)
	}
	r := get(keyAAdmin)
	require.Equal(t, http.StatusTooManyRequests, r.Status)
	require.Equal(t, "rate_limited", r.errCode(t))
	require.Equal(t, "2", r.Header.Get("Retry-After"), "one token at 0.5/s is 2 s away")

	// Other keys, of this tenant or another, have their own buckets.
	require.Equal(t, http.StatusOK, get(keyARead).Status)
	require.Equal(t, http.StatusOK, get(keyBAdmin).Status)

	// Refill: after 1 s half a token, still refused; after 2 s one.
	h.clock.Advance(time.Second)
	r = get(keyAAdmin)
	require.Equal(t, http.StatusTooManyRequests, r.Status)
	require.Equal(t, "1", r.Header.Get("Retry-After"))
	h.clock.Advance(time.Second)
	require.Equal(t, http.StatusOK, get(keyAAdmin).Status)
	require.Equal(t, http.StatusTooManyRequests, get(keyAAdmin).Status)

	// The OpenAPI document is not limited.
	require.Equal(t, http.StatusOK, h.do("GET", "/v1/openapi.json", nil, withKey("")).Status)
}

func TestRateLimitPerTenant(t *testing.T) {
	h := newHarness(t, nil,
		gateway.WithRateLimits(gateway.Limit{Rate: 2, Burst: 2}, gateway.Limit{}),
		gateway.WithTenantRateLimit("tenant-b", gateway.Limit{Rate: 1, Burst: 5}))
	get := func(key string) resp { return h.do("GET", "/v1/webhooks/events", nil, withKey(key)) }
	require.Equal(t, http.StatusOK, get(keyARead).Status)
	require.Equal(t, http.StatusOK, get(keyAWrite).Status)
	for _, k := range []string{keyARead, keyAWrite, keyAAdmin} {
		r := get(k)
		require.Equal(t, http.StatusTooManyRequests, r.Status, "tenant A's bucket is shared by its keys")
		require.Equal(t, "1", r.Header.Get("Retry-After"))
	}
	// Tenant B has its own (larger) bucket.
	for range 5 {
		require.Equal(t, http.StatusOK, get(keyBAdmin).Status)
	}
	require.Equal(t, http.StatusTooManyRequests, get(keyBAdmin).Status)

	// 2 tokens/s: 500 ms refill one request.
	h.clock.Advance(500 * time.Millisecond)
	require.Equal(t, http.StatusOK, get(keyAAdmin).Status)
	require.Equal(t, http.StatusTooManyRequests, get(keyARead).Status)
	// A POST refused by the limiter does not run.
	r := h.do("POST", "/v1/sessions", jsonBody(createBody("screening")))
	require.Equal(t, http.StatusTooManyRequests, r.Status)
	require.Zero(t, h.idsIssued())
}

func TestImageUploadLimits(t *testing.T) {
	h := newHarness(t, nil, gateway.WithImageLimits(gateway.ImageLimits{MaxBytes: 270_000, MinWidth: 300, MinHeight: 300, MaxWidth: 1000, MaxHeight: 1200}))
	id := h.create(keyAWrite, "document", "face")
	put := func(which string, data []byte, ct string, opts ...reqOpt) resp {
		return h.do("PUT", "/v1/sessions/"+id+"/"+which, data, append([]reqOpt{withContentType(ct)}, opts...)...)
	}

	// Oversized: 280 kB JPEG, raw and multipart.
	big := readFace(t, "obama.jpg")
	r := put("selfie", big, "image/jpeg")
	require.Equal(t, http.StatusRequestEntityTooLarge, r.Status)
	require.Equal(t, "payload_too_large", r.errCode(t))
	mp, ct := multipartBody(t, "file", "big.jpg", "image/jpeg", big)
	r = put("selfie", mp, ct)
	require.Equal(t, http.StatusRequestEntityTooLarge, r.Status)
	// Far beyond the limit the body reader stops (MaxBytesReader).
	huge := bytes.Repeat(big, 2)
	r = put("document", huge, "image/jpeg")
	require.Equal(t, http.StatusRequestEntityTooLarge, r.Status)

	// Wrong type: a text file named .jpg, sent as image/jpeg, raw and
	// multipart; a GIF header.
	text := []byte("this is not an image, just text pretending to be a .jpg\n")
	r = put("selfie", text, "image/jpeg")
	require.Equal(t, http.StatusUnsupportedMediaType, r.Status)
	require.Equal(t, "unsupported_media_type", r.errCode(t))
	mp, ct = multipartBody(t, "file", "photo.jpg", "image/jpeg", text)
	r = put("selfie", mp, ct)
	require.Equal(t, http.StatusUnsupportedMediaType, r.Status)
	r = put("selfie", []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;"), "image/jpeg")
	require.Equal(t, http.StatusUnsupportedMediaType, r.Status)

	// A JPEG that does not decode (truncated header).
	r = put("selfie", big[:600], "image/jpeg")
	require.Equal(t, http.StatusUnprocessableEntity, r.Status)
	require.Equal(t, "invalid_image", r.errCode(t))

	// Dimensions: 320x240 is below the minimum height.
	r = put("selfie", readFace(t, "obama_small.jpg"), "image/jpeg")
	require.Equal(t, http.StatusUnprocessableEntity, r.Status)
	require.Equal(t, "image_dimensions", r.errCode(t))
	require.Contains(t, string(r.Body), "320x240")
	// 626x1200 passes; the 320x240 photograph as PNG is too small too.
	r = put("selfie", readFace(t, "obama2.jpg"), "image/jpeg")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	small := pngOf(t, "obama_small.jpg")
	require.Less(t, len(small), 270_000)
	r = put("document?side=front", small, "image/png")
	require.Equal(t, http.StatusUnprocessableEntity, r.Status)
	require.Equal(t, "image_dimensions", r.errCode(t))

	// Bad requests.
	r = put("document?side=left", readFace(t, "obama2.jpg"), "image/jpeg", invalidRequest())
	require.Equal(t, http.StatusBadRequest, r.Status)
	require.Equal(t, "invalid_request", r.errCode(t))
	r = put("selfie", []byte{}, "image/jpeg", invalidRequest())
	require.Equal(t, http.StatusBadRequest, r.Status)
	mp, ct = multipartBody(t, "photo", "x.jpg", "image/jpeg", readFace(t, "obama2.jpg"))
	r = put("selfie", mp, ct, invalidRequest())
	require.Equal(t, http.StatusBadRequest, r.Status)

	// Only the good selfie was stored.
	require.Equal(t, 1, h.blobs.count())
	d, err := h.state.Get(context.Background(), "tenant-a", id)
	require.NoError(t, err)
	require.Len(t, d.Images, 1)
	require.Equal(t, "selfie", d.Images[0].Name)
	require.Equal(t, 626, d.Images[0].Width)

	// JSON body limit applies elsewhere.
	h2 := newHarness(t, nil, gateway.WithBodyLimit(512))
	body := createBody("screening")
	body["reference"] = strings.Repeat("x", 100)
	body["applicant"].(map[string]any)["address"].(map[string]any)["lines"] = []string{strings.Repeat("y", 200), strings.Repeat("z", 200)}
	r = h2.do("POST", "/v1/sessions", jsonBody(body))
	require.Equal(t, http.StatusRequestEntityTooLarge, r.Status)
	require.Equal(t, "payload_too_large", r.errCode(t))
}

func TestCreateValidation(t *testing.T) {
	h := newHarness(t, nil)
	post := func(body []byte, opts ...reqOpt) resp { return h.do("POST", "/v1/sessions", body, opts...) }
	bad := func(mut func(m map[string]any)) []byte {
		m := createBody("document", "screening")
		mut(m)
		return jsonBody(m)
	}
	cases := []struct {
		name   string
		body   []byte
		status int
		code   string
		msg    string
	}{
		{"malformed", []byte(`{"checks": ["document"`), 400, "invalid_json", "truncated"},
		{"syntax", []byte(`{"checks": [document]}`), 400, "invalid_json", "malformed JSON"},
		{"trailing", []byte(`{"checks": ["document"]} {}`), 400, "invalid_json", "single JSON object"},
		{"unknown field", bad(func(m map[string]any) { m["colour"] = "blue" }), 400, "invalid_json", `colour`},
		{"unknown nested field", bad(func(m map[string]any) { m["applicant"].(map[string]any)["ssn"] = "123" }), 400, "invalid_json", `ssn`},
		{"wrong type", bad(func(m map[string]any) { m["checks"] = "document" }), 400, "invalid_json", "checks"},
		{"no checks", bad(func(m map[string]any) { m["checks"] = []string{} }), 400, "invalid_request", "checks"},
		{"unknown check", bad(func(m map[string]any) { m["checks"] = []string{"horoscope"} }), 400, "invalid_request", "horoscope"},
		{"duplicate check", bad(func(m map[string]any) { m["checks"] = []string{"face", "face"} }), 400, "invalid_request", "twice"},
		{"bad date", bad(func(m map[string]any) { m["applicant"].(map[string]any)["date_of_birth"] = "19/07/1984" }), 400, "invalid_request", "applicant.date_of_birth"},
		{"bad nationality", bad(func(m map[string]any) { m["applicant"].(map[string]any)["nationality"] = "utopia" }), 400, "invalid_request", "applicant.nationality"},
		{"bad document type", bad(func(m map[string]any) { m["document"].(map[string]any)["type"] = "library_card" }), 400, "invalid_request", "document.type"},
		{"bad callback", bad(func(m map[string]any) { m["callback_url"] = "ftp://x" }), 400, "invalid_request", "callback_url"},
		{"bad policy", bad(func(m map[string]any) { m["policy_id"] = "Bad Policy" }), 400, "invalid_request", "policy_id"},
		{"screening without name", bad(func(m map[string]any) { delete(m, "applicant") }), 400, "invalid_request", "applicant"},
	}
	for _, c := range cases {
		r := post(c.body, invalidRequest())
		require.Equal(t, c.status, r.Status, "%s: %s", c.name, r.Body)
		require.Equal(t, c.code, r.errCode(t), c.name)
		require.Contains(t, string(r.Body), c.msg, c.name)
		for _, pii := range []string{piiSurname, piiGiven, "19/07/1984", "utopia"} {
			require.NotContains(t, string(r.Body), pii, "%s: error echoes a value", c.name)
		}
	}
	r := post(jsonBody(createBody("screening")), withContentType("text/plain"), invalidRequest())
	require.Equal(t, http.StatusUnsupportedMediaType, r.Status)
	require.Equal(t, "unsupported_media_type", r.errCode(t))
	require.Zero(t, h.idsIssued(), "no session was created")

	// Minimal valid bodies.
	r = post([]byte(`{"checks":["document"]}`))
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	require.Equal(t, []any{"document_front"}, r.json(t)["required_images"])
	r = post([]byte(`{"checks":["screening"],"applicant":{"surname":"X"}}`))
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	require.Equal(t, []any{}, r.json(t)["required_images"])
}

func TestIdempotentCreate(t *testing.T) {
	h := newHarness(t, nil)
	body := jsonBody(createBody("document", "face"))
	first := h.do("POST", "/v1/sessions", body, withIdempotencyKey("create-1"))
	require.Equal(t, http.StatusCreated, first.Status)
	require.Empty(t, first.Header.Get("Idempotent-Replayed"))

	again := h.do("POST", "/v1/sessions", body, withIdempotencyKey("create-1"))
	require.Equal(t, first.Status, again.Status)
	require.Equal(t, first.Body, again.Body)
	require.Equal(t, "true", again.Header.Get("Idempotent-Replayed"))
	require.Equal(t, 1, h.idsIssued(), "the retry did not create a session")

	// Same key, another body.
	other := h.do("POST", "/v1/sessions", jsonBody(createBody("screening")), withIdempotencyKey("create-1"))
	require.Equal(t, http.StatusUnprocessableEntity, other.Status)
	require.Equal(t, "idempotency_key_reused", other.errCode(t))
	// Same key on another endpoint is another request too.
	other = h.do("POST", "/v1/sessions/"+first.json(t)["id"].(string)+"/submit", nil, withIdempotencyKey("create-1"))
	require.Equal(t, http.StatusUnprocessableEntity, other.Status)
	require.Equal(t, 1, h.idsIssued())

	// Keys are per tenant.
	b := h.do("POST", "/v1/sessions", body, withKey(keyBWrite), withIdempotencyKey("create-1"))
	require.Equal(t, http.StatusCreated, b.Status)
	require.NotEqual(t, first.json(t)["id"], b.json(t)["id"])
	require.Empty(t, b.Header.Get("Idempotent-Replayed"))

	// A 4xx is stored too: the retry of a bad request gets the same answer.
	badBody := []byte(`{"checks":[]}`)
	r1 := h.do("POST", "/v1/sessions", badBody, withIdempotencyKey("bad-1"), invalidRequest())
	require.Equal(t, http.StatusBadRequest, r1.Status)
	r2 := h.do("POST", "/v1/sessions", badBody, withIdempotencyKey("bad-1"), invalidRequest())
	require.Equal(t, r1.Body, r2.Body)
	require.Equal(t, "true", r2.Header.Get("Idempotent-Replayed"))

	r := h.do("POST", "/v1/sessions", body, withIdempotencyKey("bad\x01key"), invalidRequest())
	require.Equal(t, http.StatusBadRequest, r.Status)
	r = h.do("POST", "/v1/sessions", body, withIdempotencyKey(strings.Repeat("k", 256)), invalidRequest())
	require.Equal(t, http.StatusBadRequest, r.Status)
}

func TestIdempotentConcurrentDuplicatesExecuteOnce(t *testing.T) {
	h := newHarness(t, nil)
	body := jsonBody(createBody("screening"))
	const n = 16
	var wg sync.WaitGroup
	results := make([]resp, n)
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results[i], errs[i] = h.doErr("POST", "/v1/sessions", body, withIdempotencyKey("race-1"))
		}()
	}
	close(start)
	wg.Wait()
	for i := range n {
		require.NoError(t, errs[i])
		require.Equal(t, http.StatusCreated, results[i].Status)
		require.Equal(t, results[0].Body, results[i].Body)
	}
	require.Equal(t, 1, h.idsIssued(), "concurrent duplicates both executed")
}

func TestSubmitRules(t *testing.T) {
	h := newHarness(t, nil)

	// Missing images.
	id := h.create(keyAWrite, "document", "face")
	r := h.do("POST", "/v1/sessions/"+id+"/submit", nil)
	require.Equal(t, http.StatusUnprocessableEntity, r.Status)
	require.Equal(t, "missing_images", r.errCode(t))
	require.Contains(t, string(r.Body), "document_front, selfie")
	r = h.upload(keyAWrite, id, "document", readFace(t, "obama.jpg"), "image/jpeg")
	require.Equal(t, http.StatusOK, r.Status)
	r = h.do("POST", "/v1/sessions/"+id+"/submit", nil)
	require.Equal(t, http.StatusUnprocessableEntity, r.Status)
	require.Contains(t, string(r.Body), "selfie")
	require.NotContains(t, string(r.Body), "document_front")
	require.Empty(t, h.pub.published())

	// Screening needs no image.
	sid := h.create(keyAWrite, "screening")
	r = h.do("POST", "/v1/sessions/"+sid+"/submit", nil)
	require.Equal(t, http.StatusAccepted, r.Status, "%s", r.Body)
	require.Nil(t, h.pub.published()[0].GetDocument().GetImages())

	// Publish failure: 503, the session stays submittable, the retry
	// publishes the same event.
	id2 := h.ready(keyAWrite)
	h.pub.setFail(errBroker)
	r = h.do("POST", "/v1/sessions/"+id2+"/submit", nil, withIdempotencyKey("sub-1"))
	require.Equal(t, http.StatusServiceUnavailable, r.Status)
	require.Equal(t, "publish_failed", r.errCode(t))
	require.NotContains(t, string(r.Body), errBroker.Error())
	d, err := h.state.Get(context.Background(), "tenant-a", id2)
	require.NoError(t, err)
	require.Equal(t, apistate.StatusCreated, d.Status)
	r = h.do("GET", "/v1/sessions/"+id2, nil, withKey(keyARead))
	require.Equal(t, "created", r.json(t)["status"])
	// Still accepts images.
	r = h.upload(keyAWrite, id2, "selfie", readFace(t, "obama.jpg"), "image/jpeg")
	require.Equal(t, http.StatusOK, r.Status)

	h.pub.setFail(nil)
	r = h.do("POST", "/v1/sessions/"+id2+"/submit", nil, withIdempotencyKey("sub-1"))
	require.Equal(t, http.StatusAccepted, r.Status, "a 5xx is not stored: the retry runs")
	require.Empty(t, r.Header.Get("Idempotent-Replayed"))
	h.pub.mu.Lock()
	attempts := slices.Clone(h.pub.attempts)
	h.pub.mu.Unlock()
	require.Len(t, attempts, 3)
	require.Equal(t, attempts[1].GetEventId(), attempts[2].GetEventId(), "a retried submit is the same event")
	require.Equal(t, gateway.EventID("tenant-a", id2), attempts[2].GetEventId())

	r2 := h.do("POST", "/v1/sessions/"+id2+"/submit", nil, withIdempotencyKey("sub-1"))
	require.Equal(t, r.Body, r2.Body)
	require.Equal(t, "true", r2.Header.Get("Idempotent-Replayed"))
	require.Len(t, h.pub.published(), 2)

	// Concurrent submits of one session publish once.
	id3 := h.ready(keyAWrite)
	var wg sync.WaitGroup
	out := make([]resp, 8)
	errs := make([]error, 8)
	for i := range out {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i], errs[i] = h.doErr("POST", "/v1/sessions/"+id3+"/submit", nil)
		}()
	}
	wg.Wait()
	for i := range out {
		require.NoError(t, errs[i])
		require.Equal(t, http.StatusAccepted, out[i].Status)
		require.Equal(t, out[0].Body, out[i].Body)
	}
	require.Len(t, h.pub.published(), 3)
}

func TestWebhookEndpoints(t *testing.T) {
	h := newHarness(t, nil)
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for i, st := range []string{"delivered", "failed", "pending"} {
		h.hooks.add("tenant-a", gateway.WebhookEvent{ID: "ev-" + string(rune('1'+i)), SessionID: "s", Type: "verification.decided",
			Status: st, CreatedAt: at.Add(time.Duration(i) * time.Minute),
			Attempts: []gateway.WebhookAttempt{{At: at, StatusCode: 500, Duration: 40 * time.Millisecond},
				{At: at.Add(time.Minute), Error: "connection refused", Duration: time.Second}}})
	}
	r := h.do("GET", "/v1/webhooks/events", nil, withKey(keyARead))
	require.Equal(t, http.StatusOK, r.Status)
	evs := r.json(t)["events"].([]any)
	require.Len(t, evs, 3)
	require.Equal(t, "ev-3", evs[0].(map[string]any)["id"])

	r = h.do("GET", "/v1/webhooks/events?limit=2", nil, withKey(keyARead))
	require.Len(t, r.json(t)["events"], 2)
	for _, l := range []string{"0", "501", "x"} {
		r = h.do("GET", "/v1/webhooks/events?limit="+l, nil, withKey(keyARead), invalidRequest())
		require.Equal(t, http.StatusBadRequest, r.Status, l)
		require.Equal(t, "invalid_request", r.errCode(t))
	}

	r = h.do("GET", "/v1/webhooks/events/ev-2", nil, withKey(keyARead))
	require.Equal(t, http.StatusOK, r.Status)
	ev := r.json(t)
	require.Equal(t, "failed", ev["status"])
	atts := ev["attempts"].([]any)
	require.Len(t, atts, 2)
	require.EqualValues(t, 500, atts[0].(map[string]any)["status_code"])
	require.EqualValues(t, 1000, atts[1].(map[string]any)["duration_ms"])
	require.Equal(t, "connection refused", atts[1].(map[string]any)["error"])

	r = h.do("POST", "/v1/webhooks/events/ev-2/replay", nil, withKey(keyAAdmin))
	require.Equal(t, http.StatusAccepted, r.Status)
	require.Equal(t, "replay_scheduled", r.json(t)["status"])
	require.Equal(t, []string{"tenant-a/ev-2"}, h.hooks.replayed())
	require.Contains(t, h.audit.actions(), "tenant-a ka-admin webhook.replayed ev-2")

	r = h.do("GET", "/v1/webhooks/events/ev-9", nil, withKey(keyARead))
	require.Equal(t, http.StatusNotFound, r.Status)
	r = h.do("POST", "/v1/webhooks/events/ev-9/replay", nil, withKey(keyAAdmin))
	require.Equal(t, http.StatusNotFound, r.Status)
	require.Len(t, h.hooks.replayed(), 1)
}

func TestUnconfiguredFeaturesAndFailures(t *testing.T) {
	h := newHarness(t, func(d *gateway.Deps) { d.Eraser, d.Webhooks = nil, nil })
	id := h.create(keyAWrite, "screening")
	r := h.do("DELETE", "/v1/sessions/"+id, nil, withKey(keyAAdmin))
	require.Equal(t, http.StatusServiceUnavailable, r.Status)
	require.Equal(t, "not_available", r.errCode(t))
	r = h.do("GET", "/v1/webhooks/events", nil, withKey(keyARead))
	require.Equal(t, "not_available", r.errCode(t))
	r = h.do("GET", "/v1/webhooks/events/e", nil, withKey(keyARead))
	require.Equal(t, "not_available", r.errCode(t))
	r = h.do("POST", "/v1/webhooks/events/e/replay", nil, withKey(keyAAdmin))
	require.Equal(t, "not_available", r.errCode(t))

	// A report is not served when its access cannot be audited.
	h.audit.mu.Lock()
	h.audit.fail = context.DeadlineExceeded
	h.audit.mu.Unlock()
	r = h.do("GET", "/v1/sessions/"+id+"/report", nil, withKey(keyARead))
	require.Equal(t, http.StatusServiceUnavailable, r.Status)
	require.Equal(t, "unavailable", r.errCode(t))
	require.NotContains(t, string(r.Body), id)

	// Unknown routes and methods answer JSON too.
	r = h.do("GET", "/v1/nothing", nil, undocumented())
	require.Equal(t, http.StatusNotFound, r.Status)
	require.Equal(t, "not_found", r.errCode(t))
	r = h.do("PATCH", "/v1/sessions/"+id, nil, undocumented())
	require.Equal(t, http.StatusMethodNotAllowed, r.Status)
	require.Equal(t, "method_not_allowed", r.errCode(t))
	require.Equal(t, "GET, DELETE", r.Header.Get("Allow"))

	// Malformed ids are plain not-founds.
	r = h.do("GET", "/v1/sessions/..%2Fx", nil, withKey(keyARead), invalidRequest())
	require.Equal(t, http.StatusNotFound, r.Status)

	_, err := gateway.New(gateway.Deps{})
	require.Error(t, err)
	_, err = gateway.New(gateway.Deps{Authenticator: newKeyTable(), State: h.state, Blobs: h.blobs, Publisher: h.pub},
		gateway.WithImageLimits(gateway.ImageLimits{MinWidth: 5000, MaxWidth: 100}))
	require.Error(t, err)
}
