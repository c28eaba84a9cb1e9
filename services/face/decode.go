package face

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/draw"
	_ "image/jpeg" // JPEG decoder
	_ "image/png"  // PNG decoder
)

// Typed decode errors, checked with errors.Is. Check reports all three as
// FACE_IMAGE_UNREADABLE.
var (
	// ErrUnreadableImage: the bytes are not a JPEG or PNG image this package
	// can decode (corrupt, truncated, another format, empty).
	ErrUnreadableImage = errors.New("face: unreadable image")
	// ErrImageTooLarge: the encoded size or the pixel count is over the
	// limits; such images are refused before their pixels are decoded.
	ErrImageTooLarge = errors.New("face: image too large")
	// ErrImageTooSmall: a side is shorter than Limits.MinSide.
	ErrImageTooSmall = errors.New("face: image too small")
)

// Limits bound what Decode accepts. Zero fields take the defaults.
type Limits struct {
	// MaxBytes is the largest encoded image accepted (default 15 MiB).
	MaxBytes int
	// MaxPixels is the largest width×height accepted, checked from the
	// header before decoding (default 40 megapixels: a 12 MP phone photo
	// decodes to 48 MB of RGBA).
	MaxPixels int
	// MinSide is the shortest accepted width or height (default 64 px).
	MinSide int
}

// Default limits; see Limits.
const (
	DefaultMaxBytes  = 15 << 20
	DefaultMaxPixels = 40_000_000
	DefaultMinSide   = 64
)

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxPixels <= 0 {
		l.MaxPixels = DefaultMaxPixels
	}
	if l.MinSide <= 0 {
		l.MinSide = DefaultMinSide
	}
	return l
}

// Decode decodes a JPEG or PNG image within lim, applies the EXIF
// orientation of a JPEG (so the result is upright as a viewer shows it) and
// returns it as RGBA with its origin at (0,0).
func Decode(data []byte, lim Limits) (*image.RGBA, error) {
	lim = lim.withDefaults()
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: no bytes", ErrUnreadableImage)
	}
	if len(data) > lim.MaxBytes {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrImageTooLarge, len(data), lim.MaxBytes)
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnreadableImage, err)
	}
	if format != "jpeg" && format != "png" {
		return nil, fmt.Errorf("%w: format %s is not JPEG or PNG", ErrUnreadableImage, format)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, fmt.Errorf("%w: empty image", ErrUnreadableImage)
	}
	if int64(cfg.Width)*int64(cfg.Height) > int64(lim.MaxPixels) {
		return nil, fmt.Errorf("%w: %dx%d pixels, limit %d", ErrImageTooLarge, cfg.Width, cfg.Height, lim.MaxPixels)
	}
	if cfg.Width < lim.MinSide || cfg.Height < lim.MinSide {
		return nil, fmt.Errorf("%w: %dx%d, minimum side %d", ErrImageTooSmall, cfg.Width, cfg.Height, lim.MinSide)
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnreadableImage, err)
	}
	rgba := toRGBA(img)
	if format == "jpeg" {
		rgba = orient(rgba, JPEGOrientation(data))
	}
	return rgba, nil
}

// toRGBA returns img as *image.RGBA with origin (0,0), copying only when
// needed.
func toRGBA(img image.Image) *image.RGBA {
	if r, ok := img.(*image.RGBA); ok && r.Rect.Min == (image.Point{}) {
		return r
	}
	b := img.Bounds()
	out := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(out, out.Rect, img, b.Min, draw.Src)
	return out
}

// JPEGOrientation returns the EXIF Orientation tag (1..8) of a JPEG, or 1
// when there is none or the data is not a JPEG. It reads only the APP1 Exif
// segment's IFD0, which is where cameras write the tag.
func JPEGOrientation(data []byte) int {
	if len(data) < 4 || data[0] != 0xFF || data[1] != 0xD8 {
		return 1
	}
	i := 2
	for i+4 <= len(data) {
		if data[i] != 0xFF {
			return 1
		}
		marker := data[i+1]
		if marker == 0xFF { // fill byte
			i++
			continue
		}
		if marker == 0xDA || marker == 0xD9 { // start of scan / end of image: no more metadata
			return 1
		}
		if marker >= 0xD0 && marker <= 0xD7 || marker == 0x01 { // markers without a length
			i += 2
			continue
		}
		n := int(binary.BigEndian.Uint16(data[i+2:]))
		if n < 2 || i+2+n > len(data) {
			return 1
		}
		seg := data[i+4 : i+2+n]
		if marker == 0xE1 && len(seg) >= 6 && string(seg[:6]) == "Exif\x00\x00" {
			if o := exifOrientation(seg[6:]); o != 0 {
				return o
			}
		}
		i += 2 + n
	}
	return 1
}

// exifOrientation reads tag 0x0112 from IFD0 of a TIFF structure; 0 when
// absent or malformed.
func exifOrientation(t []byte) int {
	if len(t) < 8 {
		return 0
	}
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 0
	}
	if bo.Uint16(t[2:]) != 42 {
		return 0
	}
	ifd := int(bo.Uint32(t[4:]))
	if ifd < 8 || ifd+2 > len(t) {
		return 0
	}
	count := int(bo.Uint16(t[ifd:]))
	for k := 0; k < count; k++ {
		e := ifd + 2 + 12*k
		if e+12 > len(t) {
			return 0
		}
		if bo.Uint16(t[e:]) != 0x0112 {
			continue
		}
		typ, n := bo.Uint16(t[e+2:]), bo.Uint32(t[e+4:])
		if typ != 3 || n != 1 { // SHORT, one value, stored in the first 2 bytes of the value field
			return 0
		}
		if v := int(bo.Uint16(t[e+8:])); v >= 1 && v <= 8 {
			return v
		}
		return 0
	}
	return 0
}

// orient returns src transformed so that an image stored with EXIF
// orientation o displays upright. 1 (or an unknown value) returns src.
func orient(src *image.RGBA, o int) *image.RGBA {
	if o < 2 || o > 8 {
		return src
	}
	w, h := src.Rect.Dx(), src.Rect.Dy()
	dw, dh := w, h
	if o >= 5 { // 5..8 swap the axes
		dw, dh = h, w
	}
	dst := image.NewRGBA(image.Rect(0, 0, dw, dh))
	for y := 0; y < dh; y++ {
		for x := 0; x < dw; x++ {
			var sx, sy int
			switch o {
			case 2: // mirrored horizontally
				sx, sy = w-1-x, y
			case 3: // rotated 180°
				sx, sy = w-1-x, h-1-y
			case 4: // mirrored vertically
				sx, sy = x, h-1-y
			case 5: // transposed
				sx, sy = y, x
			case 6: // needs a 90° clockwise turn
				sx, sy = y, h-1-x
			case 7: // transversed
				sx, sy = w-1-y, h-1-x
			case 8: // needs a 90° counter-clockwise turn
				sx, sy = w-1-y, x
			}
			copy(dst.Pix[y*dst.Stride+4*x:y*dst.Stride+4*x+4], src.Pix[sy*src.Stride+4*sx:sy*src.Stride+4*sx+4])
		}
	}
	return dst
}
