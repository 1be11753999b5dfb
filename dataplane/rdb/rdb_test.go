package rdb

import (
	"context"
	"crypto/tls"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"streamgate/dataplane/internal/testcert"
)

func TestFromEnv(t *testing.T) {
	for _, c := range []struct {
		name    string
		env     map[string]string // unset variables are empty
		want    Options
		str     string // want.String()
		wantErr string // a substring of the error, "" for none
	}{
		{name: "nothing set", want: Options{}},
		{name: "one address", env: map[string]string{"REDIS_ADDR": "redis:6380"},
			want: Options{Addrs: []string{"redis:6380"}}, str: "redis:6380"},
		{name: "comma-separated addresses", env: map[string]string{"REDIS_ADDR": " a:7000, b:7001,,c:7002 ,"},
			want: Options{Addrs: []string{"a:7000", "b:7001", "c:7002"}}, str: "a:7000,b:7001,c:7002"},
		{name: "address wins over host", env: map[string]string{"REDIS_ADDR": "a:1", "REDIS_HOST": "b", "REDIS_PORT": "2"},
			want: Options{Addrs: []string{"a:1"}}, str: "a:1"},
		{name: "host and port", env: map[string]string{"REDIS_HOST": "cache.internal", "REDIS_PORT": "6390"},
			want: Options{Addrs: []string{"cache.internal:6390"}}, str: "cache.internal:6390"},
		{name: "default port", env: map[string]string{"REDIS_HOST": "cache.internal"},
			want: Options{Addrs: []string{"cache.internal:6379"}}, str: "cache.internal:6379"},
		{name: "ipv6 host", env: map[string]string{"REDIS_HOST": "::1"},
			want: Options{Addrs: []string{"[::1]:6379"}}, str: "[::1]:6379"},
		{name: "port not a number", env: map[string]string{"REDIS_HOST": "h", "REDIS_PORT": "redis"},
			wantErr: `REDIS_PORT: want a port number; got "redis"`},
		{name: "port out of range", env: map[string]string{"REDIS_HOST": "h", "REDIS_PORT": "65536"},
			wantErr: `REDIS_PORT: want a port number; got "65536"`},
		{name: "port ignored without host", env: map[string]string{"REDIS_PORT": "redis"}, want: Options{}},
		{name: "password", env: map[string]string{"REDIS_ADDR": "a:1", "REDIS_PASSWORD": "hunter2"},
			want: Options{Addrs: []string{"a:1"}, Password: "hunter2"}, str: "a:1"},
		{name: "database", env: map[string]string{"REDIS_ADDR": "a:1", "REDIS_DB": "3"},
			want: Options{Addrs: []string{"a:1"}, DB: 3}, str: "a:1/3"},
		{name: "database zero", env: map[string]string{"REDIS_ADDR": "a:1", "REDIS_DB": "0"},
			want: Options{Addrs: []string{"a:1"}}, str: "a:1"},
		{name: "database not a number", env: map[string]string{"REDIS_ADDR": "a:1", "REDIS_DB": "main"},
			wantErr: `REDIS_DB: want a database number; got "main"`},
		{name: "negative database", env: map[string]string{"REDIS_ADDR": "a:1", "REDIS_DB": "-1"},
			wantErr: `REDIS_DB: want a database number; got "-1"`},
		{name: "scheme redis", env: map[string]string{"REDIS_ADDR": "redis://a:1, redis://b"},
			want: Options{Addrs: []string{"a:1", "b:6379"}}, str: "a:1,b:6379"},
		{name: "unknown scheme", env: map[string]string{"REDIS_ADDR": "http://a:1"},
			wantErr: `REDIS_ADDR: want host:port, redis://host:port or rediss://host:port; got "http://a:1"`},
		{name: "credentials in the address", env: map[string]string{"REDIS_ADDR": "rediss://:hunter2@a:1"},
			wantErr: "REDIS_ADDR: an address holds credentials; give the password in REDIS_PASSWORD"},
		{name: "redis and rediss", env: map[string]string{"REDIS_ADDR": "redis://a:1,rediss://b:2"},
			wantErr: "REDIS_ADDR: mixes redis:// and rediss://"},
		{name: "REDIS_TLS not a boolean", env: map[string]string{"REDIS_ADDR": "a:1", "REDIS_TLS": "yes"},
			wantErr: `REDIS_TLS: want 1 or 0 (true or false); got "yes"`},
		{name: "REDIS_TLS off with rediss", env: map[string]string{"REDIS_ADDR": "rediss://a:1", "REDIS_TLS": "0"},
			wantErr: "REDIS_TLS: false, but REDIS_ADDR's addresses are rediss://"},
		{name: "CA file missing", env: map[string]string{"REDIS_ADDR": "a:1", "REDIS_CA_FILE": "/nonexistent/ca.pem"},
			wantErr: "REDIS_CA_FILE: cannot read the certificate authorities"},
		{name: "sentinel", env: map[string]string{"REDIS_ADDR": "s1:26379,s2:26379", "REDIS_MASTER_NAME": "mymaster", "REDIS_DB": "2"},
			want: Options{Addrs: []string{"s1:26379", "s2:26379"}, MasterName: "mymaster", DB: 2}, str: "sentinel mymaster@s1:26379,s2:26379/2"},
	} {
		t.Run(c.name, func(t *testing.T) {
			setEnv(t, c.env)
			got, err := FromEnv()
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("FromEnv: got %+v, error %v; want an error containing %q", got, err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("FromEnv: %v", err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("FromEnv: got %+v; want %+v", got, c.want)
			}
			if got.Configured() != (len(c.want.Addrs) > 0) {
				t.Errorf("Configured: got %v with addresses %q", got.Configured(), got.Addrs)
			}
			if s := got.String(); s != c.str || got.Password != "" && strings.Contains(s, got.Password) {
				t.Errorf("String: got %q; want %q, without the password", s, c.str)
			}
		})
	}
}

// redisEnv are the variables FromEnv reads.
var redisEnv = []string{"REDIS_ADDR", "REDIS_HOST", "REDIS_PORT", "REDIS_PASSWORD", "REDIS_DB", "REDIS_MASTER_NAME", "REDIS_TLS", "REDIS_CA_FILE"}

// setEnv sets the variables FromEnv reads as env says, the others empty.
func setEnv(t *testing.T, env map[string]string) {
	t.Helper()
	for _, k := range redisEnv {
		t.Setenv(k, env[k])
	}
}

// TestFromEnvTLS: rediss:// addresses, REDIS_TLS and REDIS_CA_FILE turn TLS
// on; the CA file's authorities replace the system's.
func TestFromEnvTLS(t *testing.T) {
	cert := testcert.New(t)
	notPEM := filepath.Join(t.TempDir(), "ca.txt")
	if err := os.WriteFile(notPEM, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name    string
		env     map[string]string
		addrs   []string
		tls     bool
		ownCA   bool   // RootCAs is the CA file's pool
		str     string // String()
		wantErr string
	}{
		{name: "plain", env: map[string]string{"REDIS_ADDR": "a:1"}, addrs: []string{"a:1"}, str: "a:1"},
		{name: "rediss", env: map[string]string{"REDIS_ADDR": "rediss://a:1,rediss://b"}, addrs: []string{"a:1", "b:6379"}, tls: true, str: "a:1,b:6379 (tls)"},
		{name: "rediss ipv6 without port", env: map[string]string{"REDIS_ADDR": "rediss://[::1]"}, addrs: []string{"[::1]:6379"}, tls: true, str: "[::1]:6379 (tls)"},
		{name: "REDIS_TLS", env: map[string]string{"REDIS_HOST": "cache", "REDIS_TLS": "1"}, addrs: []string{"cache:6379"}, tls: true, str: "cache:6379 (tls)"},
		{name: "REDIS_TLS false", env: map[string]string{"REDIS_ADDR": "a:1", "REDIS_TLS": "false"}, addrs: []string{"a:1"}, str: "a:1"},
		{name: "CA file", env: map[string]string{"REDIS_ADDR": "a:1", "REDIS_CA_FILE": cert.CAFile}, addrs: []string{"a:1"}, tls: true, ownCA: true, str: "a:1 (tls)"},
		{name: "CA file without PEM", env: map[string]string{"REDIS_ADDR": "a:1", "REDIS_CA_FILE": notPEM}, wantErr: "REDIS_CA_FILE: no PEM certificate in " + notPEM},
	} {
		t.Run(c.name, func(t *testing.T) {
			setEnv(t, c.env)
			o, err := FromEnv()
			if c.wantErr != "" {
				if err == nil || err.Error() != c.wantErr {
					t.Fatalf("FromEnv: got error %v; want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("FromEnv: %v", err)
			}
			if !reflect.DeepEqual(o.Addrs, c.addrs) || (o.TLS != nil) != c.tls || o.String() != c.str {
				t.Fatalf("FromEnv: got addresses %q, TLS %v, %q; want %q, TLS %v, %q", o.Addrs, o.TLS != nil, o.String(), c.addrs, c.tls, c.str)
			}
			if o.TLS == nil {
				return
			}
			if o.TLS.ServerName != "" || o.TLS.InsecureSkipVerify || o.TLS.MinVersion < tls.VersionTLS12 {
				t.Errorf("TLS: ServerName %q, InsecureSkipVerify %v, MinVersion %x; want each connection to verify its host, TLS 1.2 at least",
					o.TLS.ServerName, o.TLS.InsecureSkipVerify, o.TLS.MinVersion)
			}
			if (o.TLS.RootCAs != nil) != c.ownCA || c.ownCA && !o.TLS.RootCAs.Equal(cert.CAPool) {
				t.Errorf("TLS.RootCAs: got %v; want the CA file's: %v", o.TLS.RootCAs != nil, c.ownCA)
			}
		})
	}
}

// TestClientAuthAndTLS: a client from FromEnv talks to a Redis that
// requires a password over TLS, verifying the server's certificate against
// REDIS_CA_FILE; without the password, without TLS or without the CA, the
// server cannot be used.
func TestClientAuthAndTLS(t *testing.T) {
	const password = "s3cret-password-0123456789"
	cert := testcert.New(t)
	mr := miniredis.NewMiniRedis()
	if err := mr.StartTLS(cert.ServerConfig(t)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(mr.Close)
	mr.RequireAuth(password)
	for _, c := range []struct {
		name    string
		env     map[string]string
		wantErr string // a substring of PING's error, "" for PONG
		anyErr  bool   // PING fails, whatever the error
	}{
		{name: "tls, ca and password", env: map[string]string{"REDIS_ADDR": "rediss://" + mr.Addr(), "REDIS_CA_FILE": cert.CAFile, "REDIS_PASSWORD": password}},
		{name: "REDIS_TLS", env: map[string]string{"REDIS_ADDR": mr.Addr(), "REDIS_TLS": "1", "REDIS_CA_FILE": cert.CAFile, "REDIS_PASSWORD": password}},
		{name: "no password", env: map[string]string{"REDIS_ADDR": "rediss://" + mr.Addr(), "REDIS_CA_FILE": cert.CAFile}, wantErr: "NOAUTH"},
		{name: "wrong password", env: map[string]string{"REDIS_ADDR": "rediss://" + mr.Addr(), "REDIS_CA_FILE": cert.CAFile, "REDIS_PASSWORD": "wrong"}, wantErr: "WRONGPASS"},
		{name: "system roots", env: map[string]string{"REDIS_ADDR": "rediss://" + mr.Addr(), "REDIS_PASSWORD": password}, wantErr: "certificate signed by unknown authority"},
		// A plain client gets no answer it understands from a TLS server.
		{name: "no tls", env: map[string]string{"REDIS_ADDR": mr.Addr(), "REDIS_PASSWORD": password}, anyErr: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			setEnv(t, c.env)
			o, err := FromEnv()
			if err != nil {
				t.Fatal(err)
			}
			rc := NewClient(o)
			defer rc.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			err = rc.Ping(ctx).Err()
			switch {
			case c.anyErr:
				if err == nil {
					t.Fatal("PING: got PONG; want an error")
				}
			case c.wantErr == "":
				if err != nil {
					t.Fatalf("PING: %v", err)
				}
			case err == nil || !strings.Contains(err.Error(), c.wantErr):
				t.Fatalf("PING: got %v; want an error containing %q", err, c.wantErr)
			}
		})
	}
}

// TestHeartbeatExpires writes the heartbeats of two instances with a time to
// live of three intervals, as the watcher does. One stops beating, as a
// crashed instance would: once its heartbeat has expired, the fleet no
// longer lists it and its id leaves the fleet set; the other, still beating,
// stays with every field as written.
func TestHeartbeatExpires(t *testing.T) {
	ctx := context.Background()
	mr := miniredis.RunT(t)
	c := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer c.Close()
	const interval = 2 * time.Second
	const ttl = 3 * interval
	beat := func(id string, updated int64) *Heartbeat {
		t.Helper()
		hb := &Heartbeat{ID: id, Host: "host-" + id, PID: 42, TCPAddr: "127.0.0.1:8081", Started: 1000, Updated: updated,
			Version: "7", Rejected: "8", Error: "pipelines[0].batch_size: must be between 1 and 10000; got 0", Redis: "connected",
			Received: 10, Emitted: 7, Filtered: 2, Dropped: 1, Breaker: 1}
		if err := WriteHeartbeat(ctx, c, hb, ttl); err != nil {
			t.Fatal(err)
		}
		return hb
	}
	beat("dp-crashed", 2000)
	alive := beat("dp-alive", 2000)

	for _, id := range []string{"dp-crashed", "dp-alive"} {
		// Redis keeps the TTL in milliseconds; miniredis's clock stands still
		// until told to move, so it is exact here.
		if got, err := c.PTTL(ctx, InstanceKeyPrefix+id).Result(); err != nil || got != ttl {
			t.Fatalf("PTTL of %s: got %v, %v; want %v, three heartbeat intervals", id, got, err, ttl)
		}
	}
	if fleet, err := ListFleet(ctx, c); err != nil || len(fleet) != 2 {
		t.Fatalf("fleet before expiry: got %+v, %v; want both instances", fleet, err)
	}

	mr.FastForward(ttl - interval/2)
	alive = beat("dp-alive", 3000) // one more beat; dp-crashed is silent
	mr.FastForward(interval)       // past dp-crashed's TTL, within dp-alive's

	fleet, err := ListFleet(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if len(fleet) != 1 || !reflect.DeepEqual(fleet[0], *alive) {
		t.Fatalf("fleet after dp-crashed expired: got %+v; want only %+v", fleet, *alive)
	}
	if ids, err := c.ZRange(ctx, FleetKey, 0, -1).Result(); err != nil || !reflect.DeepEqual(ids, []string{"dp-alive"}) {
		t.Fatalf("fleet set after the listing: got %q, %v; want the expired id pruned", ids, err)
	}

	if err := RemoveHeartbeat(ctx, c, "dp-alive"); err != nil {
		t.Fatal(err)
	}
	if fleet, err := ListFleet(ctx, c); err != nil || len(fleet) != 0 || mr.Exists(FleetKey) {
		t.Fatalf("fleet after RemoveHeartbeat: got %+v, %v, fleet set left: %v; want nothing", fleet, err, mr.Exists(FleetKey))
	}
}
