package mrz

import (
	"fmt"
	"time"
)

// Date is a YYMMDD date from the MRZ with its century resolved.
//
// Year, Month or Day are 0 when the MRZ gives that part as fillers ("<<"),
// which Doc 9303 Part 3 §4.6 allows for an unknown (part of the) date of
// birth; Partial is then true. Valid is true when the known parts form a real
// calendar date (for a full date) or a plausible month/year (partial).
type Date struct {
	Raw     string `json:"raw"`
	Year    int    `json:"year,omitempty"`
	Month   int    `json:"month,omitempty"`
	Day     int    `json:"day,omitempty"`
	Partial bool   `json:"partial,omitempty"`
	Valid   bool   `json:"valid"`
	// ISO is YYYY-MM-DD, YYYY-MM or YYYY (partial dates); empty when invalid
	// or when the year is unknown.
	ISO string `json:"iso,omitempty"`
}

// Known reports whether the full date (year, month and day) is known and valid.
func (d Date) Known() bool { return d.Valid && !d.Partial }

// Time returns the date at midnight UTC; ok is false unless Known().
func (d Date) Time() (t time.Time, ok bool) {
	if !d.Known() {
		return time.Time{}, false
	}
	return time.Date(d.Year, time.Month(d.Month), d.Day, 0, 0, 0, 0, time.UTC), true
}

// BirthCentury resolves the two-digit year of a date of birth: the holder was
// born in the most recent year ending in yy that does not put the birth date
// after ref. month and day may be 0 (unknown); then only the year is compared.
//
// Examples with ref 2026-06-15: 74 → 1974, 25 → 2025, 26 (month 06, day 15)
// → 2026, 26 (month 06, day 16) → 1926, 99 → 1999.
func BirthCentury(yy, month, day int, ref time.Time) int {
	ref = ref.UTC()
	year := ref.Year() - ref.Year()%100 + yy
	switch {
	case year > ref.Year():
		year -= 100
	case year == ref.Year() && month != 0:
		rm, rd := int(ref.Month()), ref.Day()
		if month > rm || (month == rm && day != 0 && day > rd) {
			year -= 100
		}
	}
	return year
}

// ExpiryCentury resolves the two-digit year of an expiry date to the year
// ending in yy that lies in the window [ref.Year-50, ref.Year+49]. Documents
// are valid for at most a few decades, so an expiry date is never more than
// 50 years away from the decision date.
//
// Examples with ref 2026: 12 → 2012, 96 → 1996, 75 → 2075, 76 → 1976.
func ExpiryCentury(yy int, ref time.Time) int {
	ry := ref.UTC().Year()
	year := ry - ry%100 + yy
	if year > ry+49 {
		year -= 100
	} else if year < ry-50 {
		year += 100
	}
	return year
}

type dateKind int

const (
	birthDate dateKind = iota
	expiryDate
)

// twoDigits parses "NN" (ok) or "<<" (unknown).
func twoDigits(s string) (v int, unknown, ok bool) {
	if s == "<<" {
		return 0, true, true
	}
	if len(s) != 2 || s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9' {
		return 0, false, false
	}
	return int(s[0]-'0')*10 + int(s[1]-'0'), false, true
}

// parseDate interprets a six-character YYMMDD field. It returns the Date and,
// when the field is not a valid date, a detail that does not repeat the value.
func parseDate(raw string, kind dateKind, ref time.Time) (Date, string) {
	d := Date{Raw: raw}
	if len(raw) != 6 {
		return d, "date field is not six characters"
	}
	yy, yUnknown, yOK := twoDigits(raw[0:2])
	mm, mUnknown, mOK := twoDigits(raw[2:4])
	dd, dUnknown, dOK := twoDigits(raw[4:6])
	if !yOK || !mOK || !dOK {
		return d, "date contains characters other than digits and whole-pair fillers"
	}
	partial := yUnknown || mUnknown || dUnknown
	if partial {
		if kind != birthDate {
			return d, "only the date of birth may be partly unknown"
		}
		// Known parts must be "coarser" than unknown ones: YYMM<<, YY<<<< or
		// <<<<<<. A known day with an unknown month is not a date.
		if (yUnknown && (!mUnknown || !dUnknown)) || (mUnknown && !dUnknown) {
			return d, "unknown date parts must be the day, the day and month, or the whole date"
		}
	}
	if !mUnknown && (mm < 1 || mm > 12) {
		return d, "month out of range"
	}
	if yUnknown {
		d.Valid, d.Partial = true, true
		return d, ""
	}
	var year int
	if kind == birthDate {
		year = BirthCentury(yy, mm, dd, ref)
	} else {
		year = ExpiryCentury(yy, ref)
	}
	if !dUnknown {
		if dd < 1 || dd > daysIn(year, mm) {
			return d, "day out of range for the month"
		}
	}
	d.Year, d.Month, d.Day, d.Valid, d.Partial = year, mm, dd, true, partial
	switch {
	case mUnknown:
		d.ISO = fmt.Sprintf("%04d", year)
	case dUnknown:
		d.ISO = fmt.Sprintf("%04d-%02d", year, mm)
	default:
		d.ISO = fmt.Sprintf("%04d-%02d-%02d", year, mm, dd)
	}
	return d, ""
}

func daysIn(year, month int) int {
	return time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// dayNumber counts days since the Unix epoch for a calendar date.
func dayNumber(year int, month time.Month, day int) int64 {
	return time.Date(year, month, day, 0, 0, 0, 0, time.UTC).Unix() / 86400
}

// civilDay is the calendar date of t in t's own location, as a day number.
func civilDay(t time.Time) int64 {
	y, m, d := t.Date()
	return dayNumber(y, m, d)
}

// AgeAt returns the holder's age in whole years on asOf's calendar date. For a
// partly unknown date of birth it assumes the latest possible birthday (last
// day of the month, or 31 December), so the age is never overstated — the
// safe side for minimum-age policies. ok is false when the birth year is
// unknown or the date is invalid.
func (d Date) AgeAt(asOf time.Time) (years int, ok bool) {
	if !d.Valid || d.Year == 0 {
		return 0, false
	}
	month, day := d.Month, d.Day
	if month == 0 {
		month = 12
	}
	if day == 0 {
		day = daysIn(d.Year, month)
	}
	y, m, dd := asOf.Date()
	years = y - d.Year
	if int(m) < month || (int(m) == month && dd < day) {
		years--
	}
	return years, true
}

// DaysUntil returns the number of calendar days from asOf's date to the date
// (0 on the day itself, negative once it has passed). ok is false unless
// Known().
func (d Date) DaysUntil(asOf time.Time) (days int, ok bool) {
	if !d.Known() {
		return 0, false
	}
	return int(dayNumber(d.Year, time.Month(d.Month), d.Day) - civilDay(asOf)), true
}
