package main

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"

	"streamgate/dataplane/server"
)

// defaultAdminHost and defaultAPIHost keep the admin port and the REST API
// on loopback unless told otherwise.
const (
	defaultAdminHost = "127.0.0.1"
	defaultAPIHost   = "127.0.0.1"
)

// adminFlags are the data plane's admin server flags beyond -admin-port.
type adminFlags struct {
	host            string
	tlsCert, tlsKey string
	pprof           bool
}

func (f *adminFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.host, "admin-host", env("ADMIN_HOST", defaultAdminHost), "address the admin port listens on, empty for all interfaces (env ADMIN_HOST)")
	fs.StringVar(&f.tlsCert, "admin-tls-cert", env("ADMIN_TLS_CERT", ""), "PEM certificate (chain) of the admin port; with -admin-tls-key it serves HTTPS only (env ADMIN_TLS_CERT)")
	fs.StringVar(&f.tlsKey, "admin-tls-key", env("ADMIN_TLS_KEY", ""), "PEM private key of -admin-tls-cert (env ADMIN_TLS_KEY)")
	fs.BoolVar(&f.pprof, "pprof", false, fmt.Sprintf("serve /debug/pprof on the admin port (profiles and traces of at most %d s; secret flag values shown as REDACTED)", server.MaxProfileSeconds))
}

// apply sets the admin server's options.
func (f *adminFlags) apply(opts *server.Options) error {
	cfg, err := loadTLS("-admin-tls-cert", "-admin-tls-key", f.tlsCert, f.tlsKey)
	if err != nil {
		return err
	}
	opts.AdminTLS = cfg
	opts.Pprof = f.pprof
	opts.Cmdline = redactArgs(os.Args)
	return nil
}

// loadTLS reads a server certificate and its key, named by the flags
// certFlag and keyFlag; with neither set there is no TLS (nil).
func loadTLS(certFlag, keyFlag, certFile, keyFile string) (*tls.Config, error) {
	switch {
	case certFile == "" && keyFile == "":
		return nil, nil
	case certFile == "":
		return nil, fmt.Errorf("%s is set without %s; give both", keyFlag, certFlag)
	case keyFile == "":
		return nil, fmt.Errorf("%s is set without %s; give both", certFlag, keyFlag)
	}
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("%s, %s: cannot load the certificate and key: %w", certFlag, keyFlag, err)
	}
	return &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}, nil
}

// redacted replaces the value of a secret flag in what /debug/pprof/cmdline
// shows.
const redacted = "REDACTED"

// secretFlag reports whether a flag's value is to be hidden: a token, a
// password, a secret, a key, or the file that holds one (whose name may be
// the secret itself, given there by mistake).
func secretFlag(name string) bool {
	name = strings.ToLower(name)
	for _, w := range []string{"token", "password", "secret", "key"} {
		if strings.Contains(name, w) {
			return true
		}
	}
	return false
}

// redactArgs returns a copy of a command line with the value of every
// secret flag replaced by redacted, in each form the flag package reads:
// -name value, -name=value, --name value, --name=value.
func redactArgs(args []string) []string {
	out := make([]string, len(args))
	copy(out, args)
	for i := 1; i < len(out); i++ {
		a := out[i]
		if a == "--" {
			break
		}
		if len(a) < 2 || a[0] != '-' {
			continue
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !secretFlag(name) {
			continue
		}
		if hasValue {
			out[i] = a[:len(a)-len(strings.TrimLeft(a, "-"))] + name + "=" + redacted
		} else if i+1 < len(out) {
			i++
			out[i] = redacted
		}
	}
	return out
}

// isLoopback reports whether host, a listen address's host, is a loopback
// address: localhost, 127.0.0.0/8 or ::1. An empty host (all interfaces)
// and any other name are not.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// readSecretFile reads a secret from the file at path, without its
// trailing newline. Its errors do not show the path: should the secret
// itself have been given as the path, it must not be printed.
func readSecretFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return "", err
	}
	s := string(bytes.TrimRight(b, "\r\n"))
	if s == "" {
		return "", errors.New("the file is empty")
	}
	return s, nil
}

// writeSecretFile writes secret and a newline to path, readable by its
// owner only (0600): to a new file beside it, renamed over path, so that
// path is never seen half written or with wider permissions.
func writeSecretFile(path, secret string) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, werr := f.WriteString(secret + "\n")
	if err := errors.Join(werr, f.Chmod(0o600), f.Close()); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// newPassword returns 256 random bits, hex-encoded.
func newPassword() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("cannot generate a password: %w", err)
	}
	return hex.EncodeToString(b), nil
}
