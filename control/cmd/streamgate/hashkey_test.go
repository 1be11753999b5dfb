package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestHashKey: a rule with action hash is refused where no key is set, and
// with the key from a file or from the environment every data plane writes
// the same token for the same value; the key shows nowhere.
func TestHashKey(t *testing.T) {
	const key = "fleet-wide-key-0123456789abcdef"
	dir := t.TempDir()
	manifestPath := filepath.Join(dir, "manifest.json")
	keyPath := filepath.Join(dir, "hmac.key")
	os.WriteFile(manifestPath, []byte(`{"version":"1","pipelines":[{"name":"p","processors":[
		{"id":"tokenize_ssn","type":"redact","params":{"detector":"ssn","action":"hash"}},
		{"id":"card_tail","type":"redact","params":{"detector":"credit_card","action":"partial"}}]}]}`), 0o644)
	os.WriteFile(keyPath, []byte(key+"\n"), 0o600)

	out, err := exec.Command(binary(t), "validate", manifestPath).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "hash needs a key") {
		t.Fatalf("validate without a key: got %v\n%s; want the rule refused for want of a key", err, out)
	}
	cmd := exec.Command(binary(t), "validate", manifestPath)
	cmd.Env = append(os.Environ(), "STREAMGATE_HMAC_KEY="+key)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("validate with STREAMGATE_HMAC_KEY: %v\n%s", err, out)
	}

	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte("123-45-6789"))
	tok := "tok_" + hex.EncodeToString(mac.Sum(nil)[:8])
	for _, how := range []struct {
		env  []string
		args []string
	}{
		{args: []string{"-hmac-key-file", keyPath}},
		{env: []string{"STREAMGATE_HMAC_KEY=" + key}},
	} {
		args := append([]string{"dataplane", "-host", "127.0.0.1", "-tcp-port", "0", "-udp-port", "off",
			"-http-port", "off", "-admin-port", "0", "-manifest", manifestPath}, how.args...)
		p := startProc(t, how.env, args...)
		conn, err := net.Dial("tcp", p.waitLog(tcpAddrRE)[1])
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprint(conn, "ssn=123-45-6789 card=4111 1111 1111 1111\n{\"ssn\":\"123\\u002d45\\u002d6789\"}\n")
		conn.Close()
		waitUntil(t, "two lines on stdout", func() bool { return len(p.Stdout()) >= 2 })
		p.stop()
		want := []string{"ssn=" + tok + " card=**** **** **** 1111", `{"ssn":"` + tok + `"}`}
		if got := p.Stdout(); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%v %v: stdout %q; want %q", how.env, how.args, got, want)
		}
		if logs := strings.Join(p.Logs(), "\n"); strings.Contains(logs, key) {
			t.Errorf("the log shows the key:\n%s", logs)
		}
	}
}

// TestHashKeyFileErrorHidesPath: a key given by mistake as the file's path
// does not come back in the error.
func TestHashKeyFileErrorHidesPath(t *testing.T) {
	const key = "not-a-path-but-the-key-0123456789"
	err := loadHashKey(key)
	if err == nil || strings.Contains(err.Error(), key) {
		t.Fatalf("loadHashKey(key as path): got %v; want an error that does not show it", err)
	}
}
