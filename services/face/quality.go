package face

import (
	"image"
	"math"

	"github.com/openekyc/ekyc/services/reasons"
)

// QualityThresholds is the quality gate. A face passes when every measure
// is inside its bounds; each failed bound adds its reason code.
type QualityThresholds struct {
	// MinInterOcular is the shortest accepted distance between the eye
	// centres in source pixels (FACE_TOO_SMALL). The aligned 112×112 face
	// has an inter-ocular distance of 35.2 px, so below about 32 px the
	// embedding model sees an upsampled face: interpolated, not measured
	// detail.
	MinInterOcular float64
	// MinFaceSize is the shortest accepted side of the detector box in
	// source pixels (FACE_TOO_SMALL).
	MinFaceSize float64
	// MinSharpness is the lowest accepted Quality.Sharpness (FACE_BLURRY).
	// Measured on the four test portraits: 600–1400 as they are; 42–76
	// after a Gaussian blur of σ = face size/50 (similarity to the sharp
	// original still 0.81–0.88); 10–12.5 after σ = face size/25, where the
	// similarity collapses to 0.11–0.58. 25 sits between the last two.
	MinSharpness float64
	// MinBrightness and MaxBrightness bound the mean luma (0..255) of the
	// face box (FACE_TOO_DARK, FACE_TOO_BRIGHT). The test portraits measure
	// 107–152.
	MinBrightness, MaxBrightness float64
	// MaxYaw and MaxRoll bound the head pose in degrees, as estimated from
	// the landmarks (FACE_POSE). Yaw is approximate (see Pose).
	MaxYaw, MaxRoll float64
}

// DefaultQuality is the gate used unless WithQuality says otherwise.
var DefaultQuality = QualityThresholds{
	MinInterOcular: 32,
	MinFaceSize:    64,
	MinSharpness:   25,
	MinBrightness:  50,
	MaxBrightness:  210,
	MaxYaw:         30,
	MaxRoll:        25,
}

// Quality is what the gate measured on one face and what it concluded.
type Quality struct {
	// Sharpness is the variance of the Laplacian of the aligned grey face,
	// contrast-normalised (see sharpness), over its central region (away
	// from the black borders an alignment near the image edge leaves).
	// Higher is sharper.
	Sharpness float64
	// Brightness is the mean luma (0..255) of the face box.
	Brightness float64
	// FaceSize is the shorter side of the detector box, in source pixels.
	FaceSize float64
	// InterOcular is the distance between the eye centres, source pixels.
	InterOcular float64
	// Yaw and Roll are the estimated head pose in degrees (see Pose).
	Yaw, Roll float64
	// Reasons are the FACE_* codes of the failed bounds, in a fixed order;
	// empty when the face passes.
	Reasons []string
}

// OK reports whether the face passed the gate.
func (q Quality) OK() bool { return len(q.Reasons) == 0 }

// sharpnessRegion is the part of the 112×112 aligned face the sharpness is
// measured on: eyebrows to chin, cheek to cheek, inside the template.
var sharpnessRegion = image.Rect(24, 32, 88, 104)

// sharpnessContrast is the grey-level standard deviation the aligned face
// is normalised to before its Laplacian is measured.
const sharpnessContrast = 50

// sharpness is the variance of the Laplacian over sharpnessRegion of the
// aligned face, after scaling its grey levels to a standard deviation of
// sharpnessContrast over that region: the Laplacian's variance grows with
// the square of the contrast, and a dark or flat-lit face is not a blurred
// one (that is FACE_TOO_DARK's business).
func sharpness(aligned *image.RGBA) float64 {
	g := grey(aligned)
	var sum, sq float64
	n := 0
	for y := sharpnessRegion.Min.Y; y < sharpnessRegion.Max.Y; y++ {
		for x := sharpnessRegion.Min.X; x < sharpnessRegion.Max.X; x++ {
			v := g[y*AlignedSize+x]
			sum += v
			sq += v * v
			n++
		}
	}
	mean := sum / float64(n)
	sd := math.Sqrt(math.Max(sq/float64(n)-mean*mean, 0))
	if sd < 1 { // a flat patch: no detail at all
		return 0
	}
	k := sharpnessContrast / sd
	return k * k * LaplacianVariance(g, AlignedSize, AlignedSize, sharpnessRegion)
}

// Pose estimates yaw and roll in degrees from 68 landmarks. Roll is the
// angle of the line through the eye centres. Yaw comes from where the nose
// tip (30) sits between the face contour's ends (0 and 16), measured along
// the eye line: in the middle for a frontal face, and for a head modelled
// as a cylinder, at sin(yaw) of the half-width off the middle. It is a
// coarse estimate (±10° or so), enough to tell a frontal face from a
// profile.
func Pose(lm []Point) (yaw, roll float64) {
	five, ok := FivePoints(lm)
	if !ok {
		return 0, 0
	}
	le, re := five[0], five[1]
	theta := math.Atan2(re.Y-le.Y, re.X-le.X)
	ux, uy := math.Cos(theta), math.Sin(theta)
	along := func(p Point) float64 { return p.X*ux + p.Y*uy }
	l, r, n := along(lm[0]), along(lm[16]), along(lm[30])
	if r-l <= 0 {
		return 0, theta * 180 / math.Pi
	}
	s := clamp(2*(n-l)/(r-l)-1, -1, 1)
	return math.Asin(s) * 180 / math.Pi, theta * 180 / math.Pi
}

// assessQuality measures one face. aligned is its 112×112 alignment.
func assessQuality(img *image.RGBA, box Box, lm []Point, five [5]Point, aligned *image.RGBA, t QualityThresholds) Quality {
	q := Quality{
		Sharpness:   sharpness(aligned),
		Brightness:  meanLuma(img, boxRect(box)),
		FaceSize:    math.Min(box.W(), box.H()),
		InterOcular: dist(five[0], five[1]),
	}
	q.Yaw, q.Roll = Pose(lm)
	if q.InterOcular < t.MinInterOcular || q.FaceSize < t.MinFaceSize {
		q.Reasons = append(q.Reasons, reasons.FaceTooSmall)
	}
	if q.Sharpness < t.MinSharpness {
		q.Reasons = append(q.Reasons, reasons.FaceBlurry)
	}
	if q.Brightness < t.MinBrightness {
		q.Reasons = append(q.Reasons, reasons.FaceTooDark)
	}
	if q.Brightness > t.MaxBrightness {
		q.Reasons = append(q.Reasons, reasons.FaceTooBright)
	}
	if math.Abs(q.Yaw) > t.MaxYaw || math.Abs(q.Roll) > t.MaxRoll {
		q.Reasons = append(q.Reasons, reasons.FacePose)
	}
	return q
}
