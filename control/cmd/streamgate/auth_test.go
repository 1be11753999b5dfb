package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// request sends one request to the API and returns its status, the
// WWW-Authenticate header and the body. header holds name, value pairs.
func request(t *testing.T, method, url, body string, header ...string) (int, string, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("%s %s: got Content-Type %q; want application/json\n%s", method, url, ct, b)
	}
	return resp.StatusCode, resp.Header.Get("WWW-Authenticate"), b
}

// TestAPIToken runs `streamgate up` with an API token, from the environment
// as a deployment sets it, from the flag and from a file: a change without
// the token is refused with a JSON 401, the same change with it is made,
// and reads need no token. The token never appears in the log, nor in the
// command line /debug/pprof shows.
func TestAPIToken(t *testing.T) {
	const token = "tok-0123456789abcdef"
	tokenFile := filepath.Join(t.TempDir(), "api.token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		env  []string
		args []string
	}{
		{name: "env", env: []string{"STREAMGATE_API_TOKEN=" + token}},
		{name: "flag", args: []string{"-api-token", token}},
		{name: "flag=", args: []string{"--api-token=" + token}},
		{name: "file", args: []string{"-api-token-file", tokenFile}},
		{name: "file from env", env: []string{"STREAMGATE_API_TOKEN_FILE=" + tokenFile}},
	} {
		t.Run(c.name, func(t *testing.T) {
			env := append([]string{"EMBEDDED_REDIS_ADDR=127.0.0.1:0"}, c.env...)
			args := append([]string{"up", "-api-host", "127.0.0.1", "-api-port", "0", "-pprof"}, onFreePorts...)
			up := startProc(t, env, append(args, c.args...)...)
			api := up.waitLog(apiRE)[1]
			up.waitLog(regexp.MustCompile(`control plane running.* auth="bearer token"`))
			admin := up.waitLog(adminAddrRE)[1]
			status, cmdline := get(t, http.DefaultClient, "http://"+admin+"/debug/pprof/cmdline")
			if status != http.StatusOK || !strings.Contains(cmdline, "-pprof") || strings.Contains(cmdline, token) {
				t.Fatalf("GET /debug/pprof/cmdline: got %d %q; want the command line without the token", status, cmdline)
			}

			const rule = `{"id":"drop_debug","type":"filter","params":{"value":"DEBUG"}}`
			for _, auth := range []string{"", "Bearer wrong-token", "Bearer " + token + "x", token} {
				var header []string
				if auth != "" {
					header = []string{"Authorization", auth}
				}
				status, challenge, body := request(t, "POST", api+"/rules", rule, header...)
				var e struct {
					Detail string `json:"detail"`
				}
				if status != http.StatusUnauthorized || challenge != "Bearer" || json.Unmarshal(body, &e) != nil || e.Detail != "missing or invalid bearer token" {
					t.Fatalf("POST /rules with Authorization %q: got %d, WWW-Authenticate %q, %s; want 401, Bearer, a JSON detail",
						auth, status, challenge, body)
				}
			}
			if status, _, body := request(t, "GET", api+"/rules", ""); status != http.StatusOK || string(body) != "[]\n" {
				t.Fatalf("GET /rules after the refused posts: got %d %s; want 200 []", status, body)
			}

			status, _, body := request(t, "POST", api+"/rules", rule, "Authorization", "Bearer "+token)
			if status != http.StatusOK || !strings.Contains(string(body), `"status":"added"`) {
				t.Fatalf("POST /rules with the token: got %d %s; want 200 added", status, body)
			}
			for _, path := range []string{"/rules", "/rules/drop_debug", "/"} {
				if status, _, body := request(t, "GET", api+path, ""); status != http.StatusOK {
					t.Fatalf("GET %s without a token: got %d %s; want 200", path, status, body)
				}
			}
			if _, _, body := request(t, "GET", api+"/rules", ""); !strings.Contains(string(body), `"id":"drop_debug"`) {
				t.Fatalf("GET /rules: got %s; want the rule posted with the token", body)
			}
			up.stop()
			if logs := strings.Join(up.Logs(), "\n"); strings.Contains(logs, token) {
				t.Fatalf("the token is in the log:\n%s", logs)
			}
		})
	}
}
