package forensics

import (
	"bytes"
	"encoding/binary"
	"strings"
)

// Exif IFD0 tags read by parseExif.
const (
	tagMake     = 0x010F
	tagModel    = 0x0110
	tagSoftware = 0x0131
	tagDateTime = 0x0132
)

// EditorNames are the (case-insensitive) substrings of the Exif Software tag
// that name an image editor rather than a camera's firmware.
var EditorNames = []string{
	"photoshop", "gimp", "paint.net", "pixelmator", "affinity", "lightroom",
	"snapseed", "picsart", "canva", "photopea", "paintshop", "corel",
	"fotor", "facetune", "luminar", "capture one", "darktable", "krita",
}

// Exif is what Analyze reads from the IFD0 of a JPEG's APP1 Exif segment.
type Exif struct {
	Make, Model, Software, DateTime string
	// Editor is the EditorNames entry found in Software, "" if none.
	Editor string
}

var exifHeader = []byte("Exif\x00\x00")

// parseExif returns the IFD0 ASCII tags of the first APP1 Exif payload, or
// nil if none of the payloads is Exif. A malformed Exif segment is reported
// as a *FormatError.
func parseExif(app1 [][]byte) (*Exif, error) {
	for _, p := range app1 {
		if !bytes.HasPrefix(p, exifHeader) {
			continue // XMP or other APP1 use
		}
		tiff := p[len(exifHeader):]
		if len(tiff) < 8 {
			return nil, &FormatError{Reason: "Exif TIFF header truncated"}
		}
		var bo binary.ByteOrder
		switch string(tiff[:2]) {
		case "II":
			bo = binary.LittleEndian
		case "MM":
			bo = binary.BigEndian
		default:
			return nil, &FormatError{Reason: "Exif TIFF header has a bad byte order"}
		}
		if bo.Uint16(tiff[2:]) != 42 {
			return nil, &FormatError{Reason: "Exif TIFF header has a bad magic number"}
		}
		off := int(bo.Uint32(tiff[4:]))
		if off < 8 || off+2 > len(tiff) {
			return nil, &FormatError{Reason: "Exif IFD0 offset out of range"}
		}
		n := int(bo.Uint16(tiff[off:]))
		if off+2+12*n > len(tiff) {
			return nil, &FormatError{Reason: "Exif IFD0 truncated"}
		}
		ex := &Exif{}
		for i := range n {
			e := tiff[off+2+12*i:]
			tag, typ, count := bo.Uint16(e), bo.Uint16(e[2:]), int(bo.Uint32(e[4:]))
			if typ != 2 { // ASCII only
				continue
			}
			var dst *string
			switch tag {
			case tagMake:
				dst = &ex.Make
			case tagModel:
				dst = &ex.Model
			case tagSoftware:
				dst = &ex.Software
			case tagDateTime:
				dst = &ex.DateTime
			default:
				continue
			}
			var v []byte
			if count <= 4 {
				v = e[8 : 8+count]
			} else {
				vo := int(bo.Uint32(e[8:]))
				if vo < 0 || count < 0 || vo > len(tiff) || count > len(tiff)-vo {
					return nil, &FormatError{Reason: "Exif tag value out of range"}
				}
				v = tiff[vo : vo+count]
			}
			*dst = strings.TrimSpace(string(bytes.TrimRight(v, "\x00")))
		}
		low := strings.ToLower(ex.Software)
		for _, name := range EditorNames {
			if strings.Contains(low, name) {
				ex.Editor = name
				break
			}
		}
		return ex, nil
	}
	return nil, nil
}
