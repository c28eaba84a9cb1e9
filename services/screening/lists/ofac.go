package lists

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/openekyc/ekyc/services/screening"
)

// OFACFiles are the readers of the OFAC SDN legacy CSV files. SDN is
// required; the others may be nil.
type OFACFiles struct {
	SDN      io.Reader // sdn.csv
	Alt      io.Reader // alt.csv
	Add      io.Reader // add.csv
	Comments io.Reader // sdn_comments.csv
}

// OFAC file names, as published.
const (
	OFACSDNFile      = "sdn.csv"
	OFACAltFile      = "alt.csv"
	OFACAddFile      = "add.csv"
	OFACCommentsFile = "sdn_comments.csv"
)

// ParseOFAC parses the OFAC SDN CSV files. Entity ids are "ofac-" and the
// ent_num. Rows of alt.csv, add.csv and sdn_comments.csv whose ent_num is
// not in sdn.csv are ignored.
func ParseOFAC(ctx context.Context, f OFACFiles, opts ...Option) (*screening.List, error) {
	cfg := newConfig(opts)
	if f.SDN == nil {
		return nil, &ParseError{Source: screening.SourceOFAC, File: OFACSDNFile, Err: errors.New("no sdn.csv reader")}
	}
	vh := newVersionHash()
	p := ofacParser{ctx: ctx, byNum: map[int]int{}}

	if err := p.readFile(vh, f.SDN, OFACSDNFile, 12, p.sdnRow); err != nil {
		return nil, err
	}
	// comments extend the remarks before these are parsed
	comments := map[int]string{}
	if f.Comments != nil {
		err := p.readFile(vh, f.Comments, OFACCommentsFile, 2, func(rec []string) error {
			n, err := entNum(rec[0])
			if err != nil {
				return err
			}
			comments[n] += clean(rec[1])
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	for i := range p.entities {
		e := &p.entities[i]
		rem := p.remarks[i]
		if c, ok := comments[p.nums[i]]; ok {
			rem += c
		}
		e.Remarks = strings.TrimSpace(rem)
		parseOFACRemarks(e, e.Remarks)
	}
	if f.Alt != nil {
		err := p.readFile(vh, f.Alt, OFACAltFile, 5, p.entityRow(func(e *screening.Entity, rec []string) {
			name := clean(rec[3])
			if name == "" {
				return
			}
			q := strings.ToLower(clean(rec[2]))
			e.Names = addName(e.Names, screening.Name{Full: name, Kind: screening.NameAlias, Quality: q})
		}))
		if err != nil {
			return nil, err
		}
	}
	if f.Add != nil {
		err := p.readFile(vh, f.Add, OFACAddFile, 6, p.entityRow(func(e *screening.Entity, rec []string) {
			if c, ok := country(clean(rec[4]), screening.RoleAddress); ok {
				e.Countries = addCountry(e.Countries, c)
			}
		}))
		if err != nil {
			return nil, err
		}
	}
	return &screening.List{
		Version:  vh.version(screening.SourceOFAC, time.Time{}, len(p.entities), cfg),
		Entities: p.entities,
	}, nil
}

type ofacParser struct {
	ctx      context.Context
	entities []screening.Entity
	remarks  []string
	nums     []int
	byNum    map[int]int
}

// readFile reads one OFAC file through the version hash with readCSV and
// drains what is left of it.
func (p *ofacParser) readFile(vh *versionHash, r io.Reader, file string, fields int, row func([]string) error) error {
	hr := vh.reader(file, r)
	if err := p.readCSV(hr, file, fields, row); err != nil {
		return err
	}
	return drain(hr)
}

// entityRow makes a row handler for the files that extend the entities of
// sdn.csv: it hands fn the entity of the row's ent_num, and skips rows of
// unknown ones.
func (p *ofacParser) entityRow(fn func(e *screening.Entity, rec []string)) func([]string) error {
	return func(rec []string) error {
		n, err := entNum(rec[0])
		if err != nil {
			return err
		}
		if i, ok := p.byNum[n]; ok {
			fn(&p.entities[i], rec)
		}
		return nil
	}
}

// readCSV reads the records of one OFAC file, which must have exactly
// fields columns (a final line holding only the DOS end-of-file mark
// 0x1A is skipped), and hands each to row.
func (p *ofacParser) readCSV(r io.Reader, file string, fields int, row func([]string) error) error {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	for n := 1; ; n++ {
		if err := checkCtx(p.ctx, n); err != nil {
			return err
		}
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return &ParseError{Source: screening.SourceOFAC, File: file, Line: pe.Line, Err: pe.Err}
			}
			return err // an I/O error of the reader
		}
		line, _ := cr.FieldPos(0)
		if len(rec) == 1 && strings.Trim(rec[0], "\x1a \t\r") == "" {
			continue
		}
		if len(rec) != fields {
			return &ParseError{Source: screening.SourceOFAC, File: file, Line: line,
				Err: fmt.Errorf("%d fields, want %d", len(rec), fields)}
		}
		if err := row(rec); err != nil {
			return &ParseError{Source: screening.SourceOFAC, File: file, Line: line, Err: err}
		}
	}
}

// sdnRow handles one sdn.csv row: ent_num, SDN_Name, SDN_Type, Program,
// Title, Call_Sign, Vess_type, Tonnage, GRT, Vess_flag, Vess_owner, Remarks.
func (p *ofacParser) sdnRow(rec []string) error {
	n, err := entNum(rec[0])
	if err != nil {
		return err
	}
	if _, dup := p.byNum[n]; dup {
		return fmt.Errorf("duplicate ent_num %d", n)
	}
	name := clean(rec[1])
	if name == "" {
		return fmt.Errorf("ent_num %d has no name", n)
	}
	e := screening.Entity{
		ID:     "ofac-" + strconv.Itoa(n),
		Source: screening.SourceOFAC,
		Type:   ofacType(clean(rec[2])),
		Names:  []screening.Name{{Full: collapse(name), Kind: screening.NamePrimary}},
	}
	for _, prog := range strings.Split(clean(rec[3]), "] [") {
		e.Programs = addString(e.Programs, strings.Trim(prog, "[] "))
	}
	if t := clean(rec[4]); t != "" {
		e.Positions = addString(e.Positions, t)
	}
	if cs := clean(rec[5]); cs != "" {
		e.Identifiers = addIdentifier(e.Identifiers, screening.Identifier{Type: "Call Sign", Number: cs})
	}
	if fl := clean(rec[9]); fl != "" {
		if c, ok := country(fl, screening.RoleJurisdiction); ok {
			e.Countries = addCountry(e.Countries, c)
		}
	}
	p.byNum[n] = len(p.entities)
	p.entities = append(p.entities, e)
	p.remarks = append(p.remarks, clean(rec[11]))
	p.nums = append(p.nums, n)
	return nil
}

func ofacType(t string) screening.EntityType {
	switch strings.ToLower(t) {
	case "individual":
		return screening.EntityPerson
	case "vessel":
		return screening.EntityVessel
	case "aircraft":
		return screening.EntityAircraft
	case "":
		return screening.EntityOrganisation // OFAC leaves entities' type null
	}
	return screening.EntityUnknown
}

func entNum(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("ent_num %q is not a positive integer", s)
	}
	return n, nil
}

// clean trims a field, maps the OFAC null "-0-" to "" and decodes bytes
// that are not UTF-8 as Latin-1.
func clean(s string) string {
	s = strings.TrimSpace(s)
	if s == "-0-" {
		return ""
	}
	if !utf8.ValidString(s) {
		rs := make([]rune, len(s))
		for i := 0; i < len(s); i++ {
			rs[i] = rune(s[i])
		}
		s = string(rs)
	}
	return s
}

// LoadOFACDir parses the OFAC files in dir: sdn.csv is required,
// alt.csv, add.csv and sdn_comments.csv are used when present.
func LoadOFACDir(ctx context.Context, dir string, opts ...Option) (*screening.List, error) {
	var f OFACFiles
	open := func(name string, required bool) (io.Reader, func(), error) {
		fh, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			if !required && errors.Is(err, os.ErrNotExist) {
				return nil, func() {}, nil
			}
			return nil, func() {}, err
		}
		return fh, func() { fh.Close() }, nil
	}
	var err error
	var closers []func()
	defer func() {
		for _, c := range closers {
			c()
		}
	}()
	for _, x := range []struct {
		name     string
		dst      *io.Reader
		required bool
	}{{OFACSDNFile, &f.SDN, true}, {OFACAltFile, &f.Alt, false}, {OFACAddFile, &f.Add, false}, {OFACCommentsFile, &f.Comments, false}} {
		var r io.Reader
		var c func()
		r, c, err = open(x.name, x.required)
		closers = append(closers, c)
		if err != nil {
			return nil, err
		}
		if r != nil {
			*x.dst = r
		}
	}
	return ParseOFAC(ctx, f, opts...)
}
