package console

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
	"github.com/openekyc/ekyc/services/document/mrz"
	review "github.com/openekyc/ekyc/services/review"
	"github.com/openekyc/ekyc/store/blobs"
	"github.com/openekyc/ekyc/store/sessions"
)

// Image names of the request's images (store/blobs names, as the gateway
// uploads them).
const (
	ImageDocumentFront = "document_front"
	ImageDocumentBack  = "document_back"
	ImageSelfie        = "selfie"
)

// Signals the evidence view picks out of the checks (the face check's
// names carry its prefix; policies and this view accept them with or
// without it).
const (
	signalMatchSimilarity = "face.match.similarity"
	signalMatchOK         = "face.match.ok"
	signalLivenessScore   = "face.liveness.score"
	signalLivenessOK      = "face.liveness.ok"
	signalDedupSession    = "face.dedup.session"
	signalDedupSimilarity = "face.dedup.similarity"
	signalDedupCount      = "face.dedup.count"
	signalMRZValid        = "mrz.valid"
)

type signalOut struct {
	Name   string   `json:"name"`
	Unit   string   `json:"unit,omitempty"`
	Number *float64 `json:"number,omitempty"`
	Flag   *bool    `json:"flag,omitempty"`
	Text   *string  `json:"text,omitempty"`
}

type hitOut struct {
	EntityID    string             `json:"entity_id"`
	Source      string             `json:"source"`
	ListVersion string             `json:"list_version,omitempty"`
	EntityType  string             `json:"entity_type,omitempty"`
	Name        string             `json:"name"`
	MatchedName string             `json:"matched_name"`
	Score       float64            `json:"score"`
	Components  map[string]float64 `json:"components,omitempty"`
	Programs    []string           `json:"programs"`
	PEP         bool               `json:"pep"`
}

type checkOut struct {
	Kind          string      `json:"kind"`
	Status        string      `json:"status"`
	Score         float64     `json:"score"`
	ReasonCodes   []string    `json:"reason_codes"`
	Error         string      `json:"error,omitempty"`
	Attempts      int32       `json:"attempts,omitempty"`
	Signals       []signalOut `json:"signals"`
	ScreeningHits []hitOut    `json:"screening_hits,omitempty"`
}

type decisionOut struct {
	ID            string    `json:"id"`
	Outcome       string    `json:"outcome"`
	Score         float64   `json:"score"`
	ReasonCodes   []string  `json:"reason_codes"`
	PolicyID      string    `json:"policy_id,omitempty"`
	PolicyVersion int32     `json:"policy_version,omitempty"`
	DecidedAt     time.Time `json:"decided_at,omitzero"`
	Reviewed      bool      `json:"reviewed,omitempty"`
	ReviewerID    string    `json:"reviewer_id,omitempty"`
	ConfirmedBy   string    `json:"confirmed_by,omitempty"`
}

type addressOut struct {
	Lines      []string `json:"lines,omitempty"`
	City       string   `json:"city,omitempty"`
	PostalCode string   `json:"postal_code,omitempty"`
	Country    string   `json:"country,omitempty"`
}

type applicantOut struct {
	GivenNames  string      `json:"given_names"`
	Surname     string      `json:"surname"`
	DateOfBirth string      `json:"date_of_birth,omitempty"`
	Nationality string      `json:"nationality,omitempty"`
	Address     *addressOut `json:"address,omitempty"`
}

type mrzCheckOut struct {
	Field string `json:"field"`
	OK    bool   `json:"ok"`
	Code  string `json:"code,omitempty"`
}

type mrzProblemOut struct {
	Code  string `json:"code"`
	Field string `json:"field,omitempty"`
}

// mrzOut is the MRZ of the request parsed: its fields and the check
// digits' results.
type mrzOut struct {
	Readable       bool            `json:"readable"`
	Format         string          `json:"format,omitempty"`
	DocumentCode   string          `json:"document_code,omitempty"`
	IssuingState   string          `json:"issuing_state,omitempty"`
	DocumentNumber string          `json:"document_number,omitempty"`
	Nationality    string          `json:"nationality,omitempty"`
	Sex            string          `json:"sex,omitempty"`
	Surname        string          `json:"surname,omitempty"`
	GivenNames     string          `json:"given_names,omitempty"`
	BirthDate      string          `json:"birth_date,omitempty"`
	ExpiryDate     string          `json:"expiry_date,omitempty"`
	Valid          bool            `json:"valid"`
	Checks         []mrzCheckOut   `json:"checks,omitempty"`
	Problems       []mrzProblemOut `json:"problems,omitempty"`
}

type documentOut struct {
	Type           string   `json:"type,omitempty"`
	IssuingCountry string   `json:"issuing_country,omitempty"`
	MRZLines       []string `json:"mrz_lines,omitempty"`
	MRZ            *mrzOut  `json:"mrz,omitempty"`
	// MRZSource: "request" (the lines the client sent) or "image" (read
	// from the document image for this view).
	MRZSource string `json:"mrz_source,omitempty"`
}

// faceOut picks the face check's main numbers out of its signals.
type faceOut struct {
	MatchSimilarity *float64 `json:"match_similarity,omitempty"`
	MatchOK         *bool    `json:"match_ok,omitempty"`
	LivenessScore   *float64 `json:"liveness_score,omitempty"`
	LivenessOK      *bool    `json:"liveness_ok,omitempty"`
}

// dedupOut is a duplicate-identity match: the other session of this
// tenant whose face matched (its id and images, for a side-by-side look),
// or only the fact that the match is in another tenant (whose ids are not
// shown).
type dedupOut struct {
	SessionID     string   `json:"session_id,omitempty"`
	OtherTenant   bool     `json:"other_tenant"`
	Similarity    *float64 `json:"similarity,omitempty"`
	Count         *float64 `json:"count,omitempty"`
	Status        string   `json:"status,omitempty"`
	Outcome       string   `json:"outcome,omitempty"`
	Images        []string `json:"images"`
	imagesAllowed bool
}

type sessionOut struct {
	ID          string    `json:"id"`
	Status      string    `json:"status"`
	CreatedAt   time.Time `json:"created_at,omitzero"`
	SubmittedAt time.Time `json:"submitted_at,omitzero"`
	ErasedAt    time.Time `json:"erased_at,omitzero"`
	PolicyID    string    `json:"policy_id,omitempty"`
}

// evidenceOut is what a reviewer sees of a case's session. It holds the
// applicant's personal data: the response is no-store and audited.
type evidenceOut struct {
	// Available is false when the session is not (or no longer) in the
	// session store.
	Available       bool          `json:"available"`
	Session         *sessionOut   `json:"session,omitempty"`
	RequestedChecks []string      `json:"requested_checks"`
	Applicant       *applicantOut `json:"applicant,omitempty"`
	Document        *documentOut  `json:"document,omitempty"`
	Checks          []checkOut    `json:"checks"`
	Face            *faceOut      `json:"face,omitempty"`
	ScreeningHits   []hitOut      `json:"screening_hits"`
	Dedup           []dedupOut    `json:"dedup"`
	// Decision is the REVIEW decision the case was opened for;
	// FinalDecision the reviewer's, once the session was finalised.
	Decision      *decisionOut `json:"decision,omitempty"`
	FinalDecision *decisionOut `json:"final_decision,omitempty"`
	Images        []string     `json:"images"`
}

func lowerEnum(name, prefix string) string { return strings.ToLower(strings.TrimPrefix(name, prefix)) }

func tsTime(ts *timestamppb.Timestamp) time.Time {
	if ts == nil || !ts.IsValid() {
		return time.Time{}
	}
	return ts.AsTime().UTC()
}

// sessionState reads a session of the tenant; nil when it does not exist.
func (c *Console) sessionState(ctx context.Context, tenant, id string) (*ekycv1.SessionState, error) {
	st, err := c.deps.Evidence.Session(ctx, tenant, id)
	switch {
	case errors.Is(err, ErrNotFound), errors.Is(err, sessions.ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, unavailable(err)
	case st == nil || (st.GetTenantId() != "" && st.GetTenantId() != tenant):
		return nil, nil // defence in depth: a store that ignored the tenant
	}
	return st, nil
}

// evidence builds the evidence view of a case.
func (c *Console) evidence(ctx context.Context, k review.Case) (*evidenceOut, error) {
	st, err := c.sessionState(ctx, k.Tenant, k.SessionID)
	if err != nil {
		return nil, err
	}
	out := &evidenceOut{RequestedChecks: []string{}, Checks: []checkOut{}, ScreeningHits: []hitOut{}, Dedup: []dedupOut{}, Images: []string{}}
	if st == nil {
		return out, nil
	}
	out.Available = true
	req := st.GetRequest()
	out.Session = &sessionOut{ID: k.SessionID, Status: lowerEnum(st.GetStatus().String(), "SESSION_STATUS_"),
		CreatedAt: tsTime(st.GetCreatedAt()), SubmittedAt: tsTime(req.GetSubmittedAt()), ErasedAt: tsTime(st.GetErasedAt()),
		PolicyID: req.GetPolicyId()}
	for _, ck := range req.GetRequestedChecks() {
		out.RequestedChecks = append(out.RequestedChecks, lowerEnum(ck.String(), "CHECK_KIND_"))
	}
	if a := req.GetApplicant(); a != nil {
		ao := &applicantOut{GivenNames: a.GetGivenNames(), Surname: a.GetSurname(), DateOfBirth: a.GetDateOfBirth(), Nationality: a.GetNationality()}
		if ad := a.GetAddress(); ad != nil {
			ao.Address = &addressOut{Lines: ad.GetLines(), City: ad.GetCity(), PostalCode: ad.GetPostalCode(), Country: ad.GetCountry()}
		}
		out.Applicant = ao
	}
	reviewDec, finalDec := decisionsOf(st, k.DecisionID)
	if d := req.GetDocument(); d != nil {
		do := &documentOut{IssuingCountry: d.GetIssuingCountry(), MRZLines: d.GetMrzLines()}
		if d.GetType() != ekycv1.DocumentType_DOCUMENT_TYPE_UNSPECIFIED {
			do.Type = lowerEnum(d.GetType().String(), "DOCUMENT_TYPE_")
		}
		ref := tsTime(reviewDec.GetDecidedAt())
		if ref.IsZero() {
			ref = c.cfg.now()
		}
		switch {
		case len(d.GetMrzLines()) > 0:
			do.MRZ, do.MRZSource = mrzView(d.GetMrzLines(), ref), "request"
		case len(d.GetImages()) > 0 && c.deps.MRZ != nil && st.GetErasedAt() == nil:
			lines, err := c.deps.MRZ.ReadMRZ(ctx, k.Tenant, k.SessionID)
			if err != nil {
				c.cfg.log.Debug("console: MRZ not read from the document image", "tenant", k.Tenant, "case", k.ID, "err", err)
				break
			}
			do.MRZLines, do.MRZ, do.MRZSource = lines, mrzView(lines, ref), "image"
		}
		out.Document = do
	}
	checks := reviewDec.GetChecks()
	if len(checks) == 0 {
		checks = st.GetChecks()
	}
	for _, ck := range checks {
		co := checkView(ck, k.Tenant)
		out.Checks = append(out.Checks, co)
		out.ScreeningHits = append(out.ScreeningHits, co.ScreeningHits...)
		if ck.GetKind() == ekycv1.CheckKind_CHECK_KIND_FACE {
			out.Face = faceView(ck)
			if dd, ok := dedupView(ck, k.Tenant); ok {
				if dd.imagesAllowed {
					other, err := c.sessionState(ctx, k.Tenant, dd.SessionID)
					if err != nil {
						return nil, err
					}
					if other != nil {
						dd.Status = lowerEnum(other.GetStatus().String(), "SESSION_STATUS_")
						dd.Outcome = lowerEnum(other.GetDecision().GetOutcome().String(), "OUTCOME_")
						dd.Images = c.imageNames(other)
					}
				}
				out.Dedup = append(out.Dedup, dd)
			}
		}
	}
	out.Decision = decisionView(reviewDec)
	out.FinalDecision = decisionView(finalDec)
	out.Images = c.imageNames(st)
	return out, nil
}

// decisionsOf finds the REVIEW decision a case was opened for (the
// current decision, or a superseded one) and the final decision that
// replaced it, if any.
func decisionsOf(st *ekycv1.SessionState, reviewID string) (reviewDec, finalDec *ekycv1.Decision) {
	cur := st.GetDecision()
	if cur.GetDecisionId() == reviewID {
		return cur, nil
	}
	for _, d := range st.GetPreviousDecisions() {
		if d.GetDecisionId() == reviewID {
			reviewDec = d
		}
	}
	if reviewDec == nil { // not found: show what the session has
		return cur, nil
	}
	if cur.GetReviewed() {
		finalDec = cur
	}
	return reviewDec, finalDec
}

func decisionView(d *ekycv1.Decision) *decisionOut {
	if d == nil {
		return nil
	}
	return &decisionOut{ID: d.GetDecisionId(), Outcome: lowerEnum(d.GetOutcome().String(), "OUTCOME_"), Score: d.GetScore(),
		ReasonCodes: nonNil(d.GetReasonCodes()), PolicyID: d.GetPolicyId(), PolicyVersion: d.GetPolicyVersion(),
		DecidedAt: tsTime(d.GetDecidedAt()), Reviewed: d.GetReviewed(), ReviewerID: d.GetReviewerId(), ConfirmedBy: d.GetConfirmedBy()}
}

// checkView is a check result as a reviewer sees it. The duplicate
// search's reference to another tenant's session is redacted.
func checkView(c *ekycv1.CheckResult, tenant string) checkOut {
	out := checkOut{Kind: lowerEnum(c.GetKind().String(), "CHECK_KIND_"), Status: lowerEnum(c.GetStatus().String(), "CHECK_STATUS_"),
		Score: c.GetScore(), ReasonCodes: nonNil(c.GetReasonCodes()), Error: c.GetError(), Attempts: c.GetAttempts(),
		Signals: []signalOut{}}
	for _, s := range c.GetSignals() {
		so := signalOut{Name: s.GetName(), Unit: s.GetUnit()}
		switch v := s.GetValue().(type) {
		case *ekycv1.Signal_Number:
			so.Number = &v.Number
		case *ekycv1.Signal_Flag:
			so.Flag = &v.Flag
		case *ekycv1.Signal_Text:
			t := v.Text
			if isDedupSession(c, s.GetName()) {
				if other, _, ok := strings.Cut(t, "/"); ok && other != tenant {
					t = otherTenantRef
				}
			}
			so.Text = &t
		}
		out.Signals = append(out.Signals, so)
	}
	for _, h := range c.GetScreeningHits() {
		out.ScreeningHits = append(out.ScreeningHits, hitOut{EntityID: h.GetEntityId(), Source: h.GetSource(),
			ListVersion: h.GetListVersion(), EntityType: h.GetEntityType(), Name: h.GetName(), MatchedName: h.GetMatchedName(),
			Score: h.GetScore(), Components: h.GetComponents(), Programs: nonNil(h.GetPrograms()), PEP: h.GetPep()})
	}
	return out
}

// otherTenantRef replaces a duplicate's "tenant/session" reference to
// another tenant.
const otherTenantRef = "(another tenant)"

func isDedupSession(c *ekycv1.CheckResult, name string) bool {
	prefix := lowerEnum(c.GetKind().String(), "CHECK_KIND_") + "."
	return strings.TrimPrefix(name, prefix) == strings.TrimPrefix(signalDedupSession, prefix)
}

// findSignal finds a check's signal by name, with or without the check's
// prefix ("face.match.similarity" or "match.similarity").
func findSignal(c *ekycv1.CheckResult, name string) *ekycv1.Signal {
	prefix := lowerEnum(c.GetKind().String(), "CHECK_KIND_") + "."
	bare := strings.TrimPrefix(name, prefix)
	for _, s := range c.GetSignals() {
		if n := s.GetName(); n == name || n == bare || strings.TrimPrefix(n, prefix) == bare {
			return s
		}
	}
	return nil
}

func numberOf(c *ekycv1.CheckResult, name string) *float64 {
	if s := findSignal(c, name); s != nil {
		if v, ok := s.GetValue().(*ekycv1.Signal_Number); ok {
			return &v.Number
		}
	}
	return nil
}

func flagOf(c *ekycv1.CheckResult, name string) *bool {
	if s := findSignal(c, name); s != nil {
		if v, ok := s.GetValue().(*ekycv1.Signal_Flag); ok {
			return &v.Flag
		}
	}
	return nil
}

func faceView(c *ekycv1.CheckResult) *faceOut {
	return &faceOut{MatchSimilarity: numberOf(c, signalMatchSimilarity), MatchOK: flagOf(c, signalMatchOK),
		LivenessScore: numberOf(c, signalLivenessScore), LivenessOK: flagOf(c, signalLivenessOK)}
}

// dedupView reads the face check's duplicate match: face.dedup.session is
// "session" for this tenant's, "tenant/session" for another tenant's.
func dedupView(c *ekycv1.CheckResult, tenant string) (dedupOut, bool) {
	s := findSignal(c, signalDedupSession)
	ref := s.GetText()
	if ref == "" {
		return dedupOut{}, false
	}
	d := dedupOut{Similarity: numberOf(c, signalDedupSimilarity), Count: numberOf(c, signalDedupCount), Images: []string{}}
	if t, sess, ok := strings.Cut(ref, "/"); ok {
		if t != tenant {
			d.OtherTenant = true
			return d, true
		}
		ref = sess
	}
	d.SessionID, d.imagesAllowed = ref, true
	return d, true
}

// relatedSessions lists the sessions of the tenant a case's session was
// found to duplicate (whose images a reviewer may see next to it).
func relatedSessions(st *ekycv1.SessionState, tenant, reviewID string) []string {
	reviewDec, _ := decisionsOf(st, reviewID)
	checks := reviewDec.GetChecks()
	if len(checks) == 0 {
		checks = st.GetChecks()
	}
	var out []string
	for _, ck := range checks {
		if ck.GetKind() != ekycv1.CheckKind_CHECK_KIND_FACE {
			continue
		}
		if d, ok := dedupView(ck, tenant); ok && d.imagesAllowed {
			out = append(out, d.SessionID)
		}
	}
	return out
}

func mrzView(lines []string, ref time.Time) *mrzOut {
	m, err := mrz.ParseAt(lines, ref)
	if err != nil {
		return &mrzOut{Readable: false}
	}
	out := &mrzOut{Readable: true, Format: string(m.Format), DocumentCode: m.DocumentCode, IssuingState: m.IssuingState,
		DocumentNumber: m.DocumentNumber, Nationality: m.Nationality, Sex: m.Sex, Surname: m.Surname, GivenNames: m.GivenNames,
		BirthDate: dateOf(m.BirthDate), ExpiryDate: dateOf(m.ExpiryDate), Valid: m.Valid()}
	for _, ck := range m.Checks {
		co := mrzCheckOut{Field: ck.Field, OK: ck.OK}
		if !ck.OK {
			co.Code = ck.Code
		}
		out.Checks = append(out.Checks, co)
	}
	for _, p := range m.Problems {
		out.Problems = append(out.Problems, mrzProblemOut{Code: p.Code, Field: p.Field})
	}
	return out
}

func dateOf(d mrz.Date) string {
	if d.ISO != "" {
		return d.ISO
	}
	return d.Raw
}

// imageNames lists the images of a session a reviewer may fetch: the
// request's images (by their store/blobs URI, or by side for another
// kind of reference) and, when it has a document image, the derived ones.
func (c *Console) imageNames(st *ekycv1.SessionState) []string {
	req := st.GetRequest()
	names := []string{}
	add := func(n string) {
		if n != "" && !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	nameOf := func(ref *ekycv1.ImageRef, selfie bool) string {
		if t, s, n, err := blobs.ParseURI(ref.GetUri()); err == nil {
			if t == st.GetTenantId() && s == st.GetSessionId() && imageNamePattern(n) {
				return n
			}
			return ""
		}
		switch {
		case selfie:
			return ImageSelfie
		case ref.GetSide() == "back":
			return ImageDocumentBack
		case ref.GetSide() == "" || ref.GetSide() == "front":
			return ImageDocumentFront
		}
		return ""
	}
	doc := false
	for _, ref := range req.GetDocument().GetImages() {
		if n := nameOf(ref, false); n != "" {
			add(n)
			doc = true
		}
	}
	for _, ref := range req.GetSelfies() {
		add(nameOf(ref, true))
	}
	if doc && st.GetErasedAt() == nil {
		for _, n := range c.cfg.derived {
			add(n)
		}
	}
	if st.GetErasedAt() != nil {
		return []string{}
	}
	return names
}

// imageNamePattern: 1-64 of a-z 0-9 _.
func imageNamePattern(n string) bool {
	if n == "" || len(n) > 64 {
		return false
	}
	for i := 0; i < len(n); i++ {
		ch := n[i]
		if !(ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '_') {
			return false
		}
	}
	return true
}
