package node

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/openekyc/ekyc/actors/session"
	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
	"github.com/openekyc/ekyc/services/document"
	"github.com/openekyc/ekyc/services/document/ocr"
	"github.com/openekyc/ekyc/services/face"
	"github.com/openekyc/ekyc/services/reasons"
	"github.com/openekyc/ekyc/services/signal"
)

// ocrModels are the models the document check needs to read images.
var ocrModels = []string{ocr.ModelDetect, ocr.ModelRecognise}

// documentChecker is the document check. A request with MRZ text is checked
// from the text. A request with only a document image has its MRZ read from
// the image (OCR through the pools) when the OCR models are served, plus
// image-forensics signals; without them the check reports DOC_OCR_UNAVAILABLE.
func (n *Node) documentChecker() session.Checker {
	opts := []document.Option{
		document.WithMinimumAge(n.cfg.Checks.MinimumAge),
		document.WithNameThreshold(n.cfg.Checks.NameMatchOK),
	}
	fromText := session.SyncChecker(func(req *ekycv1.VerificationRequest) *ekycv1.CheckResult {
		return document.CheckMRZData(req, n.now(), opts...)
	})
	return func(ctx context.Context, req *ekycv1.VerificationRequest) (*ekycv1.CheckResult, error) {
		doc := req.GetDocument()
		if len(doc.GetMrzLines()) > 0 || len(doc.GetImages()) == 0 || n.pools[ocr.ModelRecognise] == nil {
			return fromText(ctx, req)
		}
		fail := func(code, msg string) *ekycv1.CheckResult {
			return &ekycv1.CheckResult{Kind: ekycv1.CheckKind_CHECK_KIND_DOCUMENT, Status: ekycv1.CheckStatus_CHECK_STATUS_FAIL,
				ReasonCodes: []string{code}, Error: msg, Signals: []*ekycv1.Signal{signal.Flag(document.SignalMRZPresent, false)}}
		}
		data, err := n.images.Load(ctx, req.GetTenantId(), doc.GetImages()[0].GetUri())
		if err != nil {
			return fail(reasons.DocImageUnreadable, "document image: "+err.Error()), nil
		}
		img, err := face.Decode(data, face.Limits{})
		if err != nil {
			return fail(reasons.DocImageUnreadable, "document image: "+err.Error()), nil
		}
		read, err := ocr.ReadMRZ(ctx, ocr.RunnerFunc(n.runner().Run), img, ocr.WithReference(n.now()))
		if errors.Is(err, ocr.ErrNoMRZ) {
			return fail(reasons.DocMRZUnreadable, "no MRZ found on the document image"), nil
		}
		if err != nil {
			return nil, fmt.Errorf("ocr: %w", err) // model failure: the actor retries
		}
		withText := proto.Clone(req).(*ekycv1.VerificationRequest)
		withText.Document.MrzLines = read.Lines
		res := document.CheckMRZData(withText, n.now(), opts...)
		res.Signals = append(res.Signals, signal.Number("ocr.confidence", minOf(read.Confidence), "ratio"),
			signal.Number("ocr.corrections", float64(read.Changes), "count"))
		g := document.ImageGeometry{PitchPx: read.PitchPx}
		if read.MRZ != nil && n.pools[face.ModelDetect] != nil {
			dets, derr := face.Detect(ctx, n.runner(), img)
			if derr != nil && ctx.Err() != nil {
				return nil, ctx.Err()
			}
			g.Portrait, g.PortraitKnown = len(dets) > 0, derr == nil
		}
		ev := document.ImageEvidence(data, img, read.MRZ, g)
		res.Signals = append(append(res.Signals, ev.Geometry...), ev.Forensics...)
		res.ReasonCodes = append(append(res.ReasonCodes, ev.GeometryCodes...), ev.ForensicsCodes...)
		res.Status = signal.Status(res.ReasonCodes)
		return res, nil
	}
}

func minOf(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	m := v[0]
	for _, x := range v[1:] {
		m = min(m, x)
	}
	return m
}
