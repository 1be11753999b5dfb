// The test of docker-compose.yml. There is no Docker where it runs, so it
// reads the file and starts every service's command natively, with its
// environment, on free loopback ports: each service's host name stands for
// 127.0.0.1 and each of its container ports for a port of its own. Then it
// follows the README's "Docker Compose" section against them, command for
// command, from copying .env.example to the redacted lines at the echo
// server.
package compose_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"streamgate/deploy/internal/deploytest"
)

func TestMain(m *testing.M) { deploytest.Main(m) }

// composeFile is the part of the compose file the test carries out.
type composeFile struct {
	Name     string             `yaml:"name"`
	Services map[string]service `yaml:"services"`
	Volumes  map[string]any     `yaml:"volumes"`
}

type service struct {
	Image       string            `yaml:"image"`
	Command     []string          `yaml:"command"`
	Environment map[string]string `yaml:"environment"`
	Ports       []string          `yaml:"ports"`
	Volumes     []string          `yaml:"volumes"`
	DependsOn   map[string]struct {
		Condition string `yaml:"condition"`
	} `yaml:"depends_on"`
	Healthcheck *struct {
		Test []string `yaml:"test"`
	} `yaml:"healthcheck"`
}

// serviceKeys are the keys a service may have: those the test carries out
// or checks, and those that do not change what runs (build, restart and the
// container's confinement). A new key needs the test taught what it means.
var serviceKeys = []string{"image", "build", "command", "environment", "ports", "volumes", "depends_on",
	"healthcheck", "restart", "read_only", "cap_drop", "security_opt"}

const composePath = "deploy/compose/docker-compose.yml"

// readCompose parses the compose file, its variables replaced from env as
// docker compose does with .env.
func readCompose(t *testing.T, env map[string]string) (*composeFile, error) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(deploytest.Root(t), composePath))
	if err != nil {
		t.Fatal(err)
	}
	var loose struct {
		Services map[string]map[string]any `yaml:"services"`
	}
	if err := yaml.Unmarshal(raw, &loose); err != nil {
		t.Fatalf("%s: %v", composePath, err)
	}
	for name, s := range loose.Services {
		for k := range s {
			if !slices.Contains(serviceKeys, k) {
				t.Errorf("%s: service %s: key %q is not one the test knows (%v)", composePath, name, k, serviceKeys)
			}
		}
	}
	var f composeFile
	if err := yaml.Unmarshal(raw, &f); err != nil {
		t.Fatalf("%s: %v", composePath, err)
	}
	for name, s := range f.Services {
		var errs []error
		sub := func(v string) string {
			out, err := interpolate(v, env)
			if err != nil {
				errs = append(errs, fmt.Errorf("service %s: %w", name, err))
			}
			return out
		}
		s.Image = sub(s.Image)
		for i := range s.Command {
			s.Command[i] = sub(s.Command[i])
		}
		for k, v := range s.Environment {
			s.Environment[k] = sub(v)
		}
		for i := range s.Ports {
			s.Ports[i] = sub(s.Ports[i])
		}
		if len(errs) > 0 {
			return nil, errs[0]
		}
		f.Services[name] = s
	}
	return &f, nil
}

var variable = regexp.MustCompile(`\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)`)

// interpolate replaces ${VAR}, $VAR, ${VAR:-default}, ${VAR-default},
// ${VAR:?error} and ${VAR?error} from env, and $$ by $, as docker compose
// does.
func interpolate(s string, env map[string]string) (string, error) {
	var err error
	out := variable.ReplaceAllStringFunc(s, func(m string) string {
		if m == "$$" {
			return "$"
		}
		g := variable.FindStringSubmatch(m)
		name := g[1] + g[4]
		v, set := env[name]
		unset := !set || (strings.HasPrefix(g[2], ":") && v == "")
		switch strings.TrimPrefix(g[2], ":") {
		case "-":
			if unset {
				return g[3]
			}
		case "?":
			if unset {
				err = fmt.Errorf("required variable %s is missing a value: %s", name, g[3])
			}
		}
		return v
	})
	return out, err
}

// readDotenv reads a .env file: NAME=value lines, # comments.
func readDotenv(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			t.Fatalf("%s: %q is not NAME=value", path, l)
		}
		env[k] = v
	}
	return env
}

func TestInterpolate(t *testing.T) {
	env := map[string]string{"SET": "v", "EMPTY": ""}
	for _, tc := range []struct {
		in, want string
		err      bool
	}{
		{"${SET}", "v", false},
		{"$SET:6379", "v:6379", false},
		{"a$$b", "a$b", false},
		{"${UNSET:-d}", "d", false},
		{"${EMPTY:-d}", "d", false},
		{"${EMPTY-d}", "", false},
		{"${SET:-d}", "v", false},
		{"${EMPTY:?set it}", "", true},
		{"${UNSET?set it}", "", true},
		{"${EMPTY?set it}", "", false},
	} {
		got, err := interpolate(tc.in, env)
		if got != tc.want || (err != nil) != tc.err {
			t.Errorf("interpolate(%q) = %q, %v; want %q, error %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

// TestComposeEnvExample checks that docker compose would refuse to start
// on .env.example as it is: its secrets are empty until set.
func TestComposeEnvExample(t *testing.T) {
	env := readDotenv(t, filepath.Join(deploytest.Root(t), "deploy/compose/.env.example"))
	for _, k := range []string{"STREAMGATE_API_TOKEN", "REDIS_PASSWORD"} {
		if v, ok := env[k]; !ok || v != "" {
			t.Errorf(".env.example: %s=%q; want it present and empty", k, v)
		}
	}
	if _, err := readCompose(t, env); err == nil || !strings.Contains(err.Error(), "is missing a value") {
		t.Fatalf("the compose file on .env.example: %v; want a missing value refused", err)
	}
}

// endpoint is a service's container port, with its protocol.
type endpoint struct {
	service string
	port    int
	udp     bool
}

// TestCompose starts the compose file's services natively and follows the
// README's walk-through against them.
func TestCompose(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Redis and four streamgate processes")
	}
	deploytest.NeedTools(t, "bash", "curl", "nc", "redis-server", "sed", "head", "base64", "tr")
	root := deploytest.Root(t)
	section := deploytest.ReadmeSection(t, "### Docker Compose")
	blocks := deploytest.CodeBlocks(section, "bash")
	if len(blocks) != 2 {
		t.Fatalf("README's Docker Compose section has %d bash blocks; want 2: the setup, then the walk-through", len(blocks))
	}

	// The setup, in a copy of deploy/compose: all but cd and docker.
	dir := t.TempDir()
	for _, name := range []string{"docker-compose.yml", ".env.example"} {
		b, err := os.ReadFile(filepath.Join(root, "deploy/compose", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var setup []string
	for _, l := range strings.Split(blocks[0], "\n") {
		if f := strings.Fields(l); len(f) > 0 && (f[0] == "cd" || f[0] == "docker") {
			continue
		}
		setup = append(setup, l)
	}
	deploytest.Shell(t, dir, deploytest.CleanEnv(), strings.Join(setup, "\n"))
	dotenv := readDotenv(t, filepath.Join(dir, ".env"))
	for _, k := range []string{"STREAMGATE_API_TOKEN", "REDIS_PASSWORD"} {
		if len(dotenv[k]) < 16 {
			t.Fatalf("after the README's setup, .env has %s=%q; want a secret of 16 characters or more", k, dotenv[k])
		}
	}
	f, err := readCompose(t, dotenv)
	if err != nil {
		t.Fatalf("%s with the .env of the README's setup: %v", composePath, err)
	}

	// Every endpoint of a service gets a loopback port of its own: its
	// published ports, and the service:port other services name,
	ports := map[endpoint]int{}
	published := map[string]endpoint{} // host port (with /udp) -> endpoint
	names := slices.Sorted(maps.Keys(f.Services))
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = regexp.QuoteMeta(n)
	}
	hostPort := regexp.MustCompile(`\b(` + strings.Join(quoted, "|") + `):(\d+)\b`)
	for _, name := range names {
		s := f.Services[name]
		for _, p := range s.Ports {
			spec, proto, _ := strings.Cut(p, "/")
			parts := strings.Split(spec, ":")
			if len(parts) != 3 || parts[0] != "127.0.0.1" {
				t.Errorf("service %s publishes %q; want 127.0.0.1:HOST:CONTAINER, on the host's loopback only", name, p)
				continue
			}
			cport, err := strconv.Atoi(parts[2])
			if err != nil {
				t.Fatalf("service %s: port %q", name, p)
			}
			e := endpoint{service: name, port: cport, udp: proto == "udp"}
			ports[e] = 0
			published[parts[1]+"/"+map[bool]string{false: "tcp", true: "udp"}[e.udp]] = e
		}
		for _, v := range slices.Concat(s.Command, slices.Collect(maps.Values(s.Environment))) {
			for _, m := range hostPort.FindAllStringSubmatch(v, -1) {
				p, _ := strconv.Atoi(m[2])
				ports[endpoint{service: m[1], port: p}] = 0
			}
		}
	}
	// and those the walk-through names (an output's URL).
	for _, m := range hostPort.FindAllStringSubmatch(blocks[1], -1) {
		p, _ := strconv.Atoi(m[2])
		ports[endpoint{service: m[1], port: p}] = 0
	}
	for e := range ports {
		ports[e] = deploytest.FreePort(t, map[bool]string{false: "tcp", true: "udp"}[e.udp])
	}
	local := func(v string) string {
		return hostPort.ReplaceAllStringFunc(v, func(m string) string {
			g := hostPort.FindStringSubmatch(m)
			p, _ := strconv.Atoi(g[2])
			return "127.0.0.1:" + strconv.Itoa(ports[endpoint{service: g[1], port: p}])
		})
	}

	// Redis first: the others wait for it (depends_on).
	var redisName string
	for _, name := range names {
		if strings.HasPrefix(f.Services[name].Image, "redis:") {
			redisName = name
		}
	}
	if redisName == "" {
		t.Fatal("no service runs the redis image")
	}
	startRedis(t, f.Services[redisName], ports[endpoint{service: redisName, port: 6379}], dotenv["REDIS_PASSWORD"])

	procs := map[string]*deploytest.Proc{}
	readyz := map[string]string{}
	for _, name := range names {
		s := f.Services[name]
		if name == redisName {
			continue
		}
		if !strings.HasPrefix(s.Image, "streamgate:") {
			t.Fatalf("service %s runs image %s; want streamgate or redis", name, s.Image)
		}
		for k, v := range s.Environment {
			if strings.HasSuffix(k, "_PORT") || strings.HasSuffix(k, "_HOST") {
				t.Fatalf("service %s sets %s; the test knows listeners by their flags: give it in the command", name, k)
			}
			if dep, ok := s.DependsOn[redisName]; strings.Contains(v, redisName+":") && (!ok || dep.Condition != "service_healthy") {
				t.Errorf("service %s uses %s; want depends_on %s with condition service_healthy", name, v, redisName)
			}
		}
		if len(s.Command) == 0 {
			t.Fatalf("service %s has no command", name)
		}
		cmd := deploytest.Usage(t, s.Command[0])
		args := s.Command[1:]
		if err := cmd.CheckArgs(t, args); err != nil {
			t.Fatalf("service %s: %v", name, err)
		}
		given, _ := cmd.ParseArgs(args)
		checkExposure(t, name, cmd, given, s.Environment)
		var env []string
		for k, v := range s.Environment {
			if !cmd.Env[k] {
				t.Errorf("service %s: streamgate %s does not read environment variable %s", name, cmd.Name, k)
			}
			env = append(env, k+"="+local(v))
		}
		// Every listener on loopback, on the port standing for its
		// container port.
		var extra []string
		for _, fl := range slices.Sorted(maps.Keys(cmd.Flags)) {
			if fl == "host" || strings.HasSuffix(fl, "-host") {
				extra = append(extra, "-"+fl, "127.0.0.1")
			}
		}
		for e, p := range ports {
			if e.service != name {
				continue
			}
			fl := portFlag(cmd, given, e)
			if fl == "" {
				t.Fatalf("service %s: no flag of streamgate %s listens on container port %d", name, cmd.Name, e.port)
			}
			extra = append(extra, "-"+fl, strconv.Itoa(p))
			if fl == "admin-port" {
				readyz[name] = "http://127.0.0.1:" + strconv.Itoa(p) + "/readyz"
			}
		}
		argv := slices.Concat([]string{deploytest.Binary(t)}, s.Command, extra)
		procs[name] = deploytest.Start(t, name, t.TempDir(), append(deploytest.CleanEnv(), env...), argv)
	}
	if t.Failed() {
		t.FailNow()
	}
	for name, p := range procs {
		switch f.Services[name].Command[0] {
		case "control":
			p.WaitLog(regexp.MustCompile(`control plane running`))
		case "echo-server":
			p.WaitLog(regexp.MustCompile(`listening`))
		}
	}
	for name, url := range readyz {
		deploytest.WaitUntil(t, name+" to be ready", func() bool {
			resp, err := http.Get(url)
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK
		})
	}
	var echo *deploytest.Proc
	for name, p := range procs {
		if f.Services[name].Command[0] == "echo-server" {
			echo = p
		}
	}
	if echo == nil {
		t.Fatal("no service runs echo-server")
	}

	// The walk-through, command for command, on the loopback ports.
	localPort := regexp.MustCompile(`\b(localhost|127\.0\.0\.1)([: ])(\d+)\b`)
	var prelude []string
	var apiURL string
	for _, c := range deploytest.ShellCommands(blocks[1]) {
		if strings.HasPrefix(c, "docker ") {
			continue
		}
		c = local(localPort.ReplaceAllStringFunc(c, func(m string) string {
			g := localPort.FindStringSubmatch(m)
			proto := "tcp"
			if strings.Contains(c, "nc -u") {
				proto = "udp"
			}
			e, ok := published[g[3]+"/"+proto]
			if !ok {
				t.Fatalf("README command %q: port %s/%s is not published by %s", c, g[3], proto, composePath)
			}
			if f.Services[e.service].Command[0] == "control" && apiURL == "" {
				apiURL = "http://127.0.0.1:" + strconv.Itoa(ports[e])
			}
			return "127.0.0.1" + g[2] + strconv.Itoa(ports[e])
		}))
		if regexp.MustCompile(`^[A-Z_]+=`).MatchString(c) {
			prelude = append(prelude, c)
			continue
		}
		out := deploytest.Shell(t, dir, deploytest.CleanEnv(), strings.Join(append(slices.Clone(prelude), c), "\n"))
		if strings.Contains(c, "/publish") {
			var resp struct {
				Status   string `json:"status"`
				Manifest struct {
					Version string `json:"version"`
				} `json:"manifest"`
				Subscribers int `json:"subscribers_notified"`
			}
			if err := json.Unmarshal([]byte(out), &resp); err != nil || resp.Status != "published" {
				t.Fatalf("%s\nanswered %q; want status published", c, out)
			}
			waitFleet(t, apiURL, resp.Manifest.Version, len(readyz))
		} else if strings.HasPrefix(c, "curl -X") && strings.Contains(out, `"detail"`) {
			t.Fatalf("%s\nanswered %s", c, out)
		}
	}

	// Each data plane sent its line to the echo server, redacted.
	var want []string
	for _, m := range regexp.MustCompile(`echo "(SSN: [0-9-]+)" \| nc`).FindAllStringSubmatch(blocks[1], -1) {
		want = append(want, m[1])
	}
	if len(want) < len(readyz) {
		t.Fatalf("the README's walk-through sends %d SSN lines; want one to each of the %d data planes", len(want), len(readyz))
	}
	deploytest.WaitUntil(t, fmt.Sprintf("%d redacted lines at the echo server", len(want)), func() bool {
		n := 0
		for _, l := range echo.Stdout() {
			if l == "SSN: XXX-XX-XXXX" {
				n++
			}
		}
		return n == len(want)
	})
	for _, l := range echo.Stdout() {
		for _, w := range want {
			if strings.Contains(l, strings.TrimPrefix(w, "SSN: ")) {
				t.Errorf("the echo server received %q; want the SSN redacted", l)
			}
		}
	}
}

// portFlag names the flag of cmd that listens on e's container port: the
// one given that port in the compose file's command, or else the one whose
// default it is.
func portFlag(cmd deploytest.Command, given map[string]string, e endpoint) string {
	want := strconv.Itoa(e.port)
	var byDefault string
	for _, name := range slices.Sorted(maps.Keys(cmd.Flags)) {
		isPort := name == "port" || strings.HasSuffix(name, "-port")
		if !isPort || (name == "udp-port") != e.udp {
			continue
		}
		if v, ok := given[name]; ok {
			if v == want {
				return name
			}
			continue
		}
		if cmd.Flags[name].Default == want && byDefault == "" {
			byDefault = name
		}
	}
	return byDefault
}

// checkExposure checks the safe defaults hold in the compose file: a REST
// API listening beyond loopback has a token, and nothing is insecure.
func checkExposure(t *testing.T, name string, cmd deploytest.Command, given, env map[string]string) {
	t.Helper()
	if _, ok := given["insecure-api"]; ok {
		t.Errorf("service %s passes -insecure-api", name)
	}
	if _, ok := given["pprof"]; ok {
		t.Errorf("service %s passes -pprof", name)
	}
	if _, ok := cmd.Flags["api-host"]; !ok {
		return
	}
	host, ok := given["api-host"]
	if !ok {
		host = env["CONTROL_HOST"]
	}
	if !ok && host == "" {
		host = cmd.Flags["api-host"].Default
	}
	if deploytest.Loopback(host) {
		return
	}
	_, flagToken := given["api-token-file"]
	if !flagToken && env["STREAMGATE_API_TOKEN"] == "" && env["STREAMGATE_API_TOKEN_FILE"] == "" {
		t.Errorf("service %s: the REST API listens on %q without a token", name, host)
	}
}

// startRedis runs the redis service's command on port, on loopback, with
// its data in a temporary directory, and waits until it answers the
// password.
func startRedis(t *testing.T, s service, port int, password string) {
	t.Helper()
	if len(s.Command) == 0 || s.Command[0] != "redis-server" {
		t.Fatalf("the redis service's command %q; want redis-server and its options", s.Command)
	}
	argv := slices.Concat(s.Command, []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", t.TempDir()})
	deploytest.Start(t, "redis", t.TempDir(), deploytest.CleanEnv(), argv)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	deploytest.WaitUntil(t, "redis to answer", func() bool { return redisPing(addr, password) == nil })
	if err := redisPing(addr, ""); err == nil {
		t.Fatal("redis answers PING without the password; want it to require one")
	}
	if s.Healthcheck == nil || !slices.Equal(s.Healthcheck.Test, []string{"CMD", "redis-cli", "ping"}) || s.Environment["REDISCLI_AUTH"] != password {
		t.Error("the redis service's healthcheck: want [CMD redis-cli ping] with REDISCLI_AUTH the password")
	}
}

// redisPing authenticates with password (none when empty) and sends PING.
func redisPing(addr, password string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(time.Second))
	r := bufio.NewReader(conn)
	if password != "" {
		fmt.Fprintf(conn, "*2\r\n$4\r\nAUTH\r\n$%d\r\n%s\r\n", len(password), password)
		if l, err := r.ReadString('\n'); err != nil || l != "+OK\r\n" {
			return fmt.Errorf("AUTH: %q %v", l, err)
		}
	}
	fmt.Fprint(conn, "*1\r\n$4\r\nPING\r\n")
	if l, err := r.ReadString('\n'); err != nil || l != "+PONG\r\n" {
		return fmt.Errorf("PING: %q %v", l, err)
	}
	return nil
}

// waitFleet waits until n data planes report version on the control
// plane's /fleet.
func waitFleet(t *testing.T, api, version string, n int) {
	t.Helper()
	deploytest.WaitUntil(t, fmt.Sprintf("%d data planes on version %s", n, version), func() bool {
		resp, err := http.Get(api + "/fleet")
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
		if json.Unmarshal(body, &fleet) != nil || len(fleet.Instances) != n {
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
