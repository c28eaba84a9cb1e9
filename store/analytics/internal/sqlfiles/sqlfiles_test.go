package sqlfiles

import (
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"
)

func TestSplit(t *testing.T) {
	got := Split("-- comment;\nCREATE TABLE a (\n  x String -- not a comment line\n);\n\n  -- another\nSELECT 1;\r\nSELECT 2")
	require.Equal(t, []string{"CREATE TABLE a (\n  x String -- not a comment line\n)", "SELECT 1", "SELECT 2"}, got)
	require.Empty(t, Split("-- only a comment\n\n"))
}

func TestRead(t *testing.T) {
	fsys := fstest.MapFS{
		"m/0002_views.sql":  {Data: []byte("CREATE VIEW v AS SELECT 1;\n")},
		"m/0001_tables.sql": {Data: []byte("-- tables\nCREATE TABLE a (x INT);\nCREATE TABLE b (y INT);\n")},
	}
	ms, err := Read(fsys, "m")
	require.NoError(t, err)
	require.Equal(t, []Migration{
		{Version: 1, Name: "tables", Statements: []string{"CREATE TABLE a (x INT)", "CREATE TABLE b (y INT)"}},
		{Version: 2, Name: "views", Statements: []string{"CREATE VIEW v AS SELECT 1"}},
	}, ms)

	for name, f := range map[string]fstest.MapFS{
		"bad name": {"m/1_x.sql": {Data: []byte("SELECT 1;")}},
		"gap":      {"m/0001_a.sql": {Data: []byte("SELECT 1;")}, "m/0003_c.sql": {Data: []byte("SELECT 1;")}},
		"twice":    {"m/0001_a.sql": {Data: []byte("SELECT 1;")}, "m/0001_b.sql": {Data: []byte("SELECT 1;")}},
		"empty":    {"m/0001_a.sql": {Data: []byte("-- nothing\n")}},
	} {
		_, err := Read(f, "m")
		require.Error(t, err, name)
	}
	_, err = Read(fstest.MapFS{}, "missing")
	require.Error(t, err)
}
