package screening

import (
	"fmt"
)

// Query is what is screened: a name and, optionally, secondary data.
type Query struct {
	// Name in any supported script; for persons either "First Last" or
	// "LAST, First".
	Name string `json:"name"`
	// DOB is the date of birth (zero when unknown); see ParseDate.
	DOB DateSpec `json:"dob,omitzero"`
	// Countries are nationalities or countries of residence or
	// registration, as ISO codes or names.
	Countries []string `json:"countries,omitempty"`
	// DocNumbers are passport, national id or registration numbers.
	DocNumbers []string `json:"doc_numbers,omitempty"`
	// Type is the kind of party screened ("" for unknown).
	Type EntityType `json:"type,omitempty"`
}

// Validate checks the query: a name is required, the date must be
// possible and the type known or empty.
func (q Query) Validate() error {
	if len(q.Name) == 0 {
		return fmt.Errorf("%w: empty name", ErrInvalidQuery)
	}
	if len(q.Name) > maxQueryName {
		return fmt.Errorf("%w: name longer than %d bytes", ErrInvalidQuery, maxQueryName)
	}
	if err := q.DOB.Validate(); err != nil {
		return err
	}
	switch q.Type {
	case "", EntityUnknown, EntityPerson, EntityOrganisation, EntityVessel, EntityAircraft:
	default:
		return fmt.Errorf("%w: entity type %q", ErrInvalidQuery, q.Type)
	}
	return nil
}

const maxQueryName = 1024

// Components break a hit's score down. Score = clamp(Name + DOB + Country
// + Document + Type, 0, 1).
type Components struct {
	// Name is the name score (0..1) of the best-matching name of the
	// entity, weak-alias factor included.
	Name float64 `json:"name"`
	// DOB is the date-of-birth adjustment (exact, same year, in range:
	// positive; conflicting: negative; 0 when either side has no date).
	DOB float64 `json:"dob"`
	// Country is the country adjustment (shared: positive; both known and
	// disjoint: negative).
	Country float64 `json:"country"`
	// Document is the adjustment for a document number equal to a listed
	// one.
	Document float64 `json:"document"`
	// Type is the penalty for a person matched with a non-person or the
	// reverse.
	Type float64 `json:"type"`
}

// Hit is one listed entity that resembles the query.
type Hit struct {
	EntityID string     `json:"entity_id"`
	Source   Source     `json:"source"`
	Ref      string     `json:"ref,omitempty"`
	Type     EntityType `json:"type"`
	// Name is the entity's primary name.
	Name string `json:"name"`
	// MatchedName is the listed name (primary or alias) that matched best,
	// as the list writes it, and MatchedKind its kind.
	MatchedName string   `json:"matched_name"`
	MatchedKind NameKind `json:"matched_kind"`
	// Score is 0..1; RecommendedThreshold and above is a potential match.
	Score      float64    `json:"score"`
	Components Components `json:"components"`
	// ListVersion is the version ("source@id") of the list the entity
	// came from.
	ListVersion string `json:"list_version"`
	// Entity is the full listed entity, shared by the index: read only.
	Entity *Entity `json:"-"`
}

// Result is the outcome of one screening.
type Result struct {
	// Hits are sorted by descending score (then entity id), at most Limit,
	// none below MinScore.
	Hits []Hit `json:"hits"`
	// Candidates is the number of names scored in full.
	Candidates int `json:"candidates"`
	// Tokens are the normalised query tokens that can carry a match; empty
	// when the name has none (a company suffix alone): then there are no
	// hits.
	Tokens []string `json:"tokens"`
	// Versions are the versions of the lists screened against.
	Versions []string `json:"versions"`
}

type screenConfig struct {
	limit    int
	minScore float64
	sources  map[Source]bool
}

// ScreenOption tunes one Screen call.
type ScreenOption func(*screenConfig) error

// DefaultLimit and DefaultMinScore are the defaults of WithLimit and
// WithMinScore.
const (
	DefaultLimit    = 10
	DefaultMinScore = 0.5
)

// WithLimit caps the number of hits (1..1000).
func WithLimit(n int) ScreenOption {
	return func(c *screenConfig) error {
		if n < 1 || n > 1000 {
			return fmt.Errorf("%w: limit %d", ErrInvalidOption, n)
		}
		c.limit = n
		return nil
	}
}

// WithMinScore drops hits scoring below s (0..1).
func WithMinScore(s float64) ScreenOption {
	return func(c *screenConfig) error {
		if s < 0 || s > 1 || s != s {
			return fmt.Errorf("%w: min score %v", ErrInvalidOption, s)
		}
		c.minScore = s
		return nil
	}
}

// WithSources restricts the hits to entities of the given sources.
func WithSources(srcs ...Source) ScreenOption {
	return func(c *screenConfig) error {
		c.sources = map[Source]bool{}
		for _, s := range srcs {
			c.sources[s] = true
		}
		return nil
	}
}
