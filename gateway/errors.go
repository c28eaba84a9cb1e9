package gateway

import (
	"encoding/json"
	"net/http"
)

// Code is a stable, machine-readable error code. Clients branch on the code,
// never on the message.
type Code string

// ErrorSpec is one row of the error table.
type ErrorSpec struct {
	Code        Code
	Status      int
	Description string
}

// Error codes. The table below is the single source: the OpenAPI document
// and docs/api.md list exactly these (a test checks both).
const (
	CodeInvalidJSON          Code = "invalid_json"
	CodeInvalidRequest       Code = "invalid_request"
	CodeUnauthenticated      Code = "unauthenticated"
	CodeForbidden            Code = "forbidden"
	CodeNotFound             Code = "not_found"
	CodeMethodNotAllowed     Code = "method_not_allowed"
	CodeConflict             Code = "session_not_modifiable"
	CodePayloadTooLarge      Code = "payload_too_large"
	CodeUnsupportedMediaType Code = "unsupported_media_type"
	CodeInvalidImage         Code = "invalid_image"
	CodeImageDimensions      Code = "image_dimensions"
	CodeMissingImages        Code = "missing_images"
	CodeIdempotencyKeyReused Code = "idempotency_key_reused"
	CodeRateLimited          Code = "rate_limited"
	CodeInternal             Code = "internal"
	CodePublishFailed        Code = "publish_failed"
	CodeUnavailable          Code = "unavailable"
	CodeNotAvailable         Code = "not_available"
)

// Errors is the error table: every code the API returns, its HTTP status
// and meaning.
var Errors = []ErrorSpec{
	{CodeInvalidJSON, http.StatusBadRequest, "The body is not valid JSON, has unknown fields, or has a field of the wrong type."},
	{CodeInvalidRequest, http.StatusBadRequest, "A field or parameter is invalid; the message names it."},
	{CodeUnauthenticated, http.StatusUnauthorized, "No API key, a malformed Authorization header, or an unknown or revoked key."},
	{CodeForbidden, http.StatusForbidden, "The API key lacks the scope the operation needs."},
	{CodeNotFound, http.StatusNotFound, "No such resource in the caller's tenant (the same for another tenant's resource)."},
	{CodeMethodNotAllowed, http.StatusMethodNotAllowed, "The path exists but not with this method."},
	{CodeConflict, http.StatusConflict, "The session no longer accepts this change (submitted or erased)."},
	{CodePayloadTooLarge, http.StatusRequestEntityTooLarge, "The body exceeds the request or image size limit."},
	{CodeUnsupportedMediaType, http.StatusUnsupportedMediaType, "The body's content type is not accepted (images: JPEG or PNG, detected from the bytes)."},
	{CodeInvalidImage, http.StatusUnprocessableEntity, "The image does not decode."},
	{CodeImageDimensions, http.StatusUnprocessableEntity, "The image's width or height is outside the accepted range."},
	{CodeMissingImages, http.StatusUnprocessableEntity, "The session lacks an image its requested checks need."},
	{CodeIdempotencyKeyReused, http.StatusUnprocessableEntity, "The Idempotency-Key was used before with a different request."},
	{CodeRateLimited, http.StatusTooManyRequests, "The key's or tenant's rate limit is exhausted; retry after Retry-After seconds."},
	{CodeInternal, http.StatusInternalServerError, "An unexpected error; nothing was changed or the change is safe to retry."},
	{CodePublishFailed, http.StatusServiceUnavailable, "The request could not be published to Kafka; the session stays submittable, retry."},
	{CodeUnavailable, http.StatusServiceUnavailable, "A backing store is unavailable; retry."},
	{CodeNotAvailable, http.StatusServiceUnavailable, "The feature is not configured on this node."},
}

var statusOf = func() map[Code]int {
	m := make(map[Code]int, len(Errors))
	for _, e := range Errors {
		m[e.Code] = e.Status
	}
	return m
}()

// errorBody is the JSON shape of every error response.
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
}

func (e *apiError) Error() string { return string(e.code) + ": " + e.msg }

func errorf(code Code, msg string) *apiError { return &apiError{code: code, msg: msg} }

// writeError writes the JSON error. Messages never carry personal data: they
// name fields and limits, not values.
func writeError(w http.ResponseWriter, code Code, msg string) {
	status, ok := statusOf[code]
	if !ok {
		code, status = CodeInternal, http.StatusInternalServerError
	}
	var b errorBody
	b.Error.Code = code
	b.Error.Message = msg
	body, _ := json.Marshal(b)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
