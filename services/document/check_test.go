package document

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
	"github.com/openekyc/ekyc/services/document/mrz"
	"github.com/openekyc/ekyc/services/reasons"
)

var (
	// The ICAO TD3 specimen: ERIKSSON, ANNA MARIA, born 1974-08-12, UTO,
	// expires 2012-04-15.
	specimenTD3 = []string{
		"P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
		"L898902C36UTO7408122F1204159ZE184226B<<<<<10",
	}
	specimenTD1 = []string{
		"I<UTOD231458907<<<<<<<<<<<<<<<",
		"7408122F1204159UTO<<<<<<<<<<<6",
		"ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
	}
	// Before the specimens expire: 2010-04-15 is 731 days before 2012-04-15.
	before = time.Date(2010, time.April, 15, 9, 30, 0, 0, time.UTC)
	after  = time.Date(2026, time.June, 15, 9, 30, 0, 0, time.UTC)
)

// td3 builds a TD3 MRZ with correct check digits.
func td3(name, num, nat, dob, sex, exp string) []string {
	pad := func(s string, n int) string { return s + strings.Repeat("<", n-len(s)) }
	l1 := pad("P<UTO"+name, 44)
	num, personal := pad(num, 9), pad("", 14)
	cd := func(s string) string { return string(mrz.CheckDigit(s)) }
	l2 := num + cd(num) + nat + dob + cd(dob) + sex + exp + cd(exp) + personal + cd(personal)
	l2 += cd(l2[0:10] + l2[13:20] + l2[21:43])
	return []string{l1, l2}
}

func corrupt(lines []string, line, col int, c byte) []string {
	out := append([]string(nil), lines...)
	b := []byte(out[line])
	b[col] = c
	out[line] = string(b)
	return out
}

func anna() *ekycv1.Applicant {
	return &ekycv1.Applicant{Surname: "Eriksson", GivenNames: "Anna María", DateOfBirth: "1974-08-12", Nationality: "UTO"}
}

func request(lines []string, a *ekycv1.Applicant, typ ekycv1.DocumentType) *ekycv1.VerificationRequest {
	return &ekycv1.VerificationRequest{
		TenantId: "t", SessionId: "s", EventId: "e",
		Applicant: a,
		Document:  &ekycv1.Document{Type: typ, MrzLines: lines},
	}
}

type sig struct {
	number *float64
	flag   *bool
	text   *string
	unit   string
}

func signals(t *testing.T, r *ekycv1.CheckResult) map[string]sig {
	t.Helper()
	out := map[string]sig{}
	for _, s := range r.GetSignals() {
		_, dup := out[s.GetName()]
		require.False(t, dup, "duplicate signal %s", s.GetName())
		var v sig
		v.unit = s.GetUnit()
		switch x := s.GetValue().(type) {
		case *ekycv1.Signal_Number:
			v.number = &x.Number
		case *ekycv1.Signal_Flag:
			v.flag = &x.Flag
		case *ekycv1.Signal_Text:
			v.text = &x.Text
		default:
			t.Fatalf("signal %s has no value", s.GetName())
		}
		out[s.GetName()] = v
	}
	return out
}

func f(v float64) *float64 { return &v }
func b(v bool) *bool       { return &v }
func s(v string) *string   { return &v }

func TestCheckMRZData(t *testing.T) {
	young := td3("YOUNG<<ALEX", "X12345678", "UTO", "100301", "X", "301231") // born 2010-03-01
	badSex := td3("ERIKSSON<<ANNA<MARIA", "L898902C3", "UTO", "740812", "Q", "301231")

	cases := []struct {
		name    string
		req     *ekycv1.VerificationRequest
		now     time.Time
		opts    []Option
		status  ekycv1.CheckStatus
		codes   []string
		signals map[string]sig // exact set of signals
		score   float64        // -1: checked by range below
		errMsg  bool
	}{
		{
			name: "nil request", req: nil, now: before,
			status: ekycv1.CheckStatus_CHECK_STATUS_FAIL, codes: []string{reasons.DocMissing},
			signals: map[string]sig{"mrz.present": {flag: b(false)}}, score: 0,
		},
		{
			name: "no document", req: &ekycv1.VerificationRequest{Applicant: anna()}, now: before,
			status: ekycv1.CheckStatus_CHECK_STATUS_FAIL, codes: []string{reasons.DocMissing},
			signals: map[string]sig{"mrz.present": {flag: b(false)}}, score: 0,
		},
		{
			name: "blank mrz lines, no images", req: request([]string{"", "  "}, anna(), 0), now: before,
			status: ekycv1.CheckStatus_CHECK_STATUS_FAIL, codes: []string{reasons.DocMissing},
			signals: map[string]sig{"mrz.present": {flag: b(false)}}, score: 0,
		},
		{
			name: "images only",
			req: &ekycv1.VerificationRequest{Document: &ekycv1.Document{
				Images: []*ekycv1.ImageRef{{Uri: "blob://x", Side: "front"}}}},
			now:    before,
			status: ekycv1.CheckStatus_CHECK_STATUS_ERROR, codes: []string{reasons.DocOCRUnavailable},
			signals: map[string]sig{"mrz.present": {flag: b(false)}}, score: 0, errMsg: true,
		},
		{
			name: "not an mrz", req: request([]string{"hello world", "this is not an mrz"}, anna(), 0), now: before,
			status: ekycv1.CheckStatus_CHECK_STATUS_FAIL, codes: []string{reasons.DocMRZUnreadable},
			signals: map[string]sig{"mrz.present": {flag: b(true)}, "mrz.valid": {flag: b(false)}}, score: 0,
		},
		{
			name: "valid passport, all data matches", now: before,
			req:    request(specimenTD3, anna(), ekycv1.DocumentType_DOCUMENT_TYPE_PASSPORT),
			status: ekycv1.CheckStatus_CHECK_STATUS_PASS, codes: []string{},
			signals: map[string]sig{
				"mrz.present":              {flag: b(true)},
				"mrz.valid":                {flag: b(true)},
				"mrz.format":               {text: s("TD3")},
				"doc.class":                {text: s("passport")},
				"doc.code":                 {text: s("P")},
				"doc.issuing_state":        {text: s("UTO")},
				"mrz.check_digit_failures": {number: f(0), unit: "count"},
				"mrz.expired":              {flag: b(false)},
				"mrz.days_to_expiry":       {number: f(731), unit: "days"},
				"holder.age_years":         {number: f(35), unit: "years"},
				"data.name_match":          {number: f(1), unit: "ratio"},
				"data.dob_match":           {flag: b(true)},
				"data.nationality_match":   {flag: b(true)},
				"doc.type_match":           {flag: b(true)},
			},
			score: 1,
		},
		{
			name: "valid id card, nothing declared", now: before,
			req:    request(specimenTD1, nil, 0),
			status: ekycv1.CheckStatus_CHECK_STATUS_PASS, codes: []string{},
			signals: map[string]sig{
				"mrz.present":              {flag: b(true)},
				"mrz.valid":                {flag: b(true)},
				"mrz.format":               {text: s("TD1")},
				"doc.class":                {text: s("id_card")},
				"doc.code":                 {text: s("I")},
				"doc.issuing_state":        {text: s("UTO")},
				"mrz.check_digit_failures": {number: f(0), unit: "count"},
				"mrz.expired":              {flag: b(false)},
				"mrz.days_to_expiry":       {number: f(731), unit: "days"},
				"holder.age_years":         {number: f(35), unit: "years"},
			},
			score: 1,
		},
		{
			name: "expired", now: after,
			req:    request(specimenTD3, anna(), 0),
			status: ekycv1.CheckStatus_CHECK_STATUS_FAIL, codes: []string{reasons.DocExpired},
			signals: map[string]sig{
				"mrz.present":              {flag: b(true)},
				"mrz.valid":                {flag: b(true)},
				"mrz.format":               {text: s("TD3")},
				"doc.class":                {text: s("passport")},
				"doc.code":                 {text: s("P")},
				"doc.issuing_state":        {text: s("UTO")},
				"mrz.check_digit_failures": {number: f(0), unit: "count"},
				"mrz.expired":              {flag: b(true)},
				"mrz.days_to_expiry":       {number: f(-5174), unit: "days"},
				"holder.age_years":         {number: f(51), unit: "years"},
				"data.name_match":          {number: f(1), unit: "ratio"},
				"data.dob_match":           {flag: b(true)},
				"data.nationality_match":   {flag: b(true)},
			},
			score: 0.5,
		},
		{
			name: "birth date digit corrupted", now: before,
			req:    request(corrupt(specimenTD3, 1, 15, '1'), nil, 0), // 7408.. → 7418..: month 18
			status: ekycv1.CheckStatus_CHECK_STATUS_FAIL,
			codes:  []string{reasons.DocMRZInvalidBirthDate, reasons.DocMRZCheckBirthDate, reasons.DocMRZCheckComposite},
			signals: map[string]sig{
				"mrz.present":              {flag: b(true)},
				"mrz.valid":                {flag: b(false)},
				"mrz.format":               {text: s("TD3")},
				"doc.class":                {text: s("passport")},
				"doc.code":                 {text: s("P")},
				"doc.issuing_state":        {text: s("UTO")},
				"mrz.check_digit_failures": {number: f(2), unit: "count"},
				"mrz.expired":              {flag: b(false)},
				"mrz.days_to_expiry":       {number: f(731), unit: "days"},
			},
			score: 0,
		},
		{
			name: "composite digit only", now: before,
			req:    request(corrupt(specimenTD3, 1, 43, '1'), anna(), 0),
			status: ekycv1.CheckStatus_CHECK_STATUS_FAIL, codes: []string{reasons.DocMRZCheckComposite},
			score: 0.5,
		},
		{
			name: "name mismatch", now: before,
			req:    request(specimenTD3, &ekycv1.Applicant{Surname: "Smith", GivenNames: "John"}, 0),
			status: ekycv1.CheckStatus_CHECK_STATUS_FAIL, codes: []string{reasons.DataNameMismatch},
			score: -1,
		},
		{
			name: "dob mismatch", now: before,
			req:    request(specimenTD3, &ekycv1.Applicant{DateOfBirth: "1975-08-12"}, 0),
			status: ekycv1.CheckStatus_CHECK_STATUS_FAIL, codes: []string{reasons.DataDOBMismatch},
			score: 0.5,
		},
		{
			name: "nationality mismatch", now: before,
			req:    request(specimenTD3, &ekycv1.Applicant{Nationality: "SWE"}, 0),
			status: ekycv1.CheckStatus_CHECK_STATUS_CONSIDER, codes: []string{reasons.DataNationalityMismatch},
			score: 0.9,
		},
		{
			name: "type mismatch", now: before,
			req:    request(specimenTD3, nil, ekycv1.DocumentType_DOCUMENT_TYPE_ID_CARD),
			status: ekycv1.CheckStatus_CHECK_STATUS_CONSIDER, codes: []string{reasons.DocTypeMismatch},
			score: 0.9,
		},
		{
			name: "underage by default", now: after,
			req:    request(young, nil, ekycv1.DocumentType_DOCUMENT_TYPE_PASSPORT),
			status: ekycv1.CheckStatus_CHECK_STATUS_CONSIDER, codes: []string{reasons.DocHolderUnderage},
			signals: map[string]sig{
				"mrz.present":              {flag: b(true)},
				"mrz.valid":                {flag: b(true)},
				"mrz.format":               {text: s("TD3")},
				"doc.class":                {text: s("passport")},
				"doc.code":                 {text: s("P")},
				"doc.issuing_state":        {text: s("UTO")},
				"mrz.check_digit_failures": {number: f(0), unit: "count"},
				"mrz.expired":              {flag: b(false)},
				"mrz.days_to_expiry":       {number: f(1660), unit: "days"},
				"holder.age_years":         {number: f(16), unit: "years"},
				"doc.type_match":           {flag: b(true)},
			},
			score: 0.9,
		},
		{
			name: "minimum age lowered", now: after, opts: []Option{WithMinimumAge(16)},
			req:    request(young, nil, 0),
			status: ekycv1.CheckStatus_CHECK_STATUS_PASS, codes: []string{}, score: 1,
		},
		{
			name: "minimum age raised", now: before, opts: []Option{WithMinimumAge(40)},
			req:    request(specimenTD3, nil, 0),
			status: ekycv1.CheckStatus_CHECK_STATUS_CONSIDER, codes: []string{reasons.DocHolderUnderage}, score: 0.9,
		},
		{
			name: "age check disabled", now: after, opts: []Option{WithMinimumAge(0)},
			req:    request(young, nil, 0),
			status: ekycv1.CheckStatus_CHECK_STATUS_PASS, codes: []string{}, score: 1,
		},
		{
			name: "invalid sex", now: before,
			req:    request(badSex, nil, 0),
			status: ekycv1.CheckStatus_CHECK_STATUS_CONSIDER, codes: []string{reasons.DocMRZInvalidSex},
			score: 0.9,
		},
		{
			name: "warnings and criticals together", now: after,
			req:    request(specimenTD3, &ekycv1.Applicant{Nationality: "SWE"}, ekycv1.DocumentType_DOCUMENT_TYPE_VISA),
			status: ekycv1.CheckStatus_CHECK_STATUS_FAIL,
			codes:  []string{reasons.DocExpired, reasons.DataNationalityMismatch, reasons.DocTypeMismatch},
			score:  0.3,
		},
		{
			name: "strict name threshold", now: before, opts: []Option{WithNameThreshold(0.99)},
			req:    request(specimenTD3, &ekycv1.Applicant{Surname: "Erikson", GivenNames: "Anna Maria"}, 0),
			status: ekycv1.CheckStatus_CHECK_STATUS_FAIL, codes: []string{reasons.DataNameMismatch},
			score: 1 - 0.5 - 0.5*(1-0.875),
		},
		{
			name: "one name typo passes at the default threshold", now: before,
			req:    request(specimenTD3, &ekycv1.Applicant{Surname: "Erikson", GivenNames: "Anna Maria"}, 0),
			status: ekycv1.CheckStatus_CHECK_STATUS_PASS, codes: []string{},
			score: 1 - 0.5*(1-0.875),
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := CheckMRZData(c.req, c.now, c.opts...)
			require.Equal(t, ekycv1.CheckKind_CHECK_KIND_DOCUMENT, r.GetKind())
			require.Equal(t, c.status, r.GetStatus())
			if len(c.codes) == 0 {
				require.Empty(t, r.GetReasonCodes())
			} else {
				require.Equal(t, c.codes, r.GetReasonCodes())
			}
			for _, code := range r.GetReasonCodes() {
				require.True(t, reasons.Known(code), code)
			}
			got := signals(t, r)
			if c.signals != nil {
				require.Equal(t, c.signals, got)
			}
			if c.score >= 0 {
				require.InDelta(t, c.score, r.GetScore(), 1e-9)
			}
			require.GreaterOrEqual(t, r.GetScore(), 0.0)
			require.LessOrEqual(t, r.GetScore(), 1.0)
			require.Equal(t, c.errMsg, r.GetError() != "")
			require.Nil(t, r.GetLatency())
			require.Zero(t, r.GetAttempts())
		})
	}
}

func TestNameMismatchScoreFollowsSimilarity(t *testing.T) {
	r := CheckMRZData(request(specimenTD3, &ekycv1.Applicant{Surname: "Smith", GivenNames: "John"}, 0), before)
	sim := *signals(t, r)["data.name_match"].number
	require.Less(t, sim, mrz.DefaultNameThreshold)
	require.InDelta(t, 1-0.5-0.5*(1-sim), r.GetScore(), 1e-9)
}

func TestTypeMatches(t *testing.T) {
	parse := func(lines []string) *mrz.MRZ {
		m, err := mrz.ParseAt(lines, before)
		require.NoError(t, err)
		return m
	}
	passport := parse(specimenTD3)
	idCard := parse(specimenTD1)
	visa := parse([]string{"V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "L8988901C4XXX4009078F96121096ZE184226B<<<<<<"})
	type T = ekycv1.DocumentType
	cases := []struct {
		m     *mrz.MRZ
		typ   T
		match bool
	}{
		{passport, ekycv1.DocumentType_DOCUMENT_TYPE_PASSPORT, true},
		{passport, ekycv1.DocumentType_DOCUMENT_TYPE_ID_CARD, false},
		{passport, ekycv1.DocumentType_DOCUMENT_TYPE_VISA, false},
		{idCard, ekycv1.DocumentType_DOCUMENT_TYPE_ID_CARD, true},
		{idCard, ekycv1.DocumentType_DOCUMENT_TYPE_RESIDENCE_PERMIT, true},
		{idCard, ekycv1.DocumentType_DOCUMENT_TYPE_PASSPORT, false},
		{idCard, ekycv1.DocumentType_DOCUMENT_TYPE_DRIVING_LICENCE, false},
		{visa, ekycv1.DocumentType_DOCUMENT_TYPE_VISA, true},
		{visa, ekycv1.DocumentType_DOCUMENT_TYPE_PASSPORT, false},
		{nil, ekycv1.DocumentType_DOCUMENT_TYPE_PASSPORT, false},
	}
	for _, c := range cases {
		require.Equal(t, c.match, TypeMatches(c.typ, c.m), "%v", c.typ)
	}
}
