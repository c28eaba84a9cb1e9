// Package mrz parses and validates the machine-readable zone (MRZ) of ICAO
// Doc 9303 travel documents: TD1 (3×30, identity cards), TD2 (2×36), TD3
// (2×44, passports), and the machine-readable visas MRV-A (2×44) and MRV-B
// (2×36).
//
// Parse is strict about shape (line count, line lengths, character set
// A-Z 0-9 <) and returns ErrNotMRZ when the text is not an MRZ at all. For
// anything MRZ-shaped it returns an *MRZ that records every check digit it
// verified (Checks) and every defect it found (Problems), each with a reason
// code from services/reasons/codes.yaml, so a caller can report exactly what
// is wrong instead of a bare "invalid".
//
// Nothing in this package logs; Problem details never repeat field values, so
// they are safe to log and to return to clients.
package mrz
