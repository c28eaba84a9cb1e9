package gateway

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
	"github.com/openekyc/ekyc/services/intake"
	"github.com/openekyc/ekyc/store/apistate"
	"github.com/openekyc/ekyc/store/sessions"
)

// Image names in the blob store.
const (
	ImageDocumentFront = "document_front"
	ImageDocumentBack  = "document_back"
	ImageSelfie        = "selfie"
)

const maxReference = 128

// ---------------------------------------------------------------- JSON ---

type addressJSON struct {
	Lines      []string `json:"lines,omitempty"`
	City       string   `json:"city,omitempty"`
	PostalCode string   `json:"postal_code,omitempty"`
	Country    string   `json:"country,omitempty"`
}

type applicantJSON struct {
	GivenNames  string       `json:"given_names,omitempty"`
	Surname     string       `json:"surname,omitempty"`
	DateOfBirth string       `json:"date_of_birth,omitempty"`
	Nationality string       `json:"nationality,omitempty"`
	Address     *addressJSON `json:"address,omitempty"`
}

type documentJSON struct {
	Type           string   `json:"type,omitempty"`
	IssuingCountry string   `json:"issuing_country,omitempty"`
	MRZLines       []string `json:"mrz_lines,omitempty"`
}

type createSessionRequest struct {
	Applicant   *applicantJSON `json:"applicant"`
	Document    *documentJSON  `json:"document"`
	Checks      []string       `json:"checks"`
	PolicyID    string         `json:"policy_id"`
	CallbackURL string         `json:"callback_url"`
	Reference   string         `json:"reference"`
}

type imageJSON struct {
	Name        string    `json:"name"`
	ContentType string    `json:"content_type"`
	SHA256      string    `json:"sha256"`
	Size        int64     `json:"size"`
	Width       int       `json:"width"`
	Height      int       `json:"height"`
	UploadedAt  time.Time `json:"uploaded_at"`
}

type sessionCreated struct {
	ID             string    `json:"id"`
	Status         string    `json:"status"`
	CreatedAt      time.Time `json:"created_at"`
	Checks         []string  `json:"checks"`
	PolicyID       string    `json:"policy_id,omitempty"`
	RequiredImages []string  `json:"required_images"`
}

type submitted struct {
	ID          string    `json:"id"`
	Status      string    `json:"status"`
	EventID     string    `json:"event_id"`
	SubmittedAt time.Time `json:"submitted_at"`
}

type decisionJSON struct {
	ID            string    `json:"id"`
	Outcome       string    `json:"outcome"`
	Score         float64   `json:"score"`
	ReasonCodes   []string  `json:"reason_codes"`
	PolicyID      string    `json:"policy_id,omitempty"`
	PolicyVersion int32     `json:"policy_version,omitempty"`
	DecidedAt     time.Time `json:"decided_at,omitzero"`
	// Report only.
	ProcessingMS *int64 `json:"processing_ms,omitempty"`
}

type signalJSON struct {
	Name   string   `json:"name"`
	Number *float64 `json:"number,omitempty"`
	Flag   *bool    `json:"flag,omitempty"`
	Text   *string  `json:"text,omitempty"`
	Unit   string   `json:"unit,omitempty"`
}

type hitJSON struct {
	EntityID    string             `json:"entity_id"`
	Source      string             `json:"source"`
	ListVersion string             `json:"list_version"`
	EntityType  string             `json:"entity_type,omitempty"`
	Name        string             `json:"name"`
	MatchedName string             `json:"matched_name,omitempty"`
	Score       float64            `json:"score"`
	Components  map[string]float64 `json:"components,omitempty"`
	Programs    []string           `json:"programs,omitempty"`
	PEP         bool               `json:"pep"`
}

type checkJSON struct {
	Kind        string   `json:"kind"`
	Status      string   `json:"status"`
	Score       float64  `json:"score"`
	ReasonCodes []string `json:"reason_codes"`
	// Report only.
	Signals       []signalJSON `json:"signals,omitempty"`
	Attempts      int32        `json:"attempts,omitempty"`
	LatencyMS     *int64       `json:"latency_ms,omitempty"`
	Error         string       `json:"error,omitempty"`
	ScreeningHits []hitJSON    `json:"screening_hits,omitempty"`
}

type sessionJSON struct {
	ID              string        `json:"id"`
	Status          string        `json:"status"`
	CreatedAt       time.Time     `json:"created_at,omitzero"`
	SubmittedAt     time.Time     `json:"submitted_at,omitzero"`
	ErasedAt        time.Time     `json:"erased_at,omitzero"`
	RequestedChecks []string      `json:"requested_checks"`
	PolicyID        string        `json:"policy_id,omitempty"`
	Images          []imageJSON   `json:"images"`
	ReasonCodes     []string      `json:"reason_codes"`
	Decision        *decisionJSON `json:"decision,omitempty"`
	Checks          []checkJSON   `json:"checks"`
	// Report only.
	EventID    string    `json:"event_id,omitempty"`
	ReceivedAt time.Time `json:"received_at,omitzero"`
	UpdatedAt  time.Time `json:"updated_at,omitzero"`
}

// ------------------------------------------------------------ mapping ---

var checkNames = map[string]ekycv1.CheckKind{
	"document":  ekycv1.CheckKind_CHECK_KIND_DOCUMENT,
	"face":      ekycv1.CheckKind_CHECK_KIND_FACE,
	"screening": ekycv1.CheckKind_CHECK_KIND_SCREENING,
	"database":  ekycv1.CheckKind_CHECK_KIND_DATABASE,
}

var documentTypes = map[string]ekycv1.DocumentType{
	"passport":         ekycv1.DocumentType_DOCUMENT_TYPE_PASSPORT,
	"id_card":          ekycv1.DocumentType_DOCUMENT_TYPE_ID_CARD,
	"residence_permit": ekycv1.DocumentType_DOCUMENT_TYPE_RESIDENCE_PERMIT,
	"visa":             ekycv1.DocumentType_DOCUMENT_TYPE_VISA,
	"driving_licence":  ekycv1.DocumentType_DOCUMENT_TYPE_DRIVING_LICENCE,
}

// lowerEnum turns CHECK_KIND_FACE into "face" given prefix "CHECK_KIND_".
func lowerEnum(name, prefix string) string { return strings.ToLower(strings.TrimPrefix(name, prefix)) }

func checkName(k ekycv1.CheckKind) string { return lowerEnum(k.String(), "CHECK_KIND_") }

func checkNamesOf(ks []ekycv1.CheckKind) []string {
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = checkName(k)
	}
	return out
}

// requiredImages are the images the requested checks need: the document
// check reads the document's front, the face check compares the selfie with
// the document's portrait.
func requiredImages(checks []ekycv1.CheckKind) []string {
	var out []string
	if slices.Contains(checks, ekycv1.CheckKind_CHECK_KIND_DOCUMENT) || slices.Contains(checks, ekycv1.CheckKind_CHECK_KIND_FACE) {
		out = append(out, ImageDocumentFront)
	}
	if slices.Contains(checks, ekycv1.CheckKind_CHECK_KIND_FACE) {
		out = append(out, ImageSelfie)
	}
	return out
}

// decodeJSON reads a JSON body strictly: one value, no unknown fields.
func decodeJSON(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(strings.ToLower(ct), "application/json") {
		return errorf(CodeUnsupportedMediaType, "the body must be application/json")
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return errorf(CodeInvalidJSON, jsonErrorMessage(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return errorf(CodeInvalidJSON, "the body must hold a single JSON object")
	}
	return nil
}

// jsonErrorMessage describes a decoding error without echoing values.
func jsonErrorMessage(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("malformed JSON at byte %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("field %q has the wrong type (want %s)", te.Field, te.Type)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ")
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "the body is empty or truncated"
	}
	return "malformed JSON"
}

func invalid(format string, a ...any) error {
	return errorf(CodeInvalidRequest, fmt.Sprintf(format, a...))
}

// sessionNotFound is the one answer for a session that is missing, of
// another tenant, or whose id is malformed.
func sessionNotFound() error { return errorf(CodeNotFound, "session not found") }

func unavailable(err error) error {
	return fmt.Errorf("%w (%w)", errorf(CodeUnavailable, "a backing store is unavailable, retry"), err)
}

// --------------------------------------------------------------- create ---

func (g *Gateway) createSession(w http.ResponseWriter, r *http.Request, p Principal) error {
	var in createSessionRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	out, err := g.newSession(r.Context(), p, in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, out)
}

// newSession validates a creation request and stores the draft: the body
// of POST /v1/sessions and of StartSession.
func (g *Gateway) newSession(ctx context.Context, p Principal, in createSessionRequest) (sessionCreated, error) {
	if len(in.Checks) == 0 {
		return sessionCreated{}, invalid("checks: at least one check is required")
	}
	var checks []ekycv1.CheckKind
	for _, c := range in.Checks {
		k, ok := checkNames[c]
		if !ok {
			return sessionCreated{}, invalid("checks: unknown check %q (want document, face, screening or database)", c)
		}
		if slices.Contains(checks, k) {
			return sessionCreated{}, invalid("checks: %q is listed twice", c)
		}
		checks = append(checks, k)
	}
	if in.CallbackURL != "" {
		u, err := url.Parse(in.CallbackURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(in.CallbackURL) > 2048 {
			return sessionCreated{}, invalid("callback_url: must be an absolute http(s) URL of at most 2048 bytes")
		}
	}
	if len(in.Reference) > maxReference {
		return sessionCreated{}, invalid("reference: at most %d bytes", maxReference)
	}
	var app *ekycv1.Applicant
	if a := in.Applicant; a != nil {
		app = &ekycv1.Applicant{GivenNames: a.GivenNames, Surname: a.Surname, DateOfBirth: a.DateOfBirth, Nationality: a.Nationality}
		if ad := a.Address; ad != nil {
			app.Address = &ekycv1.Address{Lines: ad.Lines, City: ad.City, PostalCode: ad.PostalCode, Country: ad.Country}
		}
	}
	needsNames := slices.Contains(checks, ekycv1.CheckKind_CHECK_KIND_SCREENING) || slices.Contains(checks, ekycv1.CheckKind_CHECK_KIND_DATABASE)
	if needsNames && (app.GetSurname() == "" && app.GetGivenNames() == "") {
		return sessionCreated{}, invalid("applicant: a name is required for the screening and database checks")
	}
	if slices.Contains(checks, ekycv1.CheckKind_CHECK_KIND_DATABASE) && app.GetDateOfBirth() == "" {
		return sessionCreated{}, invalid("applicant.date_of_birth: required for the database check")
	}
	var doc *ekycv1.Document
	if d := in.Document; d != nil {
		doc = &ekycv1.Document{IssuingCountry: d.IssuingCountry, MrzLines: d.MRZLines}
		if d.Type != "" {
			t, ok := documentTypes[d.Type]
			if !ok {
				return sessionCreated{}, invalid("document.type: unknown type (want passport, id_card, residence_permit, visa or driving_licence)")
			}
			doc.Type = t
		}
	}
	// The intake's validation is the node's: a request it would refuse is
	// refused here, with the field named.
	probe := &ekycv1.VerificationRequest{TenantId: p.Tenant, SessionId: "probe", EventId: "probe", Applicant: app,
		Document: doc, RequestedChecks: checks, CallbackUrl: in.CallbackURL, PolicyId: in.PolicyID}
	if err := intake.Validate(probe); err != nil {
		var ve *intake.ValidationError
		if errors.As(err, &ve) {
			return sessionCreated{}, invalid("%s: %s", ve.Field, ve.Reason)
		}
		return sessionCreated{}, invalid("invalid request")
	}
	id := g.cfg.newID()
	if !idPattern.MatchString(id) {
		return sessionCreated{}, fmt.Errorf("id generator returned a malformed id")
	}
	now := g.cfg.now().UTC().Truncate(time.Millisecond)
	d := &apistate.Draft{Tenant: p.Tenant, ID: id, Status: apistate.StatusCreated, CreatedAt: now,
		Applicant: app, Document: doc, Reference: in.Reference, Checks: checks, PolicyID: in.PolicyID,
		CallbackURL: in.CallbackURL}
	if err := g.deps.State.Create(ctx, d); err != nil {
		return sessionCreated{}, unavailable(err)
	}
	g.auditCtx(ctx, p, "session.created", id, nil)
	g.cfg.log.Info("gateway: session created", "tenant", p.Tenant, "session", id)
	req := requiredImages(checks)
	if req == nil {
		req = []string{}
	}
	return sessionCreated{ID: id, Status: string(apistate.StatusCreated), CreatedAt: now,
		Checks: checkNamesOf(checks), PolicyID: in.PolicyID, RequiredImages: req}, nil
}

// draft loads the caller's draft without its personal data (withPII:
// with it); a malformed id, a missing draft and another tenant's draft are
// all sessionNotFound.
func (g *Gateway) draft(r *http.Request, p Principal, withPII bool) (*apistate.Draft, error) {
	id := r.PathValue("id")
	if !idPattern.MatchString(id) {
		return nil, sessionNotFound()
	}
	get := g.deps.State.Meta
	if withPII {
		get = g.deps.State.Get
	}
	d, err := get(r.Context(), p.Tenant, id)
	switch {
	case errors.Is(err, apistate.ErrNotFound):
		return nil, sessionNotFound()
	case err != nil:
		return nil, unavailable(err)
	}
	return d, nil
}

// --------------------------------------------------------------- submit ---

// EventID is the event id of a session's submission: a UUID-shaped SHA-256
// of tenant and session, so every retry of a submit (after a publish
// failure, a lost response, a crash) publishes the same event and the
// session actor applies it once.
func EventID(tenant, session string) string {
	h := sha256.Sum256([]byte("ekyc-gateway-submit\x00" + tenant + "\x00" + session))
	h[6] = h[6]&0x0f | 0x50
	h[8] = h[8]&0x3f | 0x80
	s := hex.EncodeToString(h[:16])
	return s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:]
}

func (g *Gateway) submitSession(w http.ResponseWriter, r *http.Request, p Principal) error {
	// A submit has no body; whatever is sent is ignored but bounded.
	if _, err := io.Copy(io.Discard, r.Body); err != nil {
		return err
	}
	id := r.PathValue("id")
	if !idPattern.MatchString(id) {
		return sessionNotFound()
	}
	unlock := g.subLocks.lock(p.Tenant + "\x00" + id)
	defer unlock()
	d, err := g.draft(r, p, true)
	if err != nil {
		return err
	}
	switch d.Status {
	case apistate.StatusSubmitted:
		return writeJSON(w, http.StatusAccepted, submitted{ID: d.ID, Status: string(d.Status), EventID: d.EventID, SubmittedAt: d.SubmittedAt})
	case apistate.StatusErased:
		return errorf(CodeConflict, "the session was erased")
	}
	var missing []string
	for _, name := range requiredImages(d.Checks) {
		if _, ok := d.Image(name); !ok {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return errorf(CodeMissingImages, "the requested checks need these images: "+strings.Join(missing, ", "))
	}
	now := g.cfg.now().UTC().Truncate(time.Millisecond)
	req := g.buildRequest(d, now)
	if err := intake.Validate(req); err != nil {
		// Validated at creation; only a changed intake can get here.
		var ve *intake.ValidationError
		if errors.As(err, &ve) {
			return invalid("%s: %s", ve.Field, ve.Reason)
		}
		return invalid("invalid request")
	}
	if err := g.deps.Publisher.Publish(r.Context(), req); err != nil {
		g.cfg.log.Warn("gateway: publish failed", "tenant", p.Tenant, "session", d.ID, "err", err)
		return errorf(CodePublishFailed, "the request could not be queued; the session is unchanged, retry")
	}
	d, err = g.deps.State.Update(r.Context(), p.Tenant, d.ID, func(d *apistate.Draft) error {
		d.Status, d.SubmittedAt, d.EventID = apistate.StatusSubmitted, now, req.EventId
		return nil
	})
	if err != nil {
		// Published but not recorded: a retry publishes the same event id,
		// which the session actor applies once.
		return unavailable(err)
	}
	g.audit(r, p, "session.submitted", d.ID, map[string]string{"event_id": d.EventID})
	g.cfg.log.Info("gateway: session submitted", "tenant", p.Tenant, "session", d.ID, "event", d.EventID)
	return writeJSON(w, http.StatusAccepted, submitted{ID: d.ID, Status: string(d.Status), EventID: d.EventID, SubmittedAt: d.SubmittedAt})
}

func (g *Gateway) buildRequest(d *apistate.Draft, now time.Time) *ekycv1.VerificationRequest {
	req := &ekycv1.VerificationRequest{
		TenantId: d.Tenant, SessionId: d.ID, EventId: EventID(d.Tenant, d.ID), Applicant: d.Applicant,
		RequestedChecks: d.Checks, CallbackUrl: d.CallbackURL, SubmittedAt: timestamppb.New(now), PolicyId: d.PolicyID,
	}
	doc := d.Document
	if doc == nil {
		doc = &ekycv1.Document{}
	}
	for _, im := range d.Images {
		ref := &ekycv1.ImageRef{Uri: g.deps.Blobs.URI(d.Tenant, d.ID, im.Name), ContentType: im.ContentType, Sha256: im.SHA256}
		switch im.Name {
		case ImageDocumentFront:
			ref.Side = "front"
			doc.Images = append(doc.Images, ref)
		case ImageDocumentBack:
			ref.Side = "back"
			doc.Images = append(doc.Images, ref)
		case ImageSelfie:
			ref.Side = "selfie"
			req.Selfies = append(req.Selfies, ref)
		}
	}
	if len(doc.Images) > 0 || d.Document != nil {
		req.Document = doc
	}
	return req
}

// ---------------------------------------------------------- read, report ---

// statusOfSession is the API status of a session: the draft's until the
// session store knows it, then the store's (with the decision's outcome).
func statusOfSession(d *apistate.Draft, st *ekycv1.SessionState) string {
	if d != nil && d.Status == apistate.StatusErased {
		return "erased"
	}
	if st == nil {
		if d == nil {
			return "unknown"
		}
		return string(d.Status)
	}
	switch st.GetStatus() {
	case ekycv1.SessionStatus_SESSION_STATUS_DECIDED:
		switch st.GetDecision().GetOutcome() {
		case ekycv1.Outcome_OUTCOME_APPROVE:
			return "approved"
		case ekycv1.Outcome_OUTCOME_REJECT:
			return "rejected"
		case ekycv1.Outcome_OUTCOME_REVIEW:
			return "review"
		}
		return "decided"
	case ekycv1.SessionStatus_SESSION_STATUS_REVIEW:
		return "review"
	case ekycv1.SessionStatus_SESSION_STATUS_FAILED:
		return "failed"
	case ekycv1.SessionStatus_SESSION_STATUS_PROCESSING:
		return "processing"
	case ekycv1.SessionStatus_SESSION_STATUS_AWAITING_INPUT:
		return "awaiting_input"
	case ekycv1.SessionStatus_SESSION_STATUS_CREATED:
		return "processing"
	}
	if d != nil {
		return string(d.Status)
	}
	return "processing"
}

// loadSession returns the caller's draft and stored state; either may be
// nil, not both (else sessionNotFound).
func (g *Gateway) loadSession(r *http.Request, p Principal) (*apistate.Draft, *ekycv1.SessionState, error) {
	d, err := g.draft(r, p, false)
	var ae *apiError
	if err != nil && !(errors.As(err, &ae) && ae.code == CodeNotFound) {
		return nil, nil, err
	}
	id := r.PathValue("id")
	if !idPattern.MatchString(id) {
		return nil, nil, sessionNotFound()
	}
	var st *ekycv1.SessionState
	// A draft not yet submitted is not in the session store: skip the read.
	if g.deps.SessionStates != nil && (d == nil || d.Status != apistate.StatusCreated) {
		st, err = g.deps.SessionStates.Get(r.Context(), p.Tenant, id)
		switch {
		case errors.Is(err, sessions.ErrNotFound), errors.Is(err, ErrNotFound):
			st = nil
		case err != nil:
			return nil, nil, unavailable(err)
		case st.GetTenantId() != "" && st.GetTenantId() != p.Tenant:
			// Defence in depth: a store that ignored the tenant.
			st = nil
		}
	}
	if d == nil && st == nil {
		return nil, nil, sessionNotFound()
	}
	return d, st, nil
}

func (g *Gateway) sessionView(d *apistate.Draft, st *ekycv1.SessionState, report bool) sessionJSON {
	v := sessionJSON{Status: statusOfSession(d, st), Images: []imageJSON{}, ReasonCodes: []string{}, Checks: []checkJSON{}}
	if d != nil {
		v.ID, v.CreatedAt, v.SubmittedAt, v.ErasedAt = d.ID, d.CreatedAt, d.SubmittedAt, d.ErasedAt
		v.RequestedChecks, v.PolicyID = checkNamesOf(d.Checks), d.PolicyID
		for _, im := range d.Images {
			v.Images = append(v.Images, imageJSON(im))
		}
		if report {
			v.EventID = d.EventID
		}
	}
	if st != nil {
		v.ID = st.GetSessionId()
		req := st.GetRequest()
		if d == nil {
			v.CreatedAt = tsTime(st.GetCreatedAt())
			v.SubmittedAt = tsTime(req.GetSubmittedAt())
			v.RequestedChecks = checkNamesOf(req.GetRequestedChecks())
			v.PolicyID = req.GetPolicyId()
			if report {
				v.EventID = req.GetEventId()
			}
		}
		if e := tsTime(st.GetErasedAt()); !e.IsZero() && v.ErasedAt.IsZero() {
			v.ErasedAt = e
		}
		if report {
			v.ReceivedAt, v.UpdatedAt = tsTime(st.GetReceivedAt()), tsTime(st.GetUpdatedAt())
		}
		if dec := st.GetDecision(); dec != nil {
			v.ReasonCodes = nonNil(dec.GetReasonCodes())
			v.Decision = &decisionJSON{ID: dec.GetDecisionId(), Outcome: lowerEnum(dec.GetOutcome().String(), "OUTCOME_"),
				Score: dec.GetScore(), ReasonCodes: nonNil(dec.GetReasonCodes()), PolicyID: dec.GetPolicyId(),
				PolicyVersion: dec.GetPolicyVersion(), DecidedAt: tsTime(dec.GetDecidedAt())}
			if report && dec.GetProcessingLatency() != nil {
				ms := dec.GetProcessingLatency().AsDuration().Milliseconds()
				v.Decision.ProcessingMS = &ms
			}
		}
		checks := st.GetChecks()
		if len(checks) == 0 {
			checks = st.GetDecision().GetChecks()
		}
		for _, c := range checks {
			v.Checks = append(v.Checks, checkView(c, report))
		}
	}
	if v.RequestedChecks == nil {
		v.RequestedChecks = []string{}
	}
	return v
}

func checkView(c *ekycv1.CheckResult, report bool) checkJSON {
	out := checkJSON{Kind: checkName(c.GetKind()), Status: lowerEnum(c.GetStatus().String(), "CHECK_STATUS_"),
		Score: c.GetScore(), ReasonCodes: nonNil(c.GetReasonCodes())}
	if !report {
		return out
	}
	out.Attempts, out.Error = c.GetAttempts(), c.GetError()
	if c.GetLatency() != nil {
		ms := c.GetLatency().AsDuration().Milliseconds()
		out.LatencyMS = &ms
	}
	for _, s := range c.GetSignals() {
		sj := signalJSON{Name: s.GetName(), Unit: s.GetUnit()}
		switch v := s.GetValue().(type) {
		case *ekycv1.Signal_Number:
			sj.Number = &v.Number
		case *ekycv1.Signal_Flag:
			sj.Flag = &v.Flag
		case *ekycv1.Signal_Text:
			sj.Text = &v.Text
		}
		out.Signals = append(out.Signals, sj)
	}
	for _, h := range c.GetScreeningHits() {
		out.ScreeningHits = append(out.ScreeningHits, hitJSON{EntityID: h.GetEntityId(), Source: h.GetSource(),
			ListVersion: h.GetListVersion(), EntityType: h.GetEntityType(), Name: h.GetName(), MatchedName: h.GetMatchedName(),
			Score: h.GetScore(), Components: h.GetComponents(), Programs: h.GetPrograms(), PEP: h.GetPep()})
	}
	return out
}

func tsTime(ts *timestamppb.Timestamp) time.Time {
	if ts == nil || !ts.IsValid() {
		return time.Time{}
	}
	return ts.AsTime().UTC()
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (g *Gateway) getSession(w http.ResponseWriter, r *http.Request, p Principal) error {
	d, st, err := g.loadSession(r, p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, g.sessionView(d, st, false))
}

func (g *Gateway) getReport(w http.ResponseWriter, r *http.Request, p Principal) error {
	d, st, err := g.loadSession(r, p)
	if err != nil {
		return err
	}
	v := g.sessionView(d, st, true)
	// Reading a report is data access: it is audited before the data leaves,
	// and not served when the audit log cannot record it.
	if g.deps.Auditor != nil {
		if err := g.deps.Auditor.Record(r.Context(), AuditEvent{Tenant: p.Tenant, Actor: p.KeyID,
			Action: "session.data_accessed", Subject: v.ID}); err != nil {
			return unavailable(err)
		}
	}
	return writeJSON(w, http.StatusOK, v)
}

// --------------------------------------------------------------- erase ---

func (g *Gateway) deleteSession(w http.ResponseWriter, r *http.Request, p Principal) error {
	if g.deps.Eraser == nil {
		return errorf(CodeNotAvailable, "erasure is not configured on this node")
	}
	id := r.PathValue("id")
	if !idPattern.MatchString(id) {
		return sessionNotFound()
	}
	unlock := g.subLocks.lock(p.Tenant + "\x00" + id)
	defer unlock()
	d, _, err := g.loadSession(r, p)
	if err != nil {
		return err
	}
	if err := g.deps.Eraser.Erase(r.Context(), p.Tenant, id); err != nil && !errors.Is(err, ErrNotFound) {
		return unavailable(err)
	}
	if d != nil {
		if _, err := g.deps.State.Erase(r.Context(), p.Tenant, id, g.cfg.now()); err != nil && !errors.Is(err, apistate.ErrNotFound) {
			return unavailable(err)
		}
	}
	g.audit(r, p, "session.erase_requested", id, nil)
	g.cfg.log.Info("gateway: session erased", "tenant", p.Tenant, "session", id)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// audit records a mutation after it happened; a failure is logged (the
// change is done and cannot be refused any more).
func (g *Gateway) audit(r *http.Request, p Principal, action, subject string, details map[string]string) {
	g.auditCtx(r.Context(), p, action, subject, details)
}

func (g *Gateway) auditCtx(ctx context.Context, p Principal, action, subject string, details map[string]string) {
	if g.deps.Auditor == nil {
		return
	}
	if err := g.deps.Auditor.Record(ctx, AuditEvent{Tenant: p.Tenant, Actor: p.KeyID, Action: action,
		Subject: subject, Details: details}); err != nil {
		g.cfg.log.Warn("gateway: audit record failed", "action", action, "tenant", p.Tenant, "subject", subject, "err", err)
	}
}
