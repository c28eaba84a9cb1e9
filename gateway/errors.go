package gateway

import (
	"net/http"

	"github.com/openekyc/ekyc/internal/httperr"
)

// Code is a stable, machine-readable error code (internal/httperr).
type Code = httperr.Code

// ErrorSpec is one row of the error table.
type ErrorSpec = httperr.Spec

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
	{Code: CodeInvalidJSON, Status: http.StatusBadRequest, Description: "The body is not valid JSON, has unknown fields, or has a field of the wrong type."},
	{Code: CodeInvalidRequest, Status: http.StatusBadRequest, Description: "A field or parameter is invalid; the message names it."},
	{Code: CodeUnauthenticated, Status: http.StatusUnauthorized, Description: "No API key, a malformed Authorization header, or an unknown or revoked key."},
	{Code: CodeForbidden, Status: http.StatusForbidden, Description: "The API key lacks the scope the operation needs."},
	{Code: CodeNotFound, Status: http.StatusNotFound, Description: "No such resource in the caller's tenant (the same for another tenant's resource)."},
	{Code: CodeMethodNotAllowed, Status: http.StatusMethodNotAllowed, Description: "The path exists but not with this method."},
	{Code: CodeConflict, Status: http.StatusConflict, Description: "The session no longer accepts this change (submitted or erased)."},
	{Code: CodePayloadTooLarge, Status: http.StatusRequestEntityTooLarge, Description: "The body exceeds the request or image size limit."},
	{Code: CodeUnsupportedMediaType, Status: http.StatusUnsupportedMediaType, Description: "The body's content type is not accepted (images: JPEG or PNG, detected from the bytes)."},
	{Code: CodeInvalidImage, Status: http.StatusUnprocessableEntity, Description: "The image does not decode."},
	{Code: CodeImageDimensions, Status: http.StatusUnprocessableEntity, Description: "The image's width or height is outside the accepted range."},
	{Code: CodeMissingImages, Status: http.StatusUnprocessableEntity, Description: "The session lacks an image its requested checks need."},
	{Code: CodeIdempotencyKeyReused, Status: http.StatusUnprocessableEntity, Description: "The Idempotency-Key was used before with a different request."},
	{Code: CodeRateLimited, Status: http.StatusTooManyRequests, Description: "The key's or tenant's rate limit is exhausted; retry after Retry-After seconds."},
	{Code: CodeInternal, Status: http.StatusInternalServerError, Description: "An unexpected error; nothing was changed or the change is safe to retry."},
	{Code: CodePublishFailed, Status: http.StatusServiceUnavailable, Description: "The request could not be published to Kafka; the session stays submittable, retry."},
	{Code: CodeUnavailable, Status: http.StatusServiceUnavailable, Description: "A backing store is unavailable; retry."},
	{Code: CodeNotAvailable, Status: http.StatusServiceUnavailable, Description: "The feature is not configured on this node."},
}

var errTable = httperr.NewTable(CodeInternal, Errors...)

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
	errTable.Write(w, code, msg)
}
