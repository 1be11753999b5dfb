package output

import (
	"context"
	"crypto/tls"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"streamgate/dataplane/internal/testcert"
)

// tlsServerConfig is the TLS configuration of a test endpoint with the
// server certificate of certs.
func tlsServerConfig(t *testing.T, certs *testcert.Set) *tls.Config {
	t.Helper()
	pair, err := tls.LoadX509KeyPair(certs.CertFile, certs.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
}

// TestOutputTLS: the http and tcp outputs verify the endpoint's
// certificate by default, against tls_ca_file when set, and skip the check
// only when told to.
func TestOutputTLS(t *testing.T) {
	certs, other := testcert.New(t), testcert.New(t)
	notPEM := filepath.Join(t.TempDir(), "not.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}

	hs := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	hs.TLS = tlsServerConfig(t, certs)
	hs.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes
	hs.StartTLS()
	t.Cleanup(hs.Close)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", tlsServerConfig(t, certs))
	if err != nil {
		t.Fatal(err)
	}
	ls := serveLines(t, ln)

	endpoints := []struct{ typ, url string }{
		{"http", hs.URL}, // https://127.0.0.1:port
		{"tcp", "tls://" + ls.ln.Addr().String()},
	}
	tests := []struct {
		name       string
		caFile     string
		skipVerify bool
		newErr     string // "" when the output builds
		writes     bool
	}{
		{"the system's CAs", "", false, "", false},
		{"the endpoint's CA", certs.CAFile, false, "", true},
		{"another CA", other.CAFile, false, "", false},
		{"verification skipped", "", true, "", true},
		{"a CA file that is missing", filepath.Join(t.TempDir(), "missing.pem"), false, "tls_ca_file: cannot read: ", false},
		{"a CA file without a certificate", notPEM, false, "tls_ca_file: no PEM certificate in ", false},
	}
	for _, ep := range endpoints {
		for _, tt := range tests {
			c := &Config{Type: ep.typ, URL: ep.url, TLSCAFile: tt.caFile, TLSInsecureSkipVerify: tt.skipVerify, MaxRetries: intPtr(0), TimeoutMS: 5000}
			if err := Validate(c); err != nil {
				t.Fatalf("%s, %s: Validate: %v", ep.typ, tt.name, err)
			}
			o, err := New(c)
			if tt.newErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.newErr) {
					t.Errorf("%s, %s: New: got error %v; want %q", ep.typ, tt.name, err, tt.newErr)
				}
				continue
			}
			if err != nil {
				t.Fatalf("%s, %s: New: %v", ep.typ, tt.name, err)
			}
			err = o.Write(context.Background(), batchOf("a line over TLS"))
			o.Close()
			switch {
			case tt.writes && err != nil:
				t.Errorf("%s, %s: Write: got error %v; want none", ep.typ, tt.name, err)
			case !tt.writes && (err == nil || !strings.Contains(err.Error(), "certificate")):
				t.Errorf("%s, %s: Write: got error %v; want a certificate refused", ep.typ, tt.name, err)
			}
		}
	}
	waitLines(t, ls, 2) // the endpoint's CA, and verification skipped
}

// TestOutputTLSChecksTheName: a certificate from the right CA for another
// host is refused.
func TestOutputTLSChecksTheName(t *testing.T) {
	certs := testcert.New(t)
	// 127.0.0.2 is loopback too, and not an address the certificate names.
	ln, err := tls.Listen("tcp", "127.0.0.2:0", tlsServerConfig(t, certs))
	if err != nil {
		t.Fatal(err)
	}
	ls := serveLines(t, ln)
	c := &Config{Type: "tcp", URL: "tls://" + ls.ln.Addr().String(), TLSCAFile: certs.CAFile, MaxRetries: intPtr(0)}
	o, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if err := o.Write(context.Background(), tcpBatch("x")); err == nil || !strings.Contains(err.Error(), "not 127.0.0.2") {
		t.Errorf("Write to a host the certificate does not name: got error %v; want the certificate refused for 127.0.0.2", err)
	}
}

func TestValidateTLS(t *testing.T) {
	tests := []struct {
		c    Config
		want string
	}{
		{Config{Type: "http", URL: "http://x", TLSCAFile: "/ca.pem"}, "tls_ca_file: only with a https:// url"},
		{Config{Type: "http", URL: "http://x", TLSInsecureSkipVerify: true}, "tls_insecure_skip_verify: only with a https:// url"},
		{Config{Type: "tcp", URL: "tcp://x:1", TLSCAFile: "/ca.pem"}, "tls_ca_file: only with a tls:// url"},
		{Config{Type: "tcp", URL: "tls://x:1", TLSCAFile: "/ca.pem", TLSInsecureSkipVerify: true}, "tls_insecure_skip_verify: set together with tls_ca_file"},
		{Config{Type: "http", URL: "https://x", TLSCAFile: "/ca.pem"}, ""},
		{Config{Type: "tcp", URL: "tls://x:1", TLSInsecureSkipVerify: true}, ""},
		{Config{Type: "console", TLSCAFile: "/ca.pem"}, "tls_ca_file: not used by console output"},
	}
	for _, tt := range tests {
		err := Validate(&tt.c)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%+v: got error %v; want none", tt.c, err)
		case tt.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.want)):
			t.Errorf("%+v: got error %v; want %q", tt.c, err, tt.want)
		}
	}
}
