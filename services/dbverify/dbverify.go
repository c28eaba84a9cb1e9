package dbverify

import (
	"context"
	"errors"
)

// Field is a declared datum a registry can confirm.
type Field string

// The fields a registry verdict can be mapped to. Each becomes the signal
// database.<field>.match of the check result.
const (
	// FieldName is the whole name, for registries that give one verdict.
	FieldName        Field = "name"
	FieldGivenNames  Field = "given_names"
	FieldSurname     Field = "surname"
	FieldDateOfBirth Field = "date_of_birth"
	// FieldDocumentNumber: the document number is known to the registry
	// (and, with most registries, belongs to the declared person).
	FieldDocumentNumber Field = "document_number"
	FieldNationality    Field = "nationality"
	FieldAddress        Field = "address"
)

// Fields lists every field, in signal order.
var Fields = []Field{FieldName, FieldGivenNames, FieldSurname, FieldDateOfBirth, FieldDocumentNumber, FieldNationality, FieldAddress}

func knownField(f Field) bool {
	for _, k := range Fields {
		if k == f {
			return true
		}
	}
	return false
}

// Status is a registry's verdict on one field.
type Status string

const (
	StatusMatch   Status = "match"
	StatusNoMatch Status = "no_match"
	// StatusNotAvailable: the registry did not compare the field (it holds
	// no such datum, or the field was not sent).
	StatusNotAvailable Status = "not_available"
)

// Query is what a registry is asked about. Empty fields are unknown.
type Query struct {
	GivenNames string
	Surname    string
	// DateOfBirth is YYYY-MM-DD.
	DateOfBirth string
	// Nationality is an ICAO 9303 code ("UTO", "D", "GBR").
	Nationality    string
	DocumentNumber string
	// DocumentType is passport, id_card, residence_permit, visa or
	// driving_licence.
	DocumentType string
	// IssuingCountry is the document's issuing state (ICAO code).
	IssuingCountry string
	// Address lines joined with ", ", city, postal code and country.
	AddressLine    string
	City           string
	PostalCode     string
	AddressCountry string
	// RequestID identifies the request to the registry (no applicant data:
	// see QueryFromRequest).
	RequestID string
}

// Result is a registry's answer, without any of its data: per-field
// verdicts and the registry's own reference of the transaction.
type Result struct {
	// Connector is the name of the connector that asked.
	Connector string
	// Found is false when the registry holds no record for the query.
	Found bool
	// Fields are the verdicts of the mapped fields (a field the mapping
	// does not read is absent).
	Fields map[Field]Status
	// Reference is the registry's transaction or record reference (a short
	// identifier, checked to hold no spaces or punctuation beyond ._:-), or
	// empty.
	Reference string
}

// Outcome summarises a Result.
type Outcome string

const (
	// OutcomeMatch: at least one field compared, and all compared matched.
	OutcomeMatch Outcome = "match"
	// OutcomePartialMatch: some compared fields matched, some did not.
	OutcomePartialMatch Outcome = "partial_match"
	// OutcomeNoMatch: no record, or no compared field matched.
	OutcomeNoMatch Outcome = "no_match"
	// OutcomeInconclusive: a record, but no field compared.
	OutcomeInconclusive Outcome = "inconclusive"
)

// Counts returns the number of compared fields (match or no_match) and of
// matched ones.
func (r Result) Counts() (compared, matched int) {
	for _, s := range r.Fields {
		switch s {
		case StatusMatch:
			compared++
			matched++
		case StatusNoMatch:
			compared++
		}
	}
	return compared, matched
}

// Outcome classifies the result.
func (r Result) Outcome() Outcome {
	if !r.Found {
		return OutcomeNoMatch
	}
	compared, matched := r.Counts()
	switch {
	case compared == 0:
		return OutcomeInconclusive
	case matched == compared:
		return OutcomeMatch
	case matched == 0:
		return OutcomeNoMatch
	default:
		return OutcomePartialMatch
	}
}

// Connector verifies a query against one registry. Implementations are safe
// for concurrent use.
type Connector interface {
	// Name is the connector's configured name.
	Name() string
	// Verify asks the registry. Errors wrap one of ErrInsufficientData,
	// ErrUnavailable, ErrRejected or ErrResponse.
	Verify(ctx context.Context, q Query) (Result, error)
}

// Errors. None of them, nor any error wrapping them, carries applicant data
// or a request or response body.
var (
	// ErrMapping: the mapping file (or the environment it refers to) is
	// invalid.
	ErrMapping = errors.New("dbverify: invalid mapping")
	// ErrInsufficientData: the query lacks an input the mapping requires;
	// the registry was not asked.
	ErrInsufficientData = errors.New("dbverify: insufficient data")
	// ErrUnavailable: the registry could not be reached after the retries
	// (connection error, timeout, HTTP 429 or 5xx), or the circuit is open.
	ErrUnavailable = errors.New("dbverify: registry unavailable")
	// ErrCircuitOpen: the breaker refused the call without asking the
	// registry. It always comes with ErrUnavailable.
	ErrCircuitOpen = errors.New("dbverify: circuit open")
	// ErrRejected: the registry refused the request (HTTP 4xx other than
	// 429 and the mapping's not-found statuses, or a redirect). Not retried.
	ErrRejected = errors.New("dbverify: request rejected by the registry")
	// ErrUnauthorized: HTTP 401 or 403. It always comes with ErrRejected.
	ErrUnauthorized = errors.New("dbverify: unauthorized")
	// ErrResponse: the response cannot be read with the mapping: not JSON,
	// wrong content type, too large, a missing field or an unexpected value.
	// Not retried.
	ErrResponse = errors.New("dbverify: invalid registry response")
)
