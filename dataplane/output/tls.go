package output

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"

	"streamgate/dataplane/spec"
)

// TLS of the outputs that connect to an endpoint. An output verifies the
// endpoint's certificate against the system's CAs, or those of
// tls_ca_file, and its name against the URL's host; it skips the check only
// when its config says tls_insecure_skip_verify, which the manifest's
// warnings and the pipeline's log show.

// tlsParams documents the TLS fields for an output whose TLS URLs are
// those of url, "an https:// url".
func tlsParams(url string) []spec.Param {
	return []spec.Param{
		{Name: "tls_ca_file", Kind: spec.String, Description: "With " + url + ": a PEM file of the CA certificates the endpoint's certificate is verified against, instead of the system's. Each data plane reads it when it loads the output; one that cannot rejects the manifest and keeps its previous configuration."},
		{Name: "tls_insecure_skip_verify", Kind: spec.Boolean, Default: "false", Description: "With " + url + ": accept any certificate, so anyone on the path can read and change what is sent. A data plane logs a warning when it loads such an output; streamgate validate and POST /publish warn about it too."},
	}
}

// validateTLS checks the TLS fields of c, whose URL uses TLS if isTLS;
// scheme is the URL scheme that would, for errors.
func validateTLS(c *Config, isTLS bool, scheme string) error {
	switch {
	case c.TLSCAFile != "" && !isTLS:
		return fmt.Errorf("tls_ca_file: only with a %s url", scheme)
	case c.TLSInsecureSkipVerify && !isTLS:
		return fmt.Errorf("tls_insecure_skip_verify: only with a %s url", scheme)
	case c.TLSCAFile != "" && c.TLSInsecureSkipVerify:
		return errors.New("tls_insecure_skip_verify: set together with tls_ca_file, which it would make useless; verify against the CA file, or drop it")
	}
	return nil
}

// clientTLS returns the TLS configuration of an output that connects to
// serverName: certificates verified against the CA file of c, or the
// system's CAs, unless c skips the check; TLS 1.2 at least.
func clientTLS(c *Config, serverName string) (*tls.Config, error) {
	cfg := &tls.Config{
		ServerName:         serverName,
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: c.TLSInsecureSkipVerify,
	}
	if c.TLSCAFile != "" {
		pem, err := os.ReadFile(c.TLSCAFile)
		if err != nil {
			return nil, fmt.Errorf("tls_ca_file: cannot read: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls_ca_file: no PEM certificate in %s", c.TLSCAFile)
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}
