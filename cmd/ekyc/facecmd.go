package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"time"

	"github.com/openekyc/ekyc/inference/ort"
	"github.com/openekyc/ekyc/services/face"
)

type faceJSON struct {
	Box        [4]float64 `json:"box"` // x1, y1, x2, y2 in image pixels
	Score      float64    `json:"detection_score"`
	Quality    qualJSON   `json:"quality"`
	Liveness   *float64   `json:"liveness_score,omitempty"`
	LivenessOK *bool      `json:"liveness_ok,omitempty"`
}

type qualJSON struct {
	Sharpness   float64  `json:"sharpness"`
	Brightness  float64  `json:"brightness"`
	FaceSize    float64  `json:"face_size_px"`
	InterOcular float64  `json:"inter_ocular_px"`
	Yaw         float64  `json:"yaw_deg"`
	Roll        float64  `json:"roll_deg"`
	Pass        bool     `json:"pass"`
	Reasons     []string `json:"reasons"`
}

type imageJSON struct {
	Path   string     `json:"path"`
	Width  int        `json:"width"`
	Height int        `json:"height"`
	Faces  []faceJSON `json:"faces"`
}

func round(v float64) float64 { return math.Round(v*1e4) / 1e4 }

func toJSON(path string, a *face.Analysis, livenessThreshold float64) imageJSON {
	out := imageJSON{Path: path, Width: a.Width, Height: a.Height, Faces: []faceJSON{}}
	for _, f := range a.Faces {
		q := f.Quality
		fj := faceJSON{
			Box:   [4]float64{round(f.Box.X1), round(f.Box.Y1), round(f.Box.X2), round(f.Box.Y2)},
			Score: round(f.Score),
			Quality: qualJSON{Sharpness: round(q.Sharpness), Brightness: round(q.Brightness), FaceSize: round(q.FaceSize),
				InterOcular: round(q.InterOcular), Yaw: round(q.Yaw), Roll: round(q.Roll), Pass: q.OK(), Reasons: append([]string{}, q.Reasons...)},
		}
		if f.Liveness.Checked {
			s, ok := round(f.Liveness.Score), f.Liveness.Score >= livenessThreshold
			fj.Liveness, fj.LivenessOK = &s, &ok
		}
		out.Faces = append(out.Faces, fj)
	}
	return out
}

// cmdFace runs `ekyc face compare SELFIE DOCUMENT` and `ekyc face inspect IMAGE`
// on the embedded ONNX Runtime backend (models from `make models`).
func cmdFace(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "compare" && args[0] != "inspect") {
		fmt.Fprintln(stderr, "usage: ekyc face compare SELFIE DOCUMENT_OR_PORTRAIT | ekyc face inspect IMAGE")
		return 2
	}
	fs := flag.NewFlagSet("face "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	models := fs.String("models", envOr("EKYC_INFERENCE_MODELS_DIR", ort.DefaultDir()), "model repository (make models)")
	threshold := fs.Float64("threshold", 0.65, "match threshold (cosine similarity)")
	liveness := fs.Float64("liveness-threshold", 0.5, "liveness threshold")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	want := 1
	if args[0] == "compare" {
		want = 2
	}
	if fs.NArg() != want {
		fmt.Fprintf(stderr, "ekyc face %s: want %d image path(s)\n", args[0], want)
		return 2
	}
	images := make([][]byte, want)
	for i, p := range fs.Args() {
		b, err := os.ReadFile(p)
		if err != nil {
			fmt.Fprintf(stderr, "ekyc face: %v\n", err)
			return 2
		}
		if _, err := face.Decode(b, face.Limits{}); err != nil {
			fmt.Fprintf(stderr, "ekyc face: %s: %v\n", p, err)
			return 2
		}
		images[i] = b
	}
	backend, err := ort.Open(*models)
	if err != nil {
		fmt.Fprintf(stderr, "ekyc face: models: %v (run make models)\n", err)
		return 1
	}
	defer backend.Close()
	r := face.BackendRunner(backend)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	opts := []face.Option{face.WithMatchThreshold(*threshold), face.WithLivenessThreshold(*liveness)}

	analyses := make([]*face.Analysis, want)
	out := make([]imageJSON, want)
	for i, b := range images {
		img, _ := face.Decode(b, face.Limits{})
		a, err := face.Analyze(ctx, r, img, opts...)
		if err != nil {
			fmt.Fprintf(stderr, "ekyc face: %v\n", err)
			return 1
		}
		analyses[i] = a
		out[i] = toJSON(fs.Arg(i), a, *liveness)
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if args[0] == "inspect" {
		_ = enc.Encode(out[0])
		return 0
	}
	m := face.Compare(analyses[0], analyses[1])
	res := map[string]any{"selfie": out[0], "document": out[1], "compared": m.Compared,
		"similarity": round(m.Similarity), "threshold": *threshold, "match": m.Matches(*threshold)}
	if !m.Compared {
		res["reason"] = errors.New("no face in one of the images").Error()
	}
	_ = enc.Encode(res)
	return 0
}
