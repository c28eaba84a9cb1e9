// Package codec turns Kafka records into VerificationRequests and Decisions
// into Kafka records. Records carry protobuf by default; a content-type header
// of application/json selects protojson, so clients in any language can
// produce a plain JSON payload.
package codec

import (
	"errors"
	"fmt"
	"mime"

	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
)

// Header names and content types.
const (
	HeaderContentType = "content-type"
	ContentTypeJSON   = "application/json"
	ContentTypeProto  = "application/x-protobuf"
)

// ErrUnsupportedContentType is returned for a content type that is neither
// protobuf nor JSON.
var ErrUnsupportedContentType = errors.New("codec: unsupported content-type")

// MaxRecordBytes bounds the size of a request record.
const MaxRecordBytes = 1 << 20

// EncodingOf returns the encoding a record's content-type header selects.
func EncodingOf(rec *kgo.Record) (ekycv1.Encoding, error) {
	for _, h := range rec.Headers {
		if h.Key != HeaderContentType {
			continue
		}
		mt, _, err := mime.ParseMediaType(string(h.Value))
		if err != nil {
			return 0, fmt.Errorf("%w: %q", ErrUnsupportedContentType, h.Value)
		}
		switch mt {
		case ContentTypeJSON:
			return ekycv1.Encoding_ENCODING_JSON, nil
		case ContentTypeProto, "application/protobuf", "application/vnd.google.protobuf":
			return ekycv1.Encoding_ENCODING_PROTOBUF, nil
		default:
			return 0, fmt.Errorf("%w: %q", ErrUnsupportedContentType, mt)
		}
	}
	return ekycv1.Encoding_ENCODING_PROTOBUF, nil
}

var jsonIn = protojson.UnmarshalOptions{DiscardUnknown: false}

// DecodeRequest decodes a request record.
func DecodeRequest(rec *kgo.Record) (*ekycv1.VerificationRequest, ekycv1.Encoding, error) {
	enc, err := EncodingOf(rec)
	if err != nil {
		return nil, 0, err
	}
	if len(rec.Value) == 0 {
		return nil, enc, errors.New("codec: empty record value")
	}
	if len(rec.Value) > MaxRecordBytes {
		return nil, enc, fmt.Errorf("codec: record of %d bytes exceeds %d", len(rec.Value), MaxRecordBytes)
	}
	req := &ekycv1.VerificationRequest{}
	if enc == ekycv1.Encoding_ENCODING_JSON {
		err = jsonIn.Unmarshal(rec.Value, req)
	} else {
		err = proto.Unmarshal(rec.Value, req)
	}
	if err != nil {
		return nil, enc, fmt.Errorf("codec: %w", err)
	}
	return req, enc, nil
}

// Encode marshals m with enc and returns the value and content type.
func Encode(m proto.Message, enc ekycv1.Encoding) ([]byte, string, error) {
	if enc == ekycv1.Encoding_ENCODING_JSON {
		b, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(m)
		return b, ContentTypeJSON, err
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	return b, ContentTypeProto, err
}

// DecodeDecision decodes a decision record (clients, tests, the submit command).
func DecodeDecision(rec *kgo.Record) (*ekycv1.Decision, error) {
	enc, err := EncodingOf(rec)
	if err != nil {
		return nil, err
	}
	d := &ekycv1.Decision{}
	if enc == ekycv1.Encoding_ENCODING_JSON {
		err = protojson.Unmarshal(rec.Value, d)
	} else {
		err = proto.Unmarshal(rec.Value, d)
	}
	return d, err
}

// DecodeReviewDecision decodes a review decision record (protobuf, or
// protojson with content-type application/json).
func DecodeReviewDecision(rec *kgo.Record) (*ekycv1.ReviewDecision, ekycv1.Encoding, error) {
	enc, err := EncodingOf(rec)
	if err != nil {
		return nil, 0, err
	}
	if len(rec.Value) == 0 {
		return nil, enc, errors.New("codec: empty record value")
	}
	if len(rec.Value) > MaxRecordBytes {
		return nil, enc, fmt.Errorf("codec: record of %d bytes exceeds %d", len(rec.Value), MaxRecordBytes)
	}
	rd := &ekycv1.ReviewDecision{}
	if enc == ekycv1.Encoding_ENCODING_JSON {
		err = jsonIn.Unmarshal(rec.Value, rd)
	} else {
		err = proto.Unmarshal(rec.Value, rd)
	}
	if err != nil {
		return nil, enc, fmt.Errorf("codec: %w", err)
	}
	return rd, enc, nil
}
