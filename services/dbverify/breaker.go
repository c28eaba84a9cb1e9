package dbverify

import (
	"sync"
	"time"
)

type callOutcome int

const (
	outcomeSuccess callOutcome = iota
	outcomeFailure
	// outcomeIgnore: the call ended for a reason unrelated to the registry
	// (the caller cancelled); it only releases a half-open trial.
	outcomeIgnore
)

// breaker is a consecutive-failure circuit breaker: closed → open after
// threshold failed calls → half-open once cooldown has passed, where one
// trial call is let through → closed on its success, open for another
// cooldown on its failure. Concurrent callers during the trial are refused.
type breaker struct {
	mu        sync.Mutex
	threshold int
	cooldown  time.Duration
	now       func() time.Time
	failures  int
	openUntil time.Time
	trial     bool
}

// allow reports whether a call may go ahead, and whether it is the
// half-open trial; an allowed call must report through done.
func (b *breaker) allow() (ok, trial bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.failures < b.threshold {
		return true, false
	}
	if b.trial || b.now().Before(b.openUntil) {
		return false, false
	}
	b.trial = true
	return true, true
}

// done records the outcome of an allowed call.
func (b *breaker) done(trial bool, o callOutcome) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if trial {
		b.trial = false
	}
	switch o {
	case outcomeSuccess:
		b.failures = 0
	case outcomeFailure:
		b.failures++
		if b.failures >= b.threshold {
			b.openUntil = b.now().Add(b.cooldown)
		}
	}
}

func (b *breaker) state() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.failures < b.threshold:
		return "closed"
	case b.trial || b.now().Before(b.openUntil):
		return "open"
	default:
		return "half-open"
	}
}
