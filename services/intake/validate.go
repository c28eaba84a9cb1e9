// Package intake validates verification requests before they are accepted.
// A request that fails here is never processed: the streams layer sends it to
// the dead-letter topic with the reason.
package intake

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
)

// ValidationError names the first invalid field.
type ValidationError struct {
	Field  string
	Reason string
}

func (e *ValidationError) Error() string { return e.Field + ": " + e.Reason }

var (
	// TenantIDPattern is the shape of tenant ids (no '/', so grain identities split cleanly).
	TenantIDPattern  = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)
	sessionIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$`)
	countryPattern   = regexp.MustCompile(`^[A-Z]{1,3}$`)
)

// Limits on free-text fields.
const (
	maxEventID   = 128
	maxName      = 200
	maxMRZLines  = 3
	maxMRZLine   = 64
	maxImages    = 8
	maxURI       = 2048
	maxAddrLines = 6
)

// Validate checks the structure of req. It does not check that the tenant or
// policy exist (the node knows those).
func Validate(req *ekycv1.VerificationRequest) error {
	bad := func(field, format string, a ...any) error {
		return &ValidationError{Field: field, Reason: fmt.Sprintf(format, a...)}
	}
	if req == nil {
		return bad("request", "missing")
	}
	if !TenantIDPattern.MatchString(req.GetTenantId()) {
		return bad("tenant_id", "must match %s", TenantIDPattern)
	}
	if !sessionIDPattern.MatchString(req.GetSessionId()) {
		return bad("session_id", "must match %s", sessionIDPattern)
	}
	if e := req.GetEventId(); e == "" || len(e) > maxEventID || !utf8.ValidString(e) {
		return bad("event_id", "required, at most %d bytes", maxEventID)
	}
	if len(req.GetRequestedChecks()) == 0 {
		return bad("requested_checks", "at least one check is required")
	}
	for _, k := range req.GetRequestedChecks() {
		if _, ok := ekycv1.CheckKind_name[int32(k)]; !ok || k == ekycv1.CheckKind_CHECK_KIND_UNSPECIFIED {
			return bad("requested_checks", "unknown check kind %d", k)
		}
	}
	if a := req.GetApplicant(); a != nil {
		for field, v := range map[string]string{"applicant.given_names": a.GetGivenNames(), "applicant.surname": a.GetSurname()} {
			if len(v) > maxName || !utf8.ValidString(v) {
				return bad(field, "at most %d bytes of UTF-8", maxName)
			}
		}
		if d := a.GetDateOfBirth(); d != "" {
			t, err := time.Parse(time.DateOnly, d)
			if err != nil {
				return bad("applicant.date_of_birth", "want YYYY-MM-DD")
			}
			if t.Year() < 1900 {
				return bad("applicant.date_of_birth", "before 1900")
			}
		}
		if n := a.GetNationality(); n != "" && !countryPattern.MatchString(n) {
			return bad("applicant.nationality", "want an ICAO country code (1-3 upper-case letters)")
		}
		if ad := a.GetAddress(); ad != nil {
			if len(ad.GetLines()) > maxAddrLines {
				return bad("applicant.address.lines", "at most %d lines", maxAddrLines)
			}
			if c := ad.GetCountry(); c != "" && !countryPattern.MatchString(c) {
				return bad("applicant.address.country", "want an ICAO country code")
			}
		}
	}
	if d := req.GetDocument(); d != nil {
		if len(d.GetMrzLines()) > maxMRZLines {
			return bad("document.mrz_lines", "at most %d lines", maxMRZLines)
		}
		for _, l := range d.GetMrzLines() {
			if len(l) > maxMRZLine {
				return bad("document.mrz_lines", "a line is longer than %d bytes", maxMRZLine)
			}
		}
		if err := validateImages("document.images", d.GetImages()); err != nil {
			return err
		}
		if c := d.GetIssuingCountry(); c != "" && !countryPattern.MatchString(c) {
			return bad("document.issuing_country", "want an ICAO country code")
		}
	}
	if err := validateImages("selfies", req.GetSelfies()); err != nil {
		return err
	}
	if u := req.GetCallbackUrl(); u != "" && !(strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://")) {
		return bad("callback_url", "must be an http(s) URL")
	}
	if p := req.GetPolicyId(); p != "" && !TenantIDPattern.MatchString(p) {
		return bad("policy_id", "must match %s", TenantIDPattern)
	}
	if ts := req.GetSubmittedAt(); ts != nil && !ts.IsValid() {
		return bad("submitted_at", "invalid timestamp")
	}
	return nil
}

func validateImages(field string, imgs []*ekycv1.ImageRef) error {
	if len(imgs) > maxImages {
		return &ValidationError{Field: field, Reason: fmt.Sprintf("at most %d images", maxImages)}
	}
	for _, im := range imgs {
		if im.GetUri() == "" || len(im.GetUri()) > maxURI {
			return &ValidationError{Field: field, Reason: "every image needs a uri of at most 2048 bytes"}
		}
	}
	return nil
}
