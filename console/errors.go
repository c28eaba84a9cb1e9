package console

import (
	"net/http"

	"github.com/openekyc/ekyc/internal/httperr"
)

// Code is a stable, machine-readable error code (internal/httperr).
type Code = httperr.Code

// ErrorSpec is one row of the error table.
type ErrorSpec = httperr.Spec

// Error codes. The table below is the single source; docs/console-api.md
// lists exactly these (a test checks it).
const (
	CodeInvalidJSON          Code = "invalid_json"
	CodeInvalidRequest       Code = "invalid_request"
	CodeUnauthenticated      Code = "unauthenticated"
	CodeCSRFFailed           Code = "csrf_failed"
	CodeForbidden            Code = "forbidden"
	CodeFourEyes             Code = "four_eyes"
	CodeNotFound             Code = "not_found"
	CodeMethodNotAllowed     Code = "method_not_allowed"
	CodeClaimedByOther       Code = "claimed_by_other"
	CodeClaimExpired         Code = "claim_expired"
	CodeConflict             Code = "conflict"
	CodePayloadTooLarge      Code = "payload_too_large"
	CodeUnsupportedMediaType Code = "unsupported_media_type"
	CodeInvalidInput         Code = "invalid_input"
	CodeRateLimited          Code = "rate_limited"
	CodeInternal             Code = "internal"
	CodePublishFailed        Code = "publish_failed"
	CodeUnavailable          Code = "unavailable"
)

// Errors is the error table: every code the console API returns, its HTTP
// status and meaning.
var Errors = []ErrorSpec{
	{Code: CodeInvalidJSON, Status: http.StatusBadRequest, Description: "The body is not valid JSON, has unknown fields, or has a field of the wrong type."},
	{Code: CodeInvalidRequest, Status: http.StatusBadRequest, Description: "A field or query parameter is missing or malformed; the message names it."},
	{Code: CodeUnauthenticated, Status: http.StatusUnauthorized, Description: "Login failed (one answer for any reason), or no, an expired or a revoked login cookie."},
	{Code: CodeCSRFFailed, Status: http.StatusForbidden, Description: "A POST without the login's X-CSRF-Token header, with a wrong one, or from another origin."},
	{Code: CodeForbidden, Status: http.StatusForbidden, Description: "The reviewer's role does not allow this (escalated cases and confirmations need senior_reviewer or admin)."},
	{Code: CodeFourEyes, Status: http.StatusForbidden, Description: "The four-eyes rule: the reviewer who proposed a decision cannot confirm or overturn it."},
	{Code: CodeNotFound, Status: http.StatusNotFound, Description: "No such case, image or session in the reviewer's tenant (the same for another tenant's)."},
	{Code: CodeMethodNotAllowed, Status: http.StatusMethodNotAllowed, Description: "The path exists but not with this method."},
	{Code: CodeClaimedByOther, Status: http.StatusConflict, Description: "Another reviewer holds a live claim on the case."},
	{Code: CodeClaimExpired, Status: http.StatusConflict, Description: "The reviewer's own claim expired; claim the case again."},
	{Code: CodeConflict, Status: http.StatusConflict, Description: "The case's state does not allow this (claim it first, already decided, ...), or it kept changing under concurrent updates."},
	{Code: CodePayloadTooLarge, Status: http.StatusRequestEntityTooLarge, Description: "The body exceeds the size limit."},
	{Code: CodeUnsupportedMediaType, Status: http.StatusUnsupportedMediaType, Description: "A body that is not application/json."},
	{Code: CodeInvalidInput, Status: http.StatusUnprocessableEntity, Description: "The decision is invalid: outcome not APPROVE or REJECT, no or unknown reason codes, missing or oversized comment."},
	{Code: CodeRateLimited, Status: http.StatusTooManyRequests, Description: "Too many login attempts for the username or from the address; retry after Retry-After seconds."},
	{Code: CodeInternal, Status: http.StatusInternalServerError, Description: "An unexpected error."},
	{Code: CodePublishFailed, Status: http.StatusServiceUnavailable, Description: "The case is decided but its decision could not be published yet; POST .../publish retries (the node also retries)."},
	{Code: CodeUnavailable, Status: http.StatusServiceUnavailable, Description: "A backing store or the audit log is unavailable; retry."},
}

var errTable = httperr.NewTable(CodeInternal, Errors...)

// apiError is an error with its code; handlers return it to the writer.
type apiError struct {
	code Code
	msg  string
	err  error // the cause, for the log only
}

func (e *apiError) Error() string { return string(e.code) + ": " + e.msg }

func (e *apiError) Unwrap() error { return e.err }

func errorf(code Code, msg string) *apiError { return &apiError{code: code, msg: msg} }

func unavailable(err error) *apiError {
	return &apiError{code: CodeUnavailable, msg: "a backing store is unavailable; retry", err: err}
}

// writeError writes the JSON error. Messages never carry personal data:
// they name fields, states and limits, not values.
func writeError(w http.ResponseWriter, code Code, msg string) {
	errTable.Write(w, code, msg)
}

// writeJSON writes v with status.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	return httperr.WriteJSON(w, status, v)
}
