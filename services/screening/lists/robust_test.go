package lists

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openekyc/ekyc/services/screening"
)

// parsers runs each single-reader parser; OFAC gets the bytes as sdn.csv.
var parsers = map[string]func(context.Context, io.Reader) (*screening.List, error){
	"ofac": func(ctx context.Context, r io.Reader) (*screening.List, error) {
		return ParseOFAC(ctx, OFACFiles{SDN: r})
	},
	"un":  func(ctx context.Context, r io.Reader) (*screening.List, error) { return ParseUN(ctx, r) },
	"eu":  func(ctx context.Context, r io.Reader) (*screening.List, error) { return ParseEU(ctx, r) },
	"uk":  func(ctx context.Context, r io.Reader) (*screening.List, error) { return ParseUK(ctx, r) },
	"ftm": func(ctx context.Context, r io.Reader) (*screening.List, error) { return ParseFtM(ctx, r) },
	"uksl": func(ctx context.Context, r io.Reader) (*screening.List, error) {
		return ParseUKSanctionsList(ctx, r)
	},
	"ukauto": func(ctx context.Context, r io.Reader) (*screening.List, error) { return ParseUKAuto(ctx, r) },
}

var fixtureOf = map[string][]string{
	"ofac": {"ofac", OFACSDNFile},
	"un":   {"un", "consolidated.xml"},
	"eu":   {"eu", "export.xml"},
	"uk":   {"uk", "ConList.csv"},
	"ftm":  {"ftm", "entities.ftm.json"},
	"uksl": {"uk", ukslFile},
	// ParseUKAuto on the UK Sanctions List; the fuzzer also reaches the
	// ConList parser through it.
	"ukauto": {"uk", ukslFile},
}

// checkResult accepts a parsed list or a malformed-input error; anything
// else (a panic, an unclassified error) fails.
func checkResult(t *testing.T, l *screening.List, err error) {
	t.Helper()
	if err != nil {
		require.ErrorIs(t, err, ErrMalformed)
		var pe *ParseError
		require.True(t, errors.As(err, &pe))
		require.NotEmpty(t, pe.Error())
		return
	}
	require.NotNil(t, l)
	for _, e := range l.Entities {
		require.NotEmpty(t, e.ID)
		require.NotEmpty(t, e.Names)
	}
}

// TestTruncatedInput cuts every fixture at many points: each parser must
// return a list or ErrMalformed, never panic or hang.
func TestTruncatedInput(t *testing.T) {
	for name, parse := range parsers {
		data := readFixture(t, fixtureOf[name]...)
		step := max(1, len(data)/97)
		for cut := 0; cut < len(data); cut += step {
			l, err := parse(bg, bytes.NewReader(data[:cut]))
			checkResult(t, l, err)
		}
	}
}

// errReader fails after n bytes.
type errReader struct {
	r io.Reader
	n int
}

var errDisk = errors.New("disk on fire")

func (e *errReader) Read(p []byte) (int, error) {
	if e.n <= 0 {
		return 0, errDisk
	}
	if len(p) > e.n {
		p = p[:e.n]
	}
	n, err := e.r.Read(p)
	e.n -= n
	return n, err
}

// TestReaderErrors: an I/O error is returned as is, not as malformed input.
func TestReaderErrors(t *testing.T) {
	for name, parse := range parsers {
		data := readFixture(t, fixtureOf[name]...)
		_, err := parse(bg, &errReader{r: bytes.NewReader(data), n: len(data) / 2})
		require.ErrorIs(t, err, errDisk, name)
		require.NotErrorIs(t, err, ErrMalformed, name)
	}
}

func TestCancelledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(bg)
	cancel()
	for name, parse := range parsers {
		_, err := parse(ctx, bytes.NewReader(readFixture(t, fixtureOf[name]...)))
		require.ErrorIs(t, err, context.Canceled, name)
	}
}

func fuzzParser(f *testing.F, name string) {
	data := readFixture(f, fixtureOf[name]...)
	f.Add(data[:min(len(data), 2048)])
	f.Add([]byte{})
	f.Add([]byte("\x00\xff<\"'"))
	parse := parsers[name]
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := parse(bg, bytes.NewReader(b))
		checkResult(t, l, err)
	})
}

func FuzzParseOFAC(f *testing.F) { fuzzParser(f, "ofac") }
func FuzzParseUN(f *testing.F)   { fuzzParser(f, "un") }
func FuzzParseEU(f *testing.F)   { fuzzParser(f, "eu") }
func FuzzParseUK(f *testing.F)   { fuzzParser(f, "uk") }
func FuzzParseFtM(f *testing.F)  { fuzzParser(f, "ftm") }

func FuzzParseUKSanctionsList(f *testing.F) { fuzzParser(f, "uksl") }

func FuzzParseUKAuto(f *testing.F) {
	f.Add(readFixture(f, "uk", "ConList.csv"))
	fuzzParser(f, "ukauto")
}
