// Package httperr is the error table and the JSON response writers shared
// by the node's HTTP surfaces (gateway/, console/, demo/). Each surface
// keeps its own table of codes — its contract, documented and checked
// against its docs by its tests — and writes every response through here,
// so all of them answer errors the same way:
//
//	{"error": {"code": "not_found", "message": "session not found"}}
//
// with Content-Type application/json, X-Content-Type-Options nosniff and
// Cache-Control no-store (responses may carry personal data: no shared or
// browser cache keeps them). Messages name fields, states and limits,
// never values.
package httperr

import (
	"encoding/json"
	"net/http"
)

// Code is a stable, machine-readable error code. Clients branch on the
// code, never on the message.
type Code string

// Spec is one row of an error table.
type Spec struct {
	Code        Code
	Status      int
	Description string
}

// Table is a surface's error table.
type Table struct {
	specs    []Spec
	status   map[Code]int
	fallback Code
}

// NewTable returns the table of specs. fallback is the code written for a
// code not in the table (an internal error code of the table, status 500).
// A code listed twice keeps its first row.
func NewTable(fallback Code, specs ...Spec) *Table {
	t := &Table{specs: append([]Spec(nil), specs...), status: make(map[Code]int, len(specs)), fallback: fallback}
	for _, s := range specs {
		if _, ok := t.status[s.Code]; !ok {
			t.status[s.Code] = s.Status
		}
	}
	return t
}

// Specs returns the rows, in table order (a copy).
func (t *Table) Specs() []Spec { return append([]Spec(nil), t.specs...) }

// Status is the HTTP status of code; 0 when code is not in the table.
func (t *Table) Status(code Code) int { return t.status[code] }

// Write writes the JSON error for code with msg. A code not in the table
// is written as the fallback code with status 500.
func (t *Table) Write(w http.ResponseWriter, code Code, msg string) {
	status, ok := t.status[code]
	if !ok {
		code, status = t.fallback, http.StatusInternalServerError
	}
	var b struct {
		Error struct {
			Code    Code   `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	b.Error.Code, b.Error.Message = code, msg
	body, _ := json.Marshal(b) // strings only: cannot fail
	write(w, status, body)
}

// WriteJSON writes v as JSON with status; an encoding error is returned
// before anything is written.
func WriteJSON(w http.ResponseWriter, status int, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	write(w, status, body)
	return nil
}

func write(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
