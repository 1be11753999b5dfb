// Package redistest runs Redis servers for tests: miniredis in process, or
// redis-server on a free loopback port. Both can be stopped and started
// again on the same address, to test what an outage does.
package redistest

import (
	"context"
	"net"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// Server is a Redis a test can stop and start again on the same address.
type Server interface {
	Addr() string
	Stop(t *testing.T)
	Start(t *testing.T)
}

// Mini runs miniredis until the test ends.
func Mini(t *testing.T) Server { return &mini{m: miniredis.RunT(t)} }

type mini struct{ m *miniredis.Miniredis }

func (e *mini) Addr() string    { return e.m.Addr() }
func (e *mini) Stop(*testing.T) { e.m.Close() }
func (e *mini) Start(t *testing.T) {
	if err := e.m.Restart(); err != nil {
		t.Fatal(err)
	}
}

// Real runs redis-server on a free loopback port until the test ends. It
// skips the test when redis-server is not installed, and fails it on CI
// (CI set), whose setup must install it.
func Real(t *testing.T) Server {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("redis-server is not installed; .ci/run must install it")
		}
		t.Skip("redis-server not installed (apt-get install redis-server)")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close()
	e := &real{port: port}
	e.Start(t)
	t.Cleanup(func() { e.Stop(t) })
	return e
}

type real struct {
	port string
	cmd  *exec.Cmd
}

func (e *real) Addr() string { return "127.0.0.1:" + e.port }

func (e *real) Start(t *testing.T) {
	t.Helper()
	e.cmd = exec.Command("redis-server", "--port", e.port, "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--protected-mode", "yes")
	if err := e.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(&redis.Options{Addr: e.Addr()})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for c.Ping(context.Background()).Err() != nil {
		if time.Now().After(deadline) {
			t.Fatal("redis-server did not answer within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (e *real) Stop(*testing.T) {
	if e.cmd != nil && e.cmd.Process != nil {
		e.cmd.Process.Kill()
		e.cmd.Wait()
		e.cmd = nil
	}
}
