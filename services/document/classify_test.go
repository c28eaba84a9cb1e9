package document

import (
	"testing"

	"github.com/stretchr/testify/require"

	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"

	"github.com/openekyc/ekyc/services/document/mrz"
	"github.com/openekyc/ekyc/services/reasons"
)

func TestClassOf(t *testing.T) {
	for code, want := range map[string]string{"P": ClassPassport, "PD": ClassPassport, "I": ClassIDCard, "ID": ClassIDCard,
		"AC": ClassTravelDocument, "C": ClassTravelDocument, "V": ClassVisa, "X": ClassUnknown, "": ClassUnknown} {
		require.Equal(t, want, ClassOf(code), code)
	}
}

// TestImageSignalsThresholds moves the geometry signals across their
// thresholds: a passport page at 300 dpi (pitch 2.54 mm = 30 px) is fine; the
// same MRZ on an image of card width, or on a tight crop with a card's
// aspect ratio, is DOC_FORMAT_SIZE_MISMATCH; no portrait is
// DOC_PORTRAIT_MISSING.
func TestImageSignalsThresholds(t *testing.T) {
	pitch := 2.54 * 300 / 25.4
	num := func(sigs []*ekycv1.Signal, name string) float64 {
		for _, s := range sigs {
			if s.GetName() == name {
				return s.GetNumber()
			}
		}
		t.Fatalf("no signal %s", name)
		return 0
	}
	cases := []struct {
		name     string
		format   mrz.Format
		geometry ImageGeometry
		ratio    float64
		codes    []string
	}{
		{"passport page", mrz.FormatTD3, ImageGeometry{Width: 1476, Height: 1039, PitchPx: pitch, Portrait: true, PortraitKnown: true}, 1.0, nil},
		{"photo with background", mrz.FormatTD3, ImageGeometry{Width: 2400, Height: 1800, PitchPx: pitch, Portrait: true, PortraitKnown: true}, 1.63, nil},
		{"TD3 MRZ on a card-wide image", mrz.FormatTD3, ImageGeometry{Width: 1011, Height: 638, PitchPx: pitch, Portrait: true, PortraitKnown: true}, 0.68, []string{reasons.DocFormatSizeMismatch}},
		{"tight crop, wrong shape", mrz.FormatTD3, ImageGeometry{Width: 1476, Height: 2078, PitchPx: pitch, Portrait: true, PortraitKnown: true}, 1.0, []string{reasons.DocFormatSizeMismatch}},
		{"card page", mrz.FormatTD1, ImageGeometry{Width: 1011, Height: 638, PitchPx: pitch, Portrait: true, PortraitKnown: true}, 1.0, nil},
		{"no portrait", mrz.FormatTD1, ImageGeometry{Width: 1011, Height: 638, PitchPx: pitch, PortraitKnown: true}, 1.0, []string{reasons.DocPortraitMissing}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sigs, codes := ImageSignals(c.format, c.geometry)
			require.InDelta(t, c.ratio, num(sigs, SignalWidthRatio), 0.02)
			require.Equal(t, c.codes, codes)
		})
	}
	sigs, codes := ImageSignals(mrz.FormatTD1, ImageGeometry{Width: 1011, Height: 638})
	require.Len(t, sigs, 1, "no pitch, no face detection: the aspect ratio only")
	require.Empty(t, codes)
}
