package streams

import "fmt"

// Headers added to a record produced to the dead-letter topic.
const (
	HeaderDLQReason          = "ekyc-dlq-reason"
	HeaderDLQDetail          = "ekyc-dlq-detail"
	HeaderDLQSourceTopic     = "ekyc-source-topic"
	HeaderDLQSourcePartition = "ekyc-source-partition"
	HeaderDLQSourceOffset    = "ekyc-source-offset"
	HeaderDLQAt              = "ekyc-dlq-at"
)

// RejectError marks a record as permanently bad. A Handler returns it (or an
// error wrapping it) to have the record produced to the dead-letter topic and
// then committed; the record is never retried.
//
// Reason is used as a metric label: keep it to a small fixed set of values.
// Neither Reason nor Detail may contain record contents (they are copied into
// the dead-letter record headers and logged).
type RejectError struct {
	Reason string
	Detail string
}

// Reject returns a *RejectError.
func Reject(reason, detail string) error {
	return &RejectError{Reason: reason, Detail: detail}
}

func (e *RejectError) Error() string {
	if e.Detail == "" {
		return fmt.Sprintf("record rejected: %s", e.Reason)
	}
	return fmt.Sprintf("record rejected: %s: %s", e.Reason, e.Detail)
}
