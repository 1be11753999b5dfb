package deploytest

import (
	"maps"
	"slices"
	"strings"
	"testing"
)

func TestParseArgs(t *testing.T) {
	c := Command{Name: "dataplane", Flags: map[string]Flag{
		"host":  {Name: "host"},
		"pprof": {Name: "pprof", Bool: true},
		"port":  {Name: "port", Default: "8081"},
	}}
	for _, tc := range []struct {
		args []string
		want map[string]string
		err  string
	}{
		{[]string{"-host", "0.0.0.0", "-pprof"}, map[string]string{"host": "0.0.0.0", "pprof": "true"}, ""},
		{[]string{"--host=::", "-pprof=false", "-port=1"}, map[string]string{"host": "::", "pprof": "false", "port": "1"}, ""},
		{[]string{"-host=", "-port", "2"}, map[string]string{"host": "", "port": "2"}, ""},
		{[]string{"-hots", "x"}, nil, "flag -hots is not defined"},
		{[]string{"-host"}, nil, "flag -host needs a value"},
		{[]string{"-pprof", "extra"}, nil, `positional argument "extra"`},
		{[]string{"--", "-host"}, nil, `positional argument "--"`},
	} {
		got, err := c.ParseArgs(tc.args)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseArgs(%q) error %v; want %q", tc.args, err, tc.err)
			}
			continue
		}
		if err != nil || !maps.Equal(got, tc.want) {
			t.Errorf("ParseArgs(%q) = %v, %v; want %v", tc.args, got, err, tc.want)
		}
	}
}

func TestShellCommands(t *testing.T) {
	script := "# comment\nA=$(x)\n\ncurl -X POST a \\\n     -d 'b'   # trailing\necho c | nc -N localhost 1\n"
	want := []string{"A=$(x)", "curl -X POST a \\\n     -d 'b'   # trailing", "echo c | nc -N localhost 1"}
	if got := ShellCommands(script); !slices.Equal(got, want) {
		t.Errorf("ShellCommands = %q; want %q", got, want)
	}
}

func TestCodeBlocks(t *testing.T) {
	text := "x\n```bash\none\ntwo\n```\n```\nplain\n```\n```bash\nthree\n```\n"
	if got, want := CodeBlocks(text, "bash"), []string{"one\ntwo", "three"}; !slices.Equal(got, want) {
		t.Errorf("CodeBlocks = %q; want %q", got, want)
	}
}

func TestLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "127.0.0.1": true, "127.1.2.3": true, "::1": true,
		"0.0.0.0": false, "": false, "::": false, "10.0.0.1": false, "example.com": false,
	} {
		if got := Loopback(host); got != want {
			t.Errorf("Loopback(%q) = %v; want %v", host, got, want)
		}
	}
}

func TestExcluded(t *testing.T) {
	rules, err := ParseDockerignore("# c\n*\n!keep\n**/*.tmp\nkeep/sub/drop\n!keep/sub/drop/again\n")
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]bool{
		"top.go":                    true,
		"keep/a.go":                 false,
		"keep/x/y.tmp":              true,
		"keep/sub/drop/z":           true,
		"keep/sub/drop/again/z":     false,
		"other/keep/a.go":           true,
		"keep/sub/drop.go":          false,
		"keep/sub/dropped/drop.txt": false,
	} {
		if got := Excluded(rules, path); got != want {
			t.Errorf("Excluded(%s) = %v; want %v", path, got, want)
		}
	}
}

func TestParseDockerfile(t *testing.T) {
	d, err := ParseDockerfile("# syntax=docker/dockerfile:1\nARG V=1\nFROM --platform=x img:${V} AS build\nRUN a \\\n  # inside\n  b\nFROM scratch\nCOPY --from=build /o /o\n")
	if err != nil {
		t.Fatal(err)
	}
	if d.GlobalArgs["V"] != "1" || len(d.Stages) != 2 || d.Stage("build") == nil || d.Stages[0].From != "img:${V}" {
		t.Fatalf("parsed %+v", d)
	}
	if run := d.Stage("build").All("RUN"); len(run) != 1 || run[0].Args != "a b" || run[0].Line != 4 {
		t.Errorf("RUN %+v; want one, a b, at line 4", run)
	}
	if _, err := ParseDockerfile("RUN x\n"); err == nil {
		t.Error("RUN before FROM: no error")
	}
}
