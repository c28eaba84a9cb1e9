package console

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"

	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
	review "github.com/openekyc/ekyc/services/review"
	"github.com/openekyc/ekyc/services/signal"
)

func screeningCheck() *ekycv1.CheckResult {
	return &ekycv1.CheckResult{Kind: ekycv1.CheckKind_CHECK_KIND_SCREENING, Status: ekycv1.CheckStatus_CHECK_STATUS_CONSIDER,
		Score: 0.2, ReasonCodes: []string{"SCREENING_SANCTIONS_HIT"},
		Signals: []*ekycv1.Signal{signal.Number("screening.hits", 1, "count")},
		ScreeningHits: []*ekycv1.ScreeningHit{{EntityId: "ofac:306", Source: "ofac", ListVersion: "ofac@2026-02-28",
			EntityType: "person", Name: "ERIKSSON, Anna", MatchedName: "Anna Eriksson", Score: 0.93,
			Components: map[string]float64{"name": 0.95, "dob": 1}, Programs: []string{"SDGT"}}}}
}

func faceCheck(dedup string) *ekycv1.CheckResult {
	sigs := []*ekycv1.Signal{
		signal.Number("face.match.similarity", 0.71, "cosine"), signal.Flag("face.match.ok", true),
		signal.Number("face.liveness.score", 0.97, "probability"), signal.Flag("face.liveness.ok", true),
	}
	codes := []string{}
	if dedup != "" {
		sigs = append(sigs, signal.Flag("face.dedup.match", true), signal.Number("face.dedup.similarity", 0.88, "cosine"),
			signal.Number("face.dedup.count", 1, "count"), signal.Text("face.dedup.session", dedup))
		codes = append(codes, "FACE_DUPLICATE_IDENTITY")
	}
	return &ekycv1.CheckResult{Kind: ekycv1.CheckKind_CHECK_KIND_FACE, Status: ekycv1.CheckStatus_CHECK_STATUS_CONSIDER,
		Score: 0.6, Signals: sigs, ReasonCodes: codes}
}

type evidenceView struct {
	caseJSON
	Evidence struct {
		Available       bool     `json:"available"`
		RequestedChecks []string `json:"requested_checks"`
		Applicant       struct {
			GivenNames  string `json:"given_names"`
			Surname     string `json:"surname"`
			DateOfBirth string `json:"date_of_birth"`
		} `json:"applicant"`
		Document struct {
			Type      string   `json:"type"`
			MRZLines  []string `json:"mrz_lines"`
			MRZSource string   `json:"mrz_source"`
			MRZ       mrzOut   `json:"mrz"`
		} `json:"document"`
		Checks        []checkOut   `json:"checks"`
		Face          faceOut      `json:"face"`
		ScreeningHits []hitOut     `json:"screening_hits"`
		Dedup         []dedupOut   `json:"dedup"`
		Decision      *decisionOut `json:"decision"`
		Images        []string     `json:"images"`
	} `json:"evidence"`
}

func TestCaseEvidence(t *testing.T) {
	e := newEnv(t)
	e.reviewer("acme", "alice", review.RoleReviewer)
	e.addSession("acme", "earlier", "dec-earlier", []string{})
	k := e.openCase("acme", "s1", []string{"SCREENING_SANCTIONS_HIT", "FACE_DUPLICATE_IDENTITY"}, screeningCheck(), faceCheck("earlier"))
	a := e.login("acme", "alice")

	r := a.get(casePath(k.ID))
	require.Equal(t, http.StatusOK, r.Code, r.Body.String())
	require.Equal(t, "no-store", r.Header().Get("Cache-Control"))
	var v evidenceView
	require.NoError(t, json.Unmarshal(r.Body.Bytes(), &v))
	require.Equal(t, k.ID, v.ID)
	require.Len(t, v.History, 1)
	ev := v.Evidence
	require.True(t, ev.Available)
	require.Equal(t, []string{"document", "face", "screening"}, ev.RequestedChecks)
	require.Equal(t, "Eriksson", ev.Applicant.Surname)
	require.Equal(t, "1974-08-12", ev.Applicant.DateOfBirth)
	require.Equal(t, "passport", ev.Document.Type)
	require.Equal(t, specimenMRZ, ev.Document.MRZLines)
	require.Equal(t, "request", ev.Document.MRZSource)
	require.True(t, ev.Document.MRZ.Readable)
	require.True(t, ev.Document.MRZ.Valid)
	require.Equal(t, "L898902C3", ev.Document.MRZ.DocumentNumber)
	require.Equal(t, "ERIKSSON", ev.Document.MRZ.Surname)
	require.Equal(t, "1974-08-12", ev.Document.MRZ.BirthDate)
	require.NotEmpty(t, ev.Document.MRZ.Checks)

	require.Len(t, ev.ScreeningHits, 1)
	hit := ev.ScreeningHits[0]
	require.Equal(t, "ofac:306", hit.EntityID)
	require.Equal(t, "Anna Eriksson", hit.MatchedName)
	require.Equal(t, []string{"SDGT"}, hit.Programs)
	require.InDelta(t, 0.93, hit.Score, 1e-9)

	require.NotNil(t, ev.Face.MatchSimilarity)
	require.InDelta(t, 0.71, *ev.Face.MatchSimilarity, 1e-9)
	require.InDelta(t, 0.97, *ev.Face.LivenessScore, 1e-9)
	require.True(t, *ev.Face.LivenessOK)
	require.Len(t, ev.Checks, 2)

	require.Len(t, ev.Dedup, 1)
	require.Equal(t, "earlier", ev.Dedup[0].SessionID)
	require.False(t, ev.Dedup[0].OtherTenant)
	require.Equal(t, []string{ImageDocumentFront, ImageSelfie}, ev.Dedup[0].Images)

	require.Equal(t, "review", ev.Decision.Outcome)
	require.Equal(t, "dec-s1", ev.Decision.ID)
	require.Equal(t, []string{ImageDocumentFront, ImageSelfie}, ev.Images)

	acc := e.audit.find("session.data_accessed", "s1")
	require.Len(t, acc, 1)
	require.Equal(t, "reviewer:"+a.id, acc[0].Actor)
	require.Equal(t, "acme", acc[0].Tenant)
	require.Equal(t, k.ID, acc[0].Details["case"])
}

func TestEvidenceHidesOtherTenantsDuplicate(t *testing.T) {
	e := newEnv(t)
	e.reviewer("acme", "alice", review.RoleReviewer)
	e.addSession("globex", "theirs", "dec-theirs", nil)
	k := e.openCase("acme", "s1", []string{"FACE_DUPLICATE_IDENTITY"}, faceCheck("globex/theirs"))
	a := e.login("acme", "alice")
	r := a.get(casePath(k.ID))
	require.Equal(t, http.StatusOK, r.Code)
	require.NotContains(t, r.Body.String(), "globex")
	require.NotContains(t, r.Body.String(), "theirs")
	var v evidenceView
	require.NoError(t, json.Unmarshal(r.Body.Bytes(), &v))
	require.Len(t, v.Evidence.Dedup, 1)
	require.True(t, v.Evidence.Dedup[0].OtherTenant)
	require.Empty(t, v.Evidence.Dedup[0].SessionID)
	r = a.get(casePath(k.ID, "related", "theirs", "images", ImageSelfie))
	require.Equal(t, http.StatusNotFound, r.Code)
}

func TestEvidenceOfMissingSession(t *testing.T) {
	e := newEnv(t)
	e.reviewer("acme", "alice", review.RoleReviewer)
	k := e.openCase("acme", "s1", []string{"DOC_EXPIRED"})
	e.evidence.mu.Lock()
	delete(e.evidence.sessions, "acme/s1")
	e.evidence.mu.Unlock()
	a := e.login("acme", "alice")
	r := a.get(casePath(k.ID))
	require.Equal(t, http.StatusOK, r.Code)
	var v evidenceView
	require.NoError(t, json.Unmarshal(r.Body.Bytes(), &v))
	require.False(t, v.Evidence.Available)
	require.Equal(t, http.StatusNotFound, a.get(casePath(k.ID, "images", ImageSelfie)).Code)
}

func TestImages(t *testing.T) {
	e := newEnv(t, WithDerivedImages("portrait"))
	e.reviewer("acme", "alice", review.RoleReviewer)
	e.addSession("acme", "earlier", "dec-earlier", nil)
	e.addSession("acme", "unrelated", "dec-unrelated", nil)
	k := e.openCase("acme", "s1", []string{"FACE_DUPLICATE_IDENTITY"}, faceCheck("earlier"))
	a := e.login("acme", "alice")

	r := a.get(casePath(k.ID, "images", ImageDocumentFront))
	require.Equal(t, http.StatusOK, r.Code, r.Body.String())
	require.Equal(t, []byte("\xff\xd8front-s1"), r.Body.Bytes())
	require.Equal(t, "image/jpeg", r.Header().Get("Content-Type"))
	require.Equal(t, "no-store, private", r.Header().Get("Cache-Control"))
	require.Equal(t, "nosniff", r.Header().Get("X-Content-Type-Options"))
	acc := e.audit.find("session.data_accessed", "s1")
	require.Len(t, acc, 1)
	require.Equal(t, ImageDocumentFront, acc[0].Details["image"])

	// Listed derived image the evidence does not have: 404 from Evidence.
	require.Equal(t, http.StatusNotFound, a.get(casePath(k.ID, "images", "portrait")).Code)
	for _, name := range []string{"document_back", "passport", "..%2Fselfie", "SELFIE"} {
		r := a.get(casePath(k.ID, "images", name))
		require.Equal(t, http.StatusNotFound, r.Code, name)
		require.Equal(t, "no-store", r.Header().Get("Cache-Control"))
	}

	// The duplicate's images are served next to the case; other sessions'
	// are not.
	r = a.get(casePath(k.ID, "related", "earlier", "images", ImageSelfie))
	require.Equal(t, http.StatusOK, r.Code, r.Body.String())
	require.Equal(t, []byte("\xff\xd8selfie-earlier"), r.Body.Bytes())
	require.Equal(t, "no-store, private", r.Header().Get("Cache-Control"))
	require.Len(t, e.audit.find("session.data_accessed", "earlier"), 1)
	require.Equal(t, http.StatusNotFound, a.get(casePath(k.ID, "related", "unrelated", "images", ImageSelfie)).Code)
}

func TestAssets(t *testing.T) {
	e := newEnv(t)
	r := e.request("GET", "/console/", nil, nil, nil)
	require.Equal(t, http.StatusNotFound, r.Code)

	fsys := fstest.MapFS{
		"index.html":            {Data: []byte("<!doctype html><title>console</title>")},
		"assets/index-abc.js":   {Data: []byte("console.log(1)")},
		"assets/index-abc.css":  {Data: []byte("body{}")},
		"assets/sub/nested.svg": {Data: []byte("<svg/>")},
	}
	e = newEnv(t, WithAssets(fsys))
	r = e.request("GET", "/console/", nil, nil, nil)
	require.Equal(t, http.StatusOK, r.Code)
	require.Contains(t, r.Body.String(), "<title>console</title>")
	require.Equal(t, "text/html; charset=utf-8", r.Header().Get("Content-Type"))
	require.Contains(t, r.Header().Get("Content-Security-Policy"), "script-src 'self'")
	require.Equal(t, "DENY", r.Header().Get("X-Frame-Options"))

	r = e.request("GET", "/console", nil, nil, nil)
	require.Equal(t, http.StatusMovedPermanently, r.Code)
	require.Equal(t, "/console/", r.Header().Get("Location"))

	r = e.request("GET", "/console/assets/index-abc.js", nil, nil, nil)
	require.Equal(t, http.StatusOK, r.Code)
	require.Equal(t, "console.log(1)", r.Body.String())
	require.Contains(t, r.Header().Get("Content-Type"), "javascript")
	require.Equal(t, http.StatusOK, e.request("GET", "/console/assets/sub/nested.svg", nil, nil, nil).Code)
	for _, p := range []string{"/console/assets/missing.js", "/console/assets/sub", "/console/index.html"} {
		require.Equal(t, http.StatusNotFound, e.request("GET", p, nil, nil, nil).Code, p)
	}
}

type fakeMRZ struct {
	mu    sync.Mutex
	lines []string
	err   error
	calls []string
}

func (f *fakeMRZ) ReadMRZ(_ context.Context, tenant, session string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, tenant+"/"+session)
	return f.lines, f.err
}

// TestEvidenceMRZReadFromImage: a session whose request carried only the
// document image shows the MRZ read from it (for this view: the reader is
// asked on each read, nothing is kept), marked as read from the image; a
// reader failure leaves the evidence without an MRZ, not the page broken.
func TestEvidenceMRZReadFromImage(t *testing.T) {
	e := newEnv(t)
	reader := &fakeMRZ{lines: specimenMRZ}
	c, err := New(Deps{Reviews: e.store, Evidence: e.evidence, Publisher: e.pub, Auditor: e.audit, MRZ: reader},
		WithClock(e.clock.now), WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	e.console = c
	e.reviewer("acme", "alice", review.RoleReviewer)
	k := e.openCase("acme", "s1", []string{"DOC_HOLDER_UNDERAGE"})
	e.evidence.mu.Lock()
	e.evidence.sessions["acme/s1"].Request.Document.MrzLines = nil // image only, as from the web SDK
	e.evidence.mu.Unlock()
	a := e.login("acme", "alice")

	var v evidenceView
	r := a.get(casePath(k.ID))
	require.Equal(t, http.StatusOK, r.Code, r.Body.String())
	require.NoError(t, json.Unmarshal(r.Body.Bytes(), &v))
	require.Equal(t, specimenMRZ, v.Evidence.Document.MRZLines)
	require.Equal(t, "image", v.Evidence.Document.MRZSource)
	require.Equal(t, "ERIKSSON", v.Evidence.Document.MRZ.Surname)
	require.Equal(t, []string{"acme/s1"}, reader.calls)

	reader.mu.Lock()
	reader.err = errors.New("no MRZ found on the document image")
	reader.mu.Unlock()
	v = evidenceView{}
	r = a.get(casePath(k.ID))
	require.Equal(t, http.StatusOK, r.Code, r.Body.String())
	require.NoError(t, json.Unmarshal(r.Body.Bytes(), &v))
	require.Empty(t, v.Evidence.Document.MRZLines)
	require.Empty(t, v.Evidence.Document.MRZSource)
	require.True(t, v.Evidence.Available)

	// A request with MRZ text is never re-read.
	k2 := e.openCase("acme", "s2", []string{"DOC_EXPIRED"})
	r = a.get(casePath(k2.ID))
	require.Equal(t, http.StatusOK, r.Code)
	require.Len(t, reader.calls, 2)
}
