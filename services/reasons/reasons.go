// Package reasons is the one table of reason codes (codes.yaml), with the Go
// constants and docs/reason-codes.md generated from it. Every check, rule and
// dead letter names its reasons with these codes.
package reasons

//go:generate go run ./internal/gen -in codes.yaml -go codes_gen.go -md ../../docs/reason-codes.md

// Severity orders how serious a reason is.
type Severity string

const (
	SeverityInfo     Severity = "info"
	SeverityWarning  Severity = "warning"
	SeverityCritical Severity = "critical"
)

// Info describes one reason code.
type Info struct {
	Code        string
	Category    string
	Severity    Severity
	Description string
}

var byCode = func() map[string]Info {
	m := make(map[string]Info, len(All))
	for _, i := range All {
		m[i.Code] = i
	}
	return m
}()

// Lookup returns the table entry of code.
func Lookup(code string) (Info, bool) {
	i, ok := byCode[code]
	return i, ok
}

// Known reports whether code is in the table.
func Known(code string) bool {
	_, ok := byCode[code]
	return ok
}

// SeverityOf is the table severity of code; a code missing from the table
// counts as critical (fail closed).
func SeverityOf(code string) Severity {
	if i, ok := byCode[code]; ok {
		return i.Severity
	}
	return SeverityCritical
}
