package lists

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"slices"
	"strings"
	"time"

	"golang.org/x/text/encoding/charmap"

	"github.com/openekyc/ekyc/services/screening"
	"github.com/openekyc/ekyc/services/screening/countries"
)

// ErrMalformed is wrapped by every error about the content of a list file;
// test for it with errors.Is. The concrete error is a *ParseError.
var ErrMalformed = errors.New("lists: malformed list")

// ParseError locates a problem in a list file.
type ParseError struct {
	Source screening.Source
	// File names the part of the list ("sdn.csv", "alt.csv"), or is empty
	// for single-file lists.
	File string
	// Line is the 1-based line (0 when unknown); Element names the XML
	// element or record concerned, when that helps more than a line.
	Line    int
	Element string
	Err     error
}

func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString("lists: ")
	b.WriteString(string(e.Source))
	if e.File != "" {
		b.WriteString(" ")
		b.WriteString(e.File)
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, " line %d", e.Line)
	}
	if e.Element != "" {
		b.WriteString(" ")
		b.WriteString(e.Element)
	}
	b.WriteString(": malformed: ")
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns ErrMalformed and the underlying error.
func (e *ParseError) Unwrap() []error { return []error{ErrMalformed, e.Err} }

// Option configures a parser.
type Option func(*config)

type config struct {
	now func() time.Time
}

// WithClock sets the clock that stamps Version.LoadedAt (default
// time.Now).
func WithClock(now func() time.Time) Option {
	return func(c *config) {
		if now != nil {
			c.now = now
		}
	}
}

func newConfig(opts []Option) config {
	c := config{now: time.Now}
	for _, o := range opts {
		o(&c)
	}
	return c
}

// versionHash hashes every byte read from a list's files; the version id is
// its prefix.
type versionHash struct{ h hash.Hash }

func newVersionHash() *versionHash { return &versionHash{h: sha256.New()} }

// reader returns r teed into the hash, preceded by a marker naming the
// part, so that moving bytes between the files of a list changes the id.
func (v *versionHash) reader(part string, r io.Reader) io.Reader {
	v.h.Write([]byte("\x00" + part + "\x00"))
	return io.TeeReader(r, v.h)
}

// drain reads what the parser left of r so that the hash covers the whole
// input.
func drain(r io.Reader) error {
	_, err := io.Copy(io.Discard, r)
	return err
}

func (v *versionHash) version(src screening.Source, published time.Time, n int, cfg config) screening.Version {
	return screening.Version{
		Source:    src,
		ID:        hex.EncodeToString(v.h.Sum(nil))[:16],
		Published: published,
		LoadedAt:  cfg.now().UTC(),
		Entities:  n,
	}
}

// trackingReader remembers the last error of the underlying reader, so
// that a decoder error can be told apart: an I/O error is returned as is,
// anything else is malformed content.
type trackingReader struct {
	r   io.Reader
	err error
}

func (t *trackingReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err != nil && err != io.EOF {
		t.err = err
	}
	return n, err
}

// charsetReader decodes the legacy encodings a list file may declare.
func charsetReader(label string, input io.Reader) (io.Reader, error) {
	switch strings.ToLower(strings.TrimSpace(label)) {
	case "utf-8", "utf8", "us-ascii", "ascii":
		return input, nil
	case "iso-8859-1", "iso8859-1", "latin1", "latin-1":
		return charmap.ISO8859_1.NewDecoder().Reader(input), nil
	case "windows-1252", "cp1252":
		return charmap.Windows1252.NewDecoder().Reader(input), nil
	}
	return nil, fmt.Errorf("unsupported encoding %q", label)
}

// ctxEvery is how many records a parser handles between looks at ctx.
const ctxEvery = 256

func checkCtx(ctx context.Context, n int) error {
	if n == 1 || n%ctxEvery == 0 {
		return ctx.Err()
	}
	return nil
}

// country builds a Country from a raw name or code.
func country(raw string, role screening.CountryRole) (screening.Country, bool) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return screening.Country{}, false
	}
	code, _ := countries.Code(raw)
	return screening.Country{Code: code, Raw: raw, Role: role}, true
}

// addUnique appends x to xs unless an equal one is there.
func addUnique[T comparable](xs []T, x T) []T {
	if slices.Contains(xs, x) {
		return xs
	}
	return append(xs, x)
}

// addCountry appends c to cs unless an equal one is there.
func addCountry(cs []screening.Country, c screening.Country) []screening.Country {
	return addUnique(cs, c)
}

func addString(ss []string, s string) []string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ss
	}
	return addUnique(ss, s)
}

func addDate(ds []screening.DateSpec, d screening.DateSpec) []screening.DateSpec {
	if d.IsZero() || d.Validate() != nil {
		return ds
	}
	return addUnique(ds, d)
}

func addName(ns []screening.Name, n screening.Name) []screening.Name {
	n.Full = strings.TrimSpace(collapse(n.Full))
	if n.Full == "" {
		return ns
	}
	for i, x := range ns {
		if strings.EqualFold(x.Full, n.Full) {
			// keep the strongest kind
			if rank(n.Kind) < rank(x.Kind) {
				ns[i].Kind = n.Kind
			}
			return ns
		}
	}
	return append(ns, n)
}

func rank(k screening.NameKind) int {
	switch k {
	case screening.NamePrimary:
		return 0
	case screening.NameAlias:
		return 1
	}
	return 2
}

// collapse replaces runs of white space (including newlines) by one space.
func collapse(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func addIdentifier(ids []screening.Identifier, id screening.Identifier) []screening.Identifier {
	id.Number = strings.TrimSpace(id.Number)
	id.Type = strings.TrimSpace(id.Type)
	if id.Number == "" {
		return ids
	}
	return addUnique(ids, id)
}

// gender folds the gender spellings of the lists to "male"/"female".
func gender(s string) string {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "male", "m":
		return "male"
	case "female", "f":
		return "female"
	}
	return ""
}

// countryCode returns the ISO code of raw, or raw itself.
func countryCode(raw string) string {
	raw = strings.TrimSpace(raw)
	if c, ok := countries.Code(raw); ok {
		return c
	}
	return raw
}

// splitName splits a published name that packs several names: parts
// separated by ";" ("COMPAGNIE AERIENNE DES GRANDS LACS (CAGL) ; GREAT LAKES
// BUSINESS COMPANY (GLBC)"), and a trailing parenthesised acronym, which is
// returned separately ("FORCES DEMOCRATIQUES DE LIBERATION DU RWANDA (FDLR)"
// gives the name without it and the acronym FDLR).
func splitName(full string) (parts, acronyms []string) {
	for _, p := range strings.Split(full, ";") {
		p = collapse(p)
		if p == "" {
			continue
		}
		if strings.HasSuffix(p, ")") {
			if i := strings.LastIndexByte(p, '('); i > 0 {
				inner := strings.TrimSpace(p[i+1 : len(p)-1])
				base := strings.TrimSpace(p[:i])
				if base != "" && isAcronym(inner) {
					parts = append(parts, base)
					acronyms = append(acronyms, inner)
					continue
				}
			}
		}
		parts = append(parts, p)
	}
	return parts, acronyms
}

// isAcronym reports whether s looks like an acronym: 2-12 characters,
// upper-case letters, digits and light punctuation, no spaces.
func isAcronym(s string) bool {
	if len(s) < 2 || len(s) > 12 {
		return false
	}
	letters := 0
	for _, r := range s {
		switch {
		case r >= 'A' && r <= 'Z':
			letters++
		case r >= '0' && r <= '9', r == '-', r == '.', r == '&', r == '/':
		default:
			return false
		}
	}
	return letters >= 2
}
