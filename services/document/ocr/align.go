package ocr

import (
	"math"
	"sort"
	"strings"

	"github.com/openekyc/ekyc/services/document/mrz"
)

// The probability-aware path of the correction. Once the greedy read has
// given the format, every line is decoded again under the format's grammar:
// a CTC Viterbi alignment that emits exactly the format's number of
// characters, each from the character set its position allows (digits in
// dates and check digits, letters in codes and names, the document codes
// ICAO 9303 allows in the first position). Every position then carries the
// recogniser's probability for each character, and the check digits are
// resolved by the cheapest set of changes (the sum of -log probability
// ratios) that satisfies them, the composite check jointly over every field
// it covers. Characters without a check digit (names, the optional data of
// visas) take the most likely character their position allows.

// alphabet is the MRZ alphabet; frames index it from column 1 (column 0 is
// the CTC gap: blank plus space).
const alphabet = "<0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"

const nAlpha = len(alphabet)

var alphaIndex = func() (m [256]int8) {
	for i := range m {
		m[i] = -1
	}
	for i := 0; i < nAlpha; i++ {
		m[alphabet[i]] = int8(i)
	}
	return m
}()

// frames are a line's recogniser output reduced to the MRZ alphabet: per
// CTC step, the gap probability and each MRZ character's (summed over the
// classes that read as it).
type frames struct {
	steps int
	p     []float32 // steps × (1+nAlpha)
	// col is each step's centre column in the line crop; gray is the crop
	// (RecHeight × w, -1 black to 1 white), for the glyph-height hint.
	col  []float32
	gray []float32
	w    int
	// pxPerCol is the image pixels per crop column (along the line).
	pxPerCol float64
}

func (f frames) row(t int) []float32 { return f.p[t*(1+nAlpha) : (t+1)*(1+nAlpha)] }

// reduceFrames reduces steps×NumClasses probabilities to frames.
func reduceFrames(probs []float32, steps int) frames {
	f := frames{steps: steps, p: make([]float32, steps*(1+nAlpha))}
	for t := 0; t < steps; t++ {
		row := probs[t*NumClasses : (t+1)*NumClasses]
		out := f.row(t)
		out[0] = row[0] + row[NumClasses-1]
		for cls, ch := range mrzClasses {
			out[1+int(alphaIndex[ch])] += row[cls]
		}
	}
	return f
}

// cell is one aligned MRZ position: per alphabet character, the highest
// probability the recogniser gave it over the steps aligned to the position.
type cell [nAlpha]float32

// charset is the set of characters a position allows.
type charset [nAlpha]bool

func setOf(chars string) (s charset) {
	for i := 0; i < len(chars); i++ {
		s[alphaIndex[chars[i]]] = true
	}
	return s
}

var (
	setLetters = setOf("<ABCDEFGHIJKLMNOPQRSTUVWXYZ")
	setDigits  = setOf("<0123456789")
	setAny     = setOf(alphabet)
	setSex     = setOf("<MFX")
)

// allowed returns, per line and column, the characters the layout allows.
func (lay layout) allowed() [][]charset {
	out := make([][]charset, lay.lines)
	for i := range out {
		out[i] = make([]charset, lay.length)
		for j := range out[i] {
			out[i][j] = setAny
		}
	}
	for _, fd := range lay.fields {
		s := setAny
		switch fd.class {
		case classAlpha:
			s = setLetters
		case classNum, classCheck:
			s = setDigits
		case classSex:
			s = setSex
		}
		for col := fd.start; col < fd.end; col++ {
			out[fd.line][col] = s
		}
	}
	// ICAO 9303 document codes: P for passports (TD3), A, C or I for
	// TD1/TD2 cards, V for visas.
	switch lay.format {
	case mrz.FormatTD3:
		out[0][0] = setOf("P")
	case mrz.FormatTD1, mrz.FormatTD2:
		out[0][0] = setOf("ACI")
	case mrz.FormatMRVA, mrz.FormatMRVB:
		out[0][0] = setOf("V")
	}
	return out
}

const logFloor = 1e-7

// fillerPrior weighs the filler's probability in name fields.
const fillerPrior = 3

// align decodes a line's frames into exactly len(allowed) characters, each
// from its position's set, by the most likely CTC path (Viterbi over the
// blank/character states; a character may follow another without a blank
// step). It returns nil when the line has fewer steps than characters.
func align(f frames, allowed []charset) ([]cell, []float32) {
	n, T := len(allowed), f.steps
	if n == 0 || T < n {
		return nil, nil
	}
	S := 2*n + 1 // even: blank before position s/2 (or after the last); odd: position s/2
	emit := func(t, s int) float64 {
		row := f.row(t)
		if s%2 == 0 {
			return math.Log(float64(row[0]) + logFloor)
		}
		best := 0.0
		for c, ok := range allowed[s/2] {
			if ok && float64(row[1+c]) > best {
				best = float64(row[1+c])
			}
		}
		return math.Log(best + logFloor)
	}
	negInf := math.Inf(-1)
	prev, cur := make([]float64, S), make([]float64, S)
	back := make([]uint8, T*S) // 0 stay, 1 from s-1, 2 from s-2
	for s := range prev {
		prev[s] = negInf
	}
	prev[0], prev[1] = emit(0, 0), emit(0, 1)
	for t := 1; t < T; t++ {
		for s := 0; s < S; s++ {
			best, from := prev[s], uint8(0)
			if s >= 1 && prev[s-1] > best {
				best, from = prev[s-1], 1
			}
			if s%2 == 1 && s >= 3 && prev[s-2] > best {
				best, from = prev[s-2], 2
			}
			if math.IsInf(best, -1) {
				cur[s] = negInf
				continue
			}
			cur[s] = best + emit(t, s)
			back[t*S+s] = from
		}
		prev, cur = cur, prev
	}
	s := S - 1
	if prev[S-2] > prev[S-1] {
		s = S - 2
	}
	if math.IsInf(prev[s], -1) {
		return nil, nil
	}
	cells := make([]cell, n)
	centres := make([]float32, n)
	counts := make([]float32, n)
	for t := T - 1; t >= 0; t-- {
		if s%2 == 1 {
			row := f.row(t)
			c := &cells[s/2]
			for k := range c {
				c[k] = max(c[k], row[1+k])
			}
			if len(f.col) == T {
				centres[s/2] += f.col[t]
				counts[s/2]++
			}
		}
		if t > 0 {
			s -= int(back[t*S+s])
		}
	}
	for j := range centres {
		if counts[j] > 0 {
			centres[j] /= counts[j]
		}
	}
	return cells, centres
}

// pos is one character of a block.
type pos struct{ line, col int }

// change sets one position to a character at a cost.
type change struct {
	at   pos
	to   byte
	cost float64
}

// candidate is a set of changes and their total cost.
type candidate struct {
	changes []change
	cost    float64
}

// grid is a block being corrected: the current characters, what each
// position allows and the recogniser's probabilities.
type grid struct {
	buf     [][]byte
	cells   [][]cell
	allowed [][]charset
}

// costOf is the cost of reading p.to instead of the current character: the
// log ratio of their probabilities; the usual letter/digit confusions cost
// at most maxConfusionCost even when the recogniser gave them nothing.
const maxConfusionCost = 8.0

func (g *grid) costOf(p pos, to byte) float64 {
	c := g.cells[p.line][p.col]
	from := g.buf[p.line][p.col]
	cost := math.Log(float64(c[alphaIndex[from]])+logFloor) - math.Log(float64(c[alphaIndex[to]])+logFloor)
	switch {
	case toLetter[to] == from || toLetter[from] == to:
		// The closest pairs (O/0, I/1, Z/2, A/4, S/5, G/6, B/8) are
		// cheaper than the looser ones (Q/0, D/0, T/1, ...).
		cost = min(cost, maxConfusionCost/2)
	case toDigit[from] == to || toDigit[to] == from:
		cost = min(cost, maxConfusionCost)
	}
	return max(cost, 0)
}

// alternatives lists, cheapest first, the other characters the positions
// allow, at most perPos per position and limit in all.
func (g *grid) alternatives(ps []pos, perPos, limit int) []change {
	var all []change
	for _, p := range ps {
		var here []change
		for k, ok := range g.allowed[p.line][p.col] {
			to := alphabet[k]
			if !ok || to == g.buf[p.line][p.col] {
				continue
			}
			if cost := g.costOf(p, to); cost < 12 {
				here = append(here, change{p, to, cost})
			}
		}
		sort.Slice(here, func(i, j int) bool { return here[i].cost < here[j].cost })
		all = append(all, here[:min(perPos, len(here))]...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].cost < all[j].cost })
	return all[:min(limit, len(all))]
}

// candidates enumerates sets of at most maxChanges alternatives (one per
// position) and returns up to k of them, cheapest first, that valid accepts
// (the empty set included when it does). valid sees the grid with the
// changes applied.
func (g *grid) candidates(alts []change, maxChanges, k int, valid func() bool) []candidate {
	var out []candidate
	var chosen []change
	var walk func(from int, cost float64)
	walk = func(from int, cost float64) {
		if valid == nil || valid() {
			out = append(out, candidate{append([]change(nil), chosen...), cost})
		}
		if len(chosen) == maxChanges {
			return
		}
		for i := from; i < len(alts); i++ {
			a := alts[i]
			if g.buf[a.at.line][a.at.col] != g.orig(a.at, chosen) {
				continue // this position is already changed
			}
			old := g.buf[a.at.line][a.at.col]
			g.buf[a.at.line][a.at.col] = a.to
			chosen = append(chosen, a)
			walk(i+1, cost+a.cost)
			chosen = chosen[:len(chosen)-1]
			g.buf[a.at.line][a.at.col] = old
		}
	}
	walk(0, 0)
	sort.SliceStable(out, func(i, j int) bool { return out[i].cost < out[j].cost })
	return out[:min(k, len(out))]
}

// orig returns the character at p before the changes in chosen.
func (g *grid) orig(p pos, chosen []change) byte {
	for _, c := range chosen {
		if c.at == p {
			return 0 // changed
		}
	}
	return g.buf[p.line][p.col]
}

func (g *grid) span(line, start, end int) []pos {
	out := make([]pos, 0, end-start)
	for col := start; col < end; col++ {
		out = append(out, pos{line, col})
	}
	return out
}

// choice is one way to read a group of positions: their characters, and
// the cost of reading them so.
type choice struct {
	chars []byte
	cost  float64
}

// choices turns candidates over ps into choices (the characters of ps with
// each candidate applied).
func (g *grid) choices(ps []pos, cands []candidate) []choice {
	out := make([]choice, 0, len(cands))
	for _, c := range cands {
		chars := make([]byte, len(ps))
		for i, p := range ps {
			chars[i] = g.buf[p.line][p.col]
			for _, ch := range c.changes {
				if ch.at == p {
					chars[i] = ch.to
				}
			}
		}
		out = append(out, choice{chars, c.cost})
	}
	return out
}

func (g *grid) write(ps []pos, chars []byte) {
	for i, p := range ps {
		g.buf[p.line][p.col] = chars[i]
	}
}

// correctCells corrects a block aligned to lay: the most likely allowed
// character per position, filler runs repaired, then the check digits
// resolved by the cheapest changes.
func correctCells(lay layout, cells [][]cell, raw []string) Correction {
	// Names are mostly letters and fillers; where the recogniser hesitates
	// between a filler and a letter (OCR-B's '<' reads as K at times), the
	// filler is the likelier: its probability counts fillerPrior times.
	for _, fd := range lay.fields {
		if !fd.name {
			continue
		}
		for col := fd.start; col < fd.end; col++ {
			c := &cells[fd.line][col]
			c[0] = min(1, c[0]*fillerPrior)
		}
	}
	g := &grid{cells: cells, allowed: lay.allowed(), buf: make([][]byte, lay.lines)}
	for i := range g.buf {
		g.buf[i] = make([]byte, lay.length)
		for j := range g.buf[i] {
			best, bestP := byte('<'), float32(-1)
			for k, ok := range g.allowed[i][j] {
				if ok && cells[i][j][k] > bestP {
					best, bestP = alphabet[k], cells[i][j][k]
				}
			}
			g.buf[i][j] = best
		}
	}
	for _, fd := range lay.fields {
		if fd.name || fd.class == classAny {
			repairFillers(g.buf[fd.line][fd.start:fd.end], fd.name)
		}
	}
	checkOK := func(fd field) func() bool {
		return func() bool {
			cd := g.buf[fd.line][fd.check]
			s := g.buf[fd.line][fd.start:fd.end]
			if cd == '<' && fd.class == classAny && allFiller(s) {
				return true // unused optional field
			}
			return cd >= '0' && cd <= '9' && mrz.CheckDigit(string(s)) == cd
		}
	}
	inComposite := func(fd field) bool {
		if lay.composite == nil {
			return false
		}
		for _, sp := range lay.composite.spans {
			if sp[0] == fd.line && fd.start >= sp[1] && fd.end <= sp[2] {
				return true
			}
		}
		return false
	}
	// Groups of positions the composite covers, each with its cheapest
	// reads.
	type group struct {
		ps      []pos
		choices []choice
	}
	var groups []group
	// Fields with their own check digit, each resolved alone; the few
	// cheapest valid reads are kept for the composite.
	for _, fd := range lay.fields {
		if fd.check < 0 {
			continue
		}
		if lay.format == mrz.FormatTD1 && fd.line == 0 && g.buf[0][fd.check] == '<' {
			continue // TD1 long document number: the check digit sits in the optional data
		}
		ps := append(g.span(fd.line, fd.start, fd.end), pos{fd.line, fd.check})
		cands := g.candidates(g.alternatives(ps, 3, 14), 3, 4, checkOK(fd))
		if len(cands) == 0 {
			continue // unreadable: the parser reports the failed check
		}
		ch := g.choices(ps, cands)
		g.write(ps, ch[0].chars)
		if inComposite(fd) {
			groups = append(groups, group{ps, ch})
		}
	}
	cp := lay.composite
	if cp == nil {
		return g.result(lay, raw)
	}
	// Optional data without its own check digit, and the composite digit
	// itself: their cheapest reads, valid or not.
	for _, fd := range lay.fields {
		if fd.class == classAny && fd.check < 0 && inComposite(fd) {
			ps := g.span(fd.line, fd.start, fd.end)
			groups = append(groups, group{ps, g.choices(ps, g.candidates(g.alternatives(ps, 2, 16), 2, 8, nil))})
		}
	}
	cps := []pos{{cp.line, cp.col}}
	groups = append(groups, group{cps, g.choices(cps, g.candidates(g.alternatives(cps, 3, 3), 1, 4, nil))})
	compositeOK := func() bool {
		var sb strings.Builder
		for _, sp := range cp.spans {
			sb.Write(g.buf[sp[0]][sp[1]:sp[2]])
		}
		cd := g.buf[cp.line][cp.col]
		return cd >= '0' && cd <= '9' && mrz.CheckDigit(sb.String()) == cd
	}
	if compositeOK() {
		return g.result(lay, raw)
	}
	// The cheapest combination of the groups' reads that satisfies the
	// composite (branch and bound; a few hundred combinations at most).
	pick := make([]int, len(groups))
	var best []int
	bestCost := math.Inf(1)
	var walk func(i int, cost float64)
	walk = func(i int, cost float64) {
		if cost >= bestCost {
			return
		}
		if i == len(groups) {
			for k, gr := range groups {
				g.write(gr.ps, gr.choices[pick[k]].chars)
			}
			if compositeOK() {
				best, bestCost = append(best[:0], pick...), cost
			}
			return
		}
		for k, c := range groups[i].choices {
			pick[i] = k
			walk(i+1, cost+c.cost)
		}
	}
	walk(0, 0)
	for k, gr := range groups {
		i := 0
		if best != nil {
			i = best[k]
		}
		if len(gr.choices) > 0 {
			g.write(gr.ps, gr.choices[i].chars)
		}
	}
	return g.result(lay, raw)
}

func (g *grid) result(lay layout, raw []string) Correction {
	out := Correction{Format: lay.format}
	for i, b := range g.buf {
		out.Lines = append(out.Lines, string(b))
		r := ""
		if i < len(raw) {
			r = normalise(raw[i])
		}
		out.Changes += mrz.EditDistance(r, string(b))
	}
	return out
}

// correctFrames corrects a block read by the recogniser: the format from
// the greedy read (Correct), then every line aligned to it and corrected
// with its probabilities (correctCells). It falls back to Correct when a
// line cannot be aligned.
//
// pitch is the mean character pitch of the aligned lines in image pixels (0
// when the lines were not aligned).
func correctFrames(raw []string, fr []frames) (c Correction, pitch float64) {
	c = Correct(raw)
	if len(raw) != len(fr) {
		return c, 0
	}
	lines := make([]string, len(raw))
	for i, l := range raw {
		if lines[i] = normalise(l); lines[i] == "" {
			return c, 0
		}
	}
	lay, ok := pickLayout(lines)
	if !ok || lay.lines != len(fr) {
		return c, 0
	}
	allowed := lay.allowed()
	cells := make([][]cell, lay.lines)
	for i := range cells {
		a, centres := align(fr[i], allowed[i])
		if a == nil {
			return c, 0
		}
		heightHint(fr[i], a, centres, allowed[i])
		cells[i] = a
		if n := len(centres); n > 1 {
			pitch += float64(centres[n-1]-centres[0]) / float64(n-1) * fr[i].pxPerCol / float64(len(cells))
		}
	}
	return correctCells(lay, cells, raw), pitch
}

// heightHint uses a property of OCR-B (ISO 1073-2): digits are taller than
// capital letters (about 7%). Where a position's reading is one of the
// letter/digit lookalike pairs (O/0, I/1, Z/2, A/4, S/5, G/6, B/8), the
// height of its ink, against the median heights of the line's surely read
// letters and digits, decides which of the two gets the pair's higher
// probability. Nothing changes when the line has too few sure letters or
// digits, or their heights do not differ.
func heightHint(f frames, cells []cell, centres []float32, allowed []charset) {
	n := len(cells)
	if len(f.col) != f.steps || f.w == 0 || n < 2 {
		return
	}
	pitch := (centres[n-1] - centres[0]) / float32(n-1)
	if pitch <= 2 {
		return
	}
	heights := make([]float64, n)
	for j, c := range centres {
		lo, hi := int(c-pitch*0.45), int(c+pitch*0.45)
		lo, hi = max(lo, 0), min(hi, f.w-1)
		// The ink height, with sub-pixel edges: per row the darkest pixel
		// of the window, scaled from light (0) to dark (1).
		var h float64
		for v := 0; v < RecHeight; v++ {
			row := f.gray[v*f.w : (v+1)*f.w]
			dark := float32(1)
			for u := lo; u <= hi; u++ {
				dark = min(dark, row[u])
			}
			h += math.Min(1, math.Max(0, (0.6-float64(dark))/1.2))
		}
		heights[j] = h
	}
	best := func(j int) (byte, float32) {
		var b byte
		var p float32
		for k, ok := range allowed[j] {
			if ok && cells[j][k] > p {
				b, p = alphabet[k], cells[j][k]
			}
		}
		return b, p
	}
	var letters, digits []float64
	for j := range cells {
		ch, p := best(j)
		if p < 0.9 || heights[j] == 0 {
			continue
		}
		switch {
		case ch >= '0' && ch <= '9':
			digits = append(digits, heights[j])
		case ch >= 'A' && ch <= 'Z' && ch != 'Q' && ch != 'J':
			letters = append(letters, heights[j])
		}
	}
	if len(letters) < 3 || len(digits) < 3 {
		return
	}
	lh, dh := median(letters), median(digits)
	if dh-lh < 0.8 {
		return
	}
	for j := range cells {
		ch, _ := best(j)
		var letter, digit byte
		switch {
		case toLetter[ch] != 0:
			letter, digit = toLetter[ch], ch
		case ch >= 'A' && ch <= 'Z':
			for d, l := range toLetter {
				if l == ch {
					letter, digit = ch, d
				}
			}
		}
		if letter == 0 || heights[j] == 0 || !allowed[j][alphaIndex[letter]] || !allowed[j][alphaIndex[digit]] {
			continue
		}
		h, mid, dead := heights[j], (lh+dh)/2, (dh-lh)/8
		var favour, other byte
		switch {
		case h > mid+dead:
			favour, other = digit, letter
		case h < mid-dead:
			favour, other = letter, digit
		default:
			continue
		}
		fi, oi := alphaIndex[favour], alphaIndex[other]
		hi, lo := max(cells[j][fi], cells[j][oi]), min(cells[j][fi], cells[j][oi])
		cells[j][fi], cells[j][oi] = hi, lo/2
	}
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}
