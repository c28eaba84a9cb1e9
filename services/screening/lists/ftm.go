package lists

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/openekyc/ekyc/services/screening"
)

// ftmEntity is one FollowTheMoney entity as OpenSanctions exports it
// (entities.ftm.json, targets.nested.json): property values are lists of
// strings; nested entities (objects in place of strings) are ignored.
type ftmEntity struct {
	ID         string                       `json:"id"`
	Schema     string                       `json:"schema"`
	Caption    string                       `json:"caption"`
	Properties map[string][]json.RawMessage `json:"properties"`
	Datasets   []string                     `json:"datasets"`
	Target     *bool                        `json:"target"`
}

// ftmSchemas maps the screenable FtM schemata to entity types; entities of
// other schemata (Address, Sanction, Ownership, ...) are skipped.
var ftmSchemas = map[string]screening.EntityType{
	"Person":       screening.EntityPerson,
	"Organization": screening.EntityOrganisation,
	"Company":      screening.EntityOrganisation,
	"LegalEntity":  screening.EntityUnknown,
	"PublicBody":   screening.EntityOrganisation,
	"Vessel":       screening.EntityVessel,
	"Airplane":     screening.EntityAircraft,
}

// ftmIDProps are the identifier properties of FtM, with the type name
// given to them.
var ftmIDProps = []struct{ prop, typ string }{
	{"passportNumber", "Passport"}, {"idNumber", "National ID"}, {"taxNumber", "Tax ID"},
	{"registrationNumber", "Registration Number"}, {"innCode", "INN"}, {"ogrnCode", "OGRN"},
	{"leiCode", "LEI"}, {"swiftBic", "SWIFT/BIC"}, {"imoNumber", "IMO"}, {"mmsi", "MMSI"},
	{"vatCode", "VAT"}, {"dunsCode", "D-U-N-S"}, {"icaoCode", "ICAO"}, {"serialNumber", "Serial Number"},
	{"socialSecurityNumber", "SSN"},
}

// maxFtMLine bounds one JSON line (a single entity); longer lines are
// malformed input.
const maxFtMLine = 64 << 20

// ParseFtM parses OpenSanctions FollowTheMoney entities, one JSON object
// per line. Person, Organization, Company, LegalEntity, PublicBody, Vessel
// and Airplane entities are kept (others skipped, as are entities marked
// "target": false, which are only related to targets). Names come from
// name (primary), alias and previousName (aliases) and weakAlias (weak);
// dates of birth from birthDate, countries from nationality, citizenship,
// birthPlace-country, country and jurisdiction; identifiers from
// passportNumber, idNumber, taxNumber, registrationNumber, innCode,
// ogrnCode, leiCode, imoNumber, mmsi and the like; topics (role.pep,
// sanction, ...) and position are kept. Entity ids are "ftm-" and the FtM
// id; Programs are the programId values, or the datasets.
func ParseFtM(ctx context.Context, r io.Reader, opts ...Option) (*screening.List, error) {
	cfg := newConfig(opts)
	vh := newVersionHash()
	tr := vh.reader("entities.ftm.json", r)
	br := bufio.NewReaderSize(tr, 1<<16)
	var entities []screening.Entity
	seen := map[string]bool{}
	for line := 1; ; line++ {
		if err := checkCtx(ctx, line); err != nil {
			return nil, err
		}
		b, err := readLine(br)
		if err == io.EOF && len(b) == 0 {
			break
		}
		if err != nil && err != io.EOF {
			if errors.Is(err, errLineTooLong) {
				return nil, &ParseError{Source: screening.SourceFtM, Line: line, Err: err}
			}
			return nil, err
		}
		b = bytes.TrimSpace(b)
		if len(b) == 0 {
			if err == io.EOF {
				break
			}
			continue
		}
		var fe ftmEntity
		if uerr := json.Unmarshal(b, &fe); uerr != nil {
			return nil, &ParseError{Source: screening.SourceFtM, Line: line, Err: uerr}
		}
		e, keep, cerr := ftmToEntity(&fe)
		if cerr != nil {
			return nil, &ParseError{Source: screening.SourceFtM, Line: line, Err: cerr}
		}
		if keep {
			if seen[e.ID] {
				return nil, &ParseError{Source: screening.SourceFtM, Line: line, Err: fmt.Errorf("duplicate id %q", fe.ID)}
			}
			seen[e.ID] = true
			entities = append(entities, e)
		}
		if err == io.EOF {
			break
		}
	}
	if err := drain(tr); err != nil {
		return nil, err
	}
	return &screening.List{Version: vh.version(screening.SourceFtM, time.Time{}, len(entities), cfg), Entities: entities}, nil
}

var errLineTooLong = errors.New("line longer than 64 MiB")

// readLine reads one line of any length up to maxFtMLine.
func readLine(br *bufio.Reader) ([]byte, error) {
	var out []byte
	for {
		frag, err := br.ReadSlice('\n')
		out = append(out, frag...)
		if len(out) > maxFtMLine {
			return nil, errLineTooLong
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		return out, err
	}
}

// props returns the string values of a property (non-strings skipped).
func (fe *ftmEntity) props(name string) []string {
	var out []string
	for _, raw := range fe.Properties[name] {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

func ftmToEntity(fe *ftmEntity) (screening.Entity, bool, error) {
	typ, ok := ftmSchemas[fe.Schema]
	if !ok {
		return screening.Entity{}, false, nil
	}
	if fe.Target != nil && !*fe.Target {
		return screening.Entity{}, false, nil
	}
	id := strings.TrimSpace(fe.ID)
	if id == "" {
		return screening.Entity{}, false, errors.New("entity without id")
	}
	e := screening.Entity{ID: "ftm-" + id, Source: screening.SourceFtM, Type: typ}
	for _, n := range fe.props("name") {
		e.Names = addName(e.Names, screening.Name{Full: n, Kind: screening.NamePrimary})
	}
	if len(e.Names) == 0 && strings.TrimSpace(fe.Caption) != "" {
		e.Names = addName(e.Names, screening.Name{Full: fe.Caption, Kind: screening.NamePrimary})
	}
	for _, p := range []string{"alias", "previousName"} {
		for _, n := range fe.props(p) {
			e.Names = addName(e.Names, screening.Name{Full: n, Kind: screening.NameAlias, Quality: p})
		}
	}
	for _, n := range fe.props("weakAlias") {
		e.Names = addName(e.Names, screening.Name{Full: n, Kind: screening.NameWeak, Quality: "weakAlias"})
	}
	if len(e.Names) == 0 {
		return screening.Entity{}, false, fmt.Errorf("entity %q has no name", id)
	}
	dateProps := []string{"birthDate"}
	if typ != screening.EntityPerson {
		dateProps = []string{"incorporationDate", "buildDate"}
	}
	for _, p := range dateProps {
		for _, v := range fe.props(p) {
			if d, err := screening.ParseDate(v); err == nil {
				e.DOBs = addDate(e.DOBs, d)
			}
		}
	}
	for _, cp := range []struct {
		prop string
		role screening.CountryRole
	}{
		{"nationality", screening.RoleNationality}, {"citizenship", screening.RoleCitizenship},
		{"birthCountry", screening.RoleBirth}, {"country", screening.RoleAddress},
		{"jurisdiction", screening.RoleJurisdiction}, {"mainCountry", screening.RoleAddress},
		{"flag", screening.RoleJurisdiction},
	} {
		for _, v := range fe.props(cp.prop) {
			if c, ok := country(v, cp.role); ok {
				e.Countries = addCountry(e.Countries, c)
			}
		}
	}
	for _, ip := range ftmIDProps {
		for _, v := range fe.props(ip.prop) {
			e.Identifiers = addIdentifier(e.Identifiers, screening.Identifier{Type: ip.typ, Number: v})
		}
	}
	for _, v := range fe.props("position") {
		e.Positions = addString(e.Positions, v)
	}
	for _, v := range fe.props("topics") {
		e.Topics = addString(e.Topics, v)
	}
	for _, v := range fe.props("gender") {
		if g := gender(v); g != "" {
			e.Gender = g
		}
	}
	for _, v := range fe.props("programId") {
		e.Programs = addString(e.Programs, v)
	}
	if len(e.Programs) == 0 {
		for _, d := range fe.Datasets {
			e.Programs = addString(e.Programs, d)
		}
	}
	e.Remarks = strings.Join(fe.props("notes"), " ")
	return e, true, nil
}
