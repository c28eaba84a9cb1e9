package review

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestQueueStats(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	q := NewQueueStats(now)
	require.Zero(t, q.Total())
	require.Len(t, q.Waiting, len(WaitingStates), "every waiting state present")
	require.Contains(t, q.Waiting[StateOpen], PriorityOther)

	require.True(t, q.Add(StateOpen, PrioritySanctions, now.Add(3*time.Minute)))       // within SLA
	require.True(t, q.Add(StateOpen, PrioritySanctions, now))                          // due now: overdue (Case.Overdue)
	require.True(t, q.Add(StateAssigned, PrioritySanctions, now.Add(-10*time.Minute))) // 10 min late
	require.True(t, q.Add(StateEscalated, PriorityDocument, now.Add(-time.Hour)))
	require.True(t, q.Add(StatePendingConfirmation, PriorityDocument, now.Add(time.Hour)))
	require.False(t, q.Add(StateDecided, PriorityDocument, now.Add(-time.Hour)), "decided cases are not in the queue")
	require.False(t, q.Add(StateOpen, Priority(0), now), "no priority")
	require.False(t, q.Add(State("lost"), PriorityOther, now))

	require.Equal(t, 5, q.Total())
	require.Equal(t, 2, q.Waiting[StateOpen][PrioritySanctions])
	require.Equal(t, 1, q.Waiting[StateAssigned][PrioritySanctions])
	require.Equal(t, 2, q.Overdue[PrioritySanctions])
	require.Equal(t, 1, q.Overdue[PriorityDocument])
	require.Zero(t, q.Overdue[PriorityLiveness])
	require.Equal(t, 3, q.TotalOverdue())
	require.Equal(t, 10*time.Minute, q.MostOverdue[PrioritySanctions])
	require.Equal(t, time.Hour, q.MostOverdue[PriorityDocument])
	_, ok := q.MostOverdue[PriorityLiveness]
	require.False(t, ok, "nothing overdue: no value")

	// Consistent with Case.Overdue on the same instants.
	for _, due := range []time.Time{now.Add(-time.Second), now, now.Add(time.Second)} {
		c := Case{State: StateOpen, Due: due}
		s := NewQueueStats(now)
		s.Add(StateOpen, PriorityOther, due)
		require.Equal(t, c.Overdue(now), s.Overdue[PriorityOther] == 1, "due %v", due)
	}
}
