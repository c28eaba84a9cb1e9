package face

// DefaultMatchThreshold is the cosine similarity at or above which two faces
// are taken for the same person.
//
// Measured on testdata/faces (TestModelsSimilarity): different photographs
// of the same person 0.67–0.73 (obama vs obama2 0.674, obama2 vs the Obama
// of two_people 0.698, obama vs it 0.726), the same photograph rescaled
// 0.99, different persons −0.08 to 0.09. On these pairs any threshold from
// about 0.1 to 0.67 separates them, and 0.65 sits just under the weakest
// genuine pair (a head turned 25°). Six photographs of two people are not an
// evaluation: calibrate on a labelled set before relying on a false-match or
// false-non-match rate, and expect turned or aged faces under 0.65.
const DefaultMatchThreshold = 0.65

// DefaultLivenessThreshold is the live-class probability under which a
// selfie fails liveness. The model's accuracy on real attacks is
// unmeasured here: the four test portraits (genuine camera photographs)
// score 0.969–0.996, which shows only that it does not reject them; the
// two faces of two_people.jpg score 0.946 and 0.599.
const DefaultLivenessThreshold = 0.5

type config struct {
	limits            Limits
	quality           QualityThresholds
	scoreThreshold    float64
	nmsIoU            float64
	maxFaces          int
	matchThreshold    float64
	livenessThreshold float64
	liveness          bool
	embedding         bool
	dedup             DuplicateFinder // nil: no duplicate search
	dedupThreshold    float64
}

func newConfig(opts []Option) config {
	c := config{
		quality:           DefaultQuality,
		scoreThreshold:    DefaultScoreThreshold,
		nmsIoU:            DefaultNMSIoU,
		maxFaces:          DefaultMaxFaces,
		matchThreshold:    DefaultMatchThreshold,
		livenessThreshold: DefaultLivenessThreshold,
		liveness:          true,
		embedding:         true,
		dedupThreshold:    DefaultDuplicateThreshold,
	}
	for _, o := range opts {
		o(&c)
	}
	return c
}

// Option tunes Analyze and Check.
type Option func(*config)

// WithLimits sets the decode limits (Check); zero fields keep the defaults.
func WithLimits(l Limits) Option { return func(c *config) { c.limits = l } }

// WithQuality replaces the quality gate.
func WithQuality(q QualityThresholds) Option { return func(c *config) { c.quality = q } }

// WithDetection sets the detector's score threshold (0..1) and NMS IoU
// (0..1); values outside 0..1 are ignored.
func WithDetection(scoreThreshold, nmsIoU float64) Option {
	return func(c *config) {
		if scoreThreshold >= 0 && scoreThreshold <= 1 {
			c.scoreThreshold = scoreThreshold
		}
		if nmsIoU >= 0 && nmsIoU <= 1 {
			c.nmsIoU = nmsIoU
		}
	}
}

// WithMaxFaces bounds the faces analysed per image (at least 1).
func WithMaxFaces(n int) Option { return func(c *config) { c.maxFaces = max(n, 1) } }

// WithMatchThreshold sets the cosine similarity a match needs (−1..1;
// values outside are ignored).
func WithMatchThreshold(t float64) Option {
	return func(c *config) {
		if t >= -1 && t <= 1 {
			c.matchThreshold = t
		}
	}
}

// WithLivenessThreshold sets the live probability a selfie needs (0..1;
// values outside are ignored).
func WithLivenessThreshold(t float64) Option {
	return func(c *config) {
		if t >= 0 && t <= 1 {
			c.livenessThreshold = t
		}
	}
}

// WithLiveness turns the liveness model on or off in Analyze (default on).
// Check always runs it on the selfie and never on the document.
func WithLiveness(on bool) Option { return func(c *config) { c.liveness = on } }

// WithEmbedding turns the embedding model on or off in Analyze (default on).
func WithEmbedding(on bool) Option { return func(c *config) { c.embedding = on } }

// WithDuplicateSearch makes Check search earlier sessions' faces for the
// selfie's (1:N deduplication): when the selfie has a face, its embedding is
// computed (with or without a document image) and passed to f with
// threshold as the minimum similarity, and a best match at or above
// threshold adds FACE_DUPLICATE_IDENTITY and the face.dedup.* signals. A
// threshold outside −1..1 keeps DefaultDuplicateThreshold; a nil f turns the
// search off (the default). Analyze ignores it.
func WithDuplicateSearch(f DuplicateFinder, threshold float64) Option {
	return func(c *config) {
		c.dedup = f
		if threshold >= -1 && threshold <= 1 {
			c.dedupThreshold = threshold
		}
	}
}
