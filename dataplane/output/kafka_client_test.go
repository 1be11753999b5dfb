package output

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestKafkaClientOpts: the TLS and SASL fields give one option each, and
// an incomplete or unreadable setting an error naming its field.
func TestKafkaClientOpts(t *testing.T) {
	pass := filepath.Join(t.TempDir(), "password")
	if err := os.WriteFile(pass, []byte("secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		c        Config
		wantOpts int
		wantErr  string
	}{
		{"none", Config{}, 0, ""},
		{"tls", Config{TLS: true}, 1, ""},
		{"sasl", Config{SASLMechanism: "scram-sha-512", SASLUsername: "u", SASLPasswordFile: pass}, 1, ""},
		{"tls and sasl", Config{TLS: true, SASLMechanism: "plain", SASLUsername: "u", SASLPasswordFile: pass}, 2, ""},
		{"no mechanism", Config{SASLUsername: "u"}, 0, "sasl_mechanism: required"},
		{"unknown mechanism", Config{SASLMechanism: "gssapi", SASLUsername: "u", SASLPasswordFile: pass}, 0, "sasl_mechanism: want one of"},
		{"no user", Config{SASLMechanism: "plain", SASLPasswordFile: pass}, 0, "sasl_username: required"},
		{"no password", Config{SASLMechanism: "plain", SASLUsername: "u"}, 0, "sasl_password_file: required"},
		{"missing password file", Config{SASLMechanism: "plain", SASLUsername: "u", SASLPasswordFile: pass + ".missing"}, 0, "sasl_password_file: cannot read"},
		{"missing CA file", Config{TLSCAFile: pass + ".missing"}, 0, "tls_ca_file: cannot read"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts, err := KafkaClientOpts(&tc.c)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v; want an error with %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "secret") {
					t.Fatalf("error holds the password: %v", err)
				}
				return
			}
			if err != nil || len(opts) != tc.wantOpts {
				t.Fatalf("got %d options, %v; want %d, nil", len(opts), err, tc.wantOpts)
			}
		})
	}
}
