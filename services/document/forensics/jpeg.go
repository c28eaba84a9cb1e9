package forensics

import (
	"encoding/binary"
	"fmt"
)

// JPEG markers this package reads.
const (
	markerSOI  = 0xD8
	markerEOI  = 0xD9
	markerSOS  = 0xDA
	markerDQT  = 0xDB
	markerAPP1 = 0xE1
)

// stdLuminance and stdChrominance are the example tables of ITU-T T.81
// Annex K.1 in zig-zag order (the order DQT stores them in), which the IJG
// library (libjpeg, and Go's image/jpeg) scales by the quality setting.
var stdLuminance = [64]int{
	16, 11, 12, 14, 12, 10, 16, 14, 13, 14, 18, 17, 16, 19, 24, 40,
	26, 24, 22, 22, 24, 49, 35, 37, 29, 40, 58, 51, 61, 60, 57, 51,
	56, 55, 64, 72, 92, 78, 64, 68, 87, 69, 55, 56, 80, 109, 81, 87,
	95, 98, 103, 104, 103, 62, 77, 113, 121, 112, 100, 120, 92, 101, 103, 99,
}

var stdChrominance = [64]int{
	17, 18, 18, 24, 21, 24, 47, 26, 26, 47, 99, 66, 56, 66, 99, 99,
	99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
	99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
	99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
}

// ijgTable returns base scaled to quality q (1..100) the way libjpeg's
// jpeg_set_quality does with force_baseline: scale 5000/q under 50, 200-2q
// from 50, entries rounded and clamped to 1..255.
func ijgTable(base *[64]int, q int) [64]int {
	scale := 200 - 2*q
	if q < 50 {
		scale = 5000 / q
	}
	var t [64]int
	for i, v := range base {
		t[i] = min(max((v*scale+50)/100, 1), 255)
	}
	return t
}

// jpegSegments is what parseJPEG extracts from the marker segments before
// the first scan.
type jpegSegments struct {
	tables     [4]*[64]int // DQT tables by destination id, zig-zag order
	lumaTable  int         // destination id used by the first frame component
	chromaTabl int         // destination id used by the second component, -1 if none
	app1       [][]byte    // APP1 payloads (after the length field)
}

// parseJPEG walks the marker segments of a JPEG stream up to the first SOS
// (or EOI). It never decodes entropy-coded data.
func parseJPEG(data []byte) (*jpegSegments, error) {
	if len(data) < 4 || data[0] != 0xFF || data[1] != markerSOI {
		return nil, &FormatError{Reason: "missing JPEG SOI marker"}
	}
	seg := &jpegSegments{chromaTabl: -1}
	sawFrame := false
	for p := 2; ; {
		if p >= len(data) {
			return nil, &FormatError{Reason: "JPEG stream ends before the first scan"}
		}
		if data[p] != 0xFF {
			return nil, &FormatError{Reason: fmt.Sprintf("expected a marker at offset %d", p)}
		}
		for p < len(data) && data[p] == 0xFF { // fill bytes
			p++
		}
		if p >= len(data) {
			return nil, &FormatError{Reason: "JPEG stream ends inside a marker"}
		}
		m := data[p]
		p++
		switch {
		case m == markerEOI:
			return nil, &FormatError{Reason: "JPEG stream has no scan"}
		case m == 0x01 || (m >= 0xD0 && m <= 0xD7): // no length field
			continue
		}
		if p+2 > len(data) {
			return nil, &FormatError{Reason: "JPEG segment length truncated"}
		}
		n := int(binary.BigEndian.Uint16(data[p:]))
		if n < 2 || p+n > len(data) {
			return nil, &FormatError{Reason: fmt.Sprintf("JPEG segment 0x%02X has a bad length %d", m, n)}
		}
		payload := data[p+2 : p+n]
		p += n
		switch {
		case m == markerSOS:
			if seg.tables[seg.lumaTable] == nil {
				return nil, &FormatError{Reason: "JPEG has no luminance quantisation table"}
			}
			if !sawFrame {
				return nil, &FormatError{Reason: "JPEG scan before any frame header"}
			}
			return seg, nil
		case m == markerDQT:
			if err := parseDQT(payload, &seg.tables); err != nil {
				return nil, err
			}
		case m == markerAPP1:
			seg.app1 = append(seg.app1, payload)
		case m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC: // SOFn
			if sawFrame {
				continue
			}
			if len(payload) < 6 {
				return nil, &FormatError{Reason: "JPEG frame header too short"}
			}
			nc := int(payload[5])
			if nc < 1 || len(payload) < 6+3*nc {
				return nil, &FormatError{Reason: "JPEG frame header has a bad component count"}
			}
			for i := 0; i < nc && i < 2; i++ {
				tq := int(payload[6+3*i+2])
				if tq > 3 {
					return nil, &FormatError{Reason: "JPEG component names a quantisation table over 3"}
				}
				if i == 0 {
					seg.lumaTable = tq
				} else {
					seg.chromaTabl = tq
				}
			}
			sawFrame = true
		}
	}
}

func parseDQT(b []byte, tables *[4]*[64]int) error {
	for len(b) > 0 {
		pq, tq := b[0]>>4, int(b[0]&0x0F)
		b = b[1:]
		if pq > 1 || tq > 3 {
			return &FormatError{Reason: "DQT has a bad precision or destination"}
		}
		size := 64 * (1 + int(pq))
		if len(b) < size {
			return &FormatError{Reason: "DQT table truncated"}
		}
		var t [64]int
		for i := range t {
			if pq == 0 {
				t[i] = int(b[i])
			} else {
				t[i] = int(binary.BigEndian.Uint16(b[2*i:]))
			}
			if t[i] == 0 {
				return &FormatError{Reason: "DQT has a zero quantiser"}
			}
		}
		tables[tq] = &t
		b = b[size:]
	}
	return nil
}

// estimateQuality inverts IJG scaling: it returns the quality 1..100 whose
// scaled standard luminance table is nearest (sum of absolute differences)
// to luma, and whether the tables are exactly IJG tables at that quality
// (the chrominance table too, when there is one).
func estimateQuality(luma, chroma *[64]int) (quality int, standard bool) {
	best := -1
	for q := 1; q <= 100; q++ {
		t := ijgTable(&stdLuminance, q)
		d := 0
		for i := range t {
			d += abs(t[i] - luma[i])
		}
		if best < 0 || d < best { // ties keep the lower quality
			best, quality = d, q
		}
	}
	standard = best == 0
	if standard && chroma != nil {
		standard = ijgTable(&stdChrominance, quality) == *chroma
	}
	return quality, standard
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
