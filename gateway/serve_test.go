package gateway_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openekyc/ekyc/gateway"
)

// selfSigned writes a certificate for 127.0.0.1 and its key, returning the
// files and a pool that trusts the certificate.
func selfSigned(t *testing.T) (gateway.TLSFiles, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ekyc test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	kder, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	dir := t.TempDir()
	files := gateway.TLSFiles{CertFile: filepath.Join(dir, "cert.pem"), KeyFile: filepath.Join(dir, "key.pem")}
	require.NoError(t, os.WriteFile(files.CertFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(files.KeyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600))
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return files, pool
}

func TestServeOverTLSAndPlain(t *testing.T) {
	h := newHarness(t, nil)
	files, pool := selfSigned(t)
	for _, tc := range []struct {
		name   string
		files  gateway.TLSFiles
		scheme string
		client *http.Client
	}{
		{"tls", files, "https", &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}},
		{"plain", gateway.TLSFiles{}, "http", &http.Client{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- gateway.ServeListener(ctx, ln, h.g, tc.files) }()

			resp, err := tc.client.Get(tc.scheme + "://" + ln.Addr().String() + "/v1/openapi.json")
			require.NoError(t, err)
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			require.NoError(t, resp.Body.Close())
			require.Equal(t, http.StatusOK, resp.StatusCode)
			require.Equal(t, gateway.OpenAPI(), body)
			if tc.name == "tls" {
				require.NotNil(t, resp.TLS)
				// A plain-HTTP client cannot talk to the TLS listener.
				plain, err := http.Get("http://" + ln.Addr().String() + "/v1/openapi.json")
				if err == nil {
					require.Equal(t, http.StatusBadRequest, plain.StatusCode)
					plain.Body.Close()
				}
			}
			tc.client.CloseIdleConnections()
			cancel()
			require.NoError(t, <-done)
		})
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	err = gateway.ServeListener(context.Background(), ln, h.g, gateway.TLSFiles{CertFile: files.CertFile})
	require.Error(t, err, "a certificate without a key is refused")
	bad := gateway.TLSFiles{CertFile: files.CertFile, KeyFile: filepath.Join(t.TempDir(), "missing.pem")}
	ln, err = net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	require.Error(t, gateway.ServeListener(context.Background(), ln, h.g, bad))
}
