package decision

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"

	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
)

// checkKinds is the fixed order of check kinds: CEL variable names, reason
// code order and `checks` list order all follow it.
var checkKinds = [...]struct {
	kind ekycv1.CheckKind
	name string
}{
	{ekycv1.CheckKind_CHECK_KIND_DOCUMENT, "document"},
	{ekycv1.CheckKind_CHECK_KIND_FACE, "face"},
	{ekycv1.CheckKind_CHECK_KIND_SCREENING, "screening"},
	{ekycv1.CheckKind_CHECK_KIND_DATABASE, "database"},
}

const (
	numKinds    = len(checkKinds)
	numStatuses = int(ekycv1.CheckStatus_CHECK_STATUS_ERROR) + 1

	varApplicant = "applicant"
	varChecks    = "checks"

	// Keys every performed check's map carries; signals may not use them as
	// their first name segment.
	keyStatus  = "status"
	keyScore   = "score"
	keyReasons = "reasons"
)

func kindIndexByName(name string) (int, bool) {
	for i, k := range checkKinds {
		if k.name == name {
			return i, true
		}
	}
	return 0, false
}

func kindIndex(kind ekycv1.CheckKind) (int, bool) {
	for i, k := range checkKinds {
		if k.kind == kind {
			return i, true
		}
	}
	return 0, false
}

func kindNames() []string {
	out := make([]string, numKinds)
	for i, k := range checkKinds {
		out[i] = k.name
	}
	return out
}

func statusName(s ekycv1.CheckStatus) string {
	switch s {
	case ekycv1.CheckStatus_CHECK_STATUS_PASS:
		return "PASS"
	case ekycv1.CheckStatus_CHECK_STATUS_FAIL:
		return "FAIL"
	case ekycv1.CheckStatus_CHECK_STATUS_CONSIDER:
		return "CONSIDER"
	case ekycv1.CheckStatus_CHECK_STATUS_ERROR:
		return "ERROR"
	}
	return ""
}

// sharedEnv is the one CEL environment every policy compiles against. A
// cel.Env is safe for concurrent use.
var sharedEnv = sync.OnceValues(func() (*cel.Env, error) {
	opts := []cel.EnvOption{
		cel.Variable(varApplicant, cel.MapType(cel.StringType, cel.StringType)),
		cel.Variable(varChecks, cel.ListType(cel.StringType)),
		// `document.?data.?dob_match.orValue(true)` for signals that are
		// only sometimes emitted.
		cel.OptionalTypes(),
		// Signals are doubles; let `screening.hits > 0` type-check.
		cel.CrossTypeNumericComparisons(true),
		cel.ParserExpressionSizeLimit(MaxExpressionSize),
	}
	for _, k := range checkKinds {
		opts = append(opts, cel.Variable(k.name, cel.MapType(cel.StringType, cel.DynType)))
	}
	return cel.NewEnv(opts...)
})

// compileRule compiles a `when` expression once; the program is evaluated
// (never recompiled) by every Decide call.
func compileRule(env *cel.Env, expr string, costLimit uint64) (cel.Program, error) {
	ast, iss := env.Compile(expr)
	if iss.Err() != nil {
		return nil, fmt.Errorf("bad CEL: %s", strings.ReplaceAll(iss.Err().Error(), "\n", " "))
	}
	switch ast.OutputType().Kind() {
	case types.BoolKind, types.DynKind, types.AnyKind:
	default:
		return nil, fmt.Errorf("must evaluate to bool, has type %s", ast.OutputType())
	}
	prg, err := env.Program(ast,
		cel.CostLimit(costLimit),
		cel.EvalOptions(cel.OptOptimize),
	)
	if err != nil {
		return nil, fmt.Errorf("CEL program: %w", err)
	}
	return prg, nil
}

// checkView is one performed check, indexed for scoring and CEL.
type checkView struct {
	res     *ekycv1.CheckResult
	signals map[string]*ekycv1.Signal // by name relative to the check ("mrz.valid")
	vars    map[string]any            // the CEL variable's value
}

// newCheckView validates a check result's signals and builds its CEL map:
// status, score, reasons and the signals nested by their dotted names. A
// signal name may carry its own check's prefix ("document.mrz.valid" on the
// document check is "mrz.valid"). Duplicate signal names: the last one wins.
func newCheckView(kind int, res *ekycv1.CheckResult) (*checkView, error) {
	kindName := checkKinds[kind].name
	v := &checkView{res: res, signals: make(map[string]*ekycv1.Signal, len(res.GetSignals()))}
	for i, s := range res.GetSignals() {
		if s == nil {
			return nil, fmt.Errorf("%s check: signal %d is nil", kindName, i)
		}
		name := strings.TrimPrefix(s.GetName(), kindName+".")
		if name == "" {
			return nil, fmt.Errorf("%s check: signal %d has no name", kindName, i)
		}
		for _, seg := range strings.Split(name, ".") {
			if seg == "" {
				return nil, fmt.Errorf("%s check: signal %q has an empty name segment", kindName, s.GetName())
			}
		}
		v.signals[name] = s
	}

	reasons := res.GetReasonCodes()
	if reasons == nil {
		reasons = []string{}
	}
	v.vars = map[string]any{
		keyStatus:  statusName(res.GetStatus()),
		keyScore:   res.GetScore(),
		keyReasons: reasons,
	}
	// Sorted so that a conflict is reported the same way every time.
	names := make([]string, 0, len(v.signals))
	for n := range v.signals {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := insertSignal(v.vars, n, signalValue(v.signals[n]), kindName); err != nil {
			return nil, err
		}
	}
	return v, nil
}

func insertSignal(root map[string]any, name string, val any, kindName string) error {
	segs := strings.Split(name, ".")
	switch segs[0] {
	case keyStatus, keyScore, keyReasons:
		return fmt.Errorf("%s check: signal %q uses the reserved name %q", kindName, name, segs[0])
	}
	m := root
	for i, seg := range segs {
		last := i == len(segs)-1
		cur, exists := m[seg]
		if last {
			if exists {
				return fmt.Errorf("%s check: signal %q conflicts with signals below it", kindName, name)
			}
			m[seg] = val
			return nil
		}
		if !exists {
			next := map[string]any{}
			m[seg] = next
			m = next
			continue
		}
		next, ok := cur.(map[string]any)
		if !ok {
			return fmt.Errorf("%s check: signal %q conflicts with signal %q", kindName, name, strings.Join(segs[:i+1], "."))
		}
		m = next
	}
	return nil
}

// signalValue is the CEL value of a signal: bool, double or string. A signal
// with no value set is null.
func signalValue(s *ekycv1.Signal) any {
	switch v := s.GetValue().(type) {
	case *ekycv1.Signal_Flag:
		return v.Flag
	case *ekycv1.Signal_Number:
		return v.Number
	case *ekycv1.Signal_Text:
		return v.Text
	}
	return types.NullValue
}

// applicantVars exposes the non-name applicant fields to CEL.
func applicantVars(req *ekycv1.VerificationRequest) map[string]string {
	a := req.GetApplicant()
	return map[string]string{
		"nationality":   a.GetNationality(),
		"date_of_birth": a.GetDateOfBirth(),
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
