package screening

import (
	"cmp"
	"slices"
	"strings"

	"github.com/openekyc/ekyc/services/screening/countries"
	"github.com/openekyc/ekyc/services/screening/names"
)

// qtok is a prepared query token.
type qtok struct {
	text, alt   string
	key, altKey string
	// fold and foldKey: names.VariantFold of text and its key.
	fold, foldKey string
	abjad         bool
	class         names.Class
	pos           int
	w             float32
	// known: the token is a word of the lists' vocabulary (in at least
	// KnownWordMinDF names) — a real name, so a near miss to another word is
	// less likely a typo of it.
	known bool
}

type prepared struct {
	toks      []qtok
	words     int
	total     float32 // sum of the weights of the word tokens
	dob       DateSpec
	countries []string
	docs      []string
	typ       EntityType
}

type expansion struct {
	v int32
	s float32
}

type candidate struct {
	nid int32
	bs  float32
}

type pairCand struct {
	i, j int8
	j2   int8 // second candidate token of a compound, -1 otherwise
	i2   int8 // second query token of a compound, -1 otherwise
	kind uint8
	s    float32
	w    float32
}

const (
	pairWord uint8 = iota
	pairInitial
	pairLegal
)

// scratch holds the per-query working memory; it is pooled per index.
type scratch struct {
	gen        uint32
	simStamp   [names.MaxTokens][]uint32
	simVal     [names.MaxTokens][]float32
	exp        [names.MaxTokens][]expansion
	accGen     []uint32
	acc        []float32
	mask       []uint32
	touched    []int32
	triGen     []uint32
	triCnt     []uint8
	triTouched []int32
	entGen     []uint32
	entSlot    []int32
	cands      []candidate
	pairs      []pairCand
	ents       []entHit
	q          *prepared
}

type entHit struct {
	eid   int32
	nid   int32
	score float64
}

func newScratch(ix *Index) *scratch {
	return &scratch{
		accGen:  make([]uint32, len(ix.names)),
		acc:     make([]float32, len(ix.names)),
		mask:    make([]uint32, len(ix.names)),
		triGen:  make([]uint32, len(ix.vocab)),
		triCnt:  make([]uint8, len(ix.vocab)),
		entGen:  make([]uint32, len(ix.entities)),
		entSlot: make([]int32, len(ix.entities)),
	}
}

// next starts a new query: stamps older than gen are stale.
func (sc *scratch) next() {
	sc.gen++
	if sc.gen == 0 { // wrapped: clear every stamp
		for i := range sc.simStamp {
			clear(sc.simStamp[i])
		}
		clear(sc.accGen)
		clear(sc.triGen)
		clear(sc.entGen)
		sc.gen = 1
	}
	for i := range sc.exp {
		sc.exp[i] = sc.exp[i][:0]
	}
	sc.touched = sc.touched[:0]
	sc.cands = sc.cands[:0]
	sc.ents = sc.ents[:0]
}

// Screen screens one query against the index.
func (ix *Index) Screen(q Query, opts ...ScreenOption) (*Result, error) {
	cfg := screenConfig{limit: DefaultLimit, minScore: DefaultMinScore}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	if err := q.Validate(); err != nil {
		return nil, err
	}
	p := ix.prepare(q)
	res := &Result{Hits: []Hit{}, Tokens: []string{}}
	for _, v := range ix.versions {
		res.Versions = append(res.Versions, v.String())
	}
	for _, t := range p.toks {
		if t.class != names.LegalForm {
			res.Tokens = append(res.Tokens, t.text)
		}
	}
	if p.words == 0 {
		return res, nil
	}
	sc := ix.scratchPool.Get().(*scratch)
	defer func() {
		sc.q = nil
		ix.scratchPool.Put(sc)
	}()
	sc.next()
	sc.q = p

	for qi := range p.toks {
		if p.toks[qi].class == names.Word {
			ix.expand(sc, qi)
		}
	}
	ix.block(sc, p)
	res.Candidates = len(sc.cands)

	// score the candidate names, keep the best per entity
	for _, c := range sc.cands {
		nr := &ix.names[c.nid]
		s := ix.scoreName(sc, p, nr)
		if nr.kind == NameWeak {
			s *= ix.scoring.WeakAliasFactor
		}
		e := nr.entity
		if s <= 0 && !ix.docMatch(p, e) {
			continue
		}
		if sc.entGen[e] != sc.gen {
			sc.entGen[e] = sc.gen
			sc.entSlot[e] = int32(len(sc.ents))
			sc.ents = append(sc.ents, entHit{eid: e, nid: c.nid, score: s})
			continue
		}
		h := &sc.ents[sc.entSlot[e]]
		if s > h.score || (s == h.score && c.nid < h.nid) {
			h.score, h.nid = s, c.nid
		}
	}
	for _, eh := range sc.ents {
		ent := &ix.entities[eh.eid]
		if cfg.sources != nil && !cfg.sources[ent.Source] {
			continue
		}
		comp := ix.evidence(p, eh.eid)
		comp.Name = eh.score
		total := comp.Name + comp.DOB + comp.Country + comp.Document + comp.Type
		total = min(max(total, 0), 1)
		if total < cfg.minScore {
			continue
		}
		nr := &ix.names[eh.nid]
		res.Hits = append(res.Hits, Hit{
			EntityID:    ent.ID,
			Source:      ent.Source,
			Ref:         ent.Ref,
			Type:        ent.Type,
			Name:        ent.PrimaryName(),
			MatchedName: ent.Names[nr.name].Full,
			MatchedKind: nr.kind,
			Score:       round4(total),
			Components: Components{Name: round4(comp.Name), DOB: comp.DOB, Country: comp.Country,
				Document: comp.Document, Type: comp.Type},
			ListVersion: ix.versions[ix.entList[eh.eid]].String(),
			Entity:      ent,
		})
	}
	slices.SortFunc(res.Hits, func(a, b Hit) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		return strings.Compare(a.EntityID, b.EntityID)
	})
	if len(res.Hits) > cfg.limit {
		res.Hits = res.Hits[:cfg.limit]
	}
	return res, nil
}

func round4(x float64) float64 {
	return float64(int64(x*10000+0.5)) / 10000
}

// prepare tokenises the query and folds its secondary data.
func (ix *Index) prepare(q Query) *prepared {
	toks := names.Tokenize(q.Name, tokenizeFlags(q.Type))
	p := &prepared{toks: make([]qtok, len(toks)), dob: q.DOB, typ: q.Type}
	for i, t := range toks {
		qt := qtok{text: t.Text, key: names.Key(t.Text), abjad: t.Abjad(), class: t.Class, pos: t.Pos}
		if !qt.abjad {
			qt.fold = names.VariantFold(t.Text)
			qt.foldKey = names.Key(qt.fold)
		}
		if len(t.Alts) > 0 {
			qt.alt = t.Alts[0]
			qt.altKey = names.Key(qt.alt)
		}
		switch t.Class {
		case names.LegalForm:
			qt.w = float32(ix.scoring.LegalWeight)
		case names.Initial:
			qt.w = float32(ix.scoring.InitialWeight)
		default:
			qt.w = ix.idfUnknown
			if v, ok := ix.vocabID[vocabKey(t.Text, t.Abjad())]; ok {
				qt.w = ix.vocab[v].idf
				qt.known = !qt.abjad && ix.vocab[v].df >= int32(ix.scoring.KnownWordMinDF)
			}
			p.words++
			p.total += qt.w
		}
		p.toks[i] = qt
	}
	for _, c := range q.Countries {
		if code, ok := countries.Code(c); ok && !slices.Contains(p.countries, code) {
			p.countries = append(p.countries, code)
		}
	}
	for _, d := range q.DocNumbers {
		if n := NormalizeDocument(d); len(n) >= minDocLen && !slices.Contains(p.docs, n) {
			p.docs = append(p.docs, n)
		}
	}
	return p
}

// spellingVariant reports whether query token q and vocabulary entry v are
// spellings of one name rather than two names: the same transliteration
// fold, or the same consonant skeleton of it and at most two edits apart
// (vowels or a doubled letter: MOHAMMED/MUHAMMAD, DMITRY/DMITRI; not
// MAHMOUD/MOHAMMAD).
func (ix *Index) spellingVariant(q *qtok, v int32) bool {
	e := &ix.vocab[v]
	if q.fold == "" || e.fold == "" {
		return false
	}
	return q.fold == e.fold || (names.Skeleton(q.fold) == names.Skeleton(e.fold) && names.WithinEdits(q.fold, e.fold, 2))
}

// sim is the similarity of query token qi and vocabulary entry v, cached
// for the query.
func (ix *Index) sim(sc *scratch, qi int, v int32) float32 {
	st := ix.simRow(sc, qi)
	if st[v] == sc.gen {
		return max(sc.simVal[qi][v], 0)
	}
	q := &sc.q.toks[qi]
	e := &ix.vocab[v]
	s := names.TokenSimilarityKeys(q.text, e.text, q.key, e.key, q.abjad, e.abjad)
	if q.alt != "" && s < 1 {
		s = max(s, names.TokenSimilarityKeys(q.alt, e.text, q.altKey, e.key, q.abjad, e.abjad))
	}
	if s < 1 && q.fold != "" && e.fold != "" {
		s = max(s, names.VariantSimilarity(q.fold, e.fold, q.foldKey, e.foldKey))
	}
	st[v] = sc.gen
	sc.simVal[qi][v] = float32(s)
	return float32(s)
}

// cachedSim is the similarity computed for query token qi and vocabulary
// entry v during expansion, or 0: a list token that shares neither the
// phonetic key nor enough trigrams with a query token is not compared.
func (ix *Index) cachedSim(sc *scratch, qi int, v int32) float32 {
	if st := sc.simStamp[qi]; st != nil && st[v] == sc.gen {
		return max(sc.simVal[qi][v], 0)
	}
	return 0
}

// compoundPart marks, and reports, vocabulary entry v as the start or end
// of query token qi (or the reverse) for the compound pass: the cached
// similarity holds compoundMark.
const compoundMark = -1

func (ix *Index) markCompound(sc *scratch, qi int, v int32) {
	st := ix.simRow(sc, qi)
	if st[v] == sc.gen && sc.simVal[qi][v] > 0 {
		return // similar as a whole
	}
	st[v] = sc.gen
	sc.simVal[qi][v] = compoundMark
}

// simRow returns the similarity-cache stamps of query token qi, allocating
// the row on first use.
func (ix *Index) simRow(sc *scratch, qi int) []uint32 {
	st := sc.simStamp[qi]
	if st == nil {
		st = make([]uint32, len(ix.vocab))
		sc.simStamp[qi] = st
		sc.simVal[qi] = make([]float32, len(ix.vocab))
	}
	return st
}

func (ix *Index) isCompoundPart(sc *scratch, qi int, v int32) bool {
	st := sc.simStamp[qi]
	return st != nil && st[v] == sc.gen && sc.simVal[qi][v] == compoundMark
}

// expand finds the vocabulary entries that may match query token qi.
func (ix *Index) expand(sc *scratch, qi int) {
	q := &sc.q.toks[qi]
	add := func(v int32, s float32) {
		for _, e := range sc.exp[qi] {
			if e.v == v {
				return
			}
		}
		sc.exp[qi] = append(sc.exp[qi], expansion{v: v, s: s})
	}
	try := func(v int32) {
		if s := ix.sim(sc, qi, v); s > 0 {
			add(v, s)
		}
	}
	spellings := [2]string{q.text, q.alt}
	keys := [2]string{q.key, q.altKey}
	for k, text := range spellings {
		if text == "" {
			continue
		}
		for _, abjad := range [2]bool{false, true} {
			if v, ok := ix.vocabID[vocabKey(text, abjad)]; ok {
				try(v)
			}
		}
		if len(keys[k]) >= 2 {
			for _, v := range ix.keyIdx[keys[k]] {
				try(v)
			}
		}
		ix.trigramCandidates(sc, qi, text, add)
	}
	// best first, so that blocking credits a name with its best token
	slices.SortFunc(sc.exp[qi], func(a, b expansion) int { return cmp.Compare(b.s, a.s) })
}

// Blocking thresholds on trigrams: a vocabulary token is compared when its
// trigram Dice coefficient with the query token reaches minDice; one that
// is a prefix or suffix of the query token (or the reverse) and shares
// most of its trigrams is kept as a compound part.
const (
	minDice        = 0.3
	compoundCredit = 0.5
	minCompoundLen = 3
)

func (ix *Index) trigramCandidates(sc *scratch, qi int, text string, add func(int32, float32)) {
	sc.triTouched = sc.triTouched[:0]
	nq := 0
	forEachTrigram(text, func(c int) {
		nq++
		for _, v := range ix.triData[ix.triOff[c]:ix.triOff[c+1]] {
			if sc.triGen[v] != sc.gen {
				sc.triGen[v] = sc.gen
				sc.triCnt[v] = 0
				sc.triTouched = append(sc.triTouched, v)
			}
			if sc.triCnt[v] < 255 {
				sc.triCnt[v]++
			}
		}
	})
	for _, v := range sc.triTouched {
		shared := float64(sc.triCnt[v])
		sc.triGen[v] = sc.gen - 1 // reset for the next spelling of this query
		e := &ix.vocab[v]
		dice := 2 * shared / float64(nq+int(e.ntri))
		if dice >= minDice {
			if s := ix.sim(sc, qi, v); s > 0 {
				add(v, s)
				continue
			}
		}
		// compound part: the shorter token is the start or end of the longer
		short, long := e.text, text
		if len(short) > len(long) {
			short, long = long, short
		}
		if len(short) >= minCompoundLen && len(long) > len(short) &&
			shared >= float64(min(nq, int(e.ntri)))*0.6 &&
			(strings.HasPrefix(long, short) || strings.HasSuffix(long, short)) {
			ix.markCompound(sc, qi, v)
			add(v, compoundCredit)
		}
	}
}

// block accumulates, rarest query token first, the credit of every name
// holding an expansion of a query token, then keeps the best names.
func (ix *Index) block(sc *scratch, p *prepared) {
	var order [names.MaxTokens]int
	n := 0
	for qi := range p.toks {
		if p.toks[qi].class == names.Word {
			order[n] = qi
			n++
		}
	}
	slices.SortFunc(order[:n], func(a, b int) int { return cmp.Compare(p.toks[b].w, p.toks[a].w) })
	for _, qi := range order[:n] {
		bit := uint32(1) << uint(qi)
		w := p.toks[qi].w
		for _, e := range sc.exp[qi] {
			for _, nid := range ix.postings[e.v] {
				if sc.accGen[nid] != sc.gen {
					sc.accGen[nid] = sc.gen
					sc.acc[nid] = 0
					sc.mask[nid] = 0
					sc.touched = append(sc.touched, nid)
				}
				if sc.mask[nid]&bit == 0 {
					sc.mask[nid] |= bit
					sc.acc[nid] += e.s * w
				}
			}
		}
	}
	for _, nid := range sc.touched {
		nr := &ix.names[nid]
		bs := 2 * sc.acc[nid] / (p.total + nr.totalW)
		sc.cands = append(sc.cands, candidate{nid: nid, bs: bs})
	}
	// names of entities whose document number the query gives
	for _, d := range p.docs {
		for _, eid := range ix.docIdx[d] {
			for nid := range ix.namesOf(eid) {
				sc.cands = append(sc.cands, candidate{nid: int32(nid), bs: 2})
			}
		}
	}
	if len(sc.cands) > ix.candidates {
		selectTop(sc.cands, ix.candidates)
		sc.cands = sc.cands[:ix.candidates]
	}
}

// namesOf returns the range of name ids of entity eid (names are stored in
// entity order).
func (ix *Index) namesOf(eid int32) func(func(int) bool) {
	return func(yield func(int) bool) {
		lo, _ := slices.BinarySearchFunc(ix.names, eid, func(n nameRec, e int32) int { return cmp.Compare(n.entity, e) })
		for i := lo; i < len(ix.names) && ix.names[i].entity == eid; i++ {
			if !yield(i) {
				return
			}
		}
	}
}

// selectTop reorders c so that its first k elements have the highest bs
// (quickselect; ties broken by name id for determinism).
func selectTop(c []candidate, k int) {
	less := func(a, b candidate) bool { // a ranks before b
		if a.bs != b.bs {
			return a.bs > b.bs
		}
		return a.nid < b.nid
	}
	lo, hi := 0, len(c)-1
	for lo < hi {
		// median of three pivot
		mid := lo + (hi-lo)/2
		if less(c[mid], c[lo]) {
			c[mid], c[lo] = c[lo], c[mid]
		}
		if less(c[hi], c[lo]) {
			c[hi], c[lo] = c[lo], c[hi]
		}
		if less(c[hi], c[mid]) {
			c[hi], c[mid] = c[mid], c[hi]
		}
		pivot := c[mid]
		i, j := lo, hi
		for i <= j {
			for less(c[i], pivot) {
				i++
			}
			for less(pivot, c[j]) {
				j--
			}
			if i <= j {
				c[i], c[j] = c[j], c[i]
				i++
				j--
			}
		}
		switch {
		case k-1 <= j:
			hi = j
		case k-1 >= i:
			lo = i
		default:
			return
		}
	}
}

// scoreName scores one candidate name against the query (see README.md,
// "Name score").
func (ix *Index) scoreName(sc *scratch, p *prepared, nr *nameRec) float64 {
	ct := ix.toks[nr.off : nr.off+int32(nr.n)]
	qt := p.toks
	cfg := &ix.scoring
	pairs := sc.pairs[:0]
	for i := range qt {
		q := &qt[i]
		for j := range ct {
			c := &ct[j]
			switch {
			case q.class == names.LegalForm || c.class == names.LegalForm:
				if q.class == c.class && (ix.vocab[c.vocab].text == q.text || (c.alt >= 0 && ix.vocab[c.alt].text == q.text)) {
					pairs = append(pairs, pairCand{i: int8(i), j: int8(j), i2: -1, j2: -1, kind: pairLegal, s: 1, w: float32(cfg.LegalWeight)})
				}
			case q.class == names.Initial || c.class == names.Initial:
				if ix.vocab[c.vocab].text[0] == q.text[0] {
					w := float32(cfg.InitialWeight)
					pairs = append(pairs, pairCand{i: int8(i), j: int8(j), i2: -1, j2: -1, kind: pairInitial, s: 1, w: w})
				}
			default:
				s := ix.cachedSim(sc, i, c.vocab)
				if c.alt >= 0 && s < 1 {
					s = max(s, ix.cachedSim(sc, i, c.alt))
				}
				if s > 0 {
					// both weights estimate the rarity of the name part; the
					// lower one resists typos (a misspelt token is unique)
					pairs = append(pairs, pairCand{i: int8(i), j: int8(j), i2: -1, j2: -1, kind: pairWord, s: s, w: min(c.w, q.w)})
				}
			}
		}
	}
	// greedy assignment: most similar first, then heaviest; word pairs
	// before initials and legal forms at equal similarity
	slices.SortFunc(pairs, func(a, b pairCand) int {
		if c := cmp.Compare(b.s, a.s); c != 0 {
			return c
		}
		if c := cmp.Compare(a.kind, b.kind); c != 0 {
			return c
		}
		return cmp.Compare(b.w, a.w)
	})
	var qm, cm [names.MaxTokens]bool
	matched := pairs[:0:0]
	for _, pc := range pairs {
		if qm[pc.i] || cm[pc.j] {
			continue
		}
		qm[pc.i], cm[pc.j] = true, true
		matched = append(matched, pc)
	}
	sc.pairs = pairs[:0]
	matched = ix.compounds(sc, p, ct, &qm, &cm, matched)

	var num, den, info float64
	qlo, qhi, clo, chi := 255, -1, 255, -1
	nMatchedQ, nMatchedC := 0, 0
	mark := func(i, j int) {
		qlo, qhi = min(qlo, qt[i].pos), max(qhi, qt[i].pos)
		clo, chi = min(clo, int(ct[j].pos)), max(chi, int(ct[j].pos))
	}
	for _, m := range matched {
		switch m.kind {
		case pairLegal:
			w := float64(m.w)
			num += 2 * w
			den += 2 * w
			continue
		case pairInitial:
			full := float64(ct[m.j].w)
			if ct[m.j].class == names.Initial {
				full = float64(qt[m.i].w)
			}
			w := min(float64(m.w), full)
			num += 2 * w
			den += 2*w + cfg.InitialRestFactor*(full-w)
		default:
			w := float64(m.w)
			slope := cfg.TypoSlope
			if m.s < 1 && qt[m.i].known && m.j2 < 0 && m.i2 < 0 && !ix.spellingVariant(&qt[m.i], ct[m.j].vocab) {
				slope = cfg.KnownWordSlope
			}
			eff := 1 - slope*(1-float64(m.s))
			num += 2 * w * eff
			den += 2 * w
			info += w * eff
			if m.j2 >= 0 {
				mark(int(m.i), int(m.j2))
				nMatchedC++
			}
			if m.i2 >= 0 {
				mark(int(m.i2), int(m.j))
				nMatchedQ++
			}
		}
		mark(int(m.i), int(m.j))
		nMatchedQ++
		nMatchedC++
	}
	allQWords, allCWords := true, true
	for i := range qt {
		if qt[i].class == names.Word && !qm[i] {
			allQWords = false
		}
	}
	for j := range ct {
		if ct[j].class == names.Word && !cm[j] {
			allCWords = false
		}
	}
	// the mean weight of the matched words, for DiscountRarity
	var matchedW float64
	nMatchedW := 0
	for _, m := range matched {
		if m.kind == pairWord {
			matchedW += float64(m.w)
			nMatchedW++
			if m.j2 >= 0 {
				nMatchedW++
			}
		}
	}
	if nMatchedW > 0 {
		matchedW /= float64(nMatchedW)
	}
	discount := func(f, w float64) float64 {
		if matchedW <= 0 || cfg.DiscountRarity <= 1 {
			return f
		}
		r := (w/matchedW - 1) / (cfg.DiscountRarity - 1)
		r = min(max(r, 0), 1)
		return f + (1-f)*r
	}
	for i := range qt {
		if qm[i] {
			continue
		}
		w := float64(qt[i].w)
		if qt[i].class == names.LegalForm {
			den += w / 2
			continue
		}
		f := 1.0
		switch {
		case nMatchedQ >= 2 && qt[i].pos > qlo && qt[i].pos < qhi:
			f = discount(cfg.MiddleFactor, w)
		case allCWords && nMatchedC >= 2:
			f = discount(cfg.ExplainedFactor, w)
		}
		den += f * w
	}
	cUnmatchedWord := false
	person := ix.entities[nr.entity].Type == EntityPerson
	for j := range ct {
		if cm[j] {
			continue
		}
		w := float64(ct[j].w)
		if ct[j].class == names.LegalForm {
			den += w / 2
			continue
		}
		if ct[j].class == names.Word {
			cUnmatchedWord = true
		}
		// A listed person's middle names and patronymics are omitted in
		// everyday use whatever their rarity: the rarity fade of a token
		// between matched ones is for organisation names (PASNA
		// INTERNATIONAL).
		fade := discount
		if person {
			fade = func(f, _ float64) float64 { return f }
		}
		f := 1.0
		switch {
		case nMatchedC >= 2 && int(ct[j].pos) > clo && int(ct[j].pos) < chi:
			f = fade(cfg.MiddleFactor, w)
		case allQWords && nMatchedQ >= 2:
			// An unmatched name part at the edge may be the surname
			// (SVETLANA ALEKSEEV vs Svetlana Alekseevna BORODULINA): the
			// rarity fade applies to persons too.
			f = discount(cfg.ExplainedFactor, w)
		}
		den += f * w
	}
	if den <= 0 || info <= 0 {
		return 0
	}
	s := num / den
	// common tokens alone cannot carry a name: scale the score down when
	// the matched tokens carry too little information
	need := ix.minInfo
	if !cUnmatchedWord {
		need *= cfg.FullMatchInformation
	}
	if info < need {
		s *= info / need
	}
	return min(s, 1)
}

// compounds matches a query token with two adjacent unmatched list tokens
// (ABDULRAHMAN / ABDUL RAHMAN, BINLADEN / BIN LADEN) and two adjacent
// unmatched query tokens with one list token. Only pairs where blocking
// found one token to be the start or end of the other are tried.
func (ix *Index) compounds(sc *scratch, p *prepared, ct []tokRec, qm, cm *[names.MaxTokens]bool, matched []pairCand) []pairCand {
	qt := p.toks
	for i := range qt {
		if qm[i] || qt[i].class != names.Word {
			continue
		}
		for j := 0; j+1 < len(ct); j++ {
			if cm[j] || cm[j+1] || ct[j].class != names.Word || ct[j+1].class != names.Word {
				continue
			}
			if !ix.isCompoundPart(sc, i, ct[j].vocab) && !ix.isCompoundPart(sc, i, ct[j+1].vocab) {
				continue // blocking found neither as a part of the query token
			}
			a, b := &ix.vocab[ct[j].vocab], &ix.vocab[ct[j+1].vocab]
			if a.abjad != b.abjad || !compoundLengths(qt[i].text, qt[i].abjad, len(a.text)+len(b.text), a.abjad) {
				continue
			}
			s := names.TokenSimilarity(qt[i].text, a.text+b.text, qt[i].abjad, a.abjad)
			if s > 0 {
				qm[i], cm[j], cm[j+1] = true, true, true
				matched = append(matched, pairCand{i: int8(i), j: int8(j), j2: int8(j + 1), i2: -1,
					kind: pairWord, s: float32(s), w: ct[j].w + ct[j+1].w})
				break
			}
		}
	}
	for j := range ct {
		if cm[j] || ct[j].class != names.Word {
			continue
		}
		c := &ix.vocab[ct[j].vocab]
		for i := 0; i+1 < len(qt); i++ {
			if qm[i] || qm[i+1] || qt[i].class != names.Word || qt[i+1].class != names.Word || qt[i].abjad != qt[i+1].abjad {
				continue
			}
			if !ix.isCompoundPart(sc, i, ct[j].vocab) && !ix.isCompoundPart(sc, i+1, ct[j].vocab) {
				continue
			}
			if !compoundLengths(c.text, c.abjad, len(qt[i].text)+len(qt[i+1].text), qt[i].abjad) {
				continue
			}
			s := names.TokenSimilarity(qt[i].text+qt[i+1].text, c.text, qt[i].abjad, c.abjad)
			if s > 0 {
				qm[i], qm[i+1], cm[j] = true, true, true
				matched = append(matched, pairCand{i: int8(i), i2: int8(i + 1), j: int8(j), j2: -1,
					kind: pairWord, s: float32(s), w: ct[j].w})
				break
			}
		}
	}
	return matched
}

// compoundLengths reports whether a token of the given text can be
// similar to a concatenation of n letters: within a quarter of its length
// (an abjad skeleton may be up to half shorter than a Latin spelling).
func compoundLengths(text string, abjad bool, n int, otherAbjad bool) bool {
	l := len(text)
	switch {
	case abjad && !otherAbjad:
		return n >= l && n <= 2*l
	case otherAbjad && !abjad:
		return l >= n && l <= 2*n
	}
	d := l - n
	if d < 0 {
		d = -d
	}
	return d <= max(2, l/4)
}

// docMatch reports whether one of the query's document numbers is one of
// entity eid's.
func (ix *Index) docMatch(p *prepared, eid int32) bool {
	for _, d := range p.docs {
		if slices.Contains(ix.entDocs[eid], d) {
			return true
		}
	}
	return false
}

// evidence computes the secondary-evidence components for entity eid.
func (ix *Index) evidence(p *prepared, eid int32) Components {
	var c Components
	e := &ix.entities[eid]
	cfg := &ix.scoring
	if !p.dob.IsZero() && len(e.DOBs) > 0 {
		c.DOB = dobAdjustment(p.dob, e.DOBs, cfg)
	}
	if len(p.countries) > 0 && len(ix.entCountry[eid]) > 0 {
		c.Country = cfg.CountryClash
		for _, qc := range p.countries {
			if slices.Contains(ix.entCountry[eid], qc) {
				c.Country = cfg.CountryMatch
				break
			}
		}
	}
	if ix.docMatch(p, eid) {
		c.Document = cfg.DocumentMatch
	}
	if p.typ.Known() && e.Type.Known() && p.typ != e.Type {
		if p.typ == EntityPerson || e.Type == EntityPerson {
			c.Type = cfg.TypeMismatch
		} else {
			c.Type = cfg.OtherTypeMismatch
		}
	}
	return c
}

// dobAdjustment compares the query's date of birth with the entity's: the
// best agreement over the entity's dates wins; a conflict needs every date
// to disagree.
func dobAdjustment(q DateSpec, dobs []DateSpec, cfg *Scoring) float64 {
	best := cfg.DOBConflict
	qa, qb := q.Range()
	for _, d := range dobs {
		if d.IsZero() {
			continue
		}
		if q.Exact() && d.Exact() && q == d {
			return cfg.DOBExact
		}
		ea, eb := d.Range()
		if qa > eb || ea > qb {
			continue // disjoint
		}
		adj := cfg.DOBInRange
		if q.ToYear == 0 && d.ToYear == 0 && !q.Circa && !d.Circa && q.Year == d.Year {
			adj = cfg.DOBSameYear
			if q.Month != 0 && d.Month != 0 && q.Month != d.Month || q.Day != 0 && d.Day != 0 && q.Day != d.Day && q.Month == d.Month {
				// same year, different day or month: weaker than a year-only
				// agreement but not a conflict (lists swap day and month)
				adj = cfg.DOBInRange
			}
		}
		best = max(best, adj)
	}
	return best
}
