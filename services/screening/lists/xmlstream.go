package lists

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/openekyc/ekyc/services/screening"
)

// xmlList describes an XML list that holds a root element, whose
// publication time is an RFC 3339 attribute, and record elements that
// each decode into an R and give one entity.
type xmlList[R any] struct {
	source   screening.Source
	file     string          // part name for the version hash
	root     string          // local name of the root element
	dateAttr string          // root attribute holding the publication time
	records  map[string]bool // local names of the record elements
	outside  string          // error for a record before the root
	// entity converts a decoded record; elem is its local name.
	entity func(rec *R, elem string) (screening.Entity, error)
	// duplicate is the error for a record whose entity id was seen before.
	duplicate func(rec *R) error
}

// parse streams the list from r, one record at a time.
func (l xmlList[R]) parse(ctx context.Context, r io.Reader, opts []Option) (*screening.List, error) {
	cfg := newConfig(opts)
	vh := newVersionHash()
	tr := &trackingReader{r: vh.reader(l.file, r)}
	dec := xml.NewDecoder(tr)
	dec.CharsetReader = charsetReader
	fail := func(elem string, err error) error {
		pe := &ParseError{Source: l.source, Element: elem, Err: err}
		var se *xml.SyntaxError
		if errors.As(err, &se) {
			pe.Line, pe.Err = se.Line, errors.New(se.Msg)
		} else {
			pe.Line, _ = dec.InputPos()
		}
		return pe
	}
	// decodeErr is the error for err from the decoder: the reader's own
	// error when it had one, else malformed content.
	decodeErr := func(elem string, err error) error {
		if tr.err != nil {
			return tr.err
		}
		return fail(elem, err)
	}
	var (
		published time.Time
		entities  []screening.Entity
		rootSeen  bool
		seen      = map[string]bool{}
	)
	for n := 1; ; {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, decodeErr("", err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		local := se.Name.Local
		switch {
		case local == l.root:
			rootSeen = true
			for _, a := range se.Attr {
				if a.Name.Local == l.dateAttr {
					if t, err := time.Parse(time.RFC3339, a.Value); err == nil {
						published = t.UTC()
					}
				}
			}
		case l.records[local]:
			if !rootSeen {
				return nil, fail(local, errors.New(l.outside))
			}
			var rec R
			if err := dec.DecodeElement(&rec, &se); err != nil {
				return nil, decodeErr(local, err)
			}
			e, err := l.entity(&rec, local)
			elem := fmt.Sprintf("%s #%d", local, n)
			if err != nil {
				return nil, fail(elem, err)
			}
			if seen[e.ID] {
				return nil, fail(elem, l.duplicate(&rec))
			}
			seen[e.ID] = true
			entities = append(entities, e)
			if err := checkCtx(ctx, n); err != nil {
				return nil, err
			}
			n++
		}
	}
	if !rootSeen {
		return nil, &ParseError{Source: l.source, Err: fmt.Errorf("no %s element", l.root)}
	}
	if err := drain(tr); err != nil {
		return nil, err
	}
	return &screening.List{Version: vh.version(l.source, published, len(entities), cfg), Entities: entities}, nil
}
