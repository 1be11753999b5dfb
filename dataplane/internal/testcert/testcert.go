// Package testcert makes a throwaway certificate authority for tests: a CA,
// a server certificate for localhost, 127.0.0.1 and ::1, and a client
// certificate, each written as a PEM file in the test's temporary
// directory.
package testcert

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Set is a CA and the certificates it signed, as files.
type Set struct {
	// CAFile is the CA certificate.
	CAFile string
	// CertFile and KeyFile are the server's certificate and key, for
	// localhost, 127.0.0.1 and ::1.
	CertFile, KeyFile string
	// ClientCertFile and ClientKeyFile are a client's certificate and
	// key, for client authentication.
	ClientCertFile, ClientKeyFile string
	// CAPool holds the CA certificate.
	CAPool *x509.CertPool
}

// New makes a CA and its certificates in t.TempDir(); it fails t on any
// error.
func New(t testing.TB) *Set {
	t.Helper()
	dir := t.TempDir()
	now := time.Now()
	caKey := newKey(t)
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "streamgate test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatalf("cannot create the test CA: %v", err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatalf("cannot parse the test CA: %v", err)
	}
	s := &Set{CAFile: filepath.Join(dir, "ca.pem"), CAPool: x509.NewCertPool()}
	s.CAPool.AddCert(ca)
	writePEM(t, s.CAFile, "CERTIFICATE", caDER)

	leaf := func(serial int64, name string, usage x509.ExtKeyUsage) (certFile, keyFile string) {
		key := newKey(t)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial),
			Subject:      pkix.Name{CommonName: name},
			NotBefore:    now.Add(-time.Hour),
			NotAfter:     now.Add(24 * time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{usage},
		}
		if usage == x509.ExtKeyUsageServerAuth {
			tmpl.DNSNames = []string{"localhost"}
			tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatalf("cannot create the %s certificate: %v", name, err)
		}
		keyDER, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			t.Fatalf("cannot encode the %s key: %v", name, err)
		}
		certFile, keyFile = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem")
		writePEM(t, certFile, "CERTIFICATE", der)
		writePEM(t, keyFile, "EC PRIVATE KEY", keyDER)
		return certFile, keyFile
	}
	s.CertFile, s.KeyFile = leaf(2, "server", x509.ExtKeyUsageServerAuth)
	s.ClientCertFile, s.ClientKeyFile = leaf(3, "client", x509.ExtKeyUsageClientAuth)
	return s
}

// ServerConfig is a server's TLS configuration with the server
// certificate.
func (s *Set) ServerConfig(t testing.TB) *tls.Config {
	t.Helper()
	pair, err := tls.LoadX509KeyPair(s.CertFile, s.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
}

// ClientConfig is a client's TLS configuration that trusts the CA.
func (s *Set) ClientConfig() *tls.Config {
	return &tls.Config{RootCAs: s.CAPool, MinVersion: tls.VersionTLS12}
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("cannot generate a key: %v", err)
	}
	return k
}

func writePEM(t testing.TB, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatalf("cannot write %s: %v", path, err)
	}
}
