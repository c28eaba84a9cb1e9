package lists

import (
	"strconv"
	"strings"

	"github.com/openekyc/ekyc/services/screening"
	"github.com/openekyc/ekyc/services/screening/countries"
)

// ofacIDTypes are the identifier labels of the SDN remarks, longest first
// where one is a prefix of another. A remark "Passport 1084010 (Egypt)"
// gives Identifier{Passport, 1084010, EG}.
var ofacIDTypes = []string{
	"Aircraft Construction Number (also called L/N or S/N or F/N)",
	"Aircraft Manufacturer's Serial Number (MSN)",
	"Aircraft Mode S Transponder Code",
	"Aircraft Tail Number",
	"United Social Credit Code Certificate (USCCC)",
	"Unified Social Credit Code (USCC)",
	"Cartilla de Servicio Militar Nacional",
	"Dubai Chamber of Commerce Membership No.",
	"Business Registration Document #",
	"Business Registration Number",
	"Certificate of Incorporation Number",
	"Commercial Registry Number",
	"Chamber of Commerce Number",
	"Chinese Commercial Code",
	"Vessel Registration Identification",
	"Public Registration Number",
	"Registered Charity No.",
	"Birth Certificate Number",
	"Turkish Identification Number",
	"Tazkira National ID Card",
	"National Foreign ID Number",
	"Government Gazette Number",
	"Electoral Registry No.",
	"Travel Document Number",
	"Citizen's Card Number",
	"Identification Number",
	"Italian Fiscal Code",
	"Legal Entity Number",
	"Diplomatic Passport",
	"Matricula Mercantil No",
	"Folio Mercantil No.",
	"Registration Number",
	"Residency Number",
	"Personal ID Card",
	"Credencial electoral",
	"Driver's License No.",
	"Trade License No.",
	"UK Company Number",
	"Enterprise Number",
	"Business Number",
	"National ID No.",
	"Kenyan ID No.",
	"Company Number",
	"Registration ID",
	"D-U-N-S Number",
	"V.A.T. Number",
	"Tax ID No.",
	"Numero de Identidad",
	"VisaNumberID",
	"File Number",
	"LE Number",
	"Cedula No.",
	"C.U.R.P. #",
	"R.F.C. #",
	"C.U.R.P.",
	"C.U.I.T.",
	"C.U.I.P.",
	"C.R. No.",
	"SWIFT/BIC",
	"BIK (RU)",
	"Passport",
	"License",
	"R.F.C.",
	"D.N.I.",
	"C.U.I.",
	"I.F.E.",
	"US FEIN",
	"NIT #",
	"RUC #",
	"RIF #",
	"MMSI",
	"SSN",
	"RFC",
	"RTN",
	"IMO",
}

// parseOFACRemarks extracts structured data from the SDN remarks: dates
// and places of birth, nationality, citizenship, gender, weak aliases and
// identifiers. Unrecognised remarks stay in Entity.Remarks only.
func parseOFACRemarks(e *screening.Entity, remarks string) {
	for _, seg := range splitRemarks(remarks) {
		seg = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(seg), "."))
		if seg == "" {
			continue
		}
		body := seg
		if strings.HasPrefix(strings.ToLower(body), "alt. ") {
			body = strings.TrimSpace(body[5:])
		}
		low := strings.ToLower(body)
		switch {
		case strings.HasPrefix(body, "DOB "):
			if d, ok := parseOFACDate(body[4:]); ok {
				e.DOBs = addDate(e.DOBs, d)
			}
		case strings.HasPrefix(body, "POB "):
			place := body[4:]
			if i := strings.LastIndexByte(place, ','); i >= 0 {
				place = place[i+1:]
			}
			if c, ok := country(place, screening.RoleBirth); ok && c.Code != "" {
				e.Countries = addCountry(e.Countries, c)
			}
		case strings.HasPrefix(low, "nationality of registration "):
			if c, ok := country(body[len("nationality of registration "):], screening.RoleJurisdiction); ok {
				e.Countries = addCountry(e.Countries, c)
			}
		case strings.HasPrefix(low, "nationality "):
			if c, ok := country(body[len("nationality "):], screening.RoleNationality); ok {
				e.Countries = addCountry(e.Countries, c)
			}
		case strings.HasPrefix(low, "citizen "):
			if c, ok := country(body[len("citizen "):], screening.RoleCitizenship); ok {
				e.Countries = addCountry(e.Countries, c)
			}
		case strings.HasPrefix(body, "Gender "):
			if g := gender(body[len("Gender "):]); g != "" {
				e.Gender = g
			}
		case strings.HasPrefix(low, "a.k.a. "), strings.HasPrefix(low, "f.k.a. "), strings.HasPrefix(low, "n.k.a. "):
			name := strings.Trim(strings.TrimSpace(body[7:]), "'\"")
			if name != "" {
				e.Names = addName(e.Names, screening.Name{Full: name, Kind: screening.NameWeak, Quality: "weak " + low[:6]})
			}
		case strings.HasPrefix(body, "Digital Currency Address - "):
			rest := body[len("Digital Currency Address - "):]
			if i := strings.IndexByte(rest, ' '); i > 0 {
				e.Identifiers = addIdentifier(e.Identifiers, screening.Identifier{
					Type: "Digital Currency Address - " + rest[:i], Number: strings.TrimSpace(rest[i+1:])})
			}
		default:
			if id, ok := parseOFACIdentifier(body); ok {
				e.Identifiers = addIdentifier(e.Identifiers, id)
			}
		}
	}
}

// splitRemarks splits remarks at semicolons that are not inside
// parentheses or quotes (unbalanced quotes or parentheses are ignored).
func splitRemarks(s string) []string {
	if out, ok := splitBalanced(s); ok {
		return out
	}
	return strings.Split(s, ";")
}

func splitBalanced(s string) ([]string, bool) {
	var out []string
	depth := 0
	quote := false
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			if depth > 0 {
				depth--
			}
		case '\'':
			// an apostrophe inside a word (O'Brien) does not open a quote
			if quote || i == 0 || s[i-1] == ' ' {
				quote = !quote
			}
		case ';':
			if depth == 0 && !quote {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:]), depth == 0 && !quote
}

// parseOFACIdentifier reads "<label> <number> [(<country>)] [free text]".
func parseOFACIdentifier(s string) (screening.Identifier, bool) {
	for _, t := range ofacIDTypes {
		if !strings.HasPrefix(s, t) || len(s) <= len(t) || s[len(t)] != ' ' {
			continue
		}
		rest := strings.TrimSpace(s[len(t):])
		number, ctry := splitNumber(rest)
		if number == "" {
			return screening.Identifier{}, false
		}
		id := screening.Identifier{Type: t, Number: number}
		if ctry != "" {
			id.Country = countryCode(ctry)
		}
		if t == "Vessel Registration Identification" {
			id.Type = "IMO"
			id.Number = strings.TrimSpace(strings.TrimPrefix(number, "IMO"))
		}
		return id, true
	}
	return screening.Identifier{}, false
}

// splitNumber takes the number off the front of rest: words until an
// opening parenthesis or a word with lower-case letters and no digit
// ("expires", "Cali"); the country is the content of the first parenthesis
// that names one.
func splitNumber(rest string) (number, ctry string) {
	var num []string
	for _, w := range strings.Fields(rest) {
		if strings.HasPrefix(w, "(") || strings.ToUpper(w) != w && !strings.ContainsAny(w, "0123456789") {
			break
		}
		num = append(num, w)
	}
	for r := rest; ; {
		i := strings.IndexByte(r, '(')
		if i < 0 {
			break
		}
		j := strings.IndexByte(r[i:], ')')
		if j < 0 {
			break
		}
		if _, ok := countries.Code(r[i+1 : i+j]); ok {
			ctry = r[i+1 : i+j]
			break
		}
		r = r[i+j:]
	}
	return strings.TrimRight(strings.Join(num, " "), ",:"), ctry
}

var months = map[string]int{
	"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
	"jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}

// parseOFACDate reads the SDN date forms: "12 Jan 1960", "Jan 1960",
// "1960", "circa 1960", "1960 to 1962", "01 Jan 1960 to 31 Dec 1962".
func parseOFACDate(s string) (screening.DateSpec, bool) {
	s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "."))
	circa := false
	if l := strings.ToLower(s); strings.HasPrefix(l, "circa ") {
		circa = true
		s = strings.TrimSpace(s[6:])
	}
	if i := strings.Index(s, " to "); i > 0 {
		a, ok1 := parseDMY(s[:i])
		b, ok2 := parseDMY(s[i+4:])
		if !ok1 || !ok2 || b.Year < a.Year {
			return screening.DateSpec{}, false
		}
		d := screening.DateSpec{Year: a.Year, ToYear: b.Year, Circa: circa}
		if a.Year == b.Year {
			d.ToYear = 0
			if a.Month == 1 && a.Day <= 1 && b.Month == 12 && (b.Day == 31 || b.Day == 0) || a.Month == 0 && b.Month == 0 {
				// the whole year
			} else if a.Month == b.Month && a.Day == b.Day {
				d = a
				d.Circa = circa
			}
		}
		return d, d.Validate() == nil
	}
	d, ok := parseDMY(s)
	d.Circa = circa
	return d, ok && d.Validate() == nil
}

// parseDMY reads "12 Jan 1960", "Jan 1960" or "1960".
func parseDMY(s string) (screening.DateSpec, bool) {
	f := strings.Fields(s)
	var d screening.DateSpec
	switch len(f) {
	case 1:
	case 2:
		m, ok := months[strings.ToLower(f[0])[:min(3, len(f[0]))]]
		if !ok {
			return d, false
		}
		d.Month = m
	case 3:
		day, err := strconv.Atoi(f[0])
		m, ok := months[strings.ToLower(f[1])[:min(3, len(f[1]))]]
		if err != nil || !ok {
			return d, false
		}
		d.Day, d.Month = day, m
	default:
		return d, false
	}
	y, err := strconv.Atoi(f[len(f)-1])
	if err != nil {
		return d, false
	}
	d.Year = y
	return d, d.Validate() == nil
}
