package node_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/jpeg"
	_ "image/png"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/protobuf/proto"

	"github.com/openekyc/ekyc/config"
	"github.com/openekyc/ekyc/inference/ort"
	"github.com/openekyc/ekyc/internal/docgen"
	"github.com/openekyc/ekyc/node"
	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
)

// TestDocumentImageEndToEnd sends requests that carry only a document image:
// the document check reads the MRZ from the image (OCR through the pools),
// adds image-forensics signals, and the decision follows from the read data.
func TestDocumentImageEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test skipped in -short mode")
	}
	if _, err := os.Stat(filepath.Join(ort.DefaultDir(), "ocr_rec")); err != nil {
		t.Skipf("OCR models not in %s: run make models", ort.DefaultDir())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cfg := testConfig(t)
	cfg.Checks.Timeout = config.Duration(60 * time.Second)
	cfg.Cluster.RequestTimeout = config.Duration(4 * time.Minute)
	require.NoError(t, os.MkdirAll(cfg.Images.Dir, 0o750))

	font, err := docgen.LoadFont(filepath.Join("..", "testdata", "fonts", "OCRB.ttf"))
	require.NoError(t, err)
	portrait, err := os.ReadFile(filepath.Join("..", "testdata", "faces", "obama.jpg"))
	require.NoError(t, err)
	pimg, _, err := image.Decode(bytes.NewReader(portrait))
	require.NoError(t, err)
	r := &docgen.Renderer{Font: font, Ref: fixedNow, Portrait: pimg}
	cases, err := r.Set(2, 7) // a clean TD1 and a clean TD2 page
	require.NoError(t, err)

	n, err := node.Start(ctx, cfg, node.WithLogger(quietLogger()), node.WithClock(func() time.Time { return fixedNow }))
	require.NoError(t, err)
	defer n.Close(true)

	var recs []*kgo.Record
	for i, c := range cases {
		var buf bytes.Buffer
		require.NoError(t, jpeg.Encode(&buf, c.Image, &jpeg.Options{Quality: 92}))
		name := c.Name + ".jpg"
		require.NoError(t, os.WriteFile(filepath.Join(cfg.Images.Dir, name), buf.Bytes(), 0o600))
		h := c.Page.Holder
		req := &ekycv1.VerificationRequest{
			TenantId: "demo", SessionId: "docimg-" + string(rune('a'+i)), EventId: "evt-" + c.Name,
			Applicant:       &ekycv1.Applicant{DateOfBirth: h.Birth.Format(time.DateOnly)},
			Document:        &ekycv1.Document{Images: []*ekycv1.ImageRef{{Uri: "file://" + name, Side: "front"}}},
			RequestedChecks: []ekycv1.CheckKind{ekycv1.CheckKind_CHECK_KIND_DOCUMENT},
		}
		v, err := proto.Marshal(req)
		require.NoError(t, err)
		recs = append(recs, &kgo.Record{Topic: cfg.Kafka.Topics.Requests, Key: []byte(req.SessionId), Value: v})
	}
	// A photo without an MRZ.
	face, err := os.ReadFile(filepath.Join("..", "testdata", "faces", "obama.jpg"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(cfg.Images.Dir, "no-mrz.jpg"), face, 0o600))
	noMRZ, err := proto.Marshal(&ekycv1.VerificationRequest{
		TenantId: "demo", SessionId: "docimg-none", EventId: "evt-docimg-none",
		Document:        &ekycv1.Document{Images: []*ekycv1.ImageRef{{Uri: "file://no-mrz.jpg"}}},
		RequestedChecks: []ekycv1.CheckKind{ekycv1.CheckKind_CHECK_KIND_DOCUMENT},
	})
	require.NoError(t, err)
	recs = append(recs, &kgo.Record{Topic: cfg.Kafka.Topics.Requests, Key: []byte("docimg-none"), Value: noMRZ})
	// Bad images: each a clear reason code, nothing panics.
	var page bytes.Buffer
	require.NoError(t, jpeg.Encode(&page, cases[0].Image, &jpeg.Options{Quality: 90}))
	bad := map[string][]byte{
		"not-an-image": []byte("this is not an image"),
		"truncated":    page.Bytes()[:page.Len()/2],
		"100mp":        pngHeader(10000, 10000),
	}
	for name, data := range bad {
		require.NoError(t, os.WriteFile(filepath.Join(cfg.Images.Dir, name+".img"), data, 0o600))
		v, err := proto.Marshal(&ekycv1.VerificationRequest{
			TenantId: "demo", SessionId: "docimg-" + name, EventId: "evt-docimg-" + name,
			Document:        &ekycv1.Document{Images: []*ekycv1.ImageRef{{Uri: "file://" + name + ".img"}}},
			RequestedChecks: []ekycv1.CheckKind{ekycv1.CheckKind_CHECK_KIND_DOCUMENT},
		})
		require.NoError(t, err)
		recs = append(recs, &kgo.Record{Topic: cfg.Kafka.Topics.Requests, Key: []byte("docimg-" + name), Value: v})
	}
	require.NoError(t, mustClient(t, n.Brokers()).ProduceSync(ctx, recs...).FirstErr())
	out := collect(ctx, t, n.Brokers(), cfg, func(o *outputs) bool { return len(o.decisions) >= len(recs) })
	got := []string{}
	for k := range out.decisions {
		got = append(got, k)
	}
	require.NoError(t, ctx.Err(), "decisions for %v", got)
	for i := range cases {
		ds := out.decisions["docimg-"+string(rune('a'+i))]
		require.Len(t, ds, 1)
		doc := ds[0].GetChecks()[0]
		require.Equal(t, ekycv1.CheckKind_CHECK_KIND_DOCUMENT, doc.GetKind())
		require.NotEqual(t, ekycv1.CheckStatus_CHECK_STATUS_ERROR, doc.GetStatus(), doc.GetError())
		valid := findSignal(doc, "mrz.valid")
		require.NotNil(t, valid, "the MRZ was read from the image: %v", doc.GetReasonCodes())
		require.True(t, valid.GetFlag(), "case %s: reasons %v", cases[i].Name, doc.GetReasonCodes())
		require.NotNil(t, findSignal(doc, "ocr.confidence"))
		require.NotNil(t, findSignal(doc, "image.jpeg_quality"), "forensics signals are attached")
		require.NotNil(t, findSignal(doc, "data.dob_match"))
		require.True(t, findSignal(doc, "data.dob_match").GetFlag())
		require.Equal(t, "id_card", findSignal(doc, "doc.class").GetText(), "TD1 and TD2 cards of the set")
		require.InDelta(t, 1.0, findSignal(doc, "doc.width_ratio").GetNumber(), 0.05, "the page is the document")
		require.True(t, findSignal(doc, "doc.portrait_present").GetFlag())
		require.NotContains(t, doc.GetReasonCodes(), "DOC_FORMAT_SIZE_MISMATCH")
		require.NotContains(t, doc.GetReasonCodes(), "DOC_PORTRAIT_MISSING")
	}
	for name := range bad {
		ds := out.decisions["docimg-"+name]
		require.Len(t, ds, 1, name)
		require.Equal(t, ekycv1.Outcome_OUTCOME_REJECT, ds[0].GetOutcome(), name)
		require.Contains(t, ds[0].GetReasonCodes(), "DOC_IMAGE_UNREADABLE", name)
		require.NotEmpty(t, ds[0].GetChecks()[0].GetError(), name)
	}
	none := out.decisions["docimg-none"]
	require.Len(t, none, 1)
	require.Equal(t, ekycv1.Outcome_OUTCOME_REJECT, none[0].GetOutcome())
	require.Contains(t, none[0].GetReasonCodes(), "DOC_MRZ_UNREADABLE")
}

// pngHeader is the start of a PNG declaring w×h pixels: enough for
// image.DecodeConfig, a decompression bomb for anything that trusts it.
func pngHeader(w, h uint32) []byte {
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 6 // 8-bit RGBA
	chunk := append([]byte("IHDR"), ihdr...)
	out := []byte("\x89PNG\r\n\x1a\n")
	out = binary.BigEndian.AppendUint32(out, 13)
	out = append(out, chunk...)
	out = binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(chunk))
	return out
}
