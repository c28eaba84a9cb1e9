package screening

import "fmt"

// RecommendedThreshold is the score at or above which a hit should be
// treated as a potential match and reviewed. It was calibrated on the tests
// of this package against the full OFAC SDN and UN consolidated lists: the
// listed names with one typo, swapped or missing name parts, or written in
// Cyrillic or Arabic score at or above it; "GEORGE BUSH" against George
// HABBASH, common given names alone and company suffixes alone score below
// it. See README.md.
const RecommendedThreshold = 0.85

// Scoring holds the parameters of the score. DefaultScoring documents the
// defaults; README.md explains the formula.
type Scoring struct {
	// MiddleFactor scales the penalty of an unmatched token that lies
	// between matched tokens of its name (a middle name or patronymic
	// given on one side only).
	MiddleFactor float64
	// ExplainedFactor scales the penalty of a token left unmatched when
	// every word of the other name is matched (at least two): lists often
	// carry extra name parts (a tribal name, a second surname) that people
	// omit, and the reverse.
	ExplainedFactor float64
	// DiscountRarity limits MiddleFactor and ExplainedFactor to unmatched
	// tokens that are not rarer than the matched ones: the discount fades
	// linearly from a token weighing as much as the mean matched token to
	// one weighing DiscountRarity times more, which gets the full penalty
	// (PASNA in "PASNA INTERNATIONAL TRADING" is the name, not an extra).
	DiscountRarity float64
	// InitialWeight is the weight of a pair where one side is an initial
	// ("J" for JORGE); the rest of the full token's weight counts as
	// unmatched, scaled by InitialRestFactor.
	InitialWeight     float64
	InitialRestFactor float64
	// LegalWeight is the weight of a legal-form token (LTD, OOO, HOLDING):
	// matched or not, it only nudges the score.
	LegalWeight float64
	// TypoSlope maps a token similarity s ≥ names.Acceptance to the credit
	// of the pair: 1 − TypoSlope·(1 − s).
	TypoSlope float64
	// KnownWordSlope replaces TypoSlope when the query token is itself a
	// word of the lists (in at least KnownWordMinDF names) and the pair is
	// not a spelling variant (same transliteration fold or consonant
	// skeleton): MARINA is a name of its own, not a typo of MARWAN.
	KnownWordSlope float64
	KnownWordMinDF int
	// MinInformation is the informativeness, in units of the IDF of a token
	// that three entities of the index share, that the matched tokens must
	// reach for the name score not to be scaled down (linearly below it):
	// common tokens alone (MOHAMMED ALI) cannot give a high score.
	MinInformation float64
	// FullMatchInformation is the fraction of MinInformation required when
	// every word of the list name is matched (an exact "AL-QAIDA" stays a
	// hit; a lone common given name matching a one-word alias does not).
	FullMatchInformation float64
	// WeakAliasFactor scales the name score of a weak (low-quality) alias.
	WeakAliasFactor float64

	// Secondary evidence, added to the name score (negative values are
	// penalties). A component is 0 when either side lacks the datum.
	DOBExact      float64 // same full date
	DOBSameYear   float64 // same year, at least one side not a full date
	DOBInRange    float64 // years overlap a range or an approximate date
	DOBConflict   float64 // no overlap at all
	CountryMatch  float64 // a query country among the entity's countries
	CountryClash  float64 // both sides have countries, none shared
	DocumentMatch float64 // a query document number equals a listed one
	// TypeMismatch applies when the query is a person and the entity is
	// not, or the reverse; OtherTypeMismatch when both are non-persons of
	// different kinds (organisation vs vessel).
	TypeMismatch      float64
	OtherTypeMismatch float64
}

// DefaultScoring returns the calibrated defaults.
func DefaultScoring() Scoring {
	return Scoring{
		MiddleFactor:         0.4,
		ExplainedFactor:      0.4,
		DiscountRarity:       2,
		InitialWeight:        1.5,
		InitialRestFactor:    0.5,
		LegalWeight:          0.3,
		TypoSlope:            2,
		KnownWordSlope:       4,
		KnownWordMinDF:       2,
		MinInformation:       1,
		FullMatchInformation: 0.5,
		WeakAliasFactor:      0.9,
		DOBExact:             0.07,
		DOBSameYear:          0.03,
		DOBInRange:           0.02,
		DOBConflict:          -0.15,
		CountryMatch:         0.03,
		CountryClash:         -0.05,
		DocumentMatch:        0.2,
		TypeMismatch:         -0.25,
		OtherTypeMismatch:    -0.1,
	}
}

// Validate checks that the parameters are in range.
func (s Scoring) Validate() error {
	in := func(name string, v, lo, hi float64) error {
		if v < lo || v > hi || v != v {
			return fmt.Errorf("%w: scoring %s = %v, want %v..%v", ErrInvalidOption, name, v, lo, hi)
		}
		return nil
	}
	for _, c := range []struct {
		n         string
		v, lo, hi float64
	}{
		{"MiddleFactor", s.MiddleFactor, 0, 1}, {"ExplainedFactor", s.ExplainedFactor, 0, 1},
		{"DiscountRarity", s.DiscountRarity, 1, 100},
		{"InitialWeight", s.InitialWeight, 0, 20}, {"InitialRestFactor", s.InitialRestFactor, 0, 1},
		{"LegalWeight", s.LegalWeight, 0, 5}, {"TypoSlope", s.TypoSlope, 0, 5.5},
		{"KnownWordSlope", s.KnownWordSlope, 0, 10}, {"KnownWordMinDF", float64(s.KnownWordMinDF), 1, 1e9},
		{"MinInformation", s.MinInformation, 0, 10}, {"FullMatchInformation", s.FullMatchInformation, 0, 1},
		{"WeakAliasFactor", s.WeakAliasFactor, 0, 1},
		{"DOBExact", s.DOBExact, 0, 1}, {"DOBSameYear", s.DOBSameYear, 0, 1}, {"DOBInRange", s.DOBInRange, 0, 1},
		{"DOBConflict", s.DOBConflict, -1, 0}, {"CountryMatch", s.CountryMatch, 0, 1},
		{"CountryClash", s.CountryClash, -1, 0}, {"DocumentMatch", s.DocumentMatch, 0, 1},
		{"TypeMismatch", s.TypeMismatch, -1, 0}, {"OtherTypeMismatch", s.OtherTypeMismatch, -1, 0},
	} {
		if err := in(c.n, c.v, c.lo, c.hi); err != nil {
			return err
		}
	}
	return nil
}
