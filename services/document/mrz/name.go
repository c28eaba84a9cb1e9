package mrz

import "strings"

// parsedName is the result of reading an MRZ name field.
type parsedName struct {
	surname, given string
	// surnameTokens and givenTokens are the name components (split at '<').
	surnameTokens, givenTokens []string
	truncated                  bool
	problem                    string // detail for DOC_MRZ_INVALID_NAME, "" when fine
}

// parseName reads a Doc 9303 name field: the primary identifier (surname),
// then "<<", then the secondary identifiers (given names); a single '<'
// separates components within each; trailing '<' are padding.
//
// A field whose last character is not '<' is full and may have been truncated
// (Doc 9303 Part 3 §4.6.4.2); it is reported as truncated.
func parseName(field string) parsedName {
	var p parsedName
	p.truncated = len(field) > 0 && field[len(field)-1] != '<'
	body := strings.TrimRight(field, "<")
	if body == "" {
		p.problem = "name field is empty"
		return p
	}
	for i := 0; i < len(body); i++ {
		if c := body[i]; c >= '0' && c <= '9' {
			p.problem = "name field contains digits"
			break
		}
	}
	primary, secondary, hasSecondary := strings.Cut(body, "<<")
	p.surnameTokens = splitComponents(primary)
	if hasSecondary {
		// Anything after the first "<<" belongs to the secondary identifier;
		// a further "<<" inside it is malformed but the names are still read.
		if strings.Contains(secondary, "<<") && p.problem == "" {
			p.problem = "secondary identifier contains a double filler"
		}
		p.givenTokens = splitComponents(secondary)
	}
	// body has no trailing '<', so a present secondary identifier always has
	// at least one component; only the primary identifier can be missing.
	if (primary == "" || primary[0] == '<') && p.problem == "" {
		p.problem = "name field has no primary identifier"
	}
	p.surname = strings.Join(p.surnameTokens, " ")
	p.given = strings.Join(p.givenTokens, " ")
	return p
}

func splitComponents(s string) []string {
	parts := strings.Split(s, "<")
	out := parts[:0]
	for _, part := range parts {
		if part != "" {
			out = append(out, part)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
