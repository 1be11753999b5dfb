package server

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"streamgate/dataplane/internal/capture"
	"streamgate/dataplane/internal/logbuf"
	"streamgate/dataplane/rdb"
	"streamgate/dataplane/watch"
)

// These tests hold a data plane that follows Redis to failing closed at
// boot: its ingest listeners stay unbound until it knows what to run.

// freeAddr is a loopback address nothing listens on, for a listener that
// must not be bound yet: a test dials it to see that it is refused.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	mustNil(t, err)
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// downRedis returns a miniredis that is not running, and its address: a
// test starts it there with StartAddr.
func downRedis(t *testing.T) (*miniredis.Miniredis, string) {
	t.Helper()
	m := miniredis.NewMiniRedis()
	mustNil(t, m.Start())
	addr := m.Addr()
	m.Close()
	t.Cleanup(m.Close)
	return m, addr
}

// startFollowing starts a data plane with opts that follows the Redis at
// addr, its ingest on fixed free addresses so that a test can dial them
// before they are bound, and its admin server on a free port.
func startFollowing(t *testing.T, addr string, opts Options) (*Server, *logbuf.Buffer) {
	t.Helper()
	logs := &logbuf.Buffer{}
	c := rdb.NewClient(rdb.Options{Addrs: []string{addr}})
	opts.Logger = slog.New(slog.NewTextHandler(logs, nil))
	opts.Watch = &watch.Options{Client: c, ID: t.Name(), Heartbeat: testHeartbeat, Resync: time.Minute}
	opts.TCPAddr, opts.HTTPAddr, opts.AdminAddr = freeAddr(t), freeAddr(t), "127.0.0.1:0"
	s := start(t, opts)
	t.Cleanup(func() {
		s.Shutdown(context.Background())
		c.Close()
		if t.Failed() {
			t.Logf("log:\n%s", logs)
		}
	})
	return s, logs
}

// adminGetAny fetches path from s's admin port, whatever the status.
func adminGetAny(t *testing.T, s *Server, path string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + s.AdminAddr().String() + path)
	mustNil(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	mustNil(t, err)
	return resp.StatusCode, string(body)
}

// checkClosed checks everything a prober and a sender see of a data plane
// whose ingest is closed at boot: no listener accepts, /readyz is 503 and
// says why, /status and the gauge say so too.
func checkClosed(t *testing.T, s *Server, reason string) {
	t.Helper()
	if !s.Waiting() || s.TCPAddr() != nil || s.HTTPAddr() != nil {
		t.Fatalf("Waiting %v, TCPAddr %v, HTTPAddr %v; want ingest closed", s.Waiting(), s.TCPAddr(), s.HTTPAddr())
	}
	for _, a := range []string{s.lopts.TCPAddr, s.lopts.HTTPAddr} {
		if c, err := net.Dial("tcp", a); err == nil {
			c.Close()
			t.Fatalf("dial %s: connected; want refused while ingest is closed", a)
		}
	}
	code, body := adminGetAny(t, s, "/readyz")
	if code != http.StatusServiceUnavailable || !strings.HasPrefix(body, "not ready: ingest closed: ") || !strings.Contains(body, reason) {
		t.Fatalf("GET /readyz: %d %q; want 503 with %q", code, body, reason)
	}
	var st map[string]any
	mustNil(t, json.Unmarshal(adminGet(t, s, "/status"), &st))
	if closed, _ := st["ingest_closed"].(string); !strings.Contains(closed, reason) {
		t.Fatalf("/status ingest_closed %q; want %q", closed, reason)
	}
	if code, _ := adminGetAny(t, s, "/healthz"); code != http.StatusOK {
		t.Fatalf("GET /healthz: %d; want 200 while ingest is closed", code)
	}
	if got := metricValue(t, s, "streamgate_boot_waiting"); got != 1 {
		t.Fatalf("streamgate_boot_waiting %d; want 1", got)
	}
}

// checkOpen checks that s's ingest is open and it is ready.
func checkOpen(t *testing.T, s *Server) {
	t.Helper()
	if s.Waiting() || s.TCPAddr() == nil || s.TCPAddr().String() != s.lopts.TCPAddr || s.HTTPAddr() == nil {
		t.Fatalf("Waiting %v, TCPAddr %v, HTTPAddr %v; want ingest open on %s", s.Waiting(), s.TCPAddr(), s.HTTPAddr(), s.lopts.TCPAddr)
	}
	if code, body := adminGetAny(t, s, "/readyz"); code != http.StatusOK || body != "ready\n" {
		t.Fatalf("GET /readyz: %d %q; want 200 ready", code, body)
	}
	var st map[string]any
	mustNil(t, json.Unmarshal(adminGet(t, s, "/status"), &st))
	if closed, ok := st["ingest_closed"]; ok {
		t.Fatalf("/status ingest_closed %q; want none once ingest is open", closed)
	}
	if got := metricValue(t, s, "streamgate_boot_waiting"); got != 0 {
		t.Fatalf("streamgate_boot_waiting %d; want 0", got)
	}
}

// sendTCP sends lines to s's TCP ingest and closes the connection.
func sendTCP(t *testing.T, s *Server, lines string) {
	t.Helper()
	c, err := net.Dial("tcp", s.TCPAddr().String())
	mustNil(t, err)
	_, err = io.WriteString(c, lines)
	mustNil(t, err)
	mustNil(t, c.Close())
}

// versionOf is the version s runs, "" for the built-in default.
func versionOf(s *Server) string {
	if m := s.Applied(); m != nil {
		return string(m.Version)
	}
	return ""
}

// invalidManifest does not validate: its pattern does not compile.
const invalidManifest = `{"version":"6","pipelines":[{"name":"p","processors":[{"id":"r","type":"redact","params":{"pattern":"("}}]}]}`

// TestBootDecision: what a data plane following Redis runs at start, and
// whether its ingest opens, for each state Redis can be in, with and
// without a fallback manifest, under both policies.
func TestBootDecision(t *testing.T) {
	const (
		valid   = "valid"   // Redis holds version 5
		invalid = "invalid" // Redis holds version 6, which does not validate
		empty   = "empty"   // Redis answers and holds no manifest
		down    = "down"    // nothing answers
	)
	for _, c := range []struct {
		name     string
		redis    string
		fallback bool       // Options.Manifest, version 9
		policy   BootPolicy // BootClosed when zero
		open     bool
		version  string // what runs: "" for the built-in default
		reason   string // why ingest is closed
	}{
		{name: "valid in redis", redis: valid, open: true, version: "5"},
		{name: "valid in redis beats the fallback", redis: valid, fallback: true, open: true, version: "5"},
		{name: "empty redis: built-in default", redis: empty, open: true, version: ""},
		{name: "empty redis: the fallback", redis: empty, fallback: true, open: true, version: "9"},
		{name: "redis down", redis: down, reason: "redis unreachable: dial tcp"},
		{name: "redis down: the fallback", redis: down, fallback: true, open: true, version: "9"},
		{name: "invalid in redis", redis: invalid, reason: `the manifest in redis (version "6") is invalid: pipelines[0].processors[0] (id "r").params.pattern`},
		{name: "invalid in redis: the fallback", redis: invalid, fallback: true, open: true, version: "9"},
		{name: "redis down, passthrough", redis: down, policy: BootPassthrough, open: true, version: ""},
		{name: "invalid in redis, passthrough", redis: invalid, policy: BootPassthrough, open: true, version: ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			var addr string
			switch c.redis {
			case down:
				_, addr = downRedis(t)
			default:
				mr := miniredis.RunT(t)
				addr = mr.Addr()
				switch c.redis {
				case valid:
					mustNil(t, mr.Set(rdb.ConfigKey, manifestJSON("5", capture.Unique("boot"), "")))
				case invalid:
					mustNil(t, mr.Set(rdb.ConfigKey, invalidManifest))
				}
			}
			opts := Options{BootPolicy: c.policy}
			if c.fallback {
				opts.Manifest = mustManifest(t, manifestJSON("9", capture.Unique("fallback"), ""))
			}
			s, _ := startFollowing(t, addr, opts)
			if c.open {
				checkOpen(t, s)
			} else {
				checkClosed(t, s, c.reason)
			}
			if got := versionOf(s); got != c.version {
				t.Fatalf("runs version %q; want %q", got, c.version)
			}
			if c.redis == invalid && c.fallback {
				if r := s.Rejected(); r == nil || r.Version != "6" {
					t.Fatalf("Rejected() = %+v; want version 6, the manifest in redis", r)
				}
			}
		})
	}
}

// TestBootClosedUntilRedisAnswers: with no Redis to reach at start and no
// fallback, ingest stays closed, and the data plane says why, on /readyz
// and in its log at every interval. Once Redis answers with a valid
// manifest, ingest opens on it: lines are filtered and redacted by its
// rules.
func TestBootClosedUntilRedisAnswers(t *testing.T) {
	mr, addr := downRedis(t)
	s, logs := startFollowing(t, addr, Options{closedLogEvery: 20 * time.Millisecond})
	checkClosed(t, s, "redis unreachable: dial tcp "+addr)
	waitWithin(t, 5*time.Second, "ingest closed to be logged at least twice", func() bool {
		return strings.Count(logs.String(), `msg="ingest closed: no valid manifest to run`) >= 2
	})
	if !strings.Contains(logs.String(), `reason="redis unreachable: dial tcp `+addr) {
		t.Fatalf("log:\n%s\nwant the reason, redis unreachable", logs)
	}

	sink := capture.Unique("boot-redis-returns")
	mustNil(t, mr.Set(rdb.ConfigKey, filterRedact(`[{"type":"capture","url":"`+sink+`"}]`)))
	mustNil(t, mr.StartAddr(addr))
	waitWithin(t, 10*time.Second, "ingest to open", func() bool { return !s.Waiting() })
	checkOpen(t, s)
	if l := logs.String(); !strings.Contains(l, `msg="ingest open"`) || !strings.Contains(l, `manifest="version 1" because="manifest applied"`) {
		t.Fatalf("log:\n%s\nwant ingest open on version 1", l)
	}
	sendTCP(t, s, "DEBUG: user login attempt\nSSN: 123-45-6789\n")
	waitWithin(t, 5*time.Second, "the line kept", func() bool { return capture.Get(sink).Len() == 1 })
	if got := capture.Get(sink).Lines(); got[0] != "SSN: XXX-XX-XXXX" {
		t.Fatalf("delivered %q; want the SSN redacted and the DEBUG line filtered", got)
	}
}

// TestBootClosedOnInvalidManifest: a manifest in Redis that does not
// validate keeps ingest closed; the valid one published next opens it.
func TestBootClosedOnInvalidManifest(t *testing.T) {
	mr := miniredis.RunT(t)
	mustNil(t, mr.Set(rdb.ConfigKey, invalidManifest))
	s, _ := startFollowing(t, mr.Addr(), Options{})
	checkClosed(t, s, `the manifest in redis (version "6") is invalid: pipelines[0].processors[0] (id "r").params.pattern`)

	c := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer c.Close()
	subscribed(t, c, 1)
	sink := capture.Unique("boot-valid-published")
	publish(t, c, filterRedact(`[{"type":"capture","url":"`+sink+`"}]`))
	waitWithin(t, 5*time.Second, "ingest to open", func() bool { return !s.Waiting() })
	checkOpen(t, s)
	sendTCP(t, s, "DEBUG: user login attempt\nSSN: 123-45-6789\n")
	waitWithin(t, 5*time.Second, "the line kept", func() bool { return capture.Get(sink).Len() == 1 })
	if got := capture.Get(sink).Lines(); got[0] != "SSN: XXX-XX-XXXX" {
		t.Fatalf("delivered %q; want the SSN redacted and the DEBUG line filtered", got)
	}
	if r := s.Rejected(); r != nil {
		t.Fatalf("Rejected() = %+v after a valid manifest was applied; want nil", r)
	}
}

// TestBootOpenFails: a listener that cannot be bound once the manifest
// arrives is reported on Failed, and ingest stays closed: the TCP listener
// bound before it is closed again.
func TestBootOpenFails(t *testing.T) {
	mr, addr := downRedis(t)
	s, _ := startFollowing(t, addr, Options{})
	checkClosed(t, s, "redis unreachable")
	taken, err := net.Listen("tcp", s.lopts.HTTPAddr)
	mustNil(t, err)
	defer taken.Close()
	mustNil(t, mr.Set(rdb.ConfigKey, manifestJSON("1", capture.Unique("boot-fails"), "")))
	mustNil(t, mr.StartAddr(addr))
	select {
	case err := <-s.Failed():
		if !strings.Contains(err.Error(), "cannot listen on http "+s.lopts.HTTPAddr) {
			t.Fatalf("Failed: %v; want cannot listen on http %s", err, s.lopts.HTTPAddr)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no error on Failed after 10s")
	}
	if !s.Waiting() || s.TCPAddr() != nil || s.HTTPAddr() != nil {
		t.Fatalf("Waiting %v, TCPAddr %v, HTTPAddr %v; want ingest closed, nothing left bound", s.Waiting(), s.TCPAddr(), s.HTTPAddr())
	}
	if c, err := net.Dial("tcp", s.lopts.TCPAddr); err == nil {
		c.Close()
		t.Fatalf("dial %s: connected; want the TCP listener closed again", s.lopts.TCPAddr)
	}
}

func TestParseBootPolicy(t *testing.T) {
	for _, c := range []struct {
		in   string
		want BootPolicy
		err  string
	}{
		{in: "closed", want: BootClosed},
		{in: "passthrough", want: BootPassthrough},
		{in: "open", err: `want closed or passthrough; got "open"`},
		{in: "", err: `want closed or passthrough; got ""`},
	} {
		got, err := ParseBootPolicy(c.in)
		if c.err != "" {
			if err == nil || err.Error() != c.err {
				t.Errorf("ParseBootPolicy(%q): error %v; want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want || got.String() != c.in {
			t.Errorf("ParseBootPolicy(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}
