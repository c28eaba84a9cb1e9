package httperr

import (
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

var table = NewTable("internal",
	Spec{"not_found", http.StatusNotFound, "No such thing."},
	Spec{"internal", http.StatusInternalServerError, "An unexpected error."},
	Spec{"not_found", http.StatusGone, "A duplicate row: ignored."},
)

func decode(t *testing.T, r *httptest.ResponseRecorder) (code, msg string) {
	t.Helper()
	var b struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	require.NoError(t, json.Unmarshal(r.Body.Bytes(), &b))
	return b.Error.Code, b.Error.Message
}

func TestWrite(t *testing.T) {
	r := httptest.NewRecorder()
	table.Write(r, "not_found", `session "x" not found`)
	require.Equal(t, http.StatusNotFound, r.Code, "the first row of a code wins")
	require.Equal(t, "application/json", r.Header().Get("Content-Type"))
	require.Equal(t, "nosniff", r.Header().Get("X-Content-Type-Options"))
	require.Equal(t, "no-store", r.Header().Get("Cache-Control"))
	code, msg := decode(t, r)
	require.Equal(t, "not_found", code)
	require.Equal(t, `session "x" not found`, msg, "quotes survive the JSON encoding")

	r = httptest.NewRecorder()
	table.Write(r, "no_such_code", "boom")
	require.Equal(t, http.StatusInternalServerError, r.Code)
	code, _ = decode(t, r)
	require.Equal(t, "internal", code, "an unknown code is the table's fallback")

	require.Equal(t, http.StatusNotFound, table.Status("not_found"))
	require.Zero(t, table.Status("no_such_code"))
	specs := table.Specs()
	require.Len(t, specs, 3)
	specs[0].Code = "changed"
	require.Equal(t, Code("not_found"), table.Specs()[0].Code, "Specs is a copy")
}

func TestWriteJSON(t *testing.T) {
	r := httptest.NewRecorder()
	require.NoError(t, WriteJSON(r, http.StatusCreated, map[string]int{"n": 1}))
	require.Equal(t, http.StatusCreated, r.Code)
	require.JSONEq(t, `{"n":1}`, r.Body.String())
	require.Equal(t, "no-store", r.Header().Get("Cache-Control"))

	r = httptest.NewRecorder()
	require.Error(t, WriteJSON(r, http.StatusOK, math.NaN()))
	require.Empty(t, r.Body.String(), "nothing written on an encoding error")
	require.Empty(t, r.Header().Get("Content-Type"))
}
