package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The seed README's "Usage Example", steps 1 to 5, command for command. The
// two changes step 5 needs off Docker: its mock server is `streamgate
// echo-server` instead of scripts/mock_server.py, and the output URL is
// localhost instead of host.docker.internal.
var usageSteps = []struct {
	name     string
	commands []string
	// stdout lines the data plane must print after the step, in order
	console []string
	// lines the step must not print
	absent []string
	// publish steps wait for the data plane to apply the new version
	publishes bool
}{
	{
		name:     "1. send logs (default: pass-through)",
		commands: []string{`echo "DEBUG: user login attempt" | nc localhost 8081`},
		console:  []string{"DEBUG: user login attempt"},
	},
	{
		name: "2. add filter rule (drop DEBUG logs)",
		commands: []string{
			`curl -X POST "http://localhost:8000/rules" \
     -H "Content-Type: application/json" \
     -d '{"id": "drop_debug", "type": "filter", "params": {"value": "DEBUG"}}'`,
			`curl -X POST "http://localhost:8000/publish" -d ''`,
		},
		publishes: true,
	},
	{
		name: "3. verify hot-reload",
		commands: []string{
			`echo "DEBUG: user login attempt" | nc localhost 8081`,
			`echo "INFO: payment processed" | nc localhost 8081`,
		},
		console: []string{"INFO: payment processed"},
		absent:  []string{"DEBUG: user login attempt"},
	},
	{
		name: "4. redact PII",
		commands: []string{
			`curl -X POST "http://localhost:8000/rules" \
     -H "Content-Type: application/json" \
     -d '{"id": "redact_ssn", "type": "redact", "params": {"pattern": "\\d{3}-\\d{2}-\\d{4}", "replacement": "XXX-XX-XXXX"}}'`,
			`curl -X POST "http://localhost:8000/publish" -d ''`,
			`echo "SSN: 123-45-6789" | nc localhost 8081`,
		},
		publishes: true,
		console:   []string{"SSN: XXX-XX-XXXX"},
		absent:    []string{"SSN: 123-45-6789"},
	},
	{
		name: "5. forward to external API",
		commands: []string{
			`curl -X POST "http://localhost:8000/outputs" \
     -H "Content-Type: application/json" \
     -d '{"type": "http", "url": "http://localhost:9000"}'`,
			`curl -X POST "http://localhost:8000/publish" -d ''`,
			`echo "Hello Datadog" | nc localhost 8081`,
		},
		publishes: true,
	},
}

var documentedPorts = []int{8000, 8080, 8081, 8082, 8083, 9000}

// TestSeedUsageExample runs the seed README's Usage Example against
// `streamgate up` on the documented ports, as `make run` starts it.
func TestSeedUsageExample(t *testing.T) {
	for _, tool := range []string{"curl", "nc", "bash"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed; the usage example needs it (.ci/run installs it)", tool)
		}
	}
	for _, port := range documentedPorts {
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			t.Fatalf("documented port %d is taken; the usage example needs it: %v", port, err)
		}
		ln.Close()
	}
	// As `make run` starts it, with a faster heartbeat so the test sees each
	// publish applied sooner.
	up := startProc(t, []string{"LISTEN_HOST=127.0.0.1", "EMBEDDED_REDIS_ADDR=127.0.0.1:0"}, "up", "-heartbeat", "200ms")
	up.waitLog(regexp.MustCompile(`data plane running`))
	up.waitLog(regexp.MustCompile(`control plane running`))
	sink := startProc(t, []string{"LISTEN_HOST=127.0.0.1"}, "echo-server")
	sink.waitLog(regexp.MustCompile(`listening`))

	version := 0
	for _, step := range usageSteps {
		before := len(up.Stdout())
		for _, c := range step.commands {
			out := runShell(t, c)
			if strings.HasPrefix(c, "curl") && !strings.Contains(out, `"status"`) {
				t.Fatalf("%s: %s\nanswered %q; want a JSON status", step.name, c, out)
			}
			if strings.Contains(c, "/publish") {
				version++
				var resp struct {
					Status   string `json:"status"`
					Manifest struct {
						Version string `json:"version"`
					} `json:"manifest"`
					Subscribers int `json:"subscribers_notified"`
				}
				if err := json.Unmarshal([]byte(out), &resp); err != nil || resp.Status != "published" || resp.Subscribers < 1 {
					t.Fatalf("%s: publish answered %q; want status published with a subscriber", step.name, out)
				}
				waitApplied(t, resp.Manifest.Version)
			}
		}
		if len(step.console) > 0 {
			waitUntil(t, fmt.Sprintf("%s: console lines %q", step.name, step.console), func() bool {
				return containsInOrder(up.Stdout()[before:], step.console)
			})
		}
		for _, a := range step.absent {
			if slices.Contains(up.Stdout()[before:], a) {
				t.Fatalf("%s: console printed %q; want it filtered or redacted", step.name, a)
			}
		}
	}
	// Step 5: the POST arrives at the mock server, and the console, no longer
	// an output, stays quiet.
	waitUntil(t, "the echo server to receive Hello Datadog", func() bool {
		return slices.Contains(sink.Stdout(), "Hello Datadog")
	})
	if slices.Contains(up.Stdout(), "Hello Datadog") {
		t.Fatal("Hello Datadog printed on the console; want it sent to the HTTP output only")
	}
	up.stop()
	sink.stop()
}

// runShell runs a README command with bash. OpenBSD nc keeps the connection
// open after its input ends, so a command that is still running after a
// second has sent its line and is stopped.
func runShell(t *testing.T, command string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", command)
	cmd.WaitDelay = time.Second
	out, err := cmd.Output()
	if err != nil && ctx.Err() == nil {
		t.Fatalf("%s: %v\n%s", command, err, out)
	}
	return string(out)
}

// waitApplied waits until the data plane's heartbeat reports version.
func waitApplied(t *testing.T, version string) {
	t.Helper()
	waitUntil(t, "version "+version+" to be applied", func() bool {
		resp, err := http.Get("http://localhost:8000/fleet")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		var fleet struct {
			Instances []struct {
				Version string `json:"version"`
			} `json:"instances"`
		}
		if json.Unmarshal(body, &fleet) != nil || len(fleet.Instances) == 0 {
			return false
		}
		for _, in := range fleet.Instances {
			if in.Version != version {
				return false
			}
		}
		return true
	})
}

func containsInOrder(lines, want []string) bool {
	i := 0
	for _, l := range lines {
		if i < len(want) && l == want[i] {
			i++
		}
	}
	return i == len(want)
}
