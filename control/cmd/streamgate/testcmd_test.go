package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"streamgate/dataplane/manifest"
	"streamgate/dataplane/preview"
)

// TestExampleManifestTests runs the example manifest's own tests, as a user
// would: they must pass.
func TestExampleManifestTests(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "dataplane", "examples")
	out, err := exec.Command(binary(t), "test", filepath.Join(dir, "manifest.json"), filepath.Join(dir, "manifest.tests.json")).CombinedOutput()
	if err != nil || !strings.Contains(string(out), " 0 failed") {
		t.Fatalf("streamgate test on the example: %v\n%s", err, out)
	}
}

func TestTestCommand(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	manifestPath := write("m.json", `{"version": "1", "pipelines": [{"name": "default_pipeline", "processors": [
		{"id": "drop_debug", "type": "filter", "params": {"value": "DEBUG"}},
		{"id": "mask_ssn", "type": "redact", "params": {"detector": "ssn", "replacement": "<ssn>"}}],
		"outputs": [{"type": "console"}]}]}`)
	tests := []struct {
		name, tests string
		code        int
		want        []string
	}{
		{"passing", `{"tests": [
			{"name": "dropped", "input": "DEBUG x", "dropped_by": "drop_debug"},
			{"name": "masked", "input": "ssn 123-45-6789", "output": "ssn <ssn>"},
			{"name": "kept", "input": "INFO x", "kept": true}]}`,
			0, []string{"3 passed, 0 failed"}},
		{"wrong output", `{"tests": [{"name": "masked", "input": "ssn 123-45-6789", "output": "ssn ***"}]}`,
			1, []string{"FAIL masked", "want:    ssn ***", "got:     ssn <ssn>", "^ first difference, byte 4", "changed: by mask_ssn", "0 passed, 1 failed"}},
		{"dropped, not kept", `{"tests": [{"input": "DEBUG x", "kept": true}]}`,
			1, []string{"FAIL tests[0]", "want:    kept", "got:     dropped by drop_debug"}},
		{"kept, not dropped", `{"tests": [{"name": "n", "input": "INFO x", "dropped_by": "drop_debug"}]}`,
			1, []string{"want:    dropped by drop_debug", "got:     INFO x"}},
		{"unknown rule", `{"tests": [{"input": "x", "dropped_by": "nope"}]}`,
			2, []string{`tests[0]: dropped_by: the manifest has no rule "nope"`}},
		{"two expectations", `{"tests": [{"input": "x", "output": "x", "kept": true}]}`,
			2, []string{"tests[0]: want exactly one of output, dropped_by and kept"}},
		{"no input", `{"tests": [{"name": "n", "kept": true}]}`,
			2, []string{"tests[0] (n): input is required"}},
		{"unknown field", `{"tests": [{"input": "x", "kept": true, "outptu": "x"}]}`,
			2, []string{`unknown field "outptu"`}},
		{"no tests", `{"tests": []}`, 2, []string{"at least one test is required"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := exec.Command(binary(t), "test", manifestPath, write(tt.name+".json", tt.tests)).CombinedOutput()
			code := 0
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				code = exit.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tt.code {
				t.Errorf("exit code %d; want %d\n%s", code, tt.code, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

// FuzzParseTests: any tests file is refused with an error or gives tests
// that each have an input and one expectation.
func FuzzParseTests(f *testing.F) {
	f.Add([]byte(`{"tests": [{"name": "n", "input": "DEBUG x", "dropped_by": "drop_debug"}]}`))
	f.Add([]byte(`{"tests": [{"input": "x", "output": "y"}, {"input": "z", "kept": true}]}`))
	f.Add([]byte(`{"tests": [{"input": "x", "kept": false}]}`))
	m, err := manifest.Parse([]byte(`{"version": "1", "pipelines": [{"name": "default_pipeline", "processors": [
		{"id": "drop_debug", "type": "filter", "params": {"value": "DEBUG"}}], "outputs": [{"type": "console"}]}]}`))
	if err != nil {
		f.Fatal(err)
	}
	c, err := m.Compile()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tests, err := parseTests("fuzz.json", data, c)
		if err != nil {
			return
		}
		for i, tc := range tests.Tests {
			if tc.Input == nil {
				t.Fatalf("tests[%d] has no input", i)
			}
			r := preview.Line(c.Steps, []byte(*tc.Input))
			checkCase(tc, r)
		}
	})
}
