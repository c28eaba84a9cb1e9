package review

import "time"

// WaitingStates are the states of a case still waiting for a reviewer
// (every state but decided): the queue.
var WaitingStates = []State{StateOpen, StateAssigned, StatePendingConfirmation, StateEscalated}

// QueueStats summarises a tenant's queue at one instant: waiting cases by
// state and priority, how many are past their SLA, and how far past it the
// most overdue one is, per priority. Build it with NewQueueStats and Add.
type QueueStats struct {
	At time.Time
	// Waiting[state][priority] counts the waiting cases.
	Waiting map[State]map[Priority]int
	// Overdue counts the waiting cases whose SLA due time has passed.
	Overdue map[Priority]int
	// MostOverdue is how long ago the most overdue case's SLA ran out
	// (absent: none overdue).
	MostOverdue map[Priority]time.Duration
}

// NewQueueStats returns empty stats taken at now, with every waiting state
// and priority present at zero (so a gauge built from them drops back to 0
// when a queue empties).
func NewQueueStats(now time.Time) QueueStats {
	q := QueueStats{At: now, Waiting: map[State]map[Priority]int{}, Overdue: map[Priority]int{}, MostOverdue: map[Priority]time.Duration{}}
	for _, s := range WaitingStates {
		q.Waiting[s] = map[Priority]int{}
		for _, p := range Priorities {
			q.Waiting[s][p] = 0
		}
	}
	for _, p := range Priorities {
		q.Overdue[p] = 0
	}
	return q
}

// Add counts one case in state s, of priority p, due at due. Decided cases
// and unknown states or priorities are not part of the queue and are
// ignored (false).
func (q *QueueStats) Add(s State, p Priority, due time.Time) bool {
	byPrio, ok := q.Waiting[s]
	if !ok || !p.Valid() {
		return false
	}
	byPrio[p]++
	if !q.At.Before(due) { // the same rule as Case.Overdue
		q.Overdue[p]++
		if late := q.At.Sub(due); late > q.MostOverdue[p] || q.Overdue[p] == 1 {
			q.MostOverdue[p] = late
		}
	}
	return true
}

// Total is the number of waiting cases.
func (q QueueStats) Total() int {
	n := 0
	for _, byPrio := range q.Waiting {
		for _, c := range byPrio {
			n += c
		}
	}
	return n
}

// TotalOverdue is the number of waiting cases past their SLA.
func (q QueueStats) TotalOverdue() int {
	n := 0
	for _, c := range q.Overdue {
		n += c
	}
	return n
}
