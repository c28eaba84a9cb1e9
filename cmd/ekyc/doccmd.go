package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/openekyc/ekyc/inference/ort"
	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
	"github.com/openekyc/ekyc/services/document"
	"github.com/openekyc/ekyc/services/document/mrz"
	"github.com/openekyc/ekyc/services/document/ocr"
	"github.com/openekyc/ekyc/services/face"
)

// docClass names the document family from the MRZ.
func docClass(m *mrz.MRZ) map[string]string {
	return map[string]string{"format": string(m.Format), "document_code": m.DocumentCode, "issuing_state": m.IssuingState, "type": document.ClassOf(m.DocumentCode)}
}

// cmdDoc runs `ekyc doc read IMAGE`: the MRZ read from the image (as read and
// as corrected), the parsed fields with their checks, forensic signals and
// the portrait box, on the embedded ONNX Runtime backend.
func cmdDoc(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "read" {
		fmt.Fprintln(stderr, "usage: ekyc doc read IMAGE")
		return 2
	}
	fs := flag.NewFlagSet("doc read", flag.ContinueOnError)
	fs.SetOutput(stderr)
	models := fs.String("models", envOr("EKYC_INFERENCE_MODELS_DIR", ort.DefaultDir()), "model repository (make models)")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "ekyc doc read: want one image path")
		return 2
	}
	data, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		fmt.Fprintln(stderr, "ekyc doc read:", err)
		return 2
	}
	img, err := face.Decode(data, face.Limits{})
	if err != nil {
		fmt.Fprintf(stderr, "ekyc doc read: %s: %v\n", fs.Arg(0), err)
		return 2
	}
	backend, err := ort.Open(*models)
	if err != nil {
		fmt.Fprintf(stderr, "ekyc doc read: models: %v (run make models)\n", err)
		return 1
	}
	defer backend.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out := map[string]any{"path": fs.Arg(0)}
	read, err := ocr.ReadMRZ(ctx, ocr.BackendRunner(backend), img)
	switch {
	case errors.Is(err, ocr.ErrNoMRZ):
		fmt.Fprintf(stderr, "ekyc doc read: %s: no MRZ found (DOC_MRZ_UNREADABLE)\n", fs.Arg(0))
		return 2
	case err != nil:
		fmt.Fprintln(stderr, "ekyc doc read:", err)
		return 1
	}
	out["mrz_read"] = read.Raw
	out["mrz_corrected"] = read.Lines
	out["confidence"] = read.Confidence
	out["corrections"] = read.Changes
	out["mrz_box"] = [4]int{read.Box.Min.X, read.Box.Min.Y, read.Box.Max.X, read.Box.Max.Y}
	out["pitch_px"] = read.PitchPx
	dets, derr := face.Detect(ctx, face.BackendRunner(backend), img)
	ev := document.ImageEvidence(data, img, read.MRZ, document.ImageGeometry{PitchPx: read.PitchPx, Portrait: len(dets) > 0, PortraitKnown: derr == nil})
	if read.MRZ != nil {
		out["class"] = docClass(read.MRZ)
		out["fields"] = read.MRZ
		out["valid"] = read.MRZ.Valid()
		out["geometry"] = map[string]any{"signals": jsonSignals(ev.Geometry), "reason_codes": ev.GeometryCodes}
	} else {
		out["valid"] = false
		out["class"] = map[string]string{"type": document.ClassUnknown}
	}
	if ev.Forensics != nil {
		out["forensics"] = map[string]any{"signals": jsonSignals(ev.Forensics), "reason_codes": ev.ForensicsCodes}
	}
	if derr == nil && len(dets) > 0 {
		best := dets[0]
		for _, d := range dets[1:] {
			if d.Box.Area() > best.Box.Area() {
				best = d
			}
		}
		out["portrait_box"] = [4]float64{round(best.Box.X1), round(best.Box.Y1), round(best.Box.X2), round(best.Box.Y2)}
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	_ = enc.Encode(out)
	return 0
}

func jsonSignals(sigs []*ekycv1.Signal) []json.RawMessage {
	out := make([]json.RawMessage, 0, len(sigs))
	for _, s := range sigs {
		b, _ := protojson.Marshal(s)
		out = append(out, b)
	}
	return out
}
