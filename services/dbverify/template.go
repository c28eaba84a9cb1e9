package dbverify

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// A request template is JSON (written as JSON text or as YAML) whose string
// values may hold {{placeholder}}s. It is parsed once; rendering fills the
// placeholders into the parsed strings and marshals the tree, so a value is
// always one JSON string, escaped by encoding/json, whatever it contains:
// there is no text substitution into JSON and hence no injection. A string
// that is exactly one placeholder whose value is empty is left out of its
// object (an element of an array becomes "").

type tnode interface{}

type tobject struct {
	keys []string
	vals []tnode
}

type tarray []tnode

// tstring is a string with placeholders: parts alternate literal text and
// placeholder names (names are the odd indexes).
type tstring struct {
	parts []string
}

func (s tstring) whole() bool { return len(s.parts) == 3 && s.parts[0] == "" && s.parts[2] == "" }

// tliteral is a number, bool or null, copied as is.
type tliteral struct{ v any }

var placeholderRE = regexp.MustCompile(`\{\{\s*([A-Za-z0-9_]+)\s*\}\}`)

func compileTemplate(n *yaml.Node) (tnode, error) {
	var v any
	switch n.Kind {
	case yaml.ScalarNode:
		if n.ShortTag() != "!!str" {
			return nil, fmt.Errorf("%w: request_template: want a JSON object (as JSON text or YAML)", ErrMapping)
		}
		if len(n.Value) > maxTemplateBytes {
			return nil, fmt.Errorf("%w: request_template over %d bytes", ErrMapping, maxTemplateBytes)
		}
		dec := json.NewDecoder(strings.NewReader(n.Value))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("%w: request_template (line %d) is not valid JSON: %v", ErrMapping, n.Line, err)
		}
		if _, err := dec.Token(); !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: request_template (line %d): data after the JSON value", ErrMapping, n.Line)
		}
	case yaml.MappingNode, yaml.SequenceNode:
		if err := n.Decode(&v); err != nil {
			return nil, fmt.Errorf("%w: request_template: %v", ErrMapping, err)
		}
	default:
		return nil, fmt.Errorf("%w: request_template: want a JSON object (as JSON text or YAML)", ErrMapping)
	}
	switch v.(type) {
	case map[string]any, []any:
	default:
		return nil, fmt.Errorf("%w: request_template: want a JSON object or array at the top", ErrMapping)
	}
	t, err := compileValue(v, "request_template")
	if err != nil {
		return nil, err
	}
	// Marshal once with every placeholder set, so that a value JSON cannot
	// hold (a YAML .nan) fails here, not on the first request.
	var full Query
	for _, p := range Placeholders {
		full = full.with(p, "x")
	}
	if _, err := render(t, full); err != nil {
		return nil, fmt.Errorf("%w: request_template: %v", ErrMapping, err)
	}
	return t, nil
}

func compileValue(v any, where string) (tnode, error) {
	switch x := v.(type) {
	case map[string]any:
		o := &tobject{}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if strings.Contains(k, "{{") || strings.Contains(k, "}}") {
				return nil, fmt.Errorf("%w: %s: placeholders are allowed in values only, not in key %q", ErrMapping, where, k)
			}
			c, err := compileValue(x[k], where+"."+k)
			if err != nil {
				return nil, err
			}
			o.keys, o.vals = append(o.keys, k), append(o.vals, c)
		}
		return o, nil
	case map[any]any:
		return nil, fmt.Errorf("%w: %s: object keys must be strings", ErrMapping, where)
	case []any:
		a := make(tarray, 0, len(x))
		for i, e := range x {
			c, err := compileValue(e, where+"["+strconv.Itoa(i)+"]")
			if err != nil {
				return nil, err
			}
			a = append(a, c)
		}
		return a, nil
	case string:
		return compileString(x, where)
	case nil, bool, int, int64, uint64, float64, json.Number:
		return tliteral{x}, nil
	}
	return nil, fmt.Errorf("%w: %s: unsupported value of type %T", ErrMapping, where, v)
}

func compileString(s, where string) (tnode, error) {
	idx := placeholderRE.FindAllStringSubmatchIndex(s, -1)
	if len(idx) == 0 {
		if strings.Contains(s, "{{") || strings.Contains(s, "}}") {
			return nil, fmt.Errorf("%w: %s: malformed placeholder (want {{name}})", ErrMapping, where)
		}
		return tliteral{s}, nil
	}
	var parts []string
	last := 0
	for _, m := range idx {
		lit, name := s[last:m[0]], s[m[2]:m[3]]
		if strings.Contains(lit, "{{") || strings.Contains(lit, "}}") {
			return nil, fmt.Errorf("%w: %s: malformed placeholder (want {{name}})", ErrMapping, where)
		}
		if !slices.Contains(Placeholders, name) {
			return nil, fmt.Errorf("%w: %s: unknown placeholder %q (want one of %s)", ErrMapping, where, name, strings.Join(Placeholders, ", "))
		}
		parts = append(parts, lit, name)
		last = m[1]
	}
	tail := s[last:]
	if strings.Contains(tail, "{{") || strings.Contains(tail, "}}") {
		return nil, fmt.Errorf("%w: %s: malformed placeholder (want {{name}})", ErrMapping, where)
	}
	return tstring{parts: append(parts, tail)}, nil
}

// render builds the request body of q.
func render(t tnode, q Query) ([]byte, error) {
	v, _ := fill(t, q)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// fill returns the value of t for q; omit is true for a whole-placeholder
// string whose value is empty.
func fill(t tnode, q Query) (v any, omit bool) {
	switch x := t.(type) {
	case *tobject:
		m := make(map[string]any, len(x.keys))
		for i, k := range x.keys {
			if v, omit := fill(x.vals[i], q); !omit {
				m[k] = v
			}
		}
		return m, false
	case tarray:
		a := make([]any, len(x))
		for i, e := range x {
			a[i], _ = fill(e, q)
		}
		return a, false
	case tstring:
		var b strings.Builder
		for i, p := range x.parts {
			if i%2 == 1 {
				p = q.value(p)
			}
			b.WriteString(p)
		}
		return b.String(), x.whole() && b.Len() == 0
	case tliteral:
		return x.v, false
	}
	return nil, false
}

// with returns q with placeholder name set to v (full_name is derived and
// cannot be set).
func (q Query) with(name, v string) Query {
	switch name {
	case "given_names":
		q.GivenNames = v
	case "surname":
		q.Surname = v
	case "date_of_birth":
		q.DateOfBirth = v
	case "nationality":
		q.Nationality = v
	case "document_number":
		q.DocumentNumber = v
	case "document_type":
		q.DocumentType = v
	case "issuing_country":
		q.IssuingCountry = v
	case "address_line":
		q.AddressLine = v
	case "city":
		q.City = v
	case "postal_code":
		q.PostalCode = v
	case "address_country":
		q.AddressCountry = v
	case "request_id":
		q.RequestID = v
	}
	return q
}

// path is a parsed dot path into a JSON document: object keys, and
// decimal indexes into arrays ("results.0.match").
type path []string

func parsePath(s string) (path, error) {
	if s == "" {
		return nil, errors.New("empty path")
	}
	segs := strings.Split(s, ".")
	if len(segs) > maxPathSegments {
		return nil, fmt.Errorf("path %q has more than %d segments", s, maxPathSegments)
	}
	for _, seg := range segs {
		if seg == "" {
			return nil, fmt.Errorf("path %q has an empty segment", s)
		}
		if strings.TrimSpace(seg) != seg {
			return nil, fmt.Errorf("path %q has a segment with surrounding spaces", s)
		}
	}
	return segs, nil
}

func (p path) String() string { return strings.Join(p, ".") }

// lookup follows p in a document decoded with UseNumber.
func (p path) lookup(doc any) (any, bool) {
	cur := doc
	for _, seg := range p {
		switch x := cur.(type) {
		case map[string]any:
			v, ok := x[seg]
			if !ok {
				return nil, false
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(x) {
				return nil, false
			}
			cur = x[i]
		default:
			return nil, false
		}
	}
	return cur, true
}
