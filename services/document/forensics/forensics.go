// Package forensics computes image-integrity signals for document photos:
// pure functions over the raw file bytes and the decoded image, no I/O.
//
// Signals (names as policies see them, all prefixed "image."):
//
//   - image.jpeg_quality (number, unit "quality", 1..100): the IJG quality
//     whose scaled standard luminance table is nearest to the file's
//     luminance DQT table (inverse of libjpeg's jpeg_set_quality). Under
//     MinJPEGQuality: DOC_IMAGE_LOW_JPEG_QUALITY.
//   - image.jpeg_tables_standard (flag): the DQT tables are exactly IJG
//     tables at that quality. False (tables written by Photoshop, other
//     editors, or a camera's own encoder): DOC_IMAGE_CUSTOM_QUANT_TABLES
//     (info: many phones use their own tables too).
//   - image.ela_ratio (number, unit "ratio"): error-level analysis. The image
//     is re-encoded with image/jpeg at probe qualities 30, 40, … up to 20
//     under its estimated quality, and at each the mean absolute luminance
//     difference is taken per 16×16 block; the ratio is the largest block
//     level over the median block level (floored at ELAFloor grey levels),
//     and the signal is the largest ratio over the probes. In a genuine photo
//     the error follows the content (text edges over paper) and the ratio
//     stays moderate; when most of the image was already compressed at about
//     the probe quality, it barely changes there while a region pasted in
//     with another history changes much more. Absent when the estimated
//     quality is under 50 (no probe) or the image is under 16×16 px.
//     Over MaxELARatio: DOC_IMAGE_EDITED_REGION.
//   - image.exif_present (flag): the JPEG has an APP1 Exif segment.
//   - image.editor_software (flag, only with Exif): the Exif IFD0 Software
//     tag (0x0131) names an image editor (EditorNames):
//     DOC_IMAGE_EDITOR_SOFTWARE.
//   - image.resolution_px_per_mm (number, unit "px/mm", named
//     image.resolution_dpi_equiv in the issue; 1 px/mm = 25.4 dpi): document
//     width in pixels over its physical width (TD1 85.6 mm, TD2 105 mm,
//     TD3 125 mm). Under MinPixelsPerMM: DOC_IMAGE_LOW_RESOLUTION.
//
// A PNG carries no JPEG compression history: for PNG input the JPEG, ELA
// and Exif signals are absent (not zero or false); only the resolution
// signal is emitted.
//
// Not measured: double compression with the same 8×8 grid (say q=90 saved
// again at q=70) leaves the last quality's tables in the file and
// recompresses uniformly, so neither the table estimate nor the ELA ratio
// sees it (measured: ELA ratio 7.8 single q70 vs 7.7 for q90→q70 at probe
// 60 before the probe cap, 6.5 vs 6.4 with it); that needs a DCT-histogram (double quantisation) detector.
package forensics

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"

	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
	"github.com/openekyc/ekyc/services/document/mrz"
	"github.com/openekyc/ekyc/services/reasons"
)

// Signal names.
const (
	SignalJPEGQuality    = "image.jpeg_quality"
	SignalTablesStandard = "image.jpeg_tables_standard"
	SignalELARatio       = "image.ela_ratio"
	SignalExifPresent    = "image.exif_present"
	SignalEditorSoftware = "image.editor_software"
	SignalPixelsPerMM    = "image.resolution_px_per_mm"
)

// Thresholds.
const (
	// MinJPEGQuality: an estimated quality under it is DOC_IMAGE_LOW_JPEG_QUALITY.
	MinJPEGQuality = 50
	// MaxELARatio: an ELA ratio over it is DOC_IMAGE_EDITED_REGION.
	MaxELARatio = 9.0
	// MinPixelsPerMM: fewer pixels per millimetre of document width is
	// DOC_IMAGE_LOW_RESOLUTION (6 px/mm ≈ 152 dpi; a TD3 page 750 px wide).
	MinPixelsPerMM = 6.0
)

// Physical document widths in millimetres (ICAO Doc 9303 formats).
const (
	WidthTD1MM = 85.6
	WidthTD2MM = 105.0
	WidthTD3MM = 125.0
)

// Image formats recognised from the leading bytes.
const (
	FormatJPEG = "jpeg"
	FormatPNG  = "png"
)

// FormatError reports input that is not a well-formed JPEG or PNG.
type FormatError struct{ Reason string }

func (e *FormatError) Error() string { return "forensics: malformed image: " + e.Reason }

// ErrUnsupportedFormat is returned for bytes that are neither JPEG nor PNG.
var ErrUnsupportedFormat = errors.New("forensics: not a JPEG or PNG image")

// JPEGInfo holds the JPEG-only measurements.
type JPEGInfo struct {
	// Quality is the estimated IJG quality of the luminance table, 1..100.
	Quality int
	// TablesStandard reports exact IJG tables at Quality.
	TablesStandard bool
	// LuminanceTable is the luminance DQT table in zig-zag order.
	LuminanceTable [64]int
	// ELA is the error-level analysis, nil when the image has no full block.
	ELA *ELA
	// Exif is the IFD0 of the Exif segment, nil when there is none.
	Exif *Exif
}

// Report is the result of Analyze.
type Report struct {
	Format        string
	Width, Height int
	// JPEG is nil for PNG input.
	JPEG *JPEGInfo
	// PixelsPerMM is the document width in pixels per millimetre; 0 (and
	// no signal) when the physical width was not given.
	PixelsPerMM float64
}

// Analyze measures data, an encoded document photo, and img, its decoded
// image (Analyze decodes data itself when img is nil). docWidthPx is the
// document's width in the image in pixels (≤ 0: the image width);
// docWidthMM is its physical width (WidthTD1MM, …; ≤ 0: no resolution
// signal). Malformed input gives a *FormatError or ErrUnsupportedFormat,
// never a panic.
func Analyze(data []byte, img image.Image, docWidthPx, docWidthMM float64) (*Report, error) {
	r := &Report{}
	var seg *jpegSegments
	switch {
	case len(data) >= 3 && data[0] == 0xFF && data[1] == markerSOI && data[2] == 0xFF:
		r.Format = FormatJPEG
		var err error
		if seg, err = parseJPEG(data); err != nil {
			return nil, err
		}
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		r.Format = FormatPNG
	default:
		return nil, ErrUnsupportedFormat
	}
	if img == nil {
		var err error
		if r.Format == FormatJPEG {
			img, err = jpeg.Decode(bytes.NewReader(data))
		} else {
			img, err = png.Decode(bytes.NewReader(data))
		}
		if err != nil {
			return nil, &FormatError{Reason: fmt.Sprintf("cannot decode %s: %v", r.Format, err)}
		}
	}
	b := img.Bounds()
	r.Width, r.Height = b.Dx(), b.Dy()
	if r.Width == 0 || r.Height == 0 {
		return nil, &FormatError{Reason: "empty image"}
	}

	if seg != nil {
		j := &JPEGInfo{LuminanceTable: *seg.tables[seg.lumaTable]}
		var chroma *[64]int
		if seg.chromaTabl >= 0 {
			if chroma = seg.tables[seg.chromaTabl]; chroma == nil {
				return nil, &FormatError{Reason: "JPEG has no chrominance quantisation table"}
			}
		}
		j.Quality, j.TablesStandard = estimateQuality(&j.LuminanceTable, chroma)
		var err error
		if j.ELA, err = probeELA(img, j.Quality); err != nil {
			return nil, fmt.Errorf("forensics: error-level analysis: %w", err)
		}
		if j.Exif, err = parseExif(seg.app1); err != nil {
			return nil, err
		}
		r.JPEG = j
	}

	if docWidthMM > 0 {
		if docWidthPx <= 0 {
			docWidthPx = float64(r.Width)
		}
		r.PixelsPerMM = docWidthPx / docWidthMM
	}
	return r, nil
}

// Signals returns the measurements as policy signals (see the package doc).
func (r *Report) Signals() []*ekycv1.Signal {
	var s []*ekycv1.Signal
	if j := r.JPEG; j != nil {
		s = append(s,
			number(SignalJPEGQuality, float64(j.Quality), "quality"),
			flag(SignalTablesStandard, j.TablesStandard))
		if j.ELA != nil {
			s = append(s, number(SignalELARatio, j.ELA.Ratio, "ratio"))
		}
		s = append(s, flag(SignalExifPresent, j.Exif != nil))
		if j.Exif != nil {
			s = append(s, flag(SignalEditorSoftware, j.Exif.Editor != ""))
		}
	}
	if r.PixelsPerMM > 0 {
		s = append(s, number(SignalPixelsPerMM, r.PixelsPerMM, "px/mm"))
	}
	return s
}

// ReasonCodes returns the reason code of every signal past its threshold.
func (r *Report) ReasonCodes() []string {
	var c []string
	if j := r.JPEG; j != nil {
		if j.Quality < MinJPEGQuality {
			c = append(c, reasons.DocImageLowJpegQuality)
		}
		if !j.TablesStandard {
			c = append(c, reasons.DocImageCustomQuantTables)
		}
		if j.ELA != nil && j.ELA.Ratio > MaxELARatio {
			c = append(c, reasons.DocImageEditedRegion)
		}
		if j.Exif != nil && j.Exif.Editor != "" {
			c = append(c, reasons.DocImageEditorSoftware)
		}
	}
	if r.PixelsPerMM > 0 && r.PixelsPerMM < MinPixelsPerMM {
		c = append(c, reasons.DocImageLowResolution)
	}
	return c
}

func flag(name string, v bool) *ekycv1.Signal {
	return &ekycv1.Signal{Name: name, Value: &ekycv1.Signal_Flag{Flag: v}}
}

func number(name string, v float64, unit string) *ekycv1.Signal {
	return &ekycv1.Signal{Name: name, Value: &ekycv1.Signal_Number{Number: v}, Unit: unit}
}

// WidthMM is the physical width of the document an MRZ format is printed on
// (TD1 cards, TD2 and MRV-B documents, TD3 passports and MRV-A visas).
func WidthMM(f mrz.Format) float64 {
	switch f {
	case mrz.FormatTD1:
		return WidthTD1MM
	case mrz.FormatTD2, mrz.FormatMRVB:
		return WidthTD2MM
	default:
		return WidthTD3MM
	}
}
