package apistate_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/openekyc/ekyc/internal/envelope"
	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
	"github.com/openekyc/ekyc/store/apistate"
)

// sealer is a real AES-256-GCM Sealer: envelope encryption under one master
// key, with tenant and session in the associated data.
type sealer struct{ k *envelope.Keyring }

func newSealer(t *testing.T) sealer {
	key := make([]byte, envelope.KeySize)
	_, err := rand.Read(key)
	require.NoError(t, err)
	k, err := envelope.New(key)
	require.NoError(t, err)
	return sealer{k}
}

func bind(tenant, session string, aad []byte) []byte {
	return append([]byte(tenant+"\x00"+session+"\x00"), aad...)
}

func (s sealer) Seal(_ context.Context, tenant, session string, p, aad []byte) ([]byte, error) {
	return s.k.Seal(p, bind(tenant, session, aad))
}

func (s sealer) Open(_ context.Context, tenant, session string, c, aad []byte) ([]byte, error) {
	return s.k.Open(c, bind(tenant, session, aad))
}

func open(t *testing.T, dir string, opts ...apistate.Option) *apistate.Store {
	t.Helper()
	s, err := apistate.Open(dir, newSealer(t), opts...)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}

func draft(tenant, id string) *apistate.Draft {
	return &apistate.Draft{
		Tenant: tenant, ID: id, Status: apistate.StatusCreated,
		CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Applicant: &ekycv1.Applicant{GivenNames: "Zyxwa", Surname: "Qorvath", DateOfBirth: "1980-02-03", Nationality: "UTO"},
		Document:  &ekycv1.Document{Type: ekycv1.DocumentType_DOCUMENT_TYPE_PASSPORT, IssuingCountry: "UTO"},
		Reference: "cust-4711",
		Checks:    []ekycv1.CheckKind{ekycv1.CheckKind_CHECK_KIND_DOCUMENT, ekycv1.CheckKind_CHECK_KIND_FACE},
		PolicyID:  "default", CallbackURL: "https://example.test/cb",
	}
}

func TestDraftRoundTripAndPIIIsSealed(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := apistate.Open(dir, newSealer(t))
	require.NoError(t, err)
	d := draft("t1", "s1")
	require.NoError(t, s.Create(ctx, d))
	require.ErrorIs(t, s.Create(ctx, draft("t1", "s1")), apistate.ErrExists)

	got, err := s.Get(ctx, "t1", "s1")
	require.NoError(t, err)
	require.True(t, proto.Equal(d.Applicant, got.Applicant))
	require.True(t, proto.Equal(d.Document, got.Document))
	require.Equal(t, "cust-4711", got.Reference)
	require.Equal(t, d.Checks, got.Checks)
	require.Equal(t, d.CreatedAt, got.CreatedAt)
	require.Equal(t, apistate.StatusCreated, got.Status)

	_, err = s.Get(ctx, "t2", "s1")
	require.ErrorIs(t, err, apistate.ErrNotFound)
	require.NoError(t, s.Close())

	// The raw database holds no personal data in the clear.
	db, err := pebble.Open(dir, &pebble.Options{})
	require.NoError(t, err)
	v, closer, err := db.Get(apistate.DraftKey("t1", "s1"))
	require.NoError(t, err)
	for _, pii := range []string{"Zyxwa", "Qorvath", "1980-02-03", "cust-4711"} {
		require.False(t, bytes.Contains(v, []byte(pii)), "%s stored in the clear", pii)
	}
	require.True(t, bytes.Contains(v, []byte("https://example.test/cb")))
	require.NoError(t, closer.Close())
	require.NoError(t, db.Close())
}

func TestSealedPartDoesNotOpenUnderAnotherDraft(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	seal := newSealer(t)
	s, err := apistate.Open(dir, seal)
	require.NoError(t, err)
	require.NoError(t, s.Create(ctx, draft("t1", "s1")))
	require.NoError(t, s.Create(ctx, draft("t2", "s2")))
	require.NoError(t, s.Close())

	db, err := pebble.Open(dir, &pebble.Options{})
	require.NoError(t, err)
	v, closer, err := db.Get(apistate.DraftKey("t1", "s1"))
	require.NoError(t, err)
	require.NoError(t, db.Set(apistate.DraftKey("t2", "s2"), append([]byte(nil), v...), pebble.Sync))
	require.NoError(t, closer.Close())
	require.NoError(t, db.Close())

	s, err = apistate.Open(dir, seal)
	require.NoError(t, err)
	defer s.Close()
	_, err = s.Get(ctx, "t2", "s2")
	require.ErrorIs(t, err, envelope.ErrCorrupt)
	_, err = s.Get(ctx, "t1", "s1")
	require.NoError(t, err)
}

func TestUpdateIsSerialAndErrorsWriteNothing(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir())
	require.NoError(t, s.Create(ctx, draft("t", "s")))

	const n = 32
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.Update(ctx, "t", "s", func(d *apistate.Draft) error {
				d.Images = append(d.Images, apistate.Image{Name: "img", Size: int64(i)})
				return nil
			})
			require.NoError(t, err)
		}()
	}
	wg.Wait()
	got, err := s.Get(ctx, "t", "s")
	require.NoError(t, err)
	require.Len(t, got.Images, n, "a concurrent update was lost")

	boom := errors.New("boom")
	_, err = s.Update(ctx, "t", "s", func(d *apistate.Draft) error {
		d.Status = apistate.StatusSubmitted
		return boom
	})
	require.ErrorIs(t, err, boom)
	got, err = s.Get(ctx, "t", "s")
	require.NoError(t, err)
	require.Equal(t, apistate.StatusCreated, got.Status)

	_, err = s.Update(ctx, "t", "missing", func(*apistate.Draft) error { return nil })
	require.ErrorIs(t, err, apistate.ErrNotFound)
	_, err = s.Update(ctx, "t", "s", func(d *apistate.Draft) error { d.Tenant = "other"; return nil })
	require.ErrorIs(t, err, apistate.ErrInvalidArgument)
}

func TestSetImageReplacesByName(t *testing.T) {
	d := draft("t", "s")
	d.SetImage(apistate.Image{Name: "selfie", Size: 1})
	d.SetImage(apistate.Image{Name: "document_front", Size: 2})
	d.SetImage(apistate.Image{Name: "selfie", Size: 3})
	require.Len(t, d.Images, 2)
	im, ok := d.Image("selfie")
	require.True(t, ok)
	require.EqualValues(t, 3, im.Size)
	_, ok = d.Image("document_back")
	require.False(t, ok)
}

func TestEraseLeavesATombstoneWithoutPII(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir())
	d := draft("t", "s")
	d.Images = []apistate.Image{{Name: "selfie", SHA256: "ab"}}
	d.EventID = "ev"
	require.NoError(t, s.Create(ctx, d))
	at := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	got, err := s.Erase(ctx, "t", "s", at)
	require.NoError(t, err)
	require.Equal(t, apistate.StatusErased, got.Status)

	got, err = s.Get(ctx, "t", "s")
	require.NoError(t, err)
	require.Equal(t, apistate.StatusErased, got.Status)
	require.Equal(t, at, got.ErasedAt)
	require.Nil(t, got.Applicant)
	require.Nil(t, got.Document)
	require.Empty(t, got.Reference)
	require.Empty(t, got.Images)
	require.Equal(t, "ev", got.EventID)
	require.Equal(t, d.Checks, got.Checks)

	// Idempotent: the first erasure time stays.
	got, err = s.Erase(ctx, "t", "s", at.Add(time.Hour))
	require.NoError(t, err)
	require.Equal(t, at, got.ErasedAt)

	_, err = s.Erase(ctx, "t", "nope", at)
	require.ErrorIs(t, err, apistate.ErrNotFound)

	require.NoError(t, s.Delete(ctx, "t", "s"))
	require.NoError(t, s.Delete(ctx, "t", "s"))
	_, err = s.Get(ctx, "t", "s")
	require.ErrorIs(t, err, apistate.ErrNotFound)
}

func TestIdempotencyRecordsExpire(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	s := open(t, t.TempDir(), apistate.WithClock(clock), apistate.WithIdempotencyTTL(time.Hour))

	_, err := s.LoadIdempotent(ctx, "t", "k")
	require.ErrorIs(t, err, apistate.ErrNotFound)
	first := apistate.IdempotentResponse{RequestHash: "h1", StatusCode: 201, ContentType: "application/json", Body: []byte(`{"id":"x"}`)}
	require.NoError(t, s.SaveIdempotent(ctx, "t", "k", first))
	require.ErrorIs(t, s.SaveIdempotent(ctx, "t", "k", apistate.IdempotentResponse{RequestHash: "h2", StatusCode: 500}), apistate.ErrExists)

	got, err := s.LoadIdempotent(ctx, "t", "k")
	require.NoError(t, err)
	require.Equal(t, "h1", got.RequestHash)
	require.Equal(t, 201, got.StatusCode)
	require.Equal(t, first.Body, got.Body)
	require.Equal(t, now.Add(time.Hour), got.ExpiresAt)

	// Scoped by tenant.
	_, err = s.LoadIdempotent(ctx, "other", "k")
	require.ErrorIs(t, err, apistate.ErrNotFound)

	require.NoError(t, s.SaveIdempotent(ctx, "t", "k2", first))
	advance(30 * time.Minute)
	require.NoError(t, s.SaveIdempotent(ctx, "t", "k3", first))
	advance(31 * time.Minute) // k and k2 expired, k3 not
	_, err = s.LoadIdempotent(ctx, "t", "k")
	require.ErrorIs(t, err, apistate.ErrNotFound)
	n, err := s.PurgeExpired(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, n)
	_, err = s.LoadIdempotent(ctx, "t", "k3")
	require.NoError(t, err)

	// An expired key can be used again.
	require.NoError(t, s.SaveIdempotent(ctx, "t", "k", apistate.IdempotentResponse{RequestHash: "h9", StatusCode: 202}))
	got, err = s.LoadIdempotent(ctx, "t", "k")
	require.NoError(t, err)
	require.Equal(t, "h9", got.RequestHash)
}

func TestInvalidArgumentsAndClose(t *testing.T) {
	ctx := context.Background()
	_, err := apistate.Open("", newSealer(t))
	require.ErrorIs(t, err, apistate.ErrInvalidArgument)
	_, err = apistate.Open(t.TempDir(), nil)
	require.ErrorIs(t, err, apistate.ErrInvalidArgument)

	s, err := apistate.Open(t.TempDir(), newSealer(t))
	require.NoError(t, err)
	require.ErrorIs(t, s.Create(ctx, nil), apistate.ErrInvalidArgument)
	require.ErrorIs(t, s.Create(ctx, draft("", "s")), apistate.ErrInvalidArgument)
	_, err = s.Get(ctx, "t", "")
	require.ErrorIs(t, err, apistate.ErrInvalidArgument)
	_, err = s.Get(ctx, "t", string(bytes.Repeat([]byte("x"), apistate.MaxIDLen+1)))
	require.ErrorIs(t, err, apistate.ErrInvalidArgument)
	require.NoError(t, s.Close())
	require.NoError(t, s.Close())
	_, err = s.Get(ctx, "t", "s")
	require.ErrorIs(t, err, apistate.ErrClosed)
}

// shredSealer fails every Seal/Open of a destroyed session key, like
// store/keys after crypto-shredding.
type shredSealer struct {
	sealer
	shredded map[string]bool
}

var errShredded = errors.New("key destroyed")

func (s shredSealer) Seal(ctx context.Context, tenant, session string, p, aad []byte) ([]byte, error) {
	if s.shredded[tenant+"/"+session] {
		return nil, errShredded
	}
	return s.sealer.Seal(ctx, tenant, session, p, aad)
}

func (s shredSealer) Open(ctx context.Context, tenant, session string, c, aad []byte) ([]byte, error) {
	if s.shredded[tenant+"/"+session] {
		return nil, errShredded
	}
	return s.sealer.Open(ctx, tenant, session, c, aad)
}

func TestMetaAndEraseWorkWithoutTheSessionKey(t *testing.T) {
	ctx := context.Background()
	ss := shredSealer{sealer: newSealer(t), shredded: map[string]bool{}}
	s, err := apistate.Open(t.TempDir(), ss)
	require.NoError(t, err)
	defer s.Close()
	d := draft("t", "s")
	d.Images = []apistate.Image{{Name: "selfie"}}
	require.NoError(t, s.Create(ctx, d))

	m, err := s.Meta(ctx, "t", "s")
	require.NoError(t, err)
	require.Nil(t, m.Applicant)
	require.Empty(t, m.Reference)
	require.Len(t, m.Images, 1)
	require.Equal(t, d.Checks, m.Checks)
	_, err = s.Meta(ctx, "t", "other")
	require.ErrorIs(t, err, apistate.ErrNotFound)

	ss.shredded["t/s"] = true
	_, err = s.Get(ctx, "t", "s")
	require.ErrorIs(t, err, errShredded)
	_, err = s.Update(ctx, "t", "s", func(*apistate.Draft) error { return nil })
	require.ErrorIs(t, err, errShredded)
	_, err = s.Meta(ctx, "t", "s")
	require.NoError(t, err)

	_, err = s.Erase(ctx, "t", "s", time.Now())
	require.NoError(t, err)
	got, err := s.Get(ctx, "t", "s")
	require.NoError(t, err, "a tombstone has nothing sealed")
	require.Equal(t, apistate.StatusErased, got.Status)
}

// TestRangeListsATenantsDraftsWithoutTheirKeys: Range visits every draft
// of one tenant (more than a page), none of another tenant's (whatever
// their names), without opening sealed parts (all keys destroyed here),
// lets fn erase drafts as it goes, stops on fn's error, and skips a
// corrupt draft but reports it.
func TestRangeListsATenantsDraftsWithoutTheirKeys(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	ss := shredSealer{sealer: newSealer(t), shredded: map[string]bool{}}
	s, err := apistate.Open(dir, ss)
	require.NoError(t, err)
	const n = 300
	want := map[string]time.Time{}
	for i := range n {
		d := draft("t1", fmt.Sprintf("s-%03d", i))
		d.CreatedAt = d.CreatedAt.Add(time.Duration(i) * time.Hour)
		require.NoError(t, s.Create(ctx, d))
		want[d.ID] = d.CreatedAt
		ss.shredded["t1/"+d.ID] = true
	}
	// Tenants a naive key encoding would mix up with "t1".
	for _, k := range [][2]string{{"t1/x", "s-000"}, {"t", "1/s-001"}, {"t10", "s-002"}, {"t2", "s-003"}} {
		require.NoError(t, s.Create(ctx, draft(k[0], k[1])))
	}

	collect := func(tenant string) map[string]*apistate.Draft {
		got := map[string]*apistate.Draft{}
		require.NoError(t, s.Range(ctx, tenant, func(d *apistate.Draft) error {
			require.Equal(t, tenant, d.Tenant)
			require.NotContains(t, got, d.ID, "visited twice")
			require.Nil(t, d.Applicant, "the sealed part stays sealed")
			got[d.ID] = d
			return nil
		}))
		return got
	}
	got := collect("t1")
	require.Len(t, got, n)
	for id, at := range want {
		require.Contains(t, got, id)
		require.True(t, at.Equal(got[id].CreatedAt), "%s: created %v, listed %v", id, at, got[id].CreatedAt)
		require.Equal(t, apistate.StatusCreated, got[id].Status)
	}
	require.Len(t, collect("t"), 1)
	require.Len(t, collect("t10"), 1)
	require.Empty(t, collect("t3"))

	// fn may erase the draft it is given.
	erased := 0
	require.NoError(t, s.Range(ctx, "t1", func(d *apistate.Draft) error {
		if erased%3 == 0 {
			if _, err := s.Erase(ctx, d.Tenant, d.ID, time.Now()); err != nil {
				return err
			}
		}
		erased++
		return nil
	}))
	require.Equal(t, n, erased)
	tombstones := 0
	for _, d := range collect("t1") {
		if d.Status == apistate.StatusErased {
			tombstones++
		}
	}
	require.Equal(t, n/3, tombstones)

	stop := errors.New("stop")
	calls := 0
	require.ErrorIs(t, s.Range(ctx, "t1", func(*apistate.Draft) error { calls++; return stop }), stop)
	require.Equal(t, 1, calls)
	require.ErrorIs(t, s.Range(ctx, "", func(*apistate.Draft) error { return nil }), apistate.ErrInvalidArgument)
	require.ErrorIs(t, s.Range(ctx, "t1", nil), apistate.ErrInvalidArgument)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	require.ErrorIs(t, s.Range(cctx, "t1", func(*apistate.Draft) error { return nil }), context.Canceled)

	// A corrupt draft is skipped and reported after the others.
	require.NoError(t, s.Close())
	db, err := pebble.Open(dir, &pebble.Options{})
	require.NoError(t, err)
	require.NoError(t, db.Set(apistate.DraftKey("t1", "s-150x"), []byte("{not json"), pebble.Sync))
	require.NoError(t, db.Close())
	s = open(t, dir)
	visited := 0
	err = s.Range(ctx, "t1", func(*apistate.Draft) error { visited++; return nil })
	require.ErrorIs(t, err, apistate.ErrCorrupt)
	require.Equal(t, n, visited)
	require.NoError(t, s.Close())
	require.ErrorIs(t, s.Range(ctx, "t1", func(*apistate.Draft) error { return nil }), apistate.ErrClosed)
}
