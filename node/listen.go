package node

import (
	"crypto/tls"
	"fmt"
	"net"

	"github.com/openekyc/ekyc/config"
)

// listen opens a TCP listener on addr, with TLS (1.2 or later) when t names
// a certificate and key. Every HTTP listener of the node goes through it.
func listen(addr string, t config.TLS) (net.Listener, error) {
	var tc *tls.Config
	if t.Enabled() {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("tls: %w", err)
		}
		tc = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	if tc != nil {
		return tls.NewListener(ln, tc), nil
	}
	return ln, nil
}
