package gateway

import (
	"errors"
	"net/http"
	"strconv"
	"time"
)

const (
	defaultEventsLimit = 50
	maxEventsLimit     = 500
)

type attemptJSON struct {
	At         time.Time `json:"at"`
	StatusCode int       `json:"status_code,omitempty"`
	Error      string    `json:"error,omitempty"`
	DurationMS int64     `json:"duration_ms"`
}

type webhookEventJSON struct {
	ID        string        `json:"id"`
	SessionID string        `json:"session_id"`
	Type      string        `json:"type"`
	Status    string        `json:"status"`
	CreatedAt time.Time     `json:"created_at"`
	Attempts  []attemptJSON `json:"attempts"`
}

type webhookEventsJSON struct {
	Events []webhookEventJSON `json:"events"`
}

type replayJSON struct {
	ID     string `json:"id"`
	Status string `json:"status"`
}

func eventView(e WebhookEvent) webhookEventJSON {
	v := webhookEventJSON{ID: e.ID, SessionID: e.SessionID, Type: e.Type, Status: e.Status,
		CreatedAt: e.CreatedAt.UTC(), Attempts: []attemptJSON{}}
	for _, a := range e.Attempts {
		v.Attempts = append(v.Attempts, attemptJSON{At: a.At.UTC(), StatusCode: a.StatusCode, Error: a.Error,
			DurationMS: a.Duration.Milliseconds()})
	}
	return v
}

func eventNotFound() error { return errorf(CodeNotFound, "webhook event not found") }

func (g *Gateway) webhooks() (Webhooks, error) {
	if g.deps.Webhooks == nil {
		return nil, errorf(CodeNotAvailable, "webhooks are not configured on this node")
	}
	return g.deps.Webhooks, nil
}

func (g *Gateway) listWebhookEvents(w http.ResponseWriter, r *http.Request, p Principal) error {
	wh, err := g.webhooks()
	if err != nil {
		return err
	}
	limit := defaultEventsLimit
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxEventsLimit {
			return invalid("limit: want an integer from 1 to %d", maxEventsLimit)
		}
		limit = n
	}
	evs, err := wh.Events(r.Context(), p.Tenant, limit)
	if err != nil {
		return unavailable(err)
	}
	out := webhookEventsJSON{Events: make([]webhookEventJSON, 0, len(evs))}
	for _, e := range evs {
		out.Events = append(out.Events, eventView(e))
	}
	return writeJSON(w, http.StatusOK, out)
}

func (g *Gateway) getWebhookEvent(w http.ResponseWriter, r *http.Request, p Principal) error {
	wh, err := g.webhooks()
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if !idPattern.MatchString(id) {
		return eventNotFound()
	}
	e, err := wh.Event(r.Context(), p.Tenant, id)
	switch {
	case errors.Is(err, ErrNotFound):
		return eventNotFound()
	case err != nil:
		return unavailable(err)
	}
	return writeJSON(w, http.StatusOK, eventView(e))
}

func (g *Gateway) replayWebhookEvent(w http.ResponseWriter, r *http.Request, p Principal) error {
	wh, err := g.webhooks()
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if !idPattern.MatchString(id) {
		return eventNotFound()
	}
	switch err := wh.Replay(r.Context(), p.Tenant, id); {
	case errors.Is(err, ErrNotFound):
		return eventNotFound()
	case err != nil:
		return unavailable(err)
	}
	g.audit(r, p, "webhook.replayed", id, nil)
	return writeJSON(w, http.StatusAccepted, replayJSON{ID: id, Status: "replay_scheduled"})
}
