package main

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// runCLI runs the binary with args and returns its exit code, stdout and
// stderr.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Env = append(os.Environ(), "STREAMGATE_ADMIN_URL=", "STREAMGATE_ADMIN_CA=")
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%q: %v", args, err)
	}
	return code, stdout.String(), stderr.String()
}

// TestDLQCommand: a data plane whose http destination answers 400 keeps
// the lines as dead letters; streamgate dlq list shows them; once the
// destination answers 200, streamgate dlq replay delivers each exactly
// once and list is empty. The final accounting counts them.
func TestDLQCommand(t *testing.T) {
	var status atomic.Int32
	status.Store(http.StatusBadRequest)
	var mu sync.Mutex
	var took []string
	vendor := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		code := int(status.Load())
		if code == http.StatusOK {
			mu.Lock()
			took = append(took, strings.Split(strings.TrimSuffix(string(body), "\n"), "\n")...)
			mu.Unlock()
		}
		w.WriteHeader(code)
		fmt.Fprintf(w, `{"error":"field \"level\" is required"}`)
	}))
	defer vendor.Close()
	name := "http:" + vendor.URL + "/v1/logs"

	dir := t.TempDir()
	manifestPath := filepath.Join(dir, "manifest.json")
	err := os.WriteFile(manifestPath, []byte(`{"version": "1", "pipelines": [{"name": "p", "processors": [], "batch_size": 4,
		"outputs": [{"type": "http", "url": "`+vendor.URL+`/v1/logs", "linger_ms": 0}]}]}`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	dataDir := filepath.Join(dir, "data")
	p := startProc(t, nil, "dataplane", "-host", "127.0.0.1", "-tcp-port", "0", "-udp-port", "off",
		"-http-port", "off", "-admin-port", "0", "-workers", "1", "-data-dir", dataDir, "-manifest", manifestPath)
	tcp, admin := p.waitLog(tcpAddrRE)[1], "http://"+p.waitLog(adminAddrRE)[1]

	conn, err := net.Dial("tcp", tcp)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := range 10 {
		want = append(want, fmt.Sprintf("event %d user=alice", i))
		fmt.Fprintln(conn, want[i])
	}
	conn.Close()

	var out string
	waitUntil(t, "dlq list to show the 10 lines", func() bool {
		var code int
		code, out, _ = runCLI(t, "dlq", "list", "-admin", admin)
		return code == 0 && strings.Contains(out, name) && strings.Contains(out, "  10  ")
	})
	for _, w := range []string{"OUTPUT", "ENTRIES", "LINES", "BYTES", "OLDEST", "NEWEST", "in " + filepath.Join(dataDir, "dlq")} {
		if !strings.Contains(out, w) {
			t.Errorf("dlq list: %q lacks %q", out, w)
		}
	}
	code, out, errOut := runCLI(t, "dlq", "list", "-admin", admin, "-output", name, "-lines")
	if code != 0 || !regexp.MustCompile(`: \d+ entries, 10 lines, \d+ bytes\n`).MatchString(out) || !strings.Contains(out, `{"error":"field \"level\" is required"}`) ||
		!strings.Contains(out, `"event 9 user=alice"`) || !strings.Contains(out, "400") {
		t.Errorf("dlq list -output -lines: exit %d\n%s%s", code, out, errOut)
	}

	// Refused again: exit 1, naming the status.
	code, out, errOut = runCLI(t, "dlq", "replay", "-admin", admin, "-output", name)
	if code != 1 || !strings.Contains(errOut, "status 400") || !strings.Contains(out, "replayed 0 entries (0 lines) to "+name+"; ") {
		t.Errorf("dlq replay while refused: exit %d\n%s%s", code, out, errOut)
	}

	status.Store(http.StatusOK)
	code, out, errOut = runCLI(t, "dlq", "replay", "-admin", admin, "-output", name)
	if code != 0 || !regexp.MustCompile(`^replayed \d+ entr(y|ies) \(10 lines\) to `+regexp.QuoteMeta(name)+`; 0 entries \(0 lines\) remain\n$`).MatchString(out) {
		t.Errorf("dlq replay: exit %d\n%s%s", code, out, errOut)
	}
	mu.Lock()
	got := slices.Clone(took)
	mu.Unlock()
	if !slices.Equal(got, want) {
		t.Errorf("the destination took %q; want each line once, in order: %q", got, want)
	}
	if code, out, _ = runCLI(t, "dlq", "list", "-admin", admin); code != 0 || !strings.HasPrefix(out, "no dead letters") {
		t.Errorf("dlq list after replay: exit %d\n%s", code, out)
	}

	// Errors: clear, and exit 1 (2 for a usage error of flag).
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"dlq", "purge", "-admin", admin, "-output", "http:http://nowhere"}, 1, `404 Not Found: no such output: "http:http://nowhere" is not running and left no dead letters`},
		{[]string{"dlq", "replay", "-admin", admin}, 1, "-output: required"},
		{[]string{"dlq", "list", "-admin", "http://127.0.0.1:1"}, 1, "cannot reach the data plane's admin API at http://127.0.0.1:1"},
		{[]string{"dlq", "list", "-admin", "127.0.0.1:8080"}, 1, "-admin: want an http:// or https:// URL"},
		{[]string{"dlq", "drain", "-admin", admin}, 1, `unknown subcommand "drain"`},
		{[]string{"dlq"}, 1, "want a subcommand"},
	} {
		code, out, errOut := runCLI(t, c.args...)
		if code != c.code || !strings.Contains(errOut, c.want) {
			t.Errorf("%q: exit %d, stderr %q, stdout %q; want exit %d and %q", c.args, code, errOut, out, c.code, c.want)
		}
	}
	if code, out, _ := runCLI(t, "dlq", "-h"); code != 0 || !strings.Contains(out, "usage: streamgate dlq list") || !strings.Contains(out, "-admin") {
		t.Errorf("dlq -h: exit %d\n%s", code, out)
	}
	if code, out, _ := runCLI(t, "-h"); code != 0 || !strings.Contains(out, "streamgate dlq list|replay|purge") {
		t.Errorf("streamgate -h: exit %d; want dlq listed\n%s", code, out)
	}

	p.stop()
	checkAttrs(t, stoppedLine(t, p), map[string]string{
		"emitted": "10", "delivered": "10", "output_dropped": "0", "dead_lettered": "10", "dead_letter_replayed": "10",
		"output." + name + ".lines_dead_lettered": "10", "output." + name + ".lines_replayed": "10",
	})
}

// TestDLQMaxBytesFlag: -dlq-max-bytes reaches the pipeline; it must be
// positive.
func TestDLQMaxBytesFlag(t *testing.T) {
	for _, c := range []struct {
		args []string
		want int64
		err  bool
	}{
		{args: nil, want: 64 << 20},
		{args: []string{"-dlq-max-bytes", "1048576"}, want: 1 << 20},
		{args: []string{"-dlq-max-bytes", "0"}, err: true},
		{args: []string{"-dlq-max-bytes", "-5"}, err: true},
	} {
		opts, err := parseDataplaneFlags(t, c.args...)
		if (err != nil) != c.err {
			t.Errorf("%q: got error %v; want error %v", c.args, err, c.err)
			continue
		}
		if err == nil && opts.Pipeline.DeadLetterMaxBytes != c.want {
			t.Errorf("%q: DeadLetterMaxBytes %d; want %d", c.args, opts.Pipeline.DeadLetterMaxBytes, c.want)
		}
		if err != nil && !strings.Contains(err.Error(), "-dlq-max-bytes") {
			t.Errorf("%q: error %q does not name the flag", c.args, err)
		}
	}
}

// TestEchoServerStatus: echo-server -status answers every request with
// that status, as a vendor refusing the output's requests.
func TestEchoServerStatus(t *testing.T) {
	p := startProc(t, nil, "echo-server", "-port", "0", "-status", "401")
	addr := p.waitLog(regexp.MustCompile(`listening on (http://\S+)`))[1]
	resp, err := http.Post(addr+"/intake", "text/plain", strings.NewReader("hello\n"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 401 || !strings.Contains(string(body), "echo-server answers 401") {
		t.Errorf("POST: %d %s; want 401", resp.StatusCode, body)
	}
	waitUntil(t, "the request printed", func() bool { return slices.Contains(p.Stdout(), "hello") })
	if code, _, errOut := runCLI(t, "echo-server", "-status", "700"); code != 1 || !strings.Contains(errOut, "-status: want an HTTP status from 200 to 599") {
		t.Errorf("echo-server -status 700: exit %d, %s", code, errOut)
	}
}

// TestDLQAdminTLS: dlq talks to an admin port that serves HTTPS, trusting
// the CA of -admin-ca, and says so when it cannot verify it.
func TestDLQAdminTLS(t *testing.T) {
	certFile, keyFile, _ := testCert(t)
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"dir":"data/dlq","outputs":[]}`)
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{pair}}
	srv.StartTLS()
	defer srv.Close()

	var out strings.Builder
	if err := runDLQ(&out, []string{"list", "-admin", srv.URL, "-admin-ca", certFile}); err != nil || out.String() != "no dead letters (in data/dlq)\n" {
		t.Errorf("dlq list over TLS with -admin-ca: %v, %q", err, out.String())
	}
	err = runDLQ(&out, []string{"list", "-admin", srv.URL})
	if err == nil || !strings.Contains(err.Error(), "cannot reach the data plane's admin API") || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("dlq list over TLS without -admin-ca: %v; want a certificate error", err)
	}
	if err := runDLQ(&out, []string{"list", "-admin", srv.URL, "-admin-ca", keyFile}); err == nil || !strings.Contains(err.Error(), "-admin-ca: no PEM certificate") {
		t.Errorf("dlq list -admin-ca of a key: %v; want an error naming -admin-ca", err)
	}
}
