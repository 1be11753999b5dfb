// Package deploytest holds what the tests of the deployment files share:
// the streamgate binary built once, what each of its commands accepts (read
// from its own -h), processes run until the test ends, and free loopback
// ports.
package deploytest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Root returns the repository's root: the nearest directory above the
// working directory that holds go.work.
func Root(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.work above the working directory")
		}
		dir = parent
	}
}

var (
	buildOnce sync.Once
	buildDir  string
	builtBin  string
	buildErr  error
)

// Binary builds the streamgate binary once for the test process (a go build
// of the control module's command, as make build does) and returns its path.
// Main removes it when the tests end.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		if buildDir, buildErr = os.MkdirTemp("", "streamgate-deploy"); buildErr != nil {
			return
		}
		builtBin = filepath.Join(buildDir, "streamgate")
		cmd := exec.Command("go", "build", "-o", builtBin, "./cmd/streamgate")
		cmd.Dir = filepath.Join(Root(t), "control")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

// Main runs the tests and removes the binary Binary built.
func Main(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// Command is what one streamgate command accepts: its flags, and the
// environment variables it reads.
type Command struct {
	Name  string
	Flags map[string]Flag
	Env   map[string]bool
}

// Flag is one flag of a command, as its -h shows it.
type Flag struct {
	Name    string
	Bool    bool   // takes no value unless given as -name=value
	Default string // "" when -h shows none
}

var (
	flagLine    = regexp.MustCompile(`^  -(\S+)(?: (\S+))?$`)
	defaultText = regexp.MustCompile(`\(default "?(.*?)"?\)$`)
	envAfter    = regexp.MustCompile(`\benv ([A-Z][A-Z0-9_]+)`)
	envName     = regexp.MustCompile(`\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b`)
)

// Usage runs `streamgate name -h` and returns what it lists. A command that
// follows Redis (up, dataplane, control) also reads the variables of the
// README's Redis table, which its -h does not list, and every command reads
// GOMEMLIMIT when its -h names it.
func Usage(t testing.TB, name string) Command {
	t.Helper()
	out, err := exec.Command(Binary(t), name, "-h").CombinedOutput()
	if err != nil {
		t.Fatalf("streamgate %s -h: %v\n%s", name, err, out)
	}
	c := Command{Name: name, Flags: map[string]Flag{}, Env: map[string]bool{}}
	var last *Flag
	for _, line := range strings.Split(string(out), "\n") {
		if m := flagLine.FindStringSubmatch(line); m != nil {
			c.Flags[m[1]] = Flag{Name: m[1], Bool: m[2] == ""}
			f := c.Flags[m[1]]
			last = &f
			continue
		}
		if last == nil || !strings.HasPrefix(line, "    \t") {
			continue
		}
		text := strings.TrimSpace(line)
		if m := defaultText.FindStringSubmatch(text); m != nil {
			last.Default = m[1]
			c.Flags[last.Name] = *last
		}
		for _, m := range envAfter.FindAllStringSubmatch(text, -1) {
			c.Env[m[1]] = true
		}
		for _, m := range envName.FindAllString(text, -1) {
			c.Env[m] = true
		}
		if strings.Contains(text, "GOMEMLIMIT") {
			c.Env["GOMEMLIMIT"] = true
		}
	}
	if len(c.Flags) == 0 {
		t.Fatalf("streamgate %s -h lists no flags:\n%s", name, out)
	}
	if name == "up" || name == "dataplane" || name == "control" {
		for _, v := range RedisEnv(t) {
			c.Env[v] = true
		}
	}
	return c
}

// RedisEnv returns the variables the README's "Redis, and more data
// planes" section documents (REDIS_ADDR, REDIS_PASSWORD, ...).
func RedisEnv(t testing.TB) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(Root(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n### Redis, and more data planes\n")
	if !ok {
		t.Fatal(`README.md has no "### Redis, and more data planes" section`)
	}
	section, _, _ = strings.Cut(section, "\n#")
	var names []string
	for _, m := range regexp.MustCompile("`(REDIS_[A-Z_]+)`").FindAllStringSubmatch(section, -1) {
		if !slices.Contains(names, m[1]) {
			names = append(names, m[1])
		}
	}
	if !slices.Contains(names, "REDIS_ADDR") || !slices.Contains(names, "REDIS_PASSWORD") {
		t.Fatalf("README's Redis section documents %v; want REDIS_ADDR and REDIS_PASSWORD among them", names)
	}
	return names
}

// ParseArgs splits args as the command's flag set would parse them, into
// flag names and values. It reports flags the command does not have, a
// missing value, and any positional argument (no command deployed here
// takes one).
func (c Command) ParseArgs(args []string) (map[string]string, error) {
	got := map[string]string{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" || !strings.HasPrefix(a, "-") || a == "-" {
			return nil, fmt.Errorf("streamgate %s: positional argument %q: the command takes none", c.Name, a)
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		f, ok := c.Flags[name]
		if !ok {
			return nil, fmt.Errorf("streamgate %s: flag -%s is not defined (streamgate %s -h)", c.Name, name, c.Name)
		}
		if !hasValue && !f.Bool {
			if i+1 == len(args) {
				return nil, fmt.Errorf("streamgate %s: flag -%s needs a value", c.Name, name)
			}
			i++
			value = args[i]
		}
		if !hasValue && f.Bool {
			value = "true"
		}
		got[name] = value
	}
	return got, nil
}

// CheckArgs reports the args that the command's flag set refuses: those
// ParseArgs refuses, then, asking the binary itself, a value its flag does
// not take (an int, a duration, a bool): it runs `streamgate name args -h`,
// which parses every flag and stops at -h.
func (c Command) CheckArgs(t testing.TB, args []string) error {
	t.Helper()
	if _, err := c.ParseArgs(args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, Binary(t), append(append([]string{c.Name}, args...), "-h")...)
	cmd.Env = CleanEnv()
	if out, err := cmd.CombinedOutput(); err != nil {
		first, _, _ := strings.Cut(string(out), "\n") // the error; the usage follows
		return fmt.Errorf("streamgate %s %s -h: %v: %s", c.Name, strings.Join(args, " "), err, first)
	}
	return nil
}

// Loopback reports whether a listen address stays on this machine, as the
// binary judges it: localhost, 127.0.0.0/8 or ::1.
func Loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// CleanEnv is this process's environment without the variables streamgate
// reads, so that none leaks from the shell into a test.
func CleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "REDIS_") || strings.HasPrefix(name, "STREAMGATE_") ||
			strings.HasPrefix(name, "CONTROL_") || strings.HasPrefix(name, "ADMIN_") ||
			slices.Contains([]string{"LISTEN_HOST", "TCP_PORT", "UDP_PORT", "HTTP_INGEST_PORT", "EMBEDDED_REDIS_ADDR", "GOMEMLIMIT"}, name) {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// FreePort returns a loopback port free now for network ("tcp" or "udp").
func FreePort(t testing.TB, network string) int {
	t.Helper()
	switch network {
	case "tcp":
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		return ln.Addr().(*net.TCPAddr).Port
	case "udp":
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		return pc.LocalAddr().(*net.UDPAddr).Port
	}
	t.Fatalf("FreePort: network %q; want tcp or udp", network)
	return 0
}

// Proc is a running process whose stdout and stderr lines are collected.
type Proc struct {
	Name string
	t    testing.TB
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  []string
	logs []string
	done chan struct{}
}

// Start runs argv with env (in addition to nothing: env is the whole
// environment) in dir until the test ends, when it is sent SIGTERM and, if
// it has not exited after 10 s, killed. On failure its stderr is logged.
func Start(t testing.TB, name, dir string, env, argv []string) *Proc {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = env
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	p := &Proc{Name: name, t: t, cmd: cmd, done: make(chan struct{})}
	var wg sync.WaitGroup
	collect := func(r io.Reader, dst *[]string) {
		defer wg.Done()
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			*dst = append(*dst, sc.Text())
			p.mu.Unlock()
		}
	}
	wg.Add(2)
	go collect(stdout, &p.out)
	go collect(stderr, &p.logs)
	go func() {
		wg.Wait()
		cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("%s stderr:\n%s", name, strings.Join(p.Logs(), "\n"))
		}
	})
	return p
}

// Stdout returns the lines printed on stdout so far.
func (p *Proc) Stdout() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.out)
}

// Logs returns the lines printed on stderr so far.
func (p *Proc) Logs() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.logs)
}

// WaitLog waits until a stderr line matches re; it fails the test if the
// process exits first.
func (p *Proc) WaitLog(re *regexp.Regexp) {
	p.t.Helper()
	WaitUntil(p.t, p.Name+" to log "+re.String(), func() bool {
		select {
		case <-p.done:
			p.t.Fatalf("%s exited before logging %s:\n%s", p.Name, re, strings.Join(p.Logs(), "\n"))
		default:
		}
		return slices.ContainsFunc(p.Logs(), re.MatchString)
	})
}

// WaitUntil polls cond until it holds, failing the test after 20 s.
func WaitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Shell runs command with bash in dir and env and returns its stdout. A
// command still running after 2 s is stopped: OpenBSD nc without -N keeps
// its connection open once its input ends.
func Shell(t testing.TB, dir string, env []string, command string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", command)
	cmd.Dir = dir
	cmd.Env = env
	cmd.WaitDelay = time.Second
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil && ctx.Err() == nil {
		t.Fatalf("%s: %v\n%s%s", command, err, out, stderr.String())
	}
	return string(out)
}

// NeedTools fails the test when a tool it runs is not installed.
func NeedTools(t testing.TB, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed; the test runs it (.ci/run installs it)", tool)
		}
	}
}

// ReadmeSection returns the README's section under heading (the whole
// line, e.g. "### Docker Compose"), up to the next heading of the same or a
// higher level.
func ReadmeSection(t testing.TB, heading string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(Root(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n"+heading+"\n")
	if !ok {
		t.Fatalf("README.md has no %q section", heading)
	}
	level := strings.Index(heading, " ")
	lines := strings.Split(section, "\n")
	inCode := false
	for i, l := range lines {
		if strings.HasPrefix(l, "```") {
			inCode = !inCode
		}
		if !inCode && strings.HasPrefix(l, "#") {
			if n := strings.Index(l, " "); n > 0 && n <= level && strings.Trim(l[:n], "#") == "" {
				return strings.Join(lines[:i], "\n")
			}
		}
	}
	return section
}

// CodeBlocks returns the contents of the fenced code blocks of text whose
// info string is lang.
func CodeBlocks(text, lang string) []string {
	var blocks []string
	var cur []string
	in := false
	for _, l := range strings.Split(text, "\n") {
		switch {
		case !in && l == "```"+lang:
			in, cur = true, nil
		case in && l == "```":
			in = false
			blocks = append(blocks, strings.Join(cur, "\n"))
		case in:
			cur = append(cur, l)
		}
	}
	return blocks
}

// ShellCommands splits a shell script into its commands, one a line or
// several lines joined by backslashes; comments and blank lines between
// commands are dropped.
func ShellCommands(script string) []string {
	var cmds []string
	var cur string
	for _, l := range strings.Split(script, "\n") {
		trimmed := strings.TrimSpace(l)
		if cur == "" && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if strings.HasSuffix(l, `\`) {
			cur += l + "\n"
			continue
		}
		cmds = append(cmds, cur+l)
		cur = ""
	}
	return cmds
}
