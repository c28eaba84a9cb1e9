package screening

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Source identifies the publisher of a list.
type Source string

// Sources with a parser in services/screening/lists.
const (
	SourceOFAC Source = "ofac" // US Treasury OFAC SDN list
	SourceUN   Source = "un"   // UN Security Council consolidated list
	SourceEU   Source = "eu"   // EU financial sanctions file (FSF)
	SourceUK   Source = "uk"   // UK Sanctions List (FCDO) or the former OFSI consolidated list
	SourceFtM  Source = "ftm"  // OpenSanctions / FollowTheMoney entities
)

// EntityType is what a list entry designates.
type EntityType string

// Entity types. The zero value "" means unknown; EntityUnknown is its
// explicit spelling.
const (
	EntityUnknown      EntityType = "unknown"
	EntityPerson       EntityType = "person"
	EntityOrganisation EntityType = "organisation"
	EntityVessel       EntityType = "vessel"
	EntityAircraft     EntityType = "aircraft"
)

// Known reports whether t is one of the concrete types (not unknown).
func (t EntityType) Known() bool {
	switch t {
	case EntityPerson, EntityOrganisation, EntityVessel, EntityAircraft:
		return true
	}
	return false
}

// NameKind says how a list presents a name.
type NameKind string

// Name kinds.
const (
	// NamePrimary is the main name of the entry (and its spellings in
	// other scripts).
	NamePrimary NameKind = "primary"
	// NameAlias is an alias the publisher considers reliable (OFAC a.k.a.,
	// f.k.a., n.k.a.; UN "Good" quality; EU strong; UK good quality).
	NameAlias NameKind = "alias"
	// NameWeak is a low-quality alias (OFAC weak a.k.a. in the remarks; UN
	// "Low" quality; EU not strong; UK low quality; FtM weakAlias). Weak
	// aliases are screened, at a reduced score.
	NameWeak NameKind = "weak"
)

// Name is one name of an entity as published.
type Name struct {
	// Full is the name as the list writes it (OFAC individuals: "LAST,
	// First Middle").
	Full string `json:"full"`
	// Kind is primary, alias or weak.
	Kind NameKind `json:"kind"`
	// Quality is the publisher's own qualifier where it has one ("Good",
	// "Low", "a.k.a.", "f.k.a.", "strong", "original script"), for display.
	Quality string `json:"quality,omitempty"`
	// Script is the language or script the publisher states, if any.
	Script string `json:"script,omitempty"`
}

// DateSpec is a date of birth (or of registration) as precise as the list
// gives it: an exact date, a year and month, a year, or a range of years.
type DateSpec struct {
	Year  int `json:"year"`            // first (or only) year
	Month int `json:"month,omitempty"` // 1-12, 0 if unknown
	Day   int `json:"day,omitempty"`   // 1-31, 0 if unknown
	// ToYear is the last year of a range ("1960 to 1962", UN BETWEEN);
	// 0 when the spec is not a range.
	ToYear int `json:"to_year,omitempty"`
	// Circa marks an approximate date ("circa 1960", UN APPROXIMATELY, EU
	// circa): matching tolerates CircaYears either side.
	Circa bool `json:"circa,omitempty"`
}

// CircaYears is the tolerance, in years, of an approximate date.
const CircaYears = 2

// IsZero reports whether no date is set.
func (d DateSpec) IsZero() bool { return d.Year == 0 }

// Exact reports whether the spec is a full date.
func (d DateSpec) Exact() bool { return d.Year != 0 && d.Month != 0 && d.Day != 0 && d.ToYear == 0 }

// Range returns the first and last year the spec allows, widened by
// CircaYears for an approximate date.
func (d DateSpec) Range() (from, to int) {
	from, to = d.Year, d.Year
	if d.ToYear > d.Year {
		to = d.ToYear
	}
	if d.Circa {
		from -= CircaYears
		to += CircaYears
	}
	return from, to
}

// String formats the spec: "1960-01-12", "1960-01", "1960", "1960..1962",
// with a "~" prefix when approximate.
func (d DateSpec) String() string {
	if d.IsZero() {
		return ""
	}
	var s string
	switch {
	case d.ToYear > d.Year:
		s = fmt.Sprintf("%04d..%04d", d.Year, d.ToYear)
	case d.Month != 0 && d.Day != 0:
		s = fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day)
	case d.Month != 0:
		s = fmt.Sprintf("%04d-%02d", d.Year, d.Month)
	default:
		s = fmt.Sprintf("%04d", d.Year)
	}
	if d.Circa {
		s = "~" + s
	}
	return s
}

// ParseDate parses an ISO-8601 style date as found in queries and in the
// EU, UN and FtM lists: "1960-01-12", "1960-01", "1960", or a range
// "1960..1962" / "1960/1962". A leading "~" or "circa " marks it
// approximate. It returns an error wrapping ErrInvalidQuery on anything
// else, including impossible dates.
func ParseDate(s string) (DateSpec, error) {
	s = strings.TrimSpace(s)
	var d DateSpec
	if strings.HasPrefix(s, "~") {
		d.Circa = true
		s = strings.TrimSpace(s[1:])
	} else if l := strings.ToLower(s); strings.HasPrefix(l, "circa ") {
		d.Circa = true
		s = strings.TrimSpace(s[6:])
	}
	bad := func() (DateSpec, error) {
		return DateSpec{}, fmt.Errorf("%w: date %q", ErrInvalidQuery, s)
	}
	for _, sep := range []string{"..", "/"} {
		if i := strings.Index(s, sep); i > 0 {
			a, err1 := strconv.Atoi(s[:i])
			b, err2 := strconv.Atoi(s[i+len(sep):])
			if err1 != nil || err2 != nil || !plausibleYear(a) || !plausibleYear(b) || b < a {
				return bad()
			}
			d.Year, d.ToYear = a, b
			if a == b {
				d.ToYear = 0
			}
			return d, nil
		}
	}
	if i := strings.IndexByte(s, 'T'); i == 10 { // a timestamp: keep the date
		s = s[:i]
	}
	parts := strings.Split(s, "-")
	if len(parts) > 3 {
		return bad()
	}
	nums := make([]int, len(parts))
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return bad()
		}
		nums[i] = n
	}
	d.Year = nums[0]
	if !plausibleYear(d.Year) {
		return bad()
	}
	if len(nums) > 1 {
		d.Month = nums[1]
	}
	if len(nums) > 2 {
		d.Day = nums[2]
	}
	if err := d.Validate(); err != nil {
		return bad()
	}
	return d, nil
}

func plausibleYear(y int) bool { return y >= 1800 && y <= 2200 }

// Validate checks that the spec is a possible date.
func (d DateSpec) Validate() error {
	switch {
	case d.IsZero():
		return nil
	case !plausibleYear(d.Year):
		return fmt.Errorf("%w: year %d", ErrInvalidQuery, d.Year)
	case d.ToYear != 0 && (d.ToYear < d.Year || !plausibleYear(d.ToYear)):
		return fmt.Errorf("%w: year range %d..%d", ErrInvalidQuery, d.Year, d.ToYear)
	case d.Month < 0 || d.Month > 12 || (d.Day != 0 && d.Month == 0):
		return fmt.Errorf("%w: month %d", ErrInvalidQuery, d.Month)
	case d.Day < 0 || d.Day > 31:
		return fmt.Errorf("%w: day %d", ErrInvalidQuery, d.Day)
	case d.Day != 0:
		t := time.Date(d.Year, time.Month(d.Month), d.Day, 0, 0, 0, 0, time.UTC)
		if t.Day() != d.Day {
			return fmt.Errorf("%w: no day %d in %04d-%02d", ErrInvalidQuery, d.Day, d.Year, d.Month)
		}
	}
	return nil
}

// Country is a country associated with an entity.
type Country struct {
	// Code is the ISO 3166-1 alpha-2 code where it could be derived.
	Code string `json:"code,omitempty"`
	// Raw is the value as the list writes it.
	Raw string `json:"raw,omitempty"`
	// Role says what the country is to the entity.
	Role CountryRole `json:"role"`
}

// CountryRole says what a country is to an entity.
type CountryRole string

// Country roles.
const (
	RoleNationality  CountryRole = "nationality"
	RoleCitizenship  CountryRole = "citizenship"
	RoleBirth        CountryRole = "birth"
	RoleAddress      CountryRole = "address"
	RoleJurisdiction CountryRole = "jurisdiction" // registration, flag, listed country
)

// Identifier is a document or registration number of an entity.
type Identifier struct {
	// Type as the list names it ("Passport", "National ID No.", "IMO").
	Type string `json:"type"`
	// Number as the list writes it.
	Number string `json:"number"`
	// Country is the issuing country, ISO alpha-2 where derivable, else
	// the raw value.
	Country string `json:"country,omitempty"`
}

// Entity is one designated person, organisation, vessel or aircraft.
type Entity struct {
	// ID is unique across sources: the source, a dash and the publisher's
	// stable id ("ofac-2680", "un-6908402", "eu-13", "uk-12431",
	// "ftm-NK-abc").
	ID string `json:"id"`
	// Source is the publisher.
	Source Source `json:"source"`
	// Ref is the publisher's human-facing reference when it differs from
	// the id (UN "QDi.001", EU "EU.27.28", UK "RUS0251").
	Ref string `json:"ref,omitempty"`
	// Programs are the sanctions programmes or regimes (OFAC "SDGT", UN
	// "Al-Qaida", EU "IRQ", UK regime); for FtM the datasets.
	Programs []string   `json:"programs,omitempty"`
	Type     EntityType `json:"type"`
	// Names holds the primary name first, then aliases.
	Names []Name `json:"names"`
	// DOBs are dates of birth (persons) or of incorporation where a list
	// gives them.
	DOBs []DateSpec `json:"dobs,omitempty"`
	// Countries are nationality, citizenship, birth, address and
	// jurisdiction countries.
	Countries   []Country    `json:"countries,omitempty"`
	Identifiers []Identifier `json:"identifiers,omitempty"`
	// Gender is "male", "female" or "" when not stated.
	Gender string `json:"gender,omitempty"`
	// Positions are roles and titles (OFAC title, UN designation, EU
	// function, UK position, FtM position).
	Positions []string `json:"positions,omitempty"`
	// Topics are FtM topics ("sanction", "role.pep", "role.rca", "crime").
	Topics []string `json:"topics,omitempty"`
	// Remarks is the publisher's free text.
	Remarks string `json:"remarks,omitempty"`
}

// IsPEP reports whether the entity is a politically exposed person or a
// close associate (FtM topics role.pep / role.rca).
func (e *Entity) IsPEP() bool {
	for _, t := range e.Topics {
		if t == "role.pep" || t == "role.rca" {
			return true
		}
	}
	return false
}

// PrimaryName returns the first primary name (or the first name).
func (e *Entity) PrimaryName() string {
	for _, n := range e.Names {
		if n.Kind == NamePrimary {
			return n.Full
		}
	}
	if len(e.Names) > 0 {
		return e.Names[0].Full
	}
	return ""
}

// Version identifies one load of one list.
type Version struct {
	Source Source `json:"source"`
	// ID is the first 16 hex digits of the SHA-256 of the list's bytes
	// (all its files, in a fixed order): the same content gives the same
	// ID.
	ID string `json:"id"`
	// Published is the publisher's generation date when the file states it
	// (UN dateGenerated, EU generationDate, UK Last Updated); zero if not.
	Published time.Time `json:"published,omitzero"`
	// LoadedAt is when the list was parsed.
	LoadedAt time.Time `json:"loaded_at"`
	// Entities is the number of entities parsed.
	Entities int `json:"entities"`
}

// String is "source@id".
func (v Version) String() string { return string(v.Source) + "@" + v.ID }

// List is a parsed list: its entities and its version.
type List struct {
	Version  Version
	Entities []Entity
}
