// Package audit is the node's append-only, hash-chained audit log, on an
// embedded Pebble database (<data_dir>/audit in a node).
//
// Every entry carries the hash of the entry before it. The hash is SHA-256
// over a canonical, length-prefixed encoding of (sequence number, time,
// tenant, actor, action, subject, details sorted by key, previous hash), so
// changing any field of any entry changes its hash, and the next entry's
// PrevHash no longer matches. Next to the entries the log keeps a head
// record (the last sequence number and hash), written in the same synced
// batch as each entry; it catches entries removed from the tail, which
// leave the chain itself intact.
//
// Verify walks the whole log and returns a *TamperError naming the first
// entry that is modified, missing (a gap in the sequence), chained to the
// wrong predecessor, or disagrees with the head record.
//
// # Limits
//
// The chain proves internal consistency, not authenticity: anyone who can
// write the database can recompute every hash after the entry they changed
// and rewrite the head record, and Verify will then pass. That rewrite is
// only caught by comparing with a head hash kept somewhere the attacker
// cannot write (a ticket, a WORM bucket, another system's log). `ekyc audit
// verify` prints the head hash so operators can anchor it periodically, and
// Verify's Report and Log.Entry let a later run check that an anchored
// (seq, hash) is still in the chain. Deleting the whole database is also
// not detectable from inside it.
//
// # PII
//
// Entries hold identifiers (session ids, key ids, tenant ids, reviewer
// ids) and non-personal details, never names, dates of birth, document
// numbers or images: the log is kept longer than session data and cannot
// be edited when a subject is erased.
package audit

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"time"
	"unicode"
	"unicode/utf8"
)

// Actions recorded by the node and the CLI. Other actions may be used if
// they match ActionPattern.
const (
	ActionSessionCreated       = "session.created"
	ActionSessionDataAccessed  = "session.data_accessed"
	ActionSessionDecided       = "session.decided"
	ActionSessionErased        = "session.erased"
	ActionReview               = "review.action"
	ActionKeyCreated           = "key.created"
	ActionKeyRevoked           = "key.revoked"
	ActionPolicyChanged        = "policy.changed"
	ActionTenantCreated        = "tenant.created"
	ActionTenantUpdated        = "tenant.updated"
	ActionWebhookSecretRotated = "webhook.secret_rotated"
	ActionWebhookSecretRetired = "webhook.secret_retired"
)

// ActionPattern is the shape of an action: dotted lower-case words.
var ActionPattern = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$`)

// Limits on entry fields.
const (
	MaxFieldLen   = 256  // tenant, actor, action, subject, detail keys
	MaxDetailLen  = 1024 // one detail value
	MaxDetails    = 32
	maxListLimit  = 10000
	defaultLimit  = 100
	hashDomainTag = "ekyc-audit-v1"
)

var (
	// ErrTampered is matched (errors.Is) by every *TamperError.
	ErrTampered = errors.New("audit: log tampered")
	// ErrInvalid reports an entry or argument that is not acceptable.
	ErrInvalid = errors.New("audit: invalid argument")
	// ErrClosed reports a call on a closed Log.
	ErrClosed = errors.New("audit: log closed")
	// ErrLocked reports a directory held by another process (usually a
	// running node: Pebble allows one process per directory).
	ErrLocked = errors.New("audit: directory in use by another process")
	// ErrNotFound reports a sequence number with no entry.
	ErrNotFound = errors.New("audit: no such entry")
)

// TamperError names the first entry found bad by Verify.
type TamperError struct {
	// Seq is the sequence number of the bad (or missing) entry.
	Seq    uint64
	Reason string
}

func (e *TamperError) Error() string {
	return fmt.Sprintf("audit: log tampered at entry %d: %s", e.Seq, e.Reason)
}

// Is makes errors.Is(err, ErrTampered) true.
func (e *TamperError) Is(target error) bool { return target == ErrTampered }

// Entry is one audit record. Append sets Seq, Time, PrevHash and Hash.
type Entry struct {
	Seq  uint64    `json:"seq"`
	Time time.Time `json:"time"`
	// Tenant is empty for node-wide actions.
	Tenant string `json:"tenant,omitempty"`
	// Actor is who acted: "cli", "key:<key id>", "reviewer:<id>", "node".
	Actor  string `json:"actor"`
	Action string `json:"action"`
	// Subject is the id acted on (session id, key id, tenant id).
	Subject string            `json:"subject,omitempty"`
	Details map[string]string `json:"details,omitempty"`
	// PrevHash is the Hash of entry Seq-1; empty for the first entry.
	PrevHash string `json:"prev_hash"`
	// Hash is hex SHA-256 of the canonical encoding (see ComputeHash).
	Hash string `json:"hash"`
}

// ComputeHash returns the hex SHA-256 of e's canonical encoding: a domain
// tag, Seq (8 bytes big-endian), Time as Unix nanoseconds (8 bytes,
// two's complement), then Tenant, Actor, Action, Subject, the number of
// details, each detail key and value in key order, and PrevHash, every
// string preceded by its length as a uvarint. e.Hash is ignored.
func ComputeHash(e Entry) string {
	h := sha256.New()
	var buf []byte
	str := func(s string) {
		buf = binary.AppendUvarint(buf[:0], uint64(len(s)))
		h.Write(buf)
		h.Write([]byte(s))
	}
	str(hashDomainTag)
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], e.Seq)
	h.Write(n[:])
	binary.BigEndian.PutUint64(n[:], uint64(e.Time.UnixNano()))
	h.Write(n[:])
	str(e.Tenant)
	str(e.Actor)
	str(e.Action)
	str(e.Subject)
	keys := make([]string, 0, len(e.Details))
	for k := range e.Details {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	buf = binary.AppendUvarint(buf[:0], uint64(len(keys)))
	h.Write(buf)
	for _, k := range keys {
		str(k)
		str(e.Details[k])
	}
	str(e.PrevHash)
	return hex.EncodeToString(h.Sum(nil))
}

// checkText checks one field: at most max bytes of UTF-8 without control
// characters. The value is not echoed in the error.
func checkText(field, s string, max int, required bool) error {
	if s == "" {
		if required {
			return fmt.Errorf("%w: %s is empty", ErrInvalid, field)
		}
		return nil
	}
	if len(s) > max {
		return fmt.Errorf("%w: %s is longer than %d bytes", ErrInvalid, field, max)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%w: %s is not valid UTF-8", ErrInvalid, field)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return fmt.Errorf("%w: %s contains a control character", ErrInvalid, field)
		}
	}
	return nil
}

// Validate checks the caller's fields of an entry (Seq, Time and the
// hashes are set by Append and not checked).
func Validate(e Entry) error {
	if !ActionPattern.MatchString(e.Action) || len(e.Action) > MaxFieldLen {
		return fmt.Errorf("%w: action must be dotted lower-case words such as %q", ErrInvalid, ActionKeyCreated)
	}
	if err := checkText("tenant", e.Tenant, MaxFieldLen, false); err != nil {
		return err
	}
	if err := checkText("actor", e.Actor, MaxFieldLen, true); err != nil {
		return err
	}
	if err := checkText("subject", e.Subject, MaxFieldLen, false); err != nil {
		return err
	}
	if len(e.Details) > MaxDetails {
		return fmt.Errorf("%w: more than %d details", ErrInvalid, MaxDetails)
	}
	for k, v := range e.Details {
		if err := checkText("detail key", k, MaxFieldLen, true); err != nil {
			return err
		}
		if err := checkText("detail value", v, MaxDetailLen, false); err != nil {
			return err
		}
	}
	return nil
}
