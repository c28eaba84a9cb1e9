package console

import (
	"encoding/json"
	"net/http"
)

// Code is a stable, machine-readable error code. The console's script
// branches on the code, never on the message.
type Code string

// ErrorSpec is one row of the error table.
type ErrorSpec struct {
	Code        Code
	Status      int
	Description string
}

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
	{CodeInvalidJSON, http.StatusBadRequest, "The body is not valid JSON, has unknown fields, or has a field of the wrong type."},
	{CodeInvalidRequest, http.StatusBadRequest, "A field or query parameter is missing or malformed; the message names it."},
	{CodeUnauthenticated, http.StatusUnauthorized, "Login failed (one answer for any reason), or no, an expired or a revoked login cookie."},
	{CodeCSRFFailed, http.StatusForbidden, "A POST without the login's X-CSRF-Token header, with a wrong one, or from another origin."},
	{CodeForbidden, http.StatusForbidden, "The reviewer's role does not allow this (escalated cases and confirmations need senior_reviewer or admin)."},
	{CodeFourEyes, http.StatusForbidden, "The four-eyes rule: the reviewer who proposed a decision cannot confirm or overturn it."},
	{CodeNotFound, http.StatusNotFound, "No such case, image or session in the reviewer's tenant (the same for another tenant's)."},
	{CodeMethodNotAllowed, http.StatusMethodNotAllowed, "The path exists but not with this method."},
	{CodeClaimedByOther, http.StatusConflict, "Another reviewer holds a live claim on the case."},
	{CodeClaimExpired, http.StatusConflict, "The reviewer's own claim expired; claim the case again."},
	{CodeConflict, http.StatusConflict, "The case's state does not allow this (claim it first, already decided, ...), or it kept changing under concurrent updates."},
	{CodePayloadTooLarge, http.StatusRequestEntityTooLarge, "The body exceeds the size limit."},
	{CodeUnsupportedMediaType, http.StatusUnsupportedMediaType, "A body that is not application/json."},
	{CodeInvalidInput, http.StatusUnprocessableEntity, "The decision is invalid: outcome not APPROVE or REJECT, no or unknown reason codes, missing or oversized comment."},
	{CodeRateLimited, http.StatusTooManyRequests, "Too many login attempts for the username or from the address; retry after Retry-After seconds."},
	{CodeInternal, http.StatusInternalServerError, "An unexpected error."},
	{CodePublishFailed, http.StatusServiceUnavailable, "The case is decided but its decision could not be published yet; POST .../publish retries (the node also retries)."},
	{CodeUnavailable, http.StatusServiceUnavailable, "A backing store or the audit log is unavailable; retry."},
}

var statusOf = func() map[Code]int {
	m := make(map[Code]int, len(Errors))
	for _, e := range Errors {
		m[e.Code] = e.Status
	}
	return m
}()

type errorBody struct {
	Error struct {
		Code    Code   `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

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
	status, ok := statusOf[code]
	if !ok {
		code, status = CodeInternal, http.StatusInternalServerError
	}
	var b errorBody
	b.Error.Code = code
	b.Error.Message = msg
	body, _ := json.Marshal(b)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// writeJSON writes v with status.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(body)
	return nil
}
