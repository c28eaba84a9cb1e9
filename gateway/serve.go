package gateway

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

//go:embed openapi.json
var openAPIDoc []byte

// OpenAPI returns the OpenAPI 3 document of the API (a copy).
func OpenAPI() []byte { return append([]byte(nil), openAPIDoc...) }

func (g *Gateway) openAPI(w http.ResponseWriter, _ *http.Request, _ Principal) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(openAPIDoc)
	return nil
}

// TLSFiles names a PEM certificate (chain) and key. Both empty: plain HTTP.
type TLSFiles struct {
	CertFile string
	KeyFile  string
}

// Enabled reports whether TLS is configured.
func (t TLSFiles) Enabled() bool { return t.CertFile != "" || t.KeyFile != "" }

// shutdownGrace bounds how long Serve waits for requests in flight when ctx
// ends.
const shutdownGrace = 10 * time.Second

// Serve listens on addr and serves h (over TLS when tlsFiles is set) until
// ctx ends, then shuts down gracefully.
func Serve(ctx context.Context, addr string, h http.Handler, tlsFiles TLSFiles) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("gateway: listen %s: %w", addr, err)
	}
	return ServeListener(ctx, ln, h, tlsFiles)
}

// ServeListener is Serve on an open listener, which it closes.
func ServeListener(ctx context.Context, ln net.Listener, h http.Handler, tlsFiles TLSFiles) error {
	if tlsFiles.Enabled() && (tlsFiles.CertFile == "" || tlsFiles.KeyFile == "") {
		ln.Close()
		return errors.New("gateway: TLS needs both a certificate and a key file")
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	errc := make(chan error, 1)
	go func() {
		if tlsFiles.Enabled() {
			errc <- srv.ServeTLS(ln, tlsFiles.CertFile, tlsFiles.KeyFile)
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return fmt.Errorf("gateway: serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("gateway: shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("gateway: serve: %w", err)
	}
	return nil
}
