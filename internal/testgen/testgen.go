// Package testgen builds verification requests for tests and benchmarks:
// ICAO 9303 TD3 MRZs with check digits computed here (independently of the
// parser under test), and a deterministic mix of valid, invalid and malformed
// Kafka records with the outcome each must produce.
package testgen

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
)

// CheckDigit is the ICAO 9303 7-3-1 check digit of s.
func CheckDigit(s string) byte {
	weights := [3]int{7, 3, 1}
	sum := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		var v int
		switch {
		case c >= '0' && c <= '9':
			v = int(c - '0')
		case c >= 'A' && c <= 'Z':
			v = int(c-'A') + 10
		}
		sum += v * weights[i%3]
	}
	return byte('0' + sum%10)
}

func pad(s string, n int) string {
	if len(s) >= n {
		return s[:n]
	}
	return s + strings.Repeat("<", n-len(s))
}

// TD3 holds the fields of a passport MRZ.
type TD3 struct {
	Issuer, Surname, Given, Number, Nationality, Sex string
	Birth, Expiry                                    time.Time
	Personal                                         string
}

// Lines renders the two 44-character lines with correct check digits.
func (p TD3) Lines() [2]string {
	name := strings.ReplaceAll(p.Surname, " ", "<") + "<<" + strings.ReplaceAll(p.Given, " ", "<")
	l1 := pad("P<"+pad(p.Issuer, 3)+name, 44)
	num := pad(p.Number, 9)
	dob := p.Birth.Format("060102")
	exp := p.Expiry.Format("060102")
	pers := pad(p.Personal, 14)
	persCD := CheckDigit(pers)
	if strings.Trim(pers, "<") == "" {
		persCD = '<'
	}
	l2 := num + string(CheckDigit(num)) + pad(p.Nationality, 3) + dob + string(CheckDigit(dob)) + p.Sex + exp + string(CheckDigit(exp)) + pers + string(persCD)
	composite := l2[0:10] + l2[13:20] + l2[21:43]
	l2 += string(CheckDigit(composite))
	return [2]string{l1, l2}
}

// Kind of a generated case.
type Kind string

// The kinds of generated cases.
const (
	Approve       Kind = "approve"
	BadCheckDigit Kind = "bad_check_digit"
	Expired       Kind = "expired"
	DOBMismatch   Kind = "dob_mismatch"
	Underage      Kind = "underage"
	Unavailable   Kind = "check_unavailable"
	Garbage       Kind = "malformed_garbage"
	BadJSON       Kind = "malformed_json"
	MissingEvent  Kind = "invalid_missing_event_id"
	UnknownTenant Kind = "invalid_unknown_tenant"
	NotAnMRZ      Kind = "not_an_mrz"
	KeyMismatch   Kind = "invalid_key_mismatch"
)

// Case is one generated record and what the spine must do with it.
type Case struct {
	Kind      Kind
	SessionID string
	Record    *kgo.Record
	// For decided cases: the expected outcome and reason codes that must be present.
	Outcome ekycv1.Outcome
	Reasons []string
	// For dead-lettered cases: the expected dlq reason.
	DLQReason string
}

// Malformed reports whether the case must go to the dead-letter topic.
func (c Case) Malformed() bool { return c.DLQReason != "" }

var surnames = []string{"ERIKSSON", "MUSTERMANN", "DUPONT", "ROSSI", "NOVAK", "SILVA", "OKAFOR", "TANAKA", "GARCIA", "SMITH"}
var givens = []string{"ANNA MARIA", "ERIKA", "JEAN", "GIULIA", "PETR", "JOAO", "CHIDI", "YUKI", "LUCIA", "JOHN PAUL"}

// Gen produces cases deterministically from a seed. Now is the decision clock.
type Gen struct {
	rng    *rand.Rand
	now    time.Time
	tenant string
	topic  string
	n      int
	prefix string
}

// New returns a generator.
func New(seed uint64, now time.Time, tenant, topic, prefix string) *Gen {
	return &Gen{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), now: now, tenant: tenant, topic: topic, prefix: prefix}
}

// Mix is the default mix used by the end-to-end test, in percent.
var Mix = []struct {
	Kind Kind
	Pct  int
}{
	{Approve, 50}, {BadCheckDigit, 10}, {Expired, 6}, {DOBMismatch, 5}, {Underage, 4}, {Unavailable, 5},
	{NotAnMRZ, 4}, {Garbage, 5}, {BadJSON, 4}, {MissingEvent, 3}, {UnknownTenant, 2}, {KeyMismatch, 2},
}

// Next returns the next case of the default mix.
func (g *Gen) Next() Case {
	x := g.rng.IntN(100)
	for _, m := range Mix {
		if x < m.Pct {
			return g.Make(m.Kind)
		}
		x -= m.Pct
	}
	return g.Make(Approve)
}

func (g *Gen) person() TD3 {
	age := 20 + g.rng.IntN(50)
	birth := g.now.AddDate(-age, -g.rng.IntN(12), -g.rng.IntN(28))
	return TD3{
		Issuer: "UTO", Nationality: "UTO",
		Surname: surnames[g.rng.IntN(len(surnames))], Given: givens[g.rng.IntN(len(givens))],
		Number: fmt.Sprintf("L%08d", g.rng.IntN(1e8)), Sex: []string{"M", "F"}[g.rng.IntN(2)],
		Birth: birth, Expiry: g.now.AddDate(1+g.rng.IntN(8), g.rng.IntN(12), 0),
	}
}

// Make builds one case of kind k.
func (g *Gen) Make(k Kind) Case {
	g.n++
	sid := fmt.Sprintf("%s-%06d", g.prefix, g.n)
	p := g.person()
	req := &ekycv1.VerificationRequest{
		TenantId: g.tenant, SessionId: sid, EventId: "evt-" + sid,
		RequestedChecks: []ekycv1.CheckKind{ekycv1.CheckKind_CHECK_KIND_DOCUMENT},
		SubmittedAt:     timestamppb.New(time.Now()),
	}
	c := Case{Kind: k, SessionID: sid}
	mutateDOB := false
	switch k {
	case Approve:
		c.Outcome = ekycv1.Outcome_OUTCOME_APPROVE
	case BadCheckDigit:
		c.Outcome, c.Reasons = ekycv1.Outcome_OUTCOME_REJECT, []string{"DOC_MRZ_CHECK_BIRTH_DATE"}
	case Expired:
		p.Expiry = g.now.AddDate(0, -1-g.rng.IntN(24), 0)
		c.Outcome, c.Reasons = ekycv1.Outcome_OUTCOME_REJECT, []string{"DOC_EXPIRED"}
	case DOBMismatch:
		mutateDOB = true
		c.Outcome, c.Reasons = ekycv1.Outcome_OUTCOME_REJECT, []string{"DATA_DOB_MISMATCH"}
	case Underage:
		p.Birth = g.now.AddDate(-16, -g.rng.IntN(12), 0)
		c.Outcome, c.Reasons = ekycv1.Outcome_OUTCOME_REVIEW, []string{"DOC_HOLDER_UNDERAGE"}
	case Unavailable:
		req.RequestedChecks = append(req.RequestedChecks, ekycv1.CheckKind_CHECK_KIND_DATABASE)
		c.Outcome, c.Reasons = ekycv1.Outcome_OUTCOME_REVIEW, []string{"CHECK_UNAVAILABLE"}
	case NotAnMRZ:
		c.Outcome, c.Reasons = ekycv1.Outcome_OUTCOME_REJECT, []string{"DOC_MRZ_UNREADABLE"}
	case MissingEvent:
		req.EventId = ""
		c.DLQReason = "INPUT_VALIDATION_ERROR"
	case UnknownTenant:
		req.TenantId = "no-such-tenant"
		c.DLQReason = "INPUT_UNKNOWN_TENANT"
	case KeyMismatch:
		c.DLQReason = "INPUT_KEY_MISMATCH"
	case Garbage:
		c.DLQReason = "INPUT_DECODE_ERROR"
	case BadJSON:
		c.DLQReason = "INPUT_DECODE_ERROR"
	}
	lines := p.Lines()
	if k == BadCheckDigit {
		// Change the birth-date check digit (line 2, position 19).
		b := []byte(lines[1])
		b[19] = '0' + (b[19]-'0'+1)%10
		lines[1] = string(b)
	}
	if k == NotAnMRZ {
		lines = [2]string{"THIS IS NOT A MACHINE READABLE ZONE", lines[1][:20]}
	}
	req.Document = &ekycv1.Document{Type: ekycv1.DocumentType_DOCUMENT_TYPE_PASSPORT, MrzLines: lines[:]}
	dob := p.Birth
	if mutateDOB {
		dob = dob.AddDate(0, 0, 3)
	}
	req.Applicant = &ekycv1.Applicant{
		GivenNames:  strings.Title(strings.ToLower(p.Given)), //nolint:staticcheck // ASCII names
		Surname:     strings.Title(strings.ToLower(p.Surname)),
		DateOfBirth: dob.Format(time.DateOnly), Nationality: p.Nationality,
	}

	rec := &kgo.Record{Topic: g.topic, Key: []byte(sid)}
	useJSON := g.rng.IntN(2) == 0
	switch k {
	case Garbage:
		rec.Value = []byte{0xff, 0xff, 0x01, 0x02, 0x03}
	case BadJSON:
		rec.Value = []byte(`{"tenant_id": "` + g.tenant + `", "session_id": 42`)
		useJSON = true
	case KeyMismatch:
		rec.Key = []byte("other-" + sid)
		rec.Value, _ = proto.Marshal(req)
		useJSON = false
	default:
		if useJSON {
			rec.Value, _ = protojson.Marshal(req)
		} else {
			rec.Value, _ = proto.Marshal(req)
		}
	}
	if useJSON {
		rec.Headers = []kgo.RecordHeader{{Key: "content-type", Value: []byte("application/json")}}
	}
	c.Record = rec
	return c
}
