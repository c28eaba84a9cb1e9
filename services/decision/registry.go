package decision

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// ErrPolicyNotFound is matched (errors.Is) by every error Registry.Get
// returns; errors.As with *PolicyNotFoundError gives the reference asked for.
var ErrPolicyNotFound = errors.New("policy not found")

// PolicyNotFoundError reports a policy reference the registry cannot resolve.
type PolicyNotFoundError struct {
	// Ref is the reference as asked for: "id" or "id@version".
	Ref string
}

func (e *PolicyNotFoundError) Error() string {
	return fmt.Sprintf("decision: policy %q not found", e.Ref)
}

// Is makes errors.Is(err, ErrPolicyNotFound) hold.
func (e *PolicyNotFoundError) Is(target error) bool { return target == ErrPolicyNotFound }

// Registry holds policies by id and version. The latest version of an id is
// addressed by the bare id; every version stays addressable as "id@version".
// A Registry is immutable once built and safe for concurrent use.
type Registry struct {
	byID map[string]*policyVersions
}

type policyVersions struct {
	latest   *Policy
	versions map[int32]*Policy
}

// NewRegistry builds a registry from parsed policies. Two policies with the
// same id and version are an error.
func NewRegistry(policies ...*Policy) (*Registry, error) {
	r := &Registry{byID: map[string]*policyVersions{}}
	for _, p := range policies {
		if p == nil {
			return nil, errors.New("decision: nil policy")
		}
		if err := r.add(p); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func (r *Registry) add(p *Policy) error {
	pv := r.byID[p.id]
	if pv == nil {
		pv = &policyVersions{versions: map[int32]*Policy{}}
		r.byID[p.id] = pv
	}
	if _, dup := pv.versions[p.version]; dup {
		return fmt.Errorf("decision: policy %s defined twice", p.Ref())
	}
	pv.versions[p.version] = p
	if pv.latest == nil || p.version > pv.latest.version {
		pv.latest = p
	}
	return nil
}

// LoadDir parses every *.yaml file directly in dir (not recursively), in
// file-name order, and builds a registry. Every invalid file is reported;
// a directory without policies is an error.
func LoadDir(dir string, opts ...Option) (*Registry, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, fmt.Errorf("decision: listing %s: %w", dir, err)
	}
	sort.Strings(paths)
	r := &Registry{byID: map[string]*policyVersions{}}
	from := map[string]string{} // ref -> file, for duplicate reports
	var errs []error
	for _, path := range paths {
		if fi, err := os.Stat(path); err != nil {
			errs = append(errs, fmt.Errorf("decision: %s: %w", path, err))
			continue
		} else if !fi.Mode().IsRegular() {
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil {
			errs = append(errs, fmt.Errorf("decision: %s: %w", path, err))
			continue
		}
		p, err := ParsePolicy(data, opts...)
		if err != nil {
			errs = append(errs, fmt.Errorf("decision: %s: %w", path, err))
			continue
		}
		if prev, dup := from[p.Ref()]; dup {
			errs = append(errs, fmt.Errorf("decision: %s: policy %s already defined in %s", path, p.Ref(), prev))
			continue
		}
		from[p.Ref()] = path
		if err := r.add(p); err != nil {
			errs = append(errs, fmt.Errorf("decision: %s: %w", path, err))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if len(r.byID) == 0 {
		return nil, fmt.Errorf("decision: no *.yaml policies in %s", dir)
	}
	return r, nil
}

// Get resolves "id" to the latest version of that policy, or "id@version"
// to that exact version. An unknown or malformed reference returns a
// *PolicyNotFoundError (errors.Is(err, ErrPolicyNotFound)).
func (r *Registry) Get(ref string) (*Policy, error) {
	id, ver, hasVer := strings.Cut(ref, "@")
	pv := r.byID[id]
	if pv == nil {
		return nil, &PolicyNotFoundError{Ref: ref}
	}
	if !hasVer {
		return pv.latest, nil
	}
	n, err := strconv.ParseInt(ver, 10, 32)
	if err != nil {
		return nil, &PolicyNotFoundError{Ref: ref}
	}
	p := pv.versions[int32(n)]
	if p == nil {
		return nil, &PolicyNotFoundError{Ref: ref}
	}
	return p, nil
}

// IDs lists the policy ids held, sorted.
func (r *Registry) IDs() []string { return sortedKeys(r.byID) }

// Versions lists the versions held for id, ascending (nil if none).
func (r *Registry) Versions(id string) []int32 {
	pv := r.byID[id]
	if pv == nil {
		return nil
	}
	out := make([]int32, 0, len(pv.versions))
	for v := range pv.versions {
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}
