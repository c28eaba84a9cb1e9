package mrz

// Reason codes used by the document check, spelled exactly as in
// services/reasons/codes.yaml. They are declared here until the generated
// constants of package reasons (services/reasons/codes_gen.go) land; then these
// become aliases of (or are replaced by) the generated ones.
// TestCodesMatchTable keeps the two in sync.
//
//nolint:revive // names mirror the YAML table on purpose.
const (
	DOC_MISSING                   = "DOC_MISSING"
	DOC_OCR_UNAVAILABLE           = "DOC_OCR_UNAVAILABLE"
	DOC_MRZ_UNREADABLE            = "DOC_MRZ_UNREADABLE"
	DOC_MRZ_INVALID_DOCUMENT_CODE = "DOC_MRZ_INVALID_DOCUMENT_CODE"
	DOC_MRZ_CHECK_DOCUMENT_NUMBER = "DOC_MRZ_CHECK_DOCUMENT_NUMBER"
	DOC_MRZ_CHECK_BIRTH_DATE      = "DOC_MRZ_CHECK_BIRTH_DATE"
	DOC_MRZ_CHECK_EXPIRY_DATE     = "DOC_MRZ_CHECK_EXPIRY_DATE"
	DOC_MRZ_CHECK_OPTIONAL_DATA   = "DOC_MRZ_CHECK_OPTIONAL_DATA"
	DOC_MRZ_CHECK_COMPOSITE       = "DOC_MRZ_CHECK_COMPOSITE"
	DOC_MRZ_INVALID_BIRTH_DATE    = "DOC_MRZ_INVALID_BIRTH_DATE"
	DOC_MRZ_INVALID_EXPIRY_DATE   = "DOC_MRZ_INVALID_EXPIRY_DATE"
	DOC_MRZ_INVALID_SEX           = "DOC_MRZ_INVALID_SEX"
	DOC_MRZ_UNKNOWN_ISSUING_STATE = "DOC_MRZ_UNKNOWN_ISSUING_STATE"
	DOC_MRZ_UNKNOWN_NATIONALITY   = "DOC_MRZ_UNKNOWN_NATIONALITY"
	DOC_MRZ_INVALID_NAME          = "DOC_MRZ_INVALID_NAME"
	DOC_EXPIRED                   = "DOC_EXPIRED"
	DOC_HOLDER_UNDERAGE           = "DOC_HOLDER_UNDERAGE"
	DOC_TYPE_MISMATCH             = "DOC_TYPE_MISMATCH"
	DATA_NAME_MISMATCH            = "DATA_NAME_MISMATCH"
	DATA_DOB_MISMATCH             = "DATA_DOB_MISMATCH"
	DATA_NATIONALITY_MISMATCH     = "DATA_NATIONALITY_MISMATCH"
)

// Severity of a reason code, as in the table.
type Severity string

// Severities used by codes.yaml.
const (
	SeverityInfo     Severity = "info"
	SeverityWarning  Severity = "warning"
	SeverityCritical Severity = "critical"
)

// codeSeverity mirrors the severity column of codes.yaml for the codes above.
var codeSeverity = map[string]Severity{
	DOC_MISSING:                   SeverityCritical,
	DOC_OCR_UNAVAILABLE:           SeverityWarning,
	DOC_MRZ_UNREADABLE:            SeverityCritical,
	DOC_MRZ_INVALID_DOCUMENT_CODE: SeverityCritical,
	DOC_MRZ_CHECK_DOCUMENT_NUMBER: SeverityCritical,
	DOC_MRZ_CHECK_BIRTH_DATE:      SeverityCritical,
	DOC_MRZ_CHECK_EXPIRY_DATE:     SeverityCritical,
	DOC_MRZ_CHECK_OPTIONAL_DATA:   SeverityCritical,
	DOC_MRZ_CHECK_COMPOSITE:       SeverityCritical,
	DOC_MRZ_INVALID_BIRTH_DATE:    SeverityCritical,
	DOC_MRZ_INVALID_EXPIRY_DATE:   SeverityCritical,
	DOC_MRZ_INVALID_SEX:           SeverityWarning,
	DOC_MRZ_UNKNOWN_ISSUING_STATE: SeverityCritical,
	DOC_MRZ_UNKNOWN_NATIONALITY:   SeverityCritical,
	DOC_MRZ_INVALID_NAME:          SeverityWarning,
	DOC_EXPIRED:                   SeverityCritical,
	DOC_HOLDER_UNDERAGE:           SeverityWarning,
	DOC_TYPE_MISMATCH:             SeverityWarning,
	DATA_NAME_MISMATCH:            SeverityCritical,
	DATA_DOB_MISMATCH:             SeverityCritical,
	DATA_NATIONALITY_MISMATCH:     SeverityWarning,
}

// CodeSeverity returns the table severity of a reason code used by this
// package; unknown codes are reported as critical (fail closed).
func CodeSeverity(code string) Severity {
	if s, ok := codeSeverity[code]; ok {
		return s
	}
	return SeverityCritical
}
