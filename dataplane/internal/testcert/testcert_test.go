package testcert

import (
	"crypto/tls"
	"crypto/x509"
	"testing"
)

// TestNew checks that the server and client certificates load and verify
// against the CA for the names and uses they are for.
func TestNew(t *testing.T) {
	s := New(t)
	for _, c := range []struct {
		name, cert, key string
		usage           x509.ExtKeyUsage
		host            string
	}{
		{"server", s.CertFile, s.KeyFile, x509.ExtKeyUsageServerAuth, "127.0.0.1"},
		{"server by name", s.CertFile, s.KeyFile, x509.ExtKeyUsageServerAuth, "localhost"},
		{"client", s.ClientCertFile, s.ClientKeyFile, x509.ExtKeyUsageClientAuth, ""},
	} {
		pair, err := tls.LoadX509KeyPair(c.cert, c.key)
		if err != nil {
			t.Fatalf("%s: cannot load: %v", c.name, err)
		}
		leaf, err := x509.ParseCertificate(pair.Certificate[0])
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		opts := x509.VerifyOptions{Roots: s.CAPool, DNSName: c.host, KeyUsages: []x509.ExtKeyUsage{c.usage}}
		if _, err := leaf.Verify(opts); err != nil {
			t.Errorf("%s: does not verify against the CA: %v", c.name, err)
		}
	}
}
