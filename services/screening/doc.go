// Package screening matches names against sanctions and PEP lists.
//
// The pieces:
//
//   - Entity, Name, DateSpec, Identifier, Country, Version and List are the
//     list model; services/screening/lists parses the OFAC SDN CSV files,
//     the UN consolidated XML, the EU financial sanctions XML, the UK OFSI
//     consolidated CSV and OpenSanctions FollowTheMoney JSON lines into it.
//   - services/screening/names normalises, transliterates and compares
//     name tokens; services/screening/countries maps country names to ISO
//     codes.
//   - NewIndex builds an immutable Index over one or more lists: a token
//     vocabulary weighted by rarity (IDF over the entities), an inverted
//     index, a phonetic-key index and a trigram index for blocking.
//   - Index.Screen scores a Query (name, and optionally date of birth,
//     countries, document numbers, entity type) and returns Hits with a
//     0..1 score and its components.
//   - Screener holds the current Index behind an atomic pointer so that a
//     new set of list versions replaces the old one without locking.
//
// RecommendedThreshold (0.85) is the score from which a hit is a potential
// match. README.md documents the formats, the normalisation and the scoring
// formula.
//
// The package is pure: no I/O besides the io.Readers handed to the
// parsers, no logging, no clock except the load time stamped on a Version.
package screening
