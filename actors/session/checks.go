package session

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
	"github.com/openekyc/ekyc/services/reasons"
)

// SyncChecker adapts a pure, synchronous check function to a Checker whose
// deadline is enforced: the function runs in its own goroutine and the call
// returns at the deadline even if the function does not.
func SyncChecker(fn func(req *ekycv1.VerificationRequest) *ekycv1.CheckResult) Checker {
	return func(ctx context.Context, req *ekycv1.VerificationRequest) (*ekycv1.CheckResult, error) {
		done := make(chan *ekycv1.CheckResult, 1)
		go func() { done <- fn(req) }()
		select {
		case r := <-done:
			return r, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// runChecks fans the requested checks out concurrently and returns one result
// per distinct requested kind, in kind order. A check that times out or fails
// yields an explicit ERROR result with a reason code, never a silent pass.
func (g *grain) runChecks(ctx context.Context, req *ekycv1.VerificationRequest) []*ekycv1.CheckResult {
	kinds := slices.Clone(req.GetRequestedChecks())
	slices.Sort(kinds)
	kinds = slices.Compact(kinds)
	out := make([]*ekycv1.CheckResult, len(kinds))
	var wg sync.WaitGroup
	for i, k := range kinds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = g.runCheck(ctx, k, req)
		}()
	}
	wg.Wait()
	if m := g.deps.Metrics; m != nil {
		for _, r := range out {
			m.Checks.WithLabelValues(r.GetKind().String(), r.GetStatus().String()).Inc()
			m.CheckLatency.WithLabelValues(r.GetKind().String()).Observe(r.GetLatency().AsDuration().Seconds())
		}
	}
	return out
}

func (g *grain) runCheck(ctx context.Context, kind ekycv1.CheckKind, req *ekycv1.VerificationRequest) *ekycv1.CheckResult {
	start := time.Now()
	checker, ok := g.deps.Checkers[kind]
	if !ok {
		return &ekycv1.CheckResult{
			Kind: kind, Status: ekycv1.CheckStatus_CHECK_STATUS_ERROR,
			ReasonCodes: []string{reasons.CheckUnavailable},
			Error:       fmt.Sprintf("%s is not available on this node", kind),
			Latency:     durationpb.New(time.Since(start)),
		}
	}
	timeout := g.deps.CheckTimeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	attempts := g.deps.CheckRetries + 1
	var lastErr error
	var n int
	for n = 1; n <= attempts; n++ {
		cctx, cancel := context.WithTimeout(ctx, timeout)
		res, err := callChecker(cctx, checker, req)
		cancel()
		if err == nil && res == nil {
			err = errors.New("checker returned no result")
		}
		if err == nil {
			res.Kind = kind
			res.Attempts = int32(n)
			res.Latency = durationpb.New(time.Since(start))
			return res
		}
		lastErr = err
		if ctx.Err() != nil || n == attempts {
			break
		}
		select { // short linear backoff between attempts
		case <-time.After(time.Duration(n) * 20 * time.Millisecond):
		case <-ctx.Done():
		}
	}
	code := reasons.CheckError
	if errors.Is(lastErr, context.DeadlineExceeded) {
		code = reasons.CheckTimeout
	}
	if n > attempts {
		n = attempts
	}
	return &ekycv1.CheckResult{
		Kind: kind, Status: ekycv1.CheckStatus_CHECK_STATUS_ERROR,
		ReasonCodes: []string{code},
		Error:       lastErr.Error(),
		Attempts:    int32(n),
		Latency:     durationpb.New(time.Since(start)),
	}
}

// callChecker runs a checker, turning a panic into an error.
func callChecker(ctx context.Context, c Checker, req *ekycv1.VerificationRequest) (res *ekycv1.CheckResult, err error) {
	defer func() {
		if r := recover(); r != nil {
			res, err = nil, fmt.Errorf("check panicked: %v", r)
		}
	}()
	return c(ctx, req)
}
