// The tests of the systemd units: their command lines and environment
// files against the binary's flags and variables, their confinement, and,
// where systemd-analyze is installed, what it says of them.
package systemd_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"streamgate/deploy/internal/deploytest"
)

func TestMain(m *testing.M) { deploytest.Main(m) }

// unit is a parsed unit file: section -> key -> values, in order (a key may
// repeat; an empty assignment is kept as "").
type unit map[string]map[string][]string

func readUnit(t *testing.T, path string) unit {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	u := unit{}
	section := ""
	for n, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = line[1 : len(line)-1]
			u[section] = map[string][]string{}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("%s:%d: %q is not KEY=VALUE in a section", path, n+1, line)
			}
			u[section][k] = append(u[section][k], v)
		}
	}
	return u
}

// the units and what each runs.
var units = []struct {
	file    string
	command string
	envs    []string // the example environment files it reads
}{
	{"streamgate-dataplane.service", "dataplane", []string{"redis.env.example", "dataplane.env.example"}},
	{"streamgate-control.service", "control", []string{"redis.env.example", "control.env.example"}},
}

// confinement is what every unit must say.
var confinement = map[string]string{
	"DynamicUser":             "yes",
	"NoNewPrivileges":         "yes",
	"ProtectSystem":           "strict",
	"ProtectHome":             "yes",
	"PrivateTmp":              "yes",
	"PrivateDevices":          "yes",
	"CapabilityBoundingSet":   "",
	"AmbientCapabilities":     "",
	"RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
	"RestrictNamespaces":      "yes",
	"RestrictSUIDSGID":        "yes",
	"LockPersonality":         "yes",
	"MemoryDenyWriteExecute":  "yes",
	"SystemCallArchitectures": "native",
	"ProtectKernelTunables":   "yes",
	"ProtectKernelModules":    "yes",
	"ProtectControlGroups":    "yes",
	"UMask":                   "0077",
}

const binPath = "/usr/local/bin/streamgate"

func TestUnits(t *testing.T) {
	for _, tc := range units {
		t.Run(tc.file, func(t *testing.T) {
			u := readUnit(t, tc.file)
			svc := u["Service"]
			if svc == nil {
				t.Fatal("no [Service] section")
			}
			for k, want := range confinement {
				if got := svc[k]; len(got) != 1 || got[0] != want {
					t.Errorf("%s=%q; want %q", k, got, want)
				}
			}
			if len(u["Install"]["WantedBy"]) != 1 || u["Install"]["WantedBy"][0] != "multi-user.target" {
				t.Errorf("WantedBy=%v; want multi-user.target", u["Install"]["WantedBy"])
			}

			// ExecStart: the binary, the command, flags it has.
			start := svc["ExecStart"]
			if len(start) != 1 {
				t.Fatalf("ExecStart=%v; want one", start)
			}
			argv := strings.Fields(start[0])
			if len(argv) < 2 || argv[0] != binPath || argv[1] != tc.command {
				t.Fatalf("ExecStart=%s; want %s %s ...", start[0], binPath, tc.command)
			}
			cmd := deploytest.Usage(t, tc.command)
			if err := cmd.CheckArgs(t, argv[2:]); err != nil {
				t.Fatal(err)
			}
			given, _ := cmd.ParseArgs(argv[2:])
			for _, bad := range []string{"insecure-api", "pprof"} {
				if _, ok := given[bad]; ok {
					t.Errorf("ExecStart passes -%s", bad)
				}
			}

			// Credentials: every %d/NAME used is loaded.
			creds := map[string]bool{}
			for _, lc := range svc["LoadCredential"] {
				name, _, _ := strings.Cut(lc, ":")
				creds[name] = true
			}
			used := strings.Join(append(append([]string{}, start...), svc["Environment"]...), " ")
			for _, m := range regexp.MustCompile(`%d/([\w.-]+)`).FindAllStringSubmatch(used, -1) {
				if !creds[m[1]] {
					t.Errorf("%%d/%s is used but no LoadCredential=%s:... loads it", m[1], m[1])
				}
			}
			if tc.command == "control" && given["api-token-file"] == "" {
				t.Error("the control plane's ExecStart has no -api-token-file: beyond loopback the API refuses to start")
			}
			if tc.command == "dataplane" {
				if r := svc["ExecReload"]; len(r) != 1 || r[0] != "/bin/kill -HUP $MAINPID" {
					t.Errorf("ExecReload=%v; want /bin/kill -HUP $MAINPID", r)
				}
				if sd := svc["StateDirectory"]; len(sd) != 1 || sd[0] != "streamgate" {
					t.Errorf("StateDirectory=%v; want streamgate", sd)
				}
			}

			// The environment files: /etc/streamgate/*.env, each with an
			// example here naming only variables the command reads.
			var files []string
			for _, f := range svc["EnvironmentFile"] {
				files = append(files, filepath.Base(strings.TrimPrefix(f, "-"))+".example")
				if !regexp.MustCompile(`^-?/etc/streamgate/[a-z]+\.env$`).MatchString(f) {
					t.Errorf("EnvironmentFile=%s; want /etc/streamgate/NAME.env", f)
				}
			}
			if strings.Join(files, " ") != strings.Join(tc.envs, " ") {
				t.Errorf("environment files %v; want %v", files, tc.envs)
			}
			for _, f := range tc.envs {
				for _, name := range envNames(t, f) {
					if !cmd.Env[name] {
						t.Errorf("%s: streamgate %s does not read %s", f, tc.command, name)
					}
				}
			}
			for _, e := range svc["Environment"] {
				for _, kv := range strings.Fields(e) {
					name, _, _ := strings.Cut(kv, "=")
					if !cmd.Env[name] {
						t.Errorf("Environment=%s: streamgate %s does not read %s", e, tc.command, name)
					}
				}
			}
		})
	}
}

// envNames returns the variables an example environment file sets, and
// those its comments show set (NAME=... at the start of a comment).
func envNames(t *testing.T, file string) []string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range regexp.MustCompile(`(?m)^#?\s*([A-Z][A-Z0-9_]+)=`).FindAllStringSubmatch(string(b), -1) {
		names = append(names, m[1])
	}
	if len(names) == 0 {
		t.Fatalf("%s sets no variable", file)
	}
	return names
}

// TestSystemdAnalyze runs systemd-analyze verify on the units (the binary's
// path replaced by a built one, which verify requires to exist) and wants
// it to say nothing, then systemd-analyze security, wanting an exposure of
// 2.0 or less. Skipped where systemd-analyze is not installed.
func TestSystemdAnalyze(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed (Debian: systemd); the units are checked by TestUnits only")
	}
	bin := deploytest.Binary(t)
	dir := t.TempDir()
	var paths []string
	for _, tc := range units {
		b, err := os.ReadFile(tc.file)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, tc.file)
		if err := os.WriteFile(p, []byte(strings.ReplaceAll(string(b), binPath, bin)), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	out, err := exec.Command(analyze, append([]string{"verify"}, paths...)...).CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	for _, p := range paths {
		out, err := exec.Command(analyze, "security", "--offline=yes", "--no-pager", p).CombinedOutput()
		if err != nil {
			t.Errorf("systemd-analyze security %s: %v\n%s", filepath.Base(p), err, out)
			continue
		}
		m := regexp.MustCompile(`Overall exposure level for \S+: (\d+\.\d+)`).FindSubmatch(out)
		if m == nil {
			t.Errorf("systemd-analyze security %s printed no exposure level:\n%s", filepath.Base(p), out)
			continue
		}
		if level, _ := strconv.ParseFloat(string(m[1]), 64); level > 2.0 {
			t.Errorf("systemd-analyze security %s: exposure %s; want 2.0 or less", filepath.Base(p), m[1])
		}
	}
}
