package node

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	ainference "github.com/openekyc/ekyc/actors/inference"
	"github.com/openekyc/ekyc/actors/session"
	"github.com/openekyc/ekyc/inference"
	"github.com/openekyc/ekyc/inference/ort"
	"github.com/openekyc/ekyc/inference/triton"
	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
	"github.com/openekyc/ekyc/services/face"
	"github.com/openekyc/ekyc/services/reasons"
)

// faceModels are the models the face check runs through the pools.
var faceModels = []string{face.ModelDetect, face.ModelLandmark, face.ModelEmbed, face.ModelLiveness}

// startInference opens the configured backend and one batching pool per face
// model. With no backend (inference.backend=none, or the embedded models not
// fetched) it returns nil and the face check is reported unavailable.
func (n *Node) startInference(ctx context.Context) error {
	cfg := n.cfg.Inference
	var backend inference.Backend
	switch cfg.Backend {
	case "none":
		return nil
	case "triton":
		b, err := triton.Dial(ctx, cfg.Triton.Address)
		if err != nil {
			return fmt.Errorf("node: triton at %s: %w", cfg.Triton.Address, err)
		}
		backend = b
	default:
		dir := cfg.ModelsDir
		if dir == "" {
			dir = ort.DefaultDir()
		}
		if _, err := os.Stat(filepath.Join(dir, face.ModelEmbed)); err != nil {
			n.log.Warn("face models not found: the face check is unavailable on this node (run make models)", "models_dir", dir)
			return nil
		}
		b, err := ort.Open(dir, ort.WithIntraOpThreads(cfg.Threads))
		if err != nil {
			return fmt.Errorf("node: onnx runtime: %w", err)
		}
		backend = b
	}
	n.backend = backend
	n.pools = map[string]*ainference.Pool{}
	metrics := ainference.NewMetrics(n.reg)
	models := append([]string(nil), faceModels...)
	for _, m := range ocrModels { // document OCR, when the backend serves it
		if _, err := backend.Model(ctx, m); err == nil {
			models = append(models, m)
		} else {
			n.log.Warn("OCR model not served: document images cannot be read on this node", "model", m)
		}
	}
	for _, m := range models {
		delay := cfg.Pool.MaxDelay.D()
		if delay == 0 {
			delay = ainference.NoDelay
		}
		p, err := ainference.NewPool(n.member.System(), backend, ainference.PoolConfig{
			Model: m, Batchers: cfg.Pool.Batchers, MaxBatch: cfg.Pool.MaxBatch, MaxDelay: delay, QueueSize: cfg.Pool.QueueSize,
		}, ainference.WithMetrics(metrics), ainference.WithLogger(n.log))
		if err != nil {
			return fmt.Errorf("node: inference pool %s: %w", m, err)
		}
		n.pools[m] = p
	}
	n.log.Info("inference ready", "backend", cfg.Backend, "models", models)
	return nil
}

func (n *Node) stopInference() {
	for _, p := range n.pools {
		p.Close()
	}
	if n.backend != nil {
		_ = n.backend.Close()
	}
}

// runner sends model calls through the batching pools.
func (n *Node) runner() face.Runner {
	return face.RunnerFunc(func(ctx context.Context, model string, inputs []inference.Tensor) ([]inference.Tensor, error) {
		p, ok := n.pools[model]
		if !ok {
			return nil, fmt.Errorf("%w: %s", inference.ErrUnknownModel, model)
		}
		return p.Infer(ctx, inputs)
	})
}

// faceChecker loads the selfie and the document image and runs the face check.
// Missing or unreadable images are an explicit FAIL with a reason code, not a
// retryable error; backend errors are returned so the actor retries them.
func (n *Node) faceChecker() session.Checker {
	opts := []face.Option{face.WithMatchThreshold(n.cfg.Face.MatchThreshold)}
	return func(ctx context.Context, req *ekycv1.VerificationRequest) (*ekycv1.CheckResult, error) {
		fail := func(code, msg string) *ekycv1.CheckResult {
			return &ekycv1.CheckResult{Kind: ekycv1.CheckKind_CHECK_KIND_FACE, Status: ekycv1.CheckStatus_CHECK_STATUS_FAIL,
				ReasonCodes: []string{code}, Error: msg}
		}
		if len(req.GetSelfies()) == 0 {
			return fail(reasons.FaceImageUnreadable, "no selfie image in the request"), nil
		}
		selfie, err := n.images.Load(ctx, req.GetTenantId(), req.GetSelfies()[0].GetUri())
		if err != nil {
			return fail(reasons.FaceImageUnreadable, "selfie: "+err.Error()), nil
		}
		var doc []byte
		for _, im := range req.GetDocument().GetImages() {
			if im.GetSide() == "" || im.GetSide() == "front" || im.GetSide() == "portrait" {
				if doc, err = n.images.Load(ctx, req.GetTenantId(), im.GetUri()); err != nil {
					return fail(reasons.FaceImageUnreadable, "document image: "+err.Error()), nil
				}
				break
			}
		}
		o := opts
		dedupOn, threshold := n.dedup.enabled(req.GetTenantId())
		if dedupOn {
			o = append(slices.Clip(opts), face.WithDuplicateSearch(n.dedup.finder(req.GetTenantId(), req.GetSessionId()), threshold))
		}
		out := face.CheckDetailed(ctx, n.runner(), selfie, doc, o...)
		res := out.Result
		if dedupOn && out.Embedding != nil {
			n.dedup.remember(req.GetTenantId(), req.GetSessionId(), out.Embedding)
		}
		if res.GetStatus() == ekycv1.CheckStatus_CHECK_STATUS_ERROR {
			// A model call failed (overload, backend down, deadline): let the
			// actor retry; after its retries it records CHECK_ERROR/CHECK_TIMEOUT.
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			return nil, errors.New("face models: " + res.GetError())
		}
		return res, nil
	}
}
