package face

import (
	"context"
	"errors"
	"image"

	"github.com/openekyc/ekyc/inference"
	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
	"github.com/openekyc/ekyc/services/reasons"
	"github.com/openekyc/ekyc/services/signal"
)

// Signal names, with the check's prefix (policies may write them with or
// without it: "face.match.similarity" and "match.similarity" are one
// signal).
const (
	SignalCount             = "face.count"                // faces found in the selfie
	SignalQualityBlur       = "face.quality.blur"         // variance of the Laplacian (higher is sharper)
	SignalQualityBrightness = "face.quality.brightness"   // mean luma of the face box, 0..255
	SignalQualityFaceSize   = "face.quality.face_size"    // shorter side of the face box, px
	SignalQualityIOD        = "face.quality.inter_ocular" // distance between the eye centres, px
	SignalQualityYaw        = "face.quality.yaw"          // degrees
	SignalQualityRoll       = "face.quality.roll"         // degrees
	SignalQualityOK         = "face.quality.ok"           // every quality bound met
	SignalLivenessScore     = "face.liveness.score"       // live probability, 0..1
	SignalLivenessOK        = "face.liveness.ok"          // score ≥ liveness threshold
	SignalPortraitCount     = "face.portrait.count"       // faces found in the document image
	SignalMatchSimilarity   = "face.match.similarity"     // cosine similarity selfie vs portrait, −1..1
	SignalMatchOK           = "face.match.ok"             // similarity ≥ match threshold

	// The duplicate search's (WithDuplicateSearch), present only when it
	// ran: the search is configured and the selfie has a face. The finder
	// returns only matches at or above the duplicate threshold, so
	// similarity is 0 when there is none (not a measured cosine), and
	// session is absent then.
	SignalDedupSimilarity = "face.dedup.similarity" // best match's cosine similarity, threshold..1; 0 when none
	SignalDedupMatch      = "face.dedup.match"      // a match at or above the duplicate threshold was found
	SignalDedupCount      = "face.dedup.count"      // matches at or above the duplicate threshold
	SignalDedupSession    = "face.dedup.session"    // best match's session: "session", or "tenant/session" for another tenant's
)

// Check runs the face check: the selfie's face is found, passed through the
// quality gate and the liveness model and, when document is not empty,
// compared with the document image's portrait. Latency and attempts are
// left for the caller.
//
//   - A selfie or document image that does not decode within the limits:
//     FACE_IMAGE_UNREADABLE.
//   - No face in the selfie: FACE_NOT_FOUND (nothing else is measured);
//     more than one: FACE_MULTIPLE, and the largest face is measured.
//   - The selfie face's quality bounds: FACE_TOO_SMALL, FACE_BLURRY,
//     FACE_TOO_DARK, FACE_TOO_BRIGHT, FACE_POSE.
//   - Live probability under the liveness threshold: FACE_LIVENESS_FAILED.
//   - No face in the document image: FACE_PORTRAIT_NOT_FOUND. Several are
//     normal there (the ghost image of ID cards): the largest is the
//     portrait.
//   - Similarity under the match threshold: FACE_MISMATCH.
//   - With WithDuplicateSearch, an earlier session's face at or above the
//     duplicate threshold: FACE_DUPLICATE_IDENTITY (a warning, for review).
//     The search runs on the selfie's measured face after the liveness
//     model and before the document image is read; it never inserts.
//
// Status: FAIL if any reason is critical in codes.yaml, CONSIDER if there
// are only warnings, PASS otherwise; ERROR when a model call fails
// (CHECK_TIMEOUT when ctx ended, CHECK_UNAVAILABLE when the backend is
// unavailable, overloaded or lacks the model, CHECK_ERROR otherwise), so the
// caller may retry; a failed duplicate search is ERROR too (CHECK_TIMEOUT
// when ctx ended, CHECK_UNAVAILABLE otherwise). Score: 1 − 0.5 per critical
// reason − 0.1 per warning, clamped to 0..1.
func Check(ctx context.Context, r Runner, selfie, document []byte, opts ...Option) *ekycv1.CheckResult {
	return CheckDetailed(ctx, r, selfie, document, opts...).Result
}

// CheckOutput is what CheckDetailed returns.
type CheckOutput struct {
	// Result is the check result, as Check returns it.
	Result *ekycv1.CheckResult
	// Embedding is the L2-normalised embedding (EmbeddingSize values) of
	// the selfie's measured face (the largest), for the caller to add to
	// its duplicate-search store after the decision. It is nil when Result
	// is ERROR, and when it was not computed: no face in the selfie, an
	// unreadable selfie, or neither a document image nor WithDuplicateSearch
	// asking for it.
	Embedding []float32
	// Duplicates are the duplicate search's matches at or above its
	// threshold, best first; empty when there are none or the search did
	// not run.
	Duplicates []Duplicate
}

// CheckDetailed is Check that also hands out the selfie embedding and the
// duplicate search's matches.
func CheckDetailed(ctx context.Context, r Runner, selfie, document []byte, opts ...Option) CheckOutput {
	cfg := newConfig(opts)
	res := &ekycv1.CheckResult{Kind: ekycv1.CheckKind_CHECK_KIND_FACE}
	var out CheckOutput
	var codes []string
	finish := func() CheckOutput {
		res.ReasonCodes = dedupe(codes)
		res.Status = signal.Status(res.ReasonCodes)
		res.Score = score(res.ReasonCodes)
		out.Result = res
		return out
	}
	// An ERROR result hands out no embedding: the caller retries the check.
	fail := func(e *ekycv1.CheckResult) CheckOutput { return CheckOutput{Result: e} }

	img, err := Decode(selfie, cfg.limits)
	if err != nil {
		codes = append(codes, reasons.FaceImageUnreadable)
		return finish()
	}
	selfieCfg := cfg
	selfieCfg.liveness, selfieCfg.embedding = true, len(document) > 0 || cfg.dedup != nil
	sa, err := analyze(ctx, r, img, selfieCfg)
	if err != nil {
		return fail(modelError(res, err))
	}
	res.Signals = append(res.Signals, signal.Number(SignalCount, float64(len(sa.Faces)), "count"))
	f := sa.Primary()
	if f == nil {
		codes = append(codes, reasons.FaceNotFound)
		return finish()
	}
	if len(sa.Faces) > 1 {
		codes = append(codes, reasons.FaceMultiple)
	}

	q := f.Quality
	res.Signals = append(res.Signals,
		signal.Number(SignalQualityBlur, q.Sharpness, "variance"),
		signal.Number(SignalQualityBrightness, q.Brightness, "luma"),
		signal.Number(SignalQualityFaceSize, q.FaceSize, "px"),
		signal.Number(SignalQualityIOD, q.InterOcular, "px"),
		signal.Number(SignalQualityYaw, q.Yaw, "degrees"),
		signal.Number(SignalQualityRoll, q.Roll, "degrees"),
		signal.Flag(SignalQualityOK, q.OK()),
		signal.Number(SignalLivenessScore, f.Liveness.Score, "probability"),
		signal.Flag(SignalLivenessOK, f.Liveness.Score >= cfg.livenessThreshold),
	)
	codes = append(codes, q.Reasons...)
	if f.Liveness.Score < cfg.livenessThreshold {
		codes = append(codes, reasons.FaceLivenessFailed)
	}
	out.Embedding = f.Embedding

	if cfg.dedup != nil {
		dups, err := findDuplicates(ctx, cfg, f.Embedding)
		if err != nil {
			return fail(searchError(res, err))
		}
		out.Duplicates = dups
		res.Signals = append(res.Signals, dedupSignals(dups)...)
		if len(dups) > 0 {
			codes = append(codes, reasons.FaceDuplicateIdentity)
		}
	}

	if len(document) == 0 {
		return finish()
	}
	dimg, err := Decode(document, cfg.limits)
	if err != nil {
		codes = append(codes, reasons.FaceImageUnreadable)
		return finish()
	}
	docCfg := cfg
	docCfg.liveness, docCfg.embedding = false, true
	da, err := analyze(ctx, r, dimg, docCfg)
	if err != nil {
		return fail(modelError(res, err))
	}
	res.Signals = append(res.Signals, signal.Number(SignalPortraitCount, float64(len(da.Faces)), "count"))
	if len(da.Faces) == 0 {
		codes = append(codes, reasons.FacePortraitNotFound)
		return finish()
	}
	m := Compare(sa, da)
	ok := m.Matches(cfg.matchThreshold)
	res.Signals = append(res.Signals,
		signal.Number(SignalMatchSimilarity, m.Similarity, "cosine"),
		signal.Flag(SignalMatchOK, ok))
	if !ok {
		codes = append(codes, reasons.FaceMismatch)
	}
	return finish()
}

// analyze is Analyze with a resolved configuration.
func analyze(ctx context.Context, r Runner, img *image.RGBA, cfg config) (*Analysis, error) {
	return Analyze(ctx, r, img, func(c *config) { *c = cfg })
}

// modelError turns a model failure into an ERROR result.
func modelError(res *ekycv1.CheckResult, err error) *ekycv1.CheckResult {
	res.Status = ekycv1.CheckStatus_CHECK_STATUS_ERROR
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
		res.ReasonCodes = []string{reasons.CheckTimeout}
	case errors.Is(err, inference.ErrUnavailable) || errors.Is(err, inference.ErrOverloaded) || errors.Is(err, inference.ErrUnknownModel):
		res.ReasonCodes = []string{reasons.CheckUnavailable}
	default:
		res.ReasonCodes = []string{reasons.CheckError}
	}
	res.Error = err.Error() // model names and tensor shapes only, no image data
	res.Score = 0
	return res
}

func dedupe(codes []string) []string {
	out := make([]string, 0, len(codes))
	seen := make(map[string]bool, len(codes))
	for _, c := range codes {
		if !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	return out
}

func score(codes []string) float64 { return min(max(signal.Score(codes), 0), 1) }
