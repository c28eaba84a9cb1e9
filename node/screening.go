package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/openekyc/ekyc/actors/session"
	"github.com/openekyc/ekyc/config"
	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
	"github.com/openekyc/ekyc/services/reasons"
	"github.com/openekyc/ekyc/services/screening"
	"github.com/openekyc/ekyc/services/screening/lists"
	"github.com/openekyc/ekyc/services/screening/media"
	"github.com/openekyc/ekyc/services/signal"
)

// maxListBytes bounds one downloaded list file.
const maxListBytes = 1 << 30

// listSpec is one configured list: "source=location".
type listSpec struct {
	source   screening.Source
	location string
}

func parseListSpecs(specs []string) ([]listSpec, error) {
	out := make([]listSpec, 0, len(specs))
	for _, s := range specs {
		src, loc, ok := strings.Cut(s, "=")
		if !ok || loc == "" {
			return nil, fmt.Errorf("screening list %q: want source=location", s)
		}
		out = append(out, listSpec{screening.Source(src), loc})
	}
	return out, nil
}

// lists keeps the last good version of every configured list, reloads them
// on a schedule and installs a new index when a version changes. A list
// that fails to reload keeps serving its last good version (the failure is
// counted and logged); until every list has loaded once the screening check
// is not ready and answers with a retryable error — never a screening
// against nothing.
type listManager struct {
	n        *Node
	specs    []listSpec
	screener *screening.Screener
	// monitor re-screens the monitored subjects after each install (nil:
	// no tenant monitors).
	monitor *monitor

	mu      sync.Mutex
	current map[listSpec]*screening.List
	// pending: a list version changed and no index holds it yet (a failed
	// build is retried on the next refresh).
	pending bool

	loadedAt *prometheus.GaugeVec
	entities *prometheus.GaugeVec
	failures *prometheus.CounterVec

	stop context.CancelFunc
	done chan struct{}
}

func (n *Node) startScreening() error {
	specs, err := parseListSpecs(n.cfg.Screening.Lists)
	if err != nil {
		return err
	}
	if n.media, err = newMediaProvider(n.cfg.Screening.Media); err != nil {
		return err
	}
	if len(specs) == 0 {
		if t := n.monitoringTenants(); len(t) > 0 {
			n.log.Warn("ongoing monitoring is off: screening.lists is empty", "tenants", strings.Join(t, ","))
		}
		return nil
	}
	m := &listManager{n: n, specs: specs, screener: screening.NewScreener(nil), current: map[listSpec]*screening.List{},
		loadedAt: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "ekyc_screening_list_loaded_timestamp_seconds",
			Help: "When each screening list's current version was loaded."}, []string{"source"}),
		entities: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "ekyc_screening_list_entities",
			Help: "Entities in each screening list's current version."}, []string{"source"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ekyc_screening_list_refresh_failures_total",
			Help: "Failed loads of a screening list (the last good version keeps serving)."}, []string{"source"}),
		done: make(chan struct{}),
	}
	n.reg.MustRegister(m.loadedAt, m.entities, m.failures)
	if err := n.startMonitoring(m.screener.Index); err != nil {
		return err
	}
	m.monitor = n.monitor
	ctx, cancel := context.WithCancel(context.Background())
	m.stop = cancel
	n.lists = m
	go m.run(ctx)
	return nil
}

func (m *listManager) close() {
	m.stop()
	<-m.done
}

// ready reports whether every list has loaded at least once.
func (m *listManager) ready() bool { return m.screener.Index() != nil }

func (m *listManager) run(ctx context.Context) {
	defer close(m.done)
	retry := 5 * time.Second
	for {
		installed := m.refresh(ctx)
		if m.monitor != nil && ctx.Err() == nil {
			m.monitor.afterRefresh(ctx, installed)
		}
		wait := m.n.cfg.Screening.Refresh.D()
		if !m.ready() {
			wait = retry // not ready: try again soon
			retry = min(2*retry, 5*time.Minute)
		} else if wait == 0 {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// refresh reloads every list and installs a new index when all have a
// version and any changed; it reports whether it installed one.
func (m *listManager) refresh(ctx context.Context) (installed bool) {
	for _, spec := range m.specs {
		l, err := loadList(ctx, spec)
		if err != nil {
			if ctx.Err() != nil {
				return false
			}
			m.failures.WithLabelValues(string(spec.source)).Inc()
			m.n.log.Error("screening list load failed: serving the last good version", "source", spec.source, "err", err)
			continue
		}
		m.mu.Lock()
		prev := m.current[spec]
		if prev == nil || prev.Version.ID != l.Version.ID {
			m.current[spec], m.pending = l, true
			m.n.log.Info("screening list loaded", "source", spec.source, "version", l.Version.String(), "entities", len(l.Entities))
		}
		m.mu.Unlock()
		m.loadedAt.WithLabelValues(string(spec.source)).SetToCurrentTime()
		m.entities.WithLabelValues(string(spec.source)).Set(float64(len(l.Entities)))
	}
	m.mu.Lock()
	all := make([]*screening.List, 0, len(m.specs))
	for _, spec := range m.specs {
		if l := m.current[spec]; l != nil {
			all = append(all, l)
		}
	}
	pending := m.pending
	m.mu.Unlock()
	if !pending || len(all) != len(m.specs) {
		return false
	}
	ix, err := screening.NewIndex(all)
	if err != nil {
		m.n.log.Error("screening index build failed: serving the previous index", "err", err)
		return false
	}
	m.screener.Swap(ix)
	m.mu.Lock()
	m.pending = false
	m.mu.Unlock()
	return true
}

// loadList loads one list from a file, a directory or a URL.
func loadList(ctx context.Context, spec listSpec) (*screening.List, error) {
	loc := spec.location
	remote := strings.HasPrefix(loc, "http://") || strings.HasPrefix(loc, "https://")
	if spec.source == screening.SourceOFAC {
		if remote {
			dir, err := os.MkdirTemp("", "ekyc-ofac-")
			if err != nil {
				return nil, err
			}
			defer os.RemoveAll(dir)
			for _, f := range []string{"sdn.csv", "alt.csv", "add.csv", "sdn_comments.csv"} {
				data, err := fetch(ctx, strings.TrimSuffix(loc, "/")+"/"+f)
				if err != nil {
					return nil, err
				}
				if err := os.WriteFile(filepath.Join(dir, f), data, 0o600); err != nil {
					return nil, err
				}
			}
			loc = dir
		}
		return lists.LoadOFACDir(ctx, loc)
	}
	if !remote {
		return lists.LoadFile(ctx, spec.source, loc)
	}
	data, err := fetch(ctx, loc)
	if err != nil {
		return nil, err
	}
	parse, err := lists.ParserFor(spec.source)
	if err != nil {
		return nil, err
	}
	return parse(ctx, bytes.NewReader(data))
}

func fetch(ctx context.Context, url string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: status %d", url, resp.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxListBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxListBytes {
		return nil, fmt.Errorf("GET %s: over %d bytes", url, maxListBytes)
	}
	return data, nil
}

// errListsNotLoaded makes the session actor retry: the lists are still
// loading (then CHECK_ERROR after its retries, never a silent pass).
var errListsNotLoaded = errors.New("screening lists not loaded yet")

// screeningChecker screens the applicant's name, date of birth and
// nationality against the loaded lists.
func (n *Node) screeningChecker() session.Checker {
	threshold := n.cfg.Screening.Threshold
	return func(ctx context.Context, req *ekycv1.VerificationRequest) (*ekycv1.CheckResult, error) {
		q, ok := screening.QueryFromRequest(req)
		if !ok {
			codes := []string{reasons.ScreeningNoName}
			return &ekycv1.CheckResult{Kind: ekycv1.CheckKind_CHECK_KIND_SCREENING, Status: signal.Status(codes),
				ReasonCodes: codes, Error: "the applicant has no name to screen"}, nil
		}
		res, err := n.lists.screener.Screen(ctx, q, screening.WithMinScore(min(threshold, screening.DefaultMinScore)))
		switch {
		case errors.Is(err, screening.ErrNoIndex):
			return nil, errListsNotLoaded
		case errors.Is(err, screening.ErrInvalidQuery):
			codes := []string{reasons.ScreeningNoName}
			return &ekycv1.CheckResult{Kind: ekycv1.CheckKind_CHECK_KIND_SCREENING, Status: signal.Status(codes),
				ReasonCodes: codes, Error: "the applicant's name cannot be screened"}, nil
		case err != nil:
			return nil, err
		}
		out := screening.CheckResult(res, threshold)
		if n.media != nil {
			arts, merr := n.media.Search(ctx, media.Query{Name: q.Name, BirthDate: req.GetApplicant().GetDateOfBirth(), Countries: q.Countries})
			if merr != nil {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				n.log.Warn("adverse-media search failed", "session", req.GetSessionId(), "err", merr)
			}
			screening.AddMedia(out, arts, n.cfg.Screening.Media.MinScore, merr)
		}
		return out, nil
	}
}

// newMediaProvider builds the adverse-media client of screening.media (nil
// when no URL is configured).
func newMediaProvider(cfg config.Media) (*media.HTTPClient, error) {
	if cfg.URL == "" {
		return nil, nil
	}
	opts := []media.Option{media.WithTimeout(cfg.Timeout.D())}
	if cfg.TokenFile != "" {
		tok, err := os.ReadFile(cfg.TokenFile)
		if err != nil {
			return nil, fmt.Errorf("screening.media.token_file: %w", err)
		}
		opts = append(opts, media.WithToken(strings.TrimSpace(string(tok))))
	}
	return media.NewHTTPClient(cfg.URL, opts...), nil
}

// LoadLists loads "source=location" list entries (screening.lists) once.
func LoadLists(ctx context.Context, specs []string) ([]*screening.List, error) {
	parsed, err := parseListSpecs(specs)
	if err != nil {
		return nil, err
	}
	out := make([]*screening.List, 0, len(parsed))
	for _, s := range parsed {
		l, err := loadList(ctx, s)
		if err != nil {
			return nil, fmt.Errorf("%s=%s: %w", s.source, s.location, err)
		}
		out = append(out, l)
	}
	return out, nil
}
