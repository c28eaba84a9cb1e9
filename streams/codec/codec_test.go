package codec

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/protobuf/proto"

	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
)

func rec(value []byte, ct string) *kgo.Record {
	r := &kgo.Record{Value: value}
	if ct != "" {
		r.Headers = []kgo.RecordHeader{{Key: HeaderContentType, Value: []byte(ct)}}
	}
	return r
}

func TestRoundTripBothEncodings(t *testing.T) {
	req := &ekycv1.VerificationRequest{TenantId: "demo", SessionId: "s", EventId: "e",
		RequestedChecks: []ekycv1.CheckKind{ekycv1.CheckKind_CHECK_KIND_DOCUMENT}}
	for _, enc := range []ekycv1.Encoding{ekycv1.Encoding_ENCODING_PROTOBUF, ekycv1.Encoding_ENCODING_JSON} {
		b, ct, err := Encode(req, enc)
		require.NoError(t, err)
		got, gotEnc, err := DecodeRequest(rec(b, ct))
		require.NoError(t, err)
		require.Equal(t, enc, gotEnc)
		require.True(t, proto.Equal(req, got))
	}
	// No header: protobuf.
	b, _ := proto.Marshal(req)
	_, enc, err := DecodeRequest(rec(b, ""))
	require.NoError(t, err)
	require.Equal(t, ekycv1.Encoding_ENCODING_PROTOBUF, enc)
	// JSON with parameters and snake or camel case names.
	got, _, err := DecodeRequest(rec([]byte(`{"tenantId":"demo","session_id":"s","requested_checks":["CHECK_KIND_DOCUMENT"]}`), "application/json; charset=utf-8"))
	require.NoError(t, err)
	require.Equal(t, "demo", got.GetTenantId())
}

func TestDecodeErrors(t *testing.T) {
	_, _, err := DecodeRequest(rec([]byte("{}"), "text/csv"))
	require.True(t, errors.Is(err, ErrUnsupportedContentType))
	_, _, err = DecodeRequest(rec(nil, ""))
	require.ErrorContains(t, err, "empty")
	_, _, err = DecodeRequest(rec([]byte{0xff, 0xff, 0x01}, ""))
	require.Error(t, err)
	_, _, err = DecodeRequest(rec([]byte(`{"tenant_id": 42}`), ContentTypeJSON))
	require.Error(t, err)
	_, _, err = DecodeRequest(rec([]byte(`{"no_such_field": 1}`), ContentTypeJSON))
	require.Error(t, err, "unknown JSON fields are rejected, not silently dropped")
	_, _, err = DecodeRequest(rec(make([]byte, MaxRecordBytes+1), ""))
	require.ErrorContains(t, err, "exceeds")
}
