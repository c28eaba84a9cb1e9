package decision

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644))
	}
	return dir
}

func policyVersion(id string, version int, description string) string {
	return "id: " + id + "\nversion: " + strconv.Itoa(version) + "\ndescription: " + description + "\n" + score
}

func TestLoadDir(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"kyc-v1.yaml": policyVersion("kyc", 1, "first"),
		"kyc-v3.yaml": policyVersion("kyc", 3, "third"),
		"kyc-v2.yaml": policyVersion("kyc", 2, "second"),
		"aml.yaml":    policyVersion("aml", 1, "aml"),
		"notes.txt":   "not a policy",
		"broken.yml":  "not: [a, policy", // only *.yaml is read
	})
	require.NoError(t, os.Mkdir(filepath.Join(dir, "sub.yaml"), 0o755)) // directories are skipped

	r, err := LoadDir(dir)
	require.NoError(t, err)
	require.Equal(t, []string{"aml", "kyc"}, r.IDs())
	require.Equal(t, []int32{1, 2, 3}, r.Versions("kyc"))
	require.Nil(t, r.Versions("nope"))

	p, err := r.Get("kyc")
	require.NoError(t, err)
	require.Equal(t, int32(3), p.Version(), "latest wins")
	require.Equal(t, "third", p.Description())

	for v, desc := range map[string]string{"1": "first", "2": "second", "3": "third"} {
		p, err := r.Get("kyc@" + v)
		require.NoError(t, err)
		require.Equal(t, desc, p.Description())
	}

	for _, ref := range []string{"nope", "kyc@4", "kyc@", "kyc@x", "kyc@1@2", "@1", "", "aml@99999999999"} {
		_, err := r.Get(ref)
		require.ErrorIs(t, err, ErrPolicyNotFound, ref)
		var nf *PolicyNotFoundError
		require.ErrorAs(t, err, &nf)
		require.Equal(t, ref, nf.Ref)
	}
}

func TestLoadDirErrors(t *testing.T) {
	t.Run("invalid file is named", func(t *testing.T) {
		dir := writeFiles(t, map[string]string{
			"good.yaml": policyVersion("good", 1, "ok"),
			"bad.yaml":  "id: bad\nversion: 1\n",
		})
		_, err := LoadDir(dir)
		require.ErrorIs(t, err, ErrInvalidPolicy)
		require.ErrorContains(t, err, "bad.yaml")
		require.ErrorContains(t, err, "score: required")
	})
	t.Run("every invalid file is reported", func(t *testing.T) {
		dir := writeFiles(t, map[string]string{"a.yaml": "id: a\n", "b.yaml": "id: b\n"})
		_, err := LoadDir(dir)
		require.ErrorContains(t, err, "a.yaml")
		require.ErrorContains(t, err, "b.yaml")
	})
	t.Run("duplicate id@version", func(t *testing.T) {
		dir := writeFiles(t, map[string]string{
			"a.yaml": policyVersion("kyc", 2, "a"),
			"b.yaml": policyVersion("kyc", 2, "b"),
		})
		_, err := LoadDir(dir)
		require.ErrorContains(t, err, "policy kyc@2 already defined in "+filepath.Join(dir, "a.yaml"))
	})
	t.Run("options reach the parser", func(t *testing.T) {
		dir := writeFiles(t, map[string]string{"a.yaml": withRule("name: r, when: 'true', outcome: REVIEW, reason: DOC_MISSING")})
		_, err := LoadDir(dir)
		require.NoError(t, err)
		_, err = LoadDir(dir, WithKnownCode(func(string) bool { return false }))
		require.ErrorContains(t, err, `unknown reason code "DOC_MISSING"`)
	})
	t.Run("empty directory", func(t *testing.T) {
		_, err := LoadDir(t.TempDir())
		require.ErrorContains(t, err, "no *.yaml policies")
	})
	t.Run("missing directory", func(t *testing.T) {
		_, err := LoadDir(filepath.Join(t.TempDir(), "nope"))
		require.Error(t, err)
	})
}

func TestNewRegistry(t *testing.T) {
	v1 := mustParse(t, policyVersion("kyc", 1, "one"))
	v2 := mustParse(t, policyVersion("kyc", 2, "two"))

	// Latest wins whatever the order policies are added in.
	r, err := NewRegistry(v2, v1)
	require.NoError(t, err)
	p, err := r.Get("kyc")
	require.NoError(t, err)
	require.Same(t, v2, p)
	p, err = r.Get("kyc@1")
	require.NoError(t, err)
	require.Same(t, v1, p)

	_, err = NewRegistry(v1, mustParse(t, policyVersion("kyc", 1, "again")))
	require.ErrorContains(t, err, "kyc@1 defined twice")
	_, err = NewRegistry(nil)
	require.Error(t, err)

	r, err = NewRegistry()
	require.NoError(t, err)
	_, err = r.Get("kyc")
	require.True(t, errors.Is(err, ErrPolicyNotFound))
}
