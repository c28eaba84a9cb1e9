package screening

import (
	"fmt"
	"math"
	"strings"
	"sync"

	"github.com/openekyc/ekyc/services/screening/countries"
	"github.com/openekyc/ekyc/services/screening/names"
)

// Index is an immutable, searchable set of lists. Build it once per set of
// list versions with NewIndex; it is safe for concurrent Screen calls.
//
// Candidate generation is by blocking: every token spelling of every name
// is in a vocabulary with an inverted index (token → names), a phonetic-key
// index (Key → tokens) and a character-trigram index (trigram → tokens).
// A query token is expanded to the vocabulary tokens that are equal,
// phonetically equal or share enough trigrams (and are then similar enough,
// or are a prefix or suffix of it, for compounds such as ABDULRAHMAN /
// ABDUL RAHMAN); the names holding them are accumulated rarest token first,
// and only the best few hundred names (WithCandidates) are scored in full.
type Index struct {
	scoring     Scoring
	candidates  int
	versions    []Version
	entities    []Entity
	entList     []int32
	entCountry  [][]string // distinct ISO codes (or folded raw values) per entity
	entDocs     [][]string // normalised document numbers per entity
	names       []nameRec
	toks        []tokRec
	vocab       []vocabEntry
	vocabID     map[string]int32
	postings    [][]int32 // vocab id → name ids
	keyIdx      map[string][]int32
	triOff      []int32 // trigram code → [triOff[c], triOff[c+1]) in triData
	triData     []int32 // vocab ids
	docIdx      map[string][]int32
	byID        map[string]int32
	nEntities   int
	idfUnknown  float32
	minInfo     float64
	scratchPool sync.Pool
}

type vocabEntry struct {
	text string
	key  string
	// fold and foldKey: names.VariantFold of text and its key ("" for
	// abjad spellings).
	fold, foldKey string
	idf           float32
	df            int32
	abjad         bool
	ntri          uint8
}

type nameRec struct {
	entity int32
	name   int32 // index into Entity.Names
	off    int32 // into toks
	n      uint8
	kind   NameKind
	totalW float32 // sum of the weights of its word tokens
}

type tokRec struct {
	vocab int32 // primary spelling
	alt   int32 // alternative spelling, -1 if none
	w     float32
	class names.Class
	pos   uint8
}

// IndexOption configures NewIndex.
type IndexOption func(*Index) error

// WithScoring replaces the scoring parameters (see DefaultScoring).
func WithScoring(s Scoring) IndexOption {
	return func(ix *Index) error {
		if err := s.Validate(); err != nil {
			return err
		}
		ix.scoring = s
		return nil
	}
}

// WithCandidates sets how many candidate names a query scores in full at
// most (default DefaultCandidates). More finds more far-fetched matches and
// costs time.
func WithCandidates(n int) IndexOption {
	return func(ix *Index) error {
		if n < 1 || n > 100000 {
			return fmt.Errorf("%w: candidates %d", ErrInvalidOption, n)
		}
		ix.candidates = n
		return nil
	}
}

// DefaultCandidates is the default number of names scored per query.
const DefaultCandidates = 256

// vocabKey distinguishes spellings from abjad scripts (consonant skeletons)
// from the same letters written in Latin.
func vocabKey(text string, abjad bool) string {
	if abjad {
		return "\x00" + text
	}
	return text
}

// NewIndex indexes the entities of the given lists. Entity ids must be
// unique across the lists (ErrInvalidList otherwise). Names that have no
// match-bearing token (only legal forms or punctuation) are not indexed.
func NewIndex(lists []*List, opts ...IndexOption) (*Index, error) {
	ix := &Index{
		scoring:    DefaultScoring(),
		candidates: DefaultCandidates,
		vocabID:    map[string]int32{},
		keyIdx:     map[string][]int32{},
		docIdx:     map[string][]int32{},
		byID:       map[string]int32{},
	}
	for _, o := range opts {
		if err := o(ix); err != nil {
			return nil, err
		}
	}
	total := 0
	for i, l := range lists {
		if l == nil {
			return nil, fmt.Errorf("%w: list %d is nil", ErrInvalidList, i)
		}
		total += len(l.Entities)
	}
	ix.entities = make([]Entity, 0, total)
	ix.entList = make([]int32, 0, total)
	lastDF := []int32{} // vocab id → last entity that counted it
	var seen map[string]bool
	for li, l := range lists {
		ix.versions = append(ix.versions, l.Version)
		for ei := range l.Entities {
			e := l.Entities[ei]
			if e.ID == "" {
				return nil, fmt.Errorf("%w: %s entity %d has no id", ErrInvalidList, l.Version.Source, ei)
			}
			if _, dup := ix.byID[e.ID]; dup {
				return nil, fmt.Errorf("%w: duplicate entity id %q", ErrInvalidList, e.ID)
			}
			eid := int32(len(ix.entities))
			ix.byID[e.ID] = eid
			ix.entities = append(ix.entities, e)
			ix.entList = append(ix.entList, int32(li))
			ix.entCountry = append(ix.entCountry, entityCountries(&e))
			docs := entityDocs(&e)
			ix.entDocs = append(ix.entDocs, docs)
			for _, d := range docs {
				ix.docIdx[d] = append(ix.docIdx[d], eid)
			}
			flags := tokenizeFlags(e.Type)
			seen = map[string]bool{}
			for ni, n := range e.Names {
				toks := names.Tokenize(n.Full, flags)
				if !hasWord(toks) {
					continue
				}
				sig := strings.Join(names.Texts(toks), " ")
				if seen[sig] {
					continue
				}
				seen[sig] = true
				rec := nameRec{entity: eid, name: int32(ni), off: int32(len(ix.toks)), n: uint8(len(toks)), kind: n.Kind}
				for _, t := range toks {
					tr := tokRec{class: t.Class, pos: uint8(t.Pos), alt: -1}
					tr.vocab, lastDF = ix.addSpelling(t.Text, t.Abjad(), eid, lastDF)
					if len(t.Alts) > 0 {
						tr.alt, lastDF = ix.addSpelling(t.Alts[0], t.Abjad(), eid, lastDF)
					}
					ix.toks = append(ix.toks, tr)
				}
				ix.names = append(ix.names, rec)
			}
		}
	}
	ix.nEntities = len(ix.entities)
	n := float64(max(ix.nEntities, 1))
	ix.idfUnknown = float32(math.Log(1 + n))
	ix.minInfo = ix.scoring.MinInformation * math.Log(1+n/3)
	for v := range ix.vocab {
		ix.vocab[v].idf = float32(math.Log(1 + n/float64(max(ix.vocab[v].df, 1))))
	}
	// weights and postings
	ix.postings = make([][]int32, len(ix.vocab))
	for nid := range ix.names {
		nr := &ix.names[nid]
		for k := nr.off; k < nr.off+int32(nr.n); k++ {
			t := &ix.toks[k]
			switch t.class {
			case names.LegalForm:
				t.w = float32(ix.scoring.LegalWeight)
			case names.Initial:
				t.w = float32(ix.scoring.InitialWeight)
			default:
				t.w = ix.vocab[t.vocab].idf
				nr.totalW += t.w
			}
			ix.addPosting(t.vocab, int32(nid))
			if t.alt >= 0 {
				ix.addPosting(t.alt, int32(nid))
			}
		}
	}
	ix.buildKeysAndTrigrams()
	ix.scratchPool.New = func() any { return newScratch(ix) }
	return ix, nil
}

// tokenizeFlags returns the tokenizer flags for names of type t: "LAST,
// First" is reversed for persons and unknown types, legal forms are
// classed for non-persons, titles dropped for persons and unknown types.
func tokenizeFlags(t EntityType) names.Flags {
	switch t {
	case EntityPerson:
		return names.Person | names.CommaReversed
	case EntityOrganisation, EntityVessel, EntityAircraft:
		return names.Organisation
	}
	return names.CommaReversed
}

func hasWord(toks []names.Token) bool {
	for _, t := range toks {
		if t.Class == names.Word {
			return true
		}
	}
	return false
}

func (ix *Index) addSpelling(text string, abjad bool, eid int32, lastDF []int32) (int32, []int32) {
	k := vocabKey(text, abjad)
	v, ok := ix.vocabID[k]
	if !ok {
		v = int32(len(ix.vocab))
		ix.vocabID[k] = v
		ve := vocabEntry{text: text, key: names.Key(text), abjad: abjad, ntri: uint8(min(trigramCount(text), 255))}
		if !abjad {
			ve.fold = names.VariantFold(text)
			ve.foldKey = names.Key(ve.fold)
		}
		ix.vocab = append(ix.vocab, ve)
		lastDF = append(lastDF, -1)
	}
	if lastDF[v] != eid {
		lastDF[v] = eid
		ix.vocab[v].df++
	}
	return v, lastDF
}

func (ix *Index) addPosting(v, nid int32) {
	p := ix.postings[v]
	if len(p) > 0 && p[len(p)-1] == nid {
		return
	}
	ix.postings[v] = append(p, nid)
}

func (ix *Index) buildKeysAndTrigrams() {
	counts := make([]int32, trigramSpace+1)
	for v := range ix.vocab {
		e := &ix.vocab[v]
		if len(e.key) >= 2 {
			ix.keyIdx[e.key] = append(ix.keyIdx[e.key], int32(v))
		}
		forEachTrigram(e.text, func(c int) { counts[c]++ })
	}
	ix.triOff = make([]int32, trigramSpace+1)
	var sum int32
	for c := 0; c < trigramSpace; c++ {
		ix.triOff[c] = sum
		sum += counts[c]
	}
	ix.triOff[trigramSpace] = sum
	ix.triData = make([]int32, sum)
	fill := make([]int32, trigramSpace)
	copy(fill, ix.triOff[:trigramSpace])
	for v := range ix.vocab {
		forEachTrigram(ix.vocab[v].text, func(c int) {
			ix.triData[fill[c]] = int32(v)
			fill[c]++
		})
	}
}

// Trigrams are over the token padded with '^' and '$'; each byte maps to 6
// bits (A-Z, 0-9, pads, other), so a trigram code is below 2^18.
const trigramSpace = 1 << 18

func trigramByte(c byte) int {
	switch {
	case c >= 'A' && c <= 'Z':
		return int(c-'A') + 1
	case c >= '0' && c <= '9':
		return int(c-'0') + 27
	case c == '^':
		return 37
	case c == '$':
		return 38
	}
	return 39 + int(c%24)
}

// forEachTrigram calls f with the code of each distinct trigram of the
// padded token (a repeated trigram is reported once).
func forEachTrigram(s string, f func(int)) {
	if s == "" {
		return
	}
	var seen [64]int
	ns := 0
	n := len(s) + 2
	at := func(i int) byte {
		switch {
		case i == 0:
			return '^'
		case i == n-1:
			return '$'
		}
		return s[i-1]
	}
	for i := 0; i+2 < n; i++ {
		c := trigramByte(at(i))<<12 | trigramByte(at(i+1))<<6 | trigramByte(at(i+2))
		dup := false
		for k := 0; k < ns; k++ {
			if seen[k] == c {
				dup = true
				break
			}
		}
		if dup {
			continue
		}
		if ns < len(seen) {
			seen[ns] = c
			ns++
		}
		f(c)
	}
}

func trigramCount(s string) int {
	n := 0
	forEachTrigram(s, func(int) { n++ })
	return n
}

// entityCountries returns the distinct country codes of an entity (the raw
// value, folded, where no code was derived).
func entityCountries(e *Entity) []string {
	var out []string
	add := func(c string) {
		if c == "" {
			return
		}
		for _, x := range out {
			if x == c {
				return
			}
		}
		out = append(out, c)
	}
	for _, c := range e.Countries {
		if c.Code != "" {
			add(strings.ToUpper(c.Code))
		} else if code, ok := countries.Code(c.Raw); ok {
			add(code)
		}
	}
	return out
}

// NormalizeDocument folds a document or registration number for comparison:
// upper-case letters and digits only ("AB 123-456" → "AB123456").
func NormalizeDocument(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z':
			b.WriteByte(c - 'a' + 'A')
		case c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
			b.WriteByte(c)
		}
	}
	return b.String()
}

// minDocLen is the shortest normalised document number that is compared
// (shorter ones are too likely to coincide).
const minDocLen = 5

func entityDocs(e *Entity) []string {
	var out []string
	for _, id := range e.Identifiers {
		d := NormalizeDocument(id.Number)
		if len(d) < minDocLen {
			continue
		}
		dup := false
		for _, x := range out {
			if x == d {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, d)
		}
	}
	return out
}

// Versions returns the versions of the indexed lists, in the order given to
// NewIndex.
func (ix *Index) Versions() []Version { return append([]Version(nil), ix.versions...) }

// Len returns the number of entities.
func (ix *Index) Len() int { return len(ix.entities) }

// NameCount returns the number of indexed names (distinct per entity).
func (ix *Index) NameCount() int { return len(ix.names) }

// VocabularySize returns the number of distinct token spellings.
func (ix *Index) VocabularySize() int { return len(ix.vocab) }

// Entity returns the entity with the given id. The entity is shared and
// must not be modified.
func (ix *Index) Entity(id string) (*Entity, bool) {
	i, ok := ix.byID[id]
	if !ok {
		return nil, false
	}
	return &ix.entities[i], true
}

// TokenWeight returns the weight (inverse document frequency over the
// entities of the index) of a folded token, and whether it is in the
// vocabulary; an unknown token weighs as much as a token of one entity.
func (ix *Index) TokenWeight(tok string) (float64, bool) {
	if v, ok := ix.vocabID[vocabKey(tok, false)]; ok {
		return float64(ix.vocab[v].idf), true
	}
	return float64(ix.idfUnknown), false
}
