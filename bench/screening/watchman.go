package screeningbench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

const (
	// WatchmanVersion is the moov-io/watchman release watchman.sh builds.
	WatchmanVersion = "v0.60.0"

	// WatchmanThreshold is the minMatch watchman's own documentation uses for a
	// name search: README.md ("Run a search for an individual or business":
	// /v2/search?name=Nicolas+Maduro&type=person&limit=1&minMatch=0.75) and
	// docs/usage-docker.md, in the v0.60.0 module source. The API default is
	// minMatch=0 (internal/search/api_search.go extractSearchMinMatch), and
	// docs/methodology/index.md ("Threshold Configuration") gives bands: 0.95+
	// high confidence, 0.85-0.94 manual review, 0.70-0.84 enhanced due diligence.
	// A name-only query cannot reach the upper bands: applyPenaltiesAndBonuses
	// (pkg/search/similarity.go) multiplies by 0.90 (fewer than two required
	// fields) and 0.95 (name-only), so an exact name scores at most 0.855.
	WatchmanThreshold = 0.75

	// WatchmanUNList is the source list name watchman.sh gives the UN list,
	// which watchman v0.60.0 does not read natively: it is converted to Senzing
	// JSON lines (see cmd/un2senzing) and loaded as a Senzing list.
	WatchmanUNList = "un_consolidated"

	// WatchmanLimit is the number of hits asked for: watchman's own default
	// (softResultsLimit in internal/search/api_search.go).
	WatchmanLimit = 10
)

// Watchman searches a running watchman server over its HTTP API
// (GET /v2/search?name=...&limit=...), with one keep-alive client.
type Watchman struct {
	base   *url.URL
	client *http.Client
	tr     *http.Transport
	Limit  int
}

// NewWatchman returns a Searcher for the watchman server at baseURL
// ("http://127.0.0.1:28084").
func NewWatchman(baseURL string) (*Watchman, error) {
	u, err := url.Parse(strings.TrimRight(strings.TrimSpace(baseURL), "/"))
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("watchman base URL %q: want http://host:port", baseURL)
	}
	tr := &http.Transport{
		Proxy:               nil, // a local server: never through a proxy
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     15 * time.Second, // below watchman's 20 s server IdleTimeout
	}
	return &Watchman{
		base:   u,
		tr:     tr,
		client: &http.Client{Transport: tr, Timeout: 60 * time.Second},
		Limit:  WatchmanLimit,
	}, nil
}

type watchmanEntity struct {
	Name       string  `json:"name"`
	SourceList string  `json:"sourceList"`
	SourceID   string  `json:"sourceID"`
	Match      float64 `json:"match"`
}

type watchmanResponse struct {
	Entities []watchmanEntity `json:"entities"`
	Error    string           `json:"error"`
}

// Search implements Searcher. No minMatch is sent (the server keeps hits
// scoring at least 0.01); the harness applies the threshold.
func (w *Watchman) Search(ctx context.Context, name string) ([]Result, error) {
	q := url.Values{}
	q.Set("name", name)
	q.Set("limit", strconv.Itoa(w.Limit))
	var resp watchmanResponse
	if err := w.get(ctx, "/v2/search?"+q.Encode(), &resp); err != nil {
		return nil, err
	}
	out := make([]Result, 0, len(resp.Entities))
	for _, e := range resp.Entities {
		out = append(out, Result{ID: WatchmanID(e.SourceList, e.SourceID), Name: e.Name, Score: e.Match})
	}
	return dedupe(out), nil
}

// WatchmanID maps a watchman hit to this package's ID namespace.
func WatchmanID(sourceList, sourceID string) string {
	switch sourceList {
	case "us_ofac":
		return SourceOFAC + ":" + sourceID
	case WatchmanUNList:
		return SourceUN + ":" + sourceID
	}
	return sourceList + ":" + sourceID
}

// Describe implements Describer from GET /v2/listinfo.
func (w *Watchman) Describe(ctx context.Context) (string, error) {
	var info struct {
		Lists   map[string]int `json:"lists"`
		Version string         `json:"version"`
	}
	if err := w.get(ctx, "/v2/listinfo", &info); err != nil {
		return "", err
	}
	names := make([]string, 0, len(info.Lists))
	for n := range info.Lists {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := make([]string, 0, len(names))
	for _, n := range names {
		parts = append(parts, fmt.Sprintf("%s=%d", n, info.Lists[n]))
	}
	if _, ok := info.Lists["us_ofac"]; !ok {
		return "", fmt.Errorf("watchman at %s has not loaded us_ofac (lists: %s); start it with bench/screening/watchman.sh", w.base, strings.Join(parts, " "))
	}
	if _, ok := info.Lists[WatchmanUNList]; !ok {
		parts = append(parts, "(no "+WatchmanUNList+": UN positives cannot be found)")
	}
	return fmt.Sprintf("%s, entities per list: %s", w.base, strings.Join(parts, " ")), nil
}

// Close releases the idle connections.
func (w *Watchman) Close() error {
	w.tr.CloseIdleConnections()
	return nil
}

func (w *Watchman) get(ctx context.Context, pathAndQuery string, into any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, w.base.String()+pathAndQuery, nil)
	if err != nil {
		return err
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return err
	}
	defer func() {
		_, _ = io.Copy(io.Discard, resp.Body) // drain so the connection is reused
		resp.Body.Close()
	}()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("watchman %s: %s: %s", pathAndQuery, resp.Status, strings.TrimSpace(string(b)))
	}
	if err := json.NewDecoder(resp.Body).Decode(into); err != nil {
		return fmt.Errorf("watchman %s: decoding: %w", pathAndQuery, err)
	}
	if r, ok := into.(*watchmanResponse); ok && r.Error != "" {
		return fmt.Errorf("watchman %s: %s", pathAndQuery, r.Error)
	}
	return nil
}
