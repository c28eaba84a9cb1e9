package face

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"sort"

	"github.com/openekyc/ekyc/inference"
)

// Detector input size (UltraFace RFB-320).
const (
	DetectWidth  = 320
	DetectHeight = 240
)

// Detection defaults.
const (
	// DefaultScoreThreshold is the face-class probability a detector
	// candidate needs (UltraFace's reference uses 0.7; the model publisher's
	// demo 0.65).
	DefaultScoreThreshold = 0.7
	// DefaultNMSIoU: of two candidates overlapping by more than this IoU the
	// less confident is dropped.
	DefaultNMSIoU = 0.4
	// DefaultMaxFaces bounds the faces analysed per image (most confident
	// first), so a crowd photo cannot multiply the model calls.
	DefaultMaxFaces = 8
	// letterboxPad is the padding grey; it normalises to (127-127)/128 = 0.
	letterboxPad = 127
)

// Letterbox records how an image was fitted into the detector input: scaled
// by Scale (aspect ratio kept) and placed at (OffX, OffY), the rest padded.
type Letterbox struct {
	Scale      float64
	OffX, OffY float64
	W, H       int // the scaled image's size inside the input
}

// NewLetterbox fits a w×h image into a dw×dh input.
func NewLetterbox(w, h, dw, dh int) Letterbox {
	s := math.Min(float64(dw)/float64(w), float64(dh)/float64(h))
	sw := max(1, min(dw, int(math.Round(float64(w)*s))))
	sh := max(1, min(dh, int(math.Round(float64(h)*s))))
	return Letterbox{Scale: s, OffX: float64((dw - sw) / 2), OffY: float64((dh - sh) / 2), W: sw, H: sh}
}

// ToImage maps a point of the detector input back to the source image.
func (l Letterbox) ToImage(x, y float64) (float64, float64) {
	return (x - l.OffX) / l.Scale, (y - l.OffY) / l.Scale
}

// FromImage maps a source image point into the detector input.
func (l Letterbox) FromImage(x, y float64) (float64, float64) {
	return x*l.Scale + l.OffX, y*l.Scale + l.OffY
}

// detectorInput letterboxes img into the detector's [1,3,240,320] tensor,
// RGB, (p−127)/128.
func detectorInput(img *image.RGBA) (inference.Tensor, Letterbox) {
	lb := NewLetterbox(img.Rect.Dx(), img.Rect.Dy(), DetectWidth, DetectHeight)
	canvas := image.NewRGBA(image.Rect(0, 0, DetectWidth, DetectHeight))
	fill(canvas, color.RGBA{letterboxPad, letterboxPad, letterboxPad, 0xFF})
	ox, oy := int(lb.OffX), int(lb.OffY)
	resizeInto(canvas.SubImage(image.Rect(ox, oy, ox+lb.W, oy+lb.H)).(*image.RGBA), img, img.Rect)
	return inference.Tensor{
		Name:  "input",
		Shape: []int64{1, 3, DetectHeight, DetectWidth},
		Data:  chwData(canvas, func(p uint8) float32 { return (float32(p) - 127) / 128 }),
	}, lb
}

// Detection is one face found by the detector.
type Detection struct {
	Box   Box     // image pixels
	Score float64 // face-class probability
}

// DecodeDetections turns the detector outputs into detections in image
// pixels: scores holds n (background, face) probability pairs and boxes n
// normalised corner boxes (x1, y1, x2, y2) over the detector input (the
// exported graph decodes the anchors itself). Candidates under
// scoreThreshold are dropped, the rest go through NMS, and boxes are
// clipped to the w×h image.
func DecodeDetections(scores, boxes []float32, lb Letterbox, w, h int, scoreThreshold, iou float64) ([]Detection, error) {
	if len(scores)%2 != 0 || len(boxes)%4 != 0 || len(scores)/2 != len(boxes)/4 {
		return nil, fmt.Errorf("%w: detector outputs of %d scores and %d box values", inference.ErrBadInput, len(scores), len(boxes))
	}
	var cands []Detection
	for i := 0; i < len(scores)/2; i++ {
		s := float64(scores[2*i+1])
		if s < scoreThreshold {
			continue
		}
		x1, y1 := lb.ToImage(float64(boxes[4*i])*DetectWidth, float64(boxes[4*i+1])*DetectHeight)
		x2, y2 := lb.ToImage(float64(boxes[4*i+2])*DetectWidth, float64(boxes[4*i+3])*DetectHeight)
		b := Box{
			X1: clamp(x1, 0, float64(w)), Y1: clamp(y1, 0, float64(h)),
			X2: clamp(x2, 0, float64(w)), Y2: clamp(y2, 0, float64(h)),
		}
		if b.W() < 1 || b.H() < 1 {
			continue
		}
		cands = append(cands, Detection{Box: b, Score: s})
	}
	return NMS(cands, iou), nil
}

// NMS is greedy non-maximum suppression: most confident first, dropping any
// detection whose IoU with a kept one exceeds iou. The result is ordered by
// descending score.
func NMS(dets []Detection, iou float64) []Detection {
	sorted := append([]Detection(nil), dets...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Score > sorted[j].Score })
	var keep []Detection
next:
	for _, d := range sorted {
		for _, k := range keep {
			if IoU(d.Box, k.Box) > iou {
				continue next
			}
		}
		keep = append(keep, d)
	}
	return keep
}

func clamp(v, lo, hi float64) float64 { return math.Min(math.Max(v, lo), hi) }

// squareBox is the square of side b.H() centred on b: the crop the
// landmark and liveness models were used with by their publisher.
func squareBox(b Box) Box {
	cx, cy, s := (b.X1+b.X2)/2, (b.Y1+b.Y2)/2, b.H()
	return Box{cx - s/2, cy - s/2, cx + s/2, cy + s/2}
}

// scaledCrop enlarges b by scale about its centre (less if the image is too
// small for it, keeping the aspect ratio), then shifts it inside the w×h
// image rather than cutting it, as the model publisher's reference code
// does. The result is clipped to the image.
func scaledCrop(b Box, scale float64, w, h int) image.Rectangle {
	bw, bh := math.Max(b.W(), 1), math.Max(b.H(), 1)
	scale = math.Min(scale, math.Min(float64(h-1)/bh, float64(w-1)/bw))
	nw, nh := bw*scale, bh*scale
	cx, cy := (b.X1+b.X2)/2, (b.Y1+b.Y2)/2
	x1, y1, x2, y2 := cx-nw/2, cy-nh/2, cx+nw/2, cy+nh/2
	if x1 < 0 {
		x2 -= x1
		x1 = 0
	}
	if y1 < 0 {
		y2 -= y1
		y1 = 0
	}
	if x2 > float64(w-1) {
		x1 -= x2 - float64(w-1)
		x2 = float64(w - 1)
	}
	if y2 > float64(h-1) {
		y1 -= y2 - float64(h-1)
		y2 = float64(h - 1)
	}
	r := image.Rect(int(math.Max(x1, 0)), int(math.Max(y1, 0)), int(x2), int(y2))
	return r.Intersect(image.Rect(0, 0, w, h))
}
