package screening

import "errors"

var (
	// ErrInvalidQuery is returned for a query that cannot be screened: no
	// name, an impossible date of birth, an unknown entity type.
	ErrInvalidQuery = errors.New("screening: invalid query")
	// ErrInvalidList is returned by NewIndex for lists it cannot index
	// (an entity without id, the same id twice).
	ErrInvalidList = errors.New("screening: invalid list")
	// ErrInvalidOption is returned for an option or scoring parameter out
	// of range.
	ErrInvalidOption = errors.New("screening: invalid option")
	// ErrNoIndex is returned by a Screener that holds no index yet.
	ErrNoIndex = errors.New("screening: no list loaded")
)
