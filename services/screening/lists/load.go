package lists

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/openekyc/ekyc/services/screening"
)

// Parser is the signature of the single-file parsers.
type Parser func(ctx context.Context, r io.Reader, opts ...Option) (*screening.List, error)

// ParserFor returns the parser of a single-file source (UN, EU, UK, FtM);
// OFAC has several files: use ParseOFAC or LoadOFACDir. The UK parser is
// ParseUKAuto: it reads the FCDO UK Sanctions List CSV or the OFSI
// ConList.csv, whichever the file is.
func ParserFor(src screening.Source) (Parser, error) {
	switch src {
	case screening.SourceUN:
		return ParseUN, nil
	case screening.SourceEU:
		return ParseEU, nil
	case screening.SourceUK:
		return ParseUKAuto, nil
	case screening.SourceFtM:
		return ParseFtM, nil
	}
	return nil, fmt.Errorf("lists: no single-file parser for source %q", src)
}

// LoadFile parses the list file at path with the parser of src.
func LoadFile(ctx context.Context, src screening.Source, path string, opts ...Option) (*screening.List, error) {
	p, err := ParserFor(src)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return p(ctx, f, opts...)
}
