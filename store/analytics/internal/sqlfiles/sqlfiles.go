// Package sqlfiles reads the versioned migration files the analytics
// stores embed: migrations/NNNN_name.sql, statements ending with a line
// that ends in ";", "--" comment lines.
package sqlfiles

import (
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Migration is one versioned schema change.
type Migration struct {
	Version    int
	Name       string
	Statements []string
}

var fileRE = regexp.MustCompile(`^(\d{4})_([a-z0-9_]+)\.sql$`)

// Read returns the migrations in dir of fsys in version order. Versions
// must be 1, 2, 3, ... without gaps, and every file must hold a statement.
func Read(fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	var out []Migration
	for _, e := range entries {
		m := fileRE.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, fmt.Errorf("migration file %q is not NNNN_name.sql", e.Name())
		}
		v, _ := strconv.Atoi(m[1])
		text, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		stmts := Split(string(text))
		if len(stmts) == 0 {
			return nil, fmt.Errorf("migration %s has no statements", e.Name())
		}
		out = append(out, Migration{Version: v, Name: m[2], Statements: stmts})
	}
	slices.SortFunc(out, func(a, b Migration) int { return a.Version - b.Version })
	for i, m := range out {
		if m.Version != i+1 {
			return nil, fmt.Errorf("migration versions must be 1, 2, 3, ...: found %04d_%s at position %d", m.Version, m.Name, i+1)
		}
	}
	return out, nil
}

// Split splits a migration file into statements: lines that are empty or
// start with "--" are dropped, and a statement ends with a line ending in
// ";" (the ";" is dropped: ClickHouse's native protocol runs one statement
// per query).
func Split(text string) []string {
	var out, cur []string
	flush := func() {
		if s := strings.TrimSpace(strings.Join(cur, "\n")); s != "" {
			out = append(out, s)
		}
		cur = nil
	}
	for _, line := range strings.Split(text, "\n") {
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "--") {
			continue
		}
		line = strings.TrimRight(line, " \t\r")
		if strings.HasSuffix(line, ";") {
			cur = append(cur, strings.TrimSuffix(line, ";"))
			flush()
			continue
		}
		cur = append(cur, line)
	}
	flush()
	return out
}
