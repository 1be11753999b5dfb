package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"flag"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// testCert writes a self-signed server certificate for 127.0.0.1 and
// localhost, and its key, and returns their paths and a pool that trusts
// the certificate.
func testCert(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:    []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600)
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func TestRedactArgs(t *testing.T) {
	for _, c := range []struct{ in, want []string }{
		{in: []string{"streamgate", "up", "-api-token", "s3cret", "-api-port", "0"},
			want: []string{"streamgate", "up", "-api-token", redacted, "-api-port", "0"}},
		{in: []string{"streamgate", "up", "--api-token=s3cret", "-api-token-file", "/run/tok", "-hmac-key-file=k"},
			want: []string{"streamgate", "up", "--api-token=" + redacted, "-api-token-file", redacted, "-hmac-key-file=" + redacted}},
		{in: []string{"streamgate", "dataplane", "-admin-tls-key", "key.pem", "-host", "0.0.0.0", "-pprof"},
			want: []string{"streamgate", "dataplane", "-admin-tls-key", redacted, "-host", "0.0.0.0", "-pprof"}},
		{in: []string{"streamgate", "up", "-api-token"}, want: []string{"streamgate", "up", "-api-token"}},
		{in: []string{"streamgate", "validate", "--", "-api-token", "x"}, want: []string{"streamgate", "validate", "--", "-api-token", "x"}},
		{in: []string{"streamgate"}, want: []string{"streamgate"}},
	} {
		in := slices.Clone(c.in)
		if got := redactArgs(in); !slices.Equal(got, c.want) {
			t.Errorf("redactArgs(%q): got %q; want %q", c.in, got, c.want)
		}
		if !slices.Equal(in, c.in) {
			t.Errorf("redactArgs(%q) changed its argument", c.in)
		}
	}
}

func TestIsLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"127.0.0.1": true, "127.1.2.3": true, "::1": true, "localhost": true, "LocalHost": true,
		"": false, "0.0.0.0": false, "::": false, "10.0.0.1": false, "example.com": false, "[::1]": false,
	} {
		if got := isLoopback(host); got != want {
			t.Errorf("isLoopback(%q): got %v; want %v", host, got, want)
		}
	}
}

// TestControlFlags: the REST API listens on loopback unless told otherwise
// (LISTEN_HOST, the ingest listeners' address, does not move it); beyond
// loopback it needs a token or -insecure-api; the token comes from the
// flag, the environment or a file, one way only.
func TestControlFlags(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	os.WriteFile(tokenFile, []byte("tok-from-file\n"), 0o600)
	emptyFile := filepath.Join(dir, "empty")
	os.WriteFile(emptyFile, []byte("\n"), 0o600)
	certFile, keyFile, _ := testCert(t)
	const refused = "set -api-token-file or -api-token (env STREAMGATE_API_TOKEN_FILE, STREAMGATE_API_TOKEN), listen on loopback, or pass -insecure-api"
	for _, c := range []struct {
		name    string
		env     map[string]string
		args    []string
		host    string // f.host after parsing
		token   string // f.token after resolve
		tls     bool
		adminCA bool   // f.adminTLS set
		wantErr string // a substring of resolve's error
	}{
		{name: "defaults", host: "127.0.0.1"},
		{name: "LISTEN_HOST does not move the API", env: map[string]string{"LISTEN_HOST": "0.0.0.0"}, host: "127.0.0.1"},
		{name: "CONTROL_HOST", env: map[string]string{"CONTROL_HOST": "::1"}, host: "::1"},
		{name: "localhost", args: []string{"-api-host", "localhost"}, host: "localhost"},
		{name: "all interfaces without a token", args: []string{"-api-host", ""}, host: "",
			wantErr: "-api-host: the REST API would listen on all interfaces (-api-host empty) without a token"},
		{name: "an address without a token", args: []string{"-api-host", "0.0.0.0"}, host: "0.0.0.0", wantErr: refused},
		{name: "CONTROL_HOST without a token", env: map[string]string{"CONTROL_HOST": "10.1.2.3"}, host: "10.1.2.3",
			wantErr: "would listen on 10.1.2.3 (beyond loopback) without a token"},
		{name: "token", args: []string{"-api-host", "0.0.0.0", "-api-token", "tok"}, host: "0.0.0.0", token: "tok"},
		{name: "token from the environment", env: map[string]string{"STREAMGATE_API_TOKEN": "tok-env"}, args: []string{"-api-host", "0.0.0.0"},
			host: "0.0.0.0", token: "tok-env"},
		{name: "token file", args: []string{"-api-host", "0.0.0.0", "-api-token-file", tokenFile}, host: "0.0.0.0", token: "tok-from-file"},
		{name: "token file from the environment", env: map[string]string{"STREAMGATE_API_TOKEN_FILE": tokenFile}, host: "127.0.0.1", token: "tok-from-file"},
		{name: "insecure", args: []string{"-api-host", "0.0.0.0", "-insecure-api"}, host: "0.0.0.0"},
		{name: "token and token file", args: []string{"-api-token", "tok", "-api-token-file", tokenFile}, host: "127.0.0.1",
			wantErr: "-api-token (or STREAMGATE_API_TOKEN) and -api-token-file (or STREAMGATE_API_TOKEN_FILE) are both set"},
		{name: "token in the environment and token file", env: map[string]string{"STREAMGATE_API_TOKEN": "tok"}, args: []string{"-api-token-file", tokenFile},
			host: "127.0.0.1", wantErr: "are both set"},
		{name: "token file missing", args: []string{"-api-token-file", "tok-given-as-a-path"}, host: "127.0.0.1",
			wantErr: "-api-token-file: cannot read the token: no such file or directory"},
		{name: "token file empty", args: []string{"-api-token-file", emptyFile}, host: "127.0.0.1",
			wantErr: "-api-token-file: cannot read the token: the file is empty"},
		{name: "tls", args: []string{"-api-tls-cert", certFile, "-api-tls-key", keyFile}, host: "127.0.0.1", tls: true},
		{name: "tls cert without key", args: []string{"-api-tls-cert", certFile}, host: "127.0.0.1",
			wantErr: "-api-tls-cert is set without -api-tls-key; give both"},
		{name: "tls key that is no key", args: []string{"-api-tls-cert", certFile, "-api-tls-key", certFile}, host: "127.0.0.1",
			wantErr: "-api-tls-cert, -api-tls-key: cannot load the certificate and key"},
		{name: "admin ca", args: []string{"-admin-ca", certFile}, host: "127.0.0.1", adminCA: true},
		{name: "admin ca from the environment", env: map[string]string{"STREAMGATE_ADMIN_CA": certFile}, host: "127.0.0.1", adminCA: true},
		{name: "admin ca missing", args: []string{"-admin-ca", filepath.Join(dir, "nope.pem")}, host: "127.0.0.1", wantErr: "-admin-ca: open"},
		{name: "admin ca not PEM", args: []string{"-admin-ca", tokenFile}, host: "127.0.0.1", wantErr: "-admin-ca: no PEM certificate in"},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, k := range []string{"LISTEN_HOST", "CONTROL_HOST", "STREAMGATE_API_TOKEN", "STREAMGATE_API_TOKEN_FILE", "CONTROL_TLS_CERT", "CONTROL_TLS_KEY", "STREAMGATE_ADMIN_CA"} {
				t.Setenv(k, c.env[k])
			}
			var f controlFlags
			fs := flag.NewFlagSet("control", flag.ContinueOnError)
			f.register(fs)
			if err := fs.Parse(c.args); err != nil {
				t.Fatal(err)
			}
			if f.host != c.host {
				t.Errorf("-api-host: got %q; want %q", f.host, c.host)
			}
			err := f.resolve()
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("resolve: got %v; want an error containing %q", err, c.wantErr)
				}
				if strings.Contains(err.Error(), "tok-given-as-a-path") {
					t.Errorf("resolve: the error shows the token file's path, which may be the token: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("resolve: %v", err)
			}
			if f.token != c.token || (f.tls != nil) != c.tls || (f.adminTLS != nil) != c.adminCA {
				t.Errorf("resolve: token %q, TLS %v, admin CA %v; want %q, %v, %v", f.token, f.tls != nil, f.adminTLS != nil, c.token, c.tls, c.adminCA)
			}
			if v, ok := os.LookupEnv("STREAMGATE_API_TOKEN"); ok {
				t.Errorf("STREAMGATE_API_TOKEN=%q is still in the environment", v)
			}
		})
	}
}

// TestAdminFlags: the admin port listens on loopback whatever -host says,
// unless -admin-host moves it; pprof is off unless asked for.
func TestAdminFlags(t *testing.T) {
	certFile, keyFile, _ := testCert(t)
	for _, c := range []struct {
		name    string
		env     map[string]string
		args    []string
		addr    string
		pprof   bool
		tls     bool
		wantErr string
	}{
		{name: "defaults", addr: "127.0.0.1:8080"},
		{name: "-host moves the ingest listeners only", args: []string{"-host", "0.0.0.0"}, addr: "127.0.0.1:8080"},
		{name: "LISTEN_HOST moves the ingest listeners only", env: map[string]string{"LISTEN_HOST": "0.0.0.0"}, addr: "127.0.0.1:8080"},
		{name: "-admin-host", args: []string{"-admin-host", "0.0.0.0", "-admin-port", "9090"}, addr: "0.0.0.0:9090"},
		{name: "ADMIN_HOST empty is the default", env: map[string]string{"ADMIN_HOST": ""}, addr: "127.0.0.1:8080"},
		{name: "all interfaces", args: []string{"-admin-host", ""}, addr: ":8080"},
		{name: "pprof", args: []string{"-pprof"}, addr: "127.0.0.1:8080", pprof: true},
		{name: "tls", args: []string{"-admin-tls-cert", certFile, "-admin-tls-key", keyFile}, addr: "127.0.0.1:8080", tls: true},
		{name: "tls from the environment", env: map[string]string{"ADMIN_TLS_CERT": certFile, "ADMIN_TLS_KEY": keyFile}, addr: "127.0.0.1:8080", tls: true},
		{name: "tls key without cert", args: []string{"-admin-tls-key", keyFile}, wantErr: "-admin-tls-key is set without -admin-tls-cert; give both"},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, k := range []string{"LISTEN_HOST", "ADMIN_HOST", "ADMIN_PORT", "ADMIN_TLS_CERT", "ADMIN_TLS_KEY"} {
				t.Setenv(k, c.env[k])
			}
			opts, err := parseDataplaneFlags(t, c.args...)
			if c.wantErr != "" {
				if err == nil || err.Error() != c.wantErr {
					t.Fatalf("options: got %v; want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("options: %v", err)
			}
			if opts.AdminAddr != c.addr || opts.Pprof != c.pprof || (opts.AdminTLS != nil) != c.tls || opts.Cmdline == nil {
				t.Errorf("options: admin %q, pprof %v, TLS %v, cmdline %q; want %q, %v, %v, a command line",
					opts.AdminAddr, opts.Pprof, opts.AdminTLS != nil, opts.Cmdline, c.addr, c.pprof, c.tls)
			}
		})
	}
}

// countHandler counts the records logged at warning level.
type countHandler struct{ warnings *atomic.Int64 }

func (h countHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h countHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Level == slog.LevelWarn {
		h.warnings.Add(1)
	}
	return nil
}
func (h countHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h countHandler) WithGroup(string) slog.Handler      { return h }

// TestWarnExposed: an API exposed with -insecure-api says so at once and
// then at every interval, until it stops.
func TestWarnExposed(t *testing.T) {
	var n atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		warnExposed(ctx, slog.New(countHandler{&n}), "http://0.0.0.0:8000", 5*time.Millisecond)
	}()
	waitUntil(t, "three warnings", func() bool { return n.Load() >= 3 })
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("warnExposed did not return once its context ended")
	}
	after := n.Load()
	time.Sleep(20 * time.Millisecond)
	if n.Load() != after {
		t.Fatalf("warnings after the end: %d, then %d", after, n.Load())
	}
}

var embeddedRedisRE = regexp.MustCompile(`REDIS_ADDR=(127\.0\.0\.1:\d+) and REDIS_PASSWORD from (\S+?)"`)

// TestSecureDefaults runs `up` with no address flags and LISTEN_HOST set
// to all interfaces: the REST API and the admin port listen on 127.0.0.1
// all the same, /debug/pprof is not served, and the embedded Redis refuses
// every command until the client authenticates with the password written,
// owner-readable only, to the file named in the log, which nothing else
// shows and which is removed at exit.
func TestSecureDefaults(t *testing.T) {
	up := startProc(t, []string{"LISTEN_HOST=0.0.0.0", "EMBEDDED_REDIS_ADDR=127.0.0.1:0"},
		"up", "-api-port", "0", "-admin-port", "0", "-tcp-port", "off", "-udp-port", "off", "-http-port", "off")
	api := up.waitLog(regexp.MustCompile(`control plane running.* api=(\S+)`))[1]
	admin := up.waitLog(regexp.MustCompile(`data plane running.* admin=(\S+)`))[1]
	for what, a := range map[string]string{"api": strings.TrimPrefix(api, "http://"), "admin": admin} {
		host, _, err := net.SplitHostPort(a)
		if err != nil || host != "127.0.0.1" {
			t.Errorf("%s listens on %q; want 127.0.0.1", what, a)
		}
	}
	if status, _ := get(t, http.DefaultClient, "http://"+admin+"/debug/pprof/"); status != http.StatusNotFound {
		t.Errorf("GET /debug/pprof/ without -pprof: got %d; want 404", status)
	}

	m := up.waitLog(embeddedRedisRE)
	redisAddr, passwordFile := m[1], m[2]
	if filepath.Dir(passwordFile) != up.dir || filepath.Base(passwordFile) != defaultPasswordFile {
		t.Errorf("password file %s; want %s in the working directory %s", passwordFile, defaultPasswordFile, up.dir)
	}
	fi, err := os.Stat(passwordFile)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("password file mode %v; want 0600", fi.Mode().Perm())
	}
	password := redisPassword(t, up)
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(password) {
		t.Errorf("password %d characters; want 64 hex digits (256 bits)", len(password))
	}

	// redis-cli -p PORT ping, without a password.
	conn, err := net.Dial("tcp", redisAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(conn, "*1\r\n$4\r\nPING\r\n")
	reply, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil || !strings.HasPrefix(reply, "-NOAUTH") {
		t.Fatalf("PING without a password: got %q, %v; want -NOAUTH", reply, err)
	}
	for pw, want := range map[string]string{password: "", "wrong": "WRONGPASS"} {
		rc := redis.NewClient(&redis.Options{Addr: redisAddr, Password: pw})
		err := rc.Ping(context.Background()).Err()
		rc.Close()
		if want == "" && err != nil || want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
			t.Errorf("PING with a password: got %v; want %q", err, want)
		}
	}

	status, body := get(t, http.DefaultClient, "http://"+admin+"/status")
	metricsStatus, metrics := get(t, http.DefaultClient, "http://"+admin+"/metrics")
	up.stop()
	for what, s := range map[string]string{"the log": strings.Join(up.Logs(), "\n"), "/status": body, "/metrics": metrics} {
		if strings.Contains(s, password) {
			t.Errorf("%s shows the Redis password", what)
		}
	}
	if status != 200 || metricsStatus != 200 {
		t.Errorf("GET /status, /metrics: %d, %d; want 200", status, metricsStatus)
	}
	if _, err := os.Stat(passwordFile); !os.IsNotExist(err) {
		t.Errorf("password file after exit: %v; want it removed", err)
	}
}

// TestExposedAPIRefused: `control` and `up` refuse to put the REST API
// beyond loopback without a token, before they start anything, and say
// which flags to set.
func TestExposedAPIRefused(t *testing.T) {
	mr := miniredis.RunT(t).Addr()
	for _, c := range []struct {
		name string
		env  []string
		args []string
	}{
		{name: "control", env: []string{"REDIS_ADDR=" + mr}, args: []string{"control", "-api-host", "0.0.0.0", "-api-port", "0"}},
		{name: "up", env: []string{"EMBEDDED_REDIS_ADDR=127.0.0.1:0"}, args: append([]string{"up", "-api-host", "", "-api-port", "0"}, onFreePorts...)},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := startProc(t, c.env, c.args...)
			<-p.done
			err := p.cmd.Wait()
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
				t.Fatalf("exit: got %v; want status 1", err)
			}
			logs := strings.Join(p.Logs(), "\n")
			for _, want := range []string{"-api-host", "without a token", "-api-token-file", "-api-token", "-insecure-api"} {
				if !strings.Contains(logs, want) {
					t.Errorf("stderr lacks %q:\n%s", want, logs)
				}
			}
			if strings.Contains(logs, "running") {
				t.Errorf("something started before the refusal:\n%s", logs)
			}
			if _, err := os.Stat(filepath.Join(p.dir, defaultPasswordFile)); !os.IsNotExist(err) {
				t.Errorf("password file: %v; want none written", err)
			}
		})
	}
}

// TestAPIAndAdminTLS: with their certificates the REST API and the admin
// port serve HTTPS only: a client that trusts the certificate is served,
// plain HTTP is refused.
func TestAPIAndAdminTLS(t *testing.T) {
	certFile, keyFile, pool := testCert(t)
	up := startProc(t, []string{"EMBEDDED_REDIS_ADDR=127.0.0.1:0"}, append([]string{"up", "-api-port", "0",
		"-api-tls-cert", certFile, "-api-tls-key", keyFile, "-admin-tls-cert", certFile, "-admin-tls-key", keyFile}, onFreePorts...)...)
	api := up.waitLog(regexp.MustCompile(`control plane running.* api=https://(127\.0\.0\.1:\d+)`))[1]
	admin := up.waitLog(adminAddrRE)[1]
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	defer client.CloseIdleConnections()
	for _, u := range []string{"https://" + api + "/rules", "https://" + admin + "/healthz"} {
		if status, body := get(t, client, u); status != http.StatusOK {
			t.Errorf("GET %s with the certificate trusted: got %d %s; want 200", u, status, body)
		}
		plain := "http://" + strings.TrimPrefix(u, "https://")
		if status, body := get(t, http.DefaultClient, plain); status != http.StatusBadRequest || !strings.Contains(body, "HTTPS") {
			t.Errorf("GET %s: got %d %q; want 400, an HTTP request to an HTTPS server", plain, status, body)
		}
	}
	up.stop()
}

// get fetches url with client and returns the status and the body.
func get(t *testing.T, client *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestEmbeddedRedisPassword: given REDIS_PASSWORD, `up`'s embedded Redis
// takes it and writes no file; with -redis-password-file off a generated
// one is written nowhere. Either way it is required and never logged.
func TestEmbeddedRedisPassword(t *testing.T) {
	const given = "given-password-0123456789"
	for _, c := range []struct {
		name string
		env  []string
		args []string
		log  string // what the log says of the password
	}{
		{name: "REDIS_PASSWORD", env: []string{"REDIS_PASSWORD=" + given}, log: "with the REDIS_PASSWORD given to this process"},
		{name: "file off", args: []string{"-redis-password-file", "off"}, log: "but its generated password was written nowhere (-redis-password-file off)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			env := append([]string{"EMBEDDED_REDIS_ADDR=127.0.0.1:0"}, c.env...)
			up := startProc(t, env, append(append([]string{"up", "-api-port", "0"}, onFreePorts...), c.args...)...)
			line := up.waitLog(regexp.MustCompile(`embedded redis running.*`))[0]
			redisAddr := up.waitLog(redisRE)[1]
			up.waitLog(regexp.MustCompile(`data plane running`))
			if !strings.Contains(line, c.log) {
				t.Errorf("log %q; want it to say %q", line, c.log)
			}
			if entries, err := os.ReadDir(up.dir); err != nil || len(entries) != 0 {
				t.Errorf("working directory holds %v, %v; want no password file", entries, err)
			}
			rc := redis.NewClient(&redis.Options{Addr: redisAddr})
			err := rc.Ping(context.Background()).Err()
			rc.Close()
			if err == nil || !strings.Contains(err.Error(), "NOAUTH") {
				t.Errorf("PING without a password: got %v; want NOAUTH", err)
			}
			if c.env != nil {
				rc := redis.NewClient(&redis.Options{Addr: redisAddr, Password: given})
				if err := rc.Ping(context.Background()).Err(); err != nil {
					t.Errorf("PING with REDIS_PASSWORD: %v", err)
				}
				rc.Close()
			}
			up.stop()
			if logs := strings.Join(up.Logs(), "\n"); strings.Contains(logs, given) {
				t.Error("the log shows the password")
			}
		})
	}
}
