// The tests of the root Dockerfile. There is no Docker daemon where they
// run, so they read the Dockerfile and carry out its build stage natively:
// its COPYs from the files .dockerignore admits, its ENVs, ARGs and RUNs in
// a scratch directory standing for the stage's file system.
package deploy_test

import (
	"debug/elf"
	"encoding/json"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	"streamgate/deploy/internal/deploytest"
)

func TestMain(m *testing.M) { deploytest.Main(m) }

func readDockerfile(t *testing.T) (*deploytest.Dockerfile, []deploytest.IgnoreRule) {
	t.Helper()
	root := deploytest.Root(t)
	src, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	d, err := deploytest.ParseDockerfile(string(src))
	if err != nil {
		t.Fatalf("Dockerfile: %v", err)
	}
	ign, err := os.ReadFile(filepath.Join(root, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	rules, err := deploytest.ParseDockerignore(string(ign))
	if err != nil {
		t.Fatalf(".dockerignore: %v", err)
	}
	return d, rules
}

// TestDockerfileImage checks the final stage: distroless, a nonroot user,
// the documented ports, /data, and streamgate up as the default command.
func TestDockerfileImage(t *testing.T) {
	d, _ := readDockerfile(t)
	final := d.Stages[len(d.Stages)-1]
	if want := "gcr.io/distroless/static-debian12:nonroot"; final.From != want {
		t.Errorf("final stage FROM %s; want %s", final.From, want)
	}
	one := func(kw string) string {
		t.Helper()
		all := final.All(kw)
		if len(all) != 1 {
			t.Fatalf("final stage has %d %s instructions; want 1", len(all), kw)
		}
		return all[0].Args
	}
	if user := one("USER"); user != "65532:65532" {
		t.Errorf("USER %s; want 65532:65532 (distroless's nonroot)", user)
	}
	var entrypoint, cmd []string
	if err := json.Unmarshal([]byte(one("ENTRYPOINT")), &entrypoint); err != nil || !slices.Equal(entrypoint, []string{"streamgate"}) {
		t.Errorf("ENTRYPOINT %s; want [\"streamgate\"] (exec form: the image has no shell)", one("ENTRYPOINT"))
	}
	if err := json.Unmarshal([]byte(one("CMD")), &cmd); err != nil || !slices.Equal(cmd, []string{"up"}) {
		t.Errorf("CMD %s; want [\"up\"]", one("CMD"))
	}
	if v := one("VOLUME"); v != `["/data"]` {
		t.Errorf("VOLUME %s; want [\"/data\"]", v)
	}
	if w := one("WORKDIR"); w != "/data" {
		t.Errorf("WORKDIR %s; want /data, where up may write the embedded Redis's password", w)
	}

	// EXPOSE: the default port of every listener of `up`, with its protocol.
	up := deploytest.Usage(t, "up")
	var want []string
	for flag, proto := range map[string]string{"api-port": "tcp", "admin-port": "tcp", "tcp-port": "tcp", "udp-port": "udp", "http-port": "tcp"} {
		f, ok := up.Flags[flag]
		if !ok || f.Default == "" {
			t.Fatalf("streamgate up -h shows no default for -%s", flag)
		}
		want = append(want, f.Default+"/"+proto)
	}
	got := strings.Fields(one("EXPOSE"))
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("EXPOSE %v; want %v (the defaults of streamgate up -h)", got, want)
	}
}

// TestDockerfileGoVersion checks that the build stage's Go is go.work's.
func TestDockerfileGoVersion(t *testing.T) {
	d, _ := readDockerfile(t)
	work, err := os.ReadFile(filepath.Join(deploytest.Root(t), "go.work"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(work)
	if m == nil {
		t.Fatal("go.work has no go directive")
	}
	if got := d.GlobalArgs["GO_VERSION"]; got != string(m[1]) {
		t.Errorf("ARG GO_VERSION=%s; want %s, go.work's", got, m[1])
	}
	build := d.Stage("build")
	if build == nil {
		t.Fatal("no stage named build")
	}
	if want := "golang:${GO_VERSION}-bookworm"; build.From != want {
		t.Errorf("build stage FROM %s; want %s", build.From, want)
	}
}

// TestDockerfileBuild carries out the build stage natively and checks the
// binary it leaves: static, built with -trimpath and without cgo, stamped
// with the VERSION and COMMIT build arguments, and the files the final stage
// copies from it there.
func TestDockerfileBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	d, rules := readDockerfile(t)
	root := deploytest.Root(t)
	files, err := deploytest.Context(root, rules)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") || strings.Contains(f, "/testdata/") || strings.HasPrefix(f, ".git") {
			t.Errorf("build context holds %s; .dockerignore should leave it out", f)
		}
	}

	const version, commit = "v0.0.0-image", "0123456789abcdef0123456789abcdef01234567"
	fsRoot := t.TempDir() // the build stage's file system
	build := d.Stage("build")
	args := map[string]string{"VERSION": version, "COMMIT": commit, "TARGETOS": runtime.GOOS, "TARGETARCH": runtime.GOARCH}
	env := map[string]string{}
	workdir := "/"
	// Absolute paths of the stage, for RUN commands: the first element of
	// every WORKDIR, COPY destination and path the final stage copies.
	roots := map[string]bool{}
	for _, in := range d.Stages[len(d.Stages)-1].All("COPY") {
		f := strings.Fields(in.Args)
		if slices.Contains(f, "--from=build") {
			roots[strings.Split(f[len(f)-2], "/")[1]] = true
		}
	}
	abs := func(p string) string {
		if !path.IsAbs(p) {
			p = path.Join(workdir, p)
		}
		return filepath.Join(fsRoot, filepath.FromSlash(p))
	}
	for _, in := range build.Instructions {
		switch in.Keyword {
		case "ARG":
			name, def, _ := strings.Cut(in.Args, "=")
			if _, ok := args[name]; !ok {
				args[name] = strings.Trim(def, `"`)
			}
		case "ENV":
			for _, kv := range strings.Fields(in.Args) {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					t.Fatalf("line %d: ENV %s; want the KEY=VALUE form", in.Line, in.Args)
				}
				env[k] = v
			}
		case "WORKDIR":
			if path.IsAbs(in.Args) {
				workdir = path.Clean(in.Args)
			} else {
				workdir = path.Join(workdir, in.Args)
			}
			roots[strings.Split(workdir, "/")[1]] = true
			if err := os.MkdirAll(abs(workdir), 0o755); err != nil {
				t.Fatal(err)
			}
		case "COPY":
			f := strings.Fields(in.Args)
			srcs, dst := f[:len(f)-1], f[len(f)-1]
			if path.IsAbs(dst) {
				roots[strings.Split(dst, "/")[1]] = true
			}
			copyFromContext(t, root, files, srcs, abs(dst), strings.HasSuffix(dst, "/"), in.Line)
		case "RUN":
			f := strings.Fields(in.Args)
			for len(f) > 0 && strings.HasPrefix(f[0], "--mount=") {
				f = f[1:]
			}
			command := strings.Join(f, " ")
			for r := range roots {
				command = regexp.MustCompile(`(^|[\s="'])/`+regexp.QuoteMeta(r)+`\b`).
					ReplaceAllString(command, "${1}"+filepath.Join(fsRoot, r))
			}
			cmd := exec.Command("sh", "-c", command)
			cmd.Dir = abs(workdir)
			cmd.Env = deploytest.CleanEnv()
			for k, v := range args {
				cmd.Env = append(cmd.Env, k+"="+v)
			}
			for k, v := range env {
				cmd.Env = append(cmd.Env, k+"="+v)
			}
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("line %d: RUN %s: %v\n%s", in.Line, command, err, out)
			}
		default:
			t.Fatalf("line %d: the test does not carry out %s in the build stage", in.Line, in.Keyword)
		}
	}

	// What the final stage copies from the build stage is there.
	for _, in := range d.Stages[len(d.Stages)-1].All("COPY") {
		f := strings.Fields(in.Args)
		if !slices.Contains(f, "--from=build") {
			t.Errorf("line %d: COPY %s: the final stage copies from the build stage only", in.Line, in.Args)
			continue
		}
		if _, err := os.Stat(abs(f[len(f)-2])); err != nil {
			t.Errorf("line %d: COPY %s: %v", in.Line, in.Args, err)
		}
	}

	var bin string
	for _, in := range d.Stages[len(d.Stages)-1].All("COPY") {
		if f := strings.Fields(in.Args); f[len(f)-1] == "/usr/local/bin/streamgate" {
			bin = abs(f[len(f)-2])
		}
	}
	if bin == "" {
		t.Fatal("the final stage copies no binary to /usr/local/bin/streamgate")
	}
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil {
		t.Fatalf("streamgate version: %v\n%s", err, out)
	}
	if want := "streamgate " + version + " (commit " + commit[:12]; !strings.HasPrefix(string(out), want) {
		t.Errorf("streamgate version printed %q; want it to start with %q", out, want)
	}
	ef, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer ef.Close()
	for _, p := range ef.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary has an ELF interpreter; want it static (CGO_ENABLED=0): distroless static has no C library")
		}
	}
	mod, err := exec.Command("go", "version", "-m", bin).CombinedOutput()
	if err != nil {
		t.Fatalf("go version -m: %v\n%s", err, mod)
	}
	for _, want := range []string{"build\t-trimpath=true", "build\tCGO_ENABLED=0"} {
		if !strings.Contains(string(mod), want) {
			t.Errorf("go version -m shows no %q:\n%s", want, mod)
		}
	}
}

// copyFromContext carries out a COPY of srcs from the build context (the
// admitted files) to dst: a file to a file, or into dst when it is a
// directory; a directory's contents into dst.
func copyFromContext(t *testing.T, root string, files, srcs []string, dst string, dstDir bool, line int) {
	t.Helper()
	for _, src := range srcs {
		if strings.HasPrefix(src, "--") {
			t.Fatalf("line %d: COPY %s: the test does not carry out COPY options from the context", line, src)
		}
		src = path.Clean(src)
		n := 0
		for _, f := range files {
			var to string
			switch {
			case f == src && (dstDir || len(srcs) > 1):
				to = filepath.Join(dst, path.Base(f))
			case f == src:
				to = dst
			case strings.HasPrefix(f, src+"/"):
				to = filepath.Join(dst, filepath.FromSlash(strings.TrimPrefix(f, src+"/")))
			default:
				continue
			}
			n++
			b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(f)))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(to, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if n == 0 {
			t.Fatalf("line %d: COPY %s: no such file in the build context (.dockerignore)", line, src)
		}
	}
}

// TestDockerignore checks the matcher the build test relies on, on the
// rules of the committed .dockerignore.
func TestDockerignore(t *testing.T) {
	_, rules := readDockerfile(t)
	for _, tc := range []struct {
		path     string
		excluded bool
	}{
		{"control/go.mod", false},
		{"control/cmd/streamgate/main.go", false},
		{"dataplane/match/ssn.go", false},
		{"control/api/docs.html", false},
		{"control/cmd/streamgate/main_test.go", true},
		{"dataplane/match/testdata/fuzz/FuzzSet/abc", true},
		{"bench/go.mod", true},
		{"README.md", true},
		{"go.work", true},
		{"bin/streamgate", true},
		{"deploy/compose/.env", true},
	} {
		if got := deploytest.Excluded(rules, tc.path); got != tc.excluded {
			t.Errorf("Excluded(%s) = %v; want %v", tc.path, got, tc.excluded)
		}
	}
}
