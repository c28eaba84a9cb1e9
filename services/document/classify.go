package document

import (
	"image"
	"math"
	"strings"

	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
	"github.com/openekyc/ekyc/services/document/forensics"
	"github.com/openekyc/ekyc/services/document/mrz"
	"github.com/openekyc/ekyc/services/reasons"
	"github.com/openekyc/ekyc/services/signal"
)

// Document classes (the doc.class signal), from the MRZ document code's
// first letter (ICAO 9303: P passports; I identity cards; A and C other
// official travel documents; V visas).
const (
	ClassPassport       = "passport"
	ClassIDCard         = "id_card"
	ClassTravelDocument = "travel_document"
	ClassVisa           = "visa"
	ClassUnknown        = "unknown"
)

// Classes lists the document classes, for policy validation.
var Classes = []string{ClassPassport, ClassIDCard, ClassTravelDocument, ClassVisa, ClassUnknown}

// Classification signal names.
const (
	SignalClass        = "doc.class"
	SignalCode         = "doc.code"
	SignalIssuingState = "doc.issuing_state"
	// SignalWidthRatio is the image's width in millimetres (from the MRZ's
	// character pitch, 2.54 mm in ICAO 9303) over the nominal width of the
	// MRZ format's document (ID-1 85.6, ID-2 105, ID-3 125 mm).
	SignalWidthRatio = "doc.width_ratio"
	// SignalAspectRatio is the image's width over its height.
	SignalAspectRatio = "doc.aspect_ratio"
	// SignalPortraitPresent says whether a face was found on the document.
	SignalPortraitPresent = "doc.portrait_present"
)

// Geometry thresholds.
const (
	// MinWidthRatio: below it the image is narrower than a document of the
	// MRZ's format can be (the MRZ does not belong to a document of its
	// declared size, or the picture is cut).
	MinWidthRatio = 0.9
	// TightCropRatio: up to it the image is taken as cropped to the
	// document, and its aspect ratio must be the format's within
	// AspectTolerance.
	TightCropRatio  = 1.15
	AspectTolerance = 0.12
)

// ClassOf maps an MRZ document code to its class.
func ClassOf(code string) string {
	switch {
	case strings.HasPrefix(code, "P"):
		return ClassPassport
	case strings.HasPrefix(code, "I"):
		return ClassIDCard
	case strings.HasPrefix(code, "A"), strings.HasPrefix(code, "C"):
		return ClassTravelDocument
	case strings.HasPrefix(code, "V"):
		return ClassVisa
	default:
		return ClassUnknown
	}
}

// classSignals are the class, code and issuing state of a parsed MRZ.
func classSignals(m *mrz.MRZ) []*ekycv1.Signal {
	return []*ekycv1.Signal{
		signal.Text(SignalClass, ClassOf(m.DocumentCode)),
		signal.Text(SignalCode, m.DocumentCode),
		signal.Text(SignalIssuingState, m.IssuingState),
	}
}

// sizeMM returns the nominal size of the format's document (ISO/IEC 7810
// ID-1, ID-2, ID-3).
func sizeMM(f mrz.Format) (w, h float64) {
	switch f {
	case mrz.FormatTD1:
		h = 53.98
	case mrz.FormatTD2, mrz.FormatMRVB:
		h = 74
	default:
		h = 88
	}
	return forensics.WidthMM(f), h
}

// ImageGeometry is what a document photo says about the document's size.
type ImageGeometry struct {
	// Width and Height of the image in pixels.
	Width, Height int
	// PitchPx is the MRZ's character pitch in pixels (0: unknown).
	PitchPx float64
	// Portrait is whether a face was found on the image; PortraitKnown
	// whether face detection ran.
	Portrait, PortraitKnown bool
}

// ImageSignals classifies a document photo against its MRZ's format: the
// width ratio and aspect ratio (DOC_FORMAT_SIZE_MISMATCH when the image is
// narrower than the format's document, or cropped to a document whose
// shape is not the format's), and the portrait (DOC_PORTRAIT_MISSING: every
// ICAO 9303 document carries the holder's portrait).
func ImageSignals(f mrz.Format, g ImageGeometry) (sigs []*ekycv1.Signal, codes []string) {
	if g.Width <= 0 || g.Height <= 0 {
		return nil, nil
	}
	aspect := float64(g.Width) / float64(g.Height)
	sigs = append(sigs, signal.Number(SignalAspectRatio, aspect, "ratio"))
	if g.PitchPx > 0 {
		wmm, hmm := sizeMM(f)
		widthMM := float64(g.Width) / g.PitchPx * mrzPitchMM
		ratio := widthMM / wmm
		sigs = append(sigs, signal.Number(SignalWidthRatio, ratio, "ratio"))
		switch {
		case ratio < MinWidthRatio:
			codes = append(codes, reasons.DocFormatSizeMismatch)
		case ratio <= TightCropRatio && math.Abs(aspect/(wmm/hmm)-1) > AspectTolerance:
			codes = append(codes, reasons.DocFormatSizeMismatch)
		}
	}
	if g.PortraitKnown {
		sigs = append(sigs, signal.Flag(SignalPortraitPresent, g.Portrait))
		if !g.Portrait {
			codes = append(codes, reasons.DocPortraitMissing)
		}
	}
	return sigs, codes
}

// mrzPitchMM is the MRZ character pitch (ICAO 9303 Part 3: 10
// characters per 25.4 mm).
const mrzPitchMM = 2.54

// documentWidthPx is the width in pixels of a document of format f whose
// MRZ pitch is pitchPx (0 when the pitch is unknown).
func documentWidthPx(f mrz.Format, pitchPx float64) float64 {
	if pitchPx <= 0 {
		return 0
	}
	return forensics.WidthMM(f) / mrzPitchMM * pitchPx
}

// Evidence is what a document photo adds to the document check: the
// geometry signals (ImageSignals; none without a parsed MRZ) and the image
// forensics (none when the bytes are not a JPEG/PNG forensics can read).
type Evidence struct {
	Geometry       []*ekycv1.Signal
	GeometryCodes  []string
	Forensics      []*ekycv1.Signal
	ForensicsCodes []string
}

// ImageEvidence classifies the photo data (decoded as img) against its MRZ
// m (nil when none was parsed) and runs the forensics at the document's
// scale measured by g.PitchPx. g.Width and g.Height are taken from img.
func ImageEvidence(data []byte, img image.Image, m *mrz.MRZ, g ImageGeometry) Evidence {
	var ev Evidence
	widthMM, widthPx := 0.0, 0.0
	if m != nil {
		b := img.Bounds()
		g.Width, g.Height = b.Dx(), b.Dy()
		widthMM, widthPx = forensics.WidthMM(m.Format), documentWidthPx(m.Format, g.PitchPx)
		ev.Geometry, ev.GeometryCodes = ImageSignals(m.Format, g)
	}
	if rep, err := forensics.Analyze(data, img, widthPx, widthMM); err == nil {
		ev.Forensics, ev.ForensicsCodes = rep.Signals(), rep.ReasonCodes()
	}
	return ev
}
