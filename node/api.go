package node

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/openekyc/ekyc/config"
	"github.com/openekyc/ekyc/internal/envelope"
	"github.com/openekyc/ekyc/store/audit"
	"github.com/openekyc/ekyc/store/blobs"
	"github.com/openekyc/ekyc/store/keys"
	"github.com/openekyc/ekyc/store/tenants"
)

// protection holds what keeps applicants' data safe and accountable: the
// key ring (a data key per session under a key per tenant under the master
// key), the encrypted blob store of images, tenants and their API keys, and
// the audit log. All four are embedded (Pebble, a local bucket) and owned
// by one node: a multi-node deployment on a shared CQL store needs a
// shared key store, which does not exist yet (docs/DESIGN.md).
type protection struct {
	ring    *keys.Ring
	blobs   *blobs.Store
	tenants *tenants.Store
	audit   *audit.Log
	// env is the master key as an envelope.Keyring, loaded once: it seals
	// small node-wide records (webhook secrets and bodies, monitoring
	// subjects).
	env *envelope.Keyring
}

// Data-directory layout of the protection stores.
func keyringDir(cfg config.Config) string { return KeyringDir(cfg) }

// KeyringDir is the key ring's Pebble directory (<data_dir>/keys/ring).
func KeyringDir(cfg config.Config) string { return filepath.Join(cfg.DataDir, "keys", "ring") }
func tenantsDir(cfg config.Config) string { return filepath.Join(cfg.DataDir, "tenants") }
func auditDir(cfg config.Config) string   { return filepath.Join(cfg.DataDir, "audit") }
func apiStateDir(cfg config.Config) string {
	return filepath.Join(cfg.DataDir, "api")
}
func webhooksDir(cfg config.Config) string { return filepath.Join(cfg.DataDir, "webhooks") }

func (n *Node) startProtection(ctx context.Context) (err error) {
	p := &protection{}
	defer func() {
		if err != nil {
			p.close()
		}
	}()
	master, err := keys.FileMaster(n.cfg.MasterKeyFile)
	if err != nil {
		return fmt.Errorf("node: master key: %w", err)
	}
	if p.ring, err = keys.Open(ctx, keyringDir(n.cfg), master); err != nil {
		return fmt.Errorf("node: key ring: %w", err)
	}
	if p.blobs, err = blobs.Open(ctx, n.cfg.Blobs.URL, p.ring, blobs.WithMaxSize(int(n.cfg.Gateway.ImageMaxBytes))); err != nil {
		return fmt.Errorf("node: blobs: %w", err)
	}
	if p.env, err = envelope.LoadOrCreateKeyFile(n.cfg.MasterKeyFile); err != nil {
		return fmt.Errorf("node: master key: %w", err)
	}
	if p.tenants, err = tenants.Open(ctx, tenantsDir(n.cfg), tenants.WithSealer(p.env)); err != nil {
		return fmt.Errorf("node: tenants: %w", err)
	}
	if p.audit, err = audit.Open(ctx, auditDir(n.cfg)); err != nil {
		return fmt.Errorf("node: audit log: %w", err)
	}
	n.protect = p
	n.images.blobs = p.loadImage
	return nil
}

// loadImage reads a blob: image reference of tenant's request. A reference
// to another tenant's blob is refused as unreadable.
func (p *protection) loadImage(ctx context.Context, tenant, uri string) ([]byte, error) {
	t, s, name, err := blobs.ParseURI(uri)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrImageRef, err)
	}
	if t != tenant {
		return nil, fmt.Errorf("%w: blob of another tenant", ErrImageRef)
	}
	b, _, err := p.blobs.Get(ctx, t, s, name)
	switch {
	case errors.Is(err, blobs.ErrNotFound), errors.Is(err, keys.ErrShredded):
		return nil, fmt.Errorf("%w: %v", ErrImageRef, err)
	case err != nil:
		return nil, err
	}
	return b, nil
}

// record appends an audit entry; an audit failure is logged and returned.
func (n *Node) record(ctx context.Context, e audit.Entry) error {
	if n.protect == nil {
		return nil
	}
	if _, err := n.protect.audit.Append(ctx, e); err != nil {
		n.log.Error("audit append failed", "action", e.Action, "err", err)
		return err
	}
	return nil
}

func (p *protection) close() {
	if p == nil {
		return
	}
	if p.blobs != nil {
		_ = p.blobs.Close()
	}
	if p.ring != nil {
		_ = p.ring.Close()
	}
	if p.tenants != nil {
		_ = p.tenants.Close()
	}
	if p.audit != nil {
		_ = p.audit.Close()
	}
}

// serveHTTP serves h on addr (TLS when configured) until the node closes.
func serveHTTP(addr string, t config.TLS, h http.Handler) (*http.Server, net.Listener, error) {
	ln, err := listen(addr, t)
	if err != nil {
		return nil, nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, WriteTimeout: time.Minute, IdleTimeout: 2 * time.Minute}
	go func() { _ = srv.Serve(ln) }()
	return srv, ln, nil
}
