// Package lists parses published sanctions and PEP lists into
// screening.Entity values.
//
// Formats:
//
//   - OFAC SDN, the legacy CSV files (ParseOFAC): sdn.csv (12 columns, no
//     header, nulls "-0-"), alt.csv (aliases), add.csv (addresses) and
//     sdn_comments.csv (remarks overflow, appended to the sdn.csv remarks).
//     The remarks are parsed for dates of birth (full date, month, year,
//     "circa", "1960 to 1962" ranges), places of birth, nationality and
//     citizenship, gender, weak aliases (a.k.a. 'X') and identifiers
//     (passport, national id, cedula, tax and registration numbers, IMO,
//     MMSI, digital currency addresses, ...).
//   - UN Security Council consolidated list XML (ParseUN).
//   - EU financial sanctions file (FSF) XML, export/sanctionEntity
//     (ParseEU).
//   - UK Sanctions List of the FCDO, UK-Sanctions-List.csv
//     (ParseUKSanctionsList; the schema and its source are described in
//     uksl.go), the only UK list since 28 January 2026.
//   - UK OFSI consolidated list, ConList.csv in the 2022 format (ParseUK),
//     closed on 28 January 2026. ParseUKAuto, the parser of source "uk",
//     reads either, told apart by the first line.
//   - OpenSanctions FollowTheMoney entities as JSON lines (ParseFtM).
//
// Every parser reads from an io.Reader as a stream, checks ctx every few
// hundred records, never panics on malformed input and reports structural
// problems as a *ParseError wrapping ErrMalformed, with the line or element.
// The list Version id is a prefix of the SHA-256 of all bytes read.
package lists
