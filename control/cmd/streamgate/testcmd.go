package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"streamgate/dataplane/manifest"
	"streamgate/dataplane/preview"
)

const testUsage = `usage: streamgate test MANIFEST TESTS

Runs the lines of TESTS through the rules of MANIFEST and checks what each
becomes: the line the outputs would receive, or the rule that drops it.
TESTS is a JSON file:

  {"tests": [
    {"name": "debug is dropped", "input": "DEBUG cache miss", "dropped_by": "drop_debug"},
    {"name": "ssn is masked", "input": "ssn=123-45-6789", "output": "ssn=XXX-XX-XXXX"},
    {"name": "info is kept", "input": "INFO started", "kept": true}
  ]}

Each test has an input and exactly one of output (the exact line out),
dropped_by (a rule id) and kept (any line out). Prints each failure with a
diff; exits 1 when a test fails, 2 when a file cannot be used.
`

// manifestTests is the TESTS file of streamgate test.
type manifestTests struct {
	Tests []manifestTest `json:"tests"`
}

// manifestTest is one case: an input line and what must become of it.
type manifestTest struct {
	Name      string  `json:"name"`
	Input     *string `json:"input"`
	Output    *string `json:"output"`
	DroppedBy *string `json:"dropped_by"`
	Kept      *bool   `json:"kept"`
}

// errTestsFailed is runTest's error when a test failed: main exits 1.
var errTestsFailed = errors.New("tests failed")

// runTest is streamgate test.
func runTest(stdout io.Writer, args []string) error {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(fs.Output(), testUsage) }
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		fs.Usage()
		return errors.New("want a manifest and a tests file")
	}
	if err := loadHashKey(os.Getenv("STREAMGATE_HMAC_KEY_FILE")); err != nil {
		return err
	}
	m, err := loadManifest(fs.Arg(0))
	if err != nil {
		return err
	}
	compiled, err := m.Compile()
	if err != nil {
		return fmt.Errorf("%s: invalid manifest:\n  %s", fs.Arg(0), strings.Join(manifest.ErrorList(err), "\n  "))
	}
	tests, err := loadTests(fs.Arg(1), compiled)
	if err != nil {
		return err
	}
	failed := 0
	for i, tc := range tests.Tests {
		r := preview.Line(compiled.Steps, []byte(*tc.Input))
		if msg := checkCase(tc, r); msg != "" {
			failed++
			fmt.Fprintf(stdout, "FAIL %s\n%s\n", caseName(i, tc), msg)
		}
	}
	fmt.Fprintf(stdout, "%d passed, %d failed (%s against %s)\n", len(tests.Tests)-failed, failed, fs.Arg(1), fs.Arg(0))
	if failed > 0 {
		return errTestsFailed
	}
	return nil
}

// loadTests reads and checks the tests file at path for the rules of c.
// Its errors name the test and field at fault.
func loadTests(path string, c *manifest.Compiled) (*manifestTests, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read tests: %w", err)
	}
	return parseTests(path, data, c)
}

// parseTests decodes and checks data, the tests file at path.
func parseTests(path string, data []byte, c *manifest.Compiled) (*manifestTests, error) {
	var t manifestTests
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(t.Tests) == 0 {
		return nil, fmt.Errorf("%s: tests: at least one test is required", path)
	}
	ids := map[string]bool{}
	for _, s := range c.Steps {
		ids[s.ID] = true
	}
	var errs []string
	for i, tc := range t.Tests {
		at := fmt.Sprintf("tests[%d]", i)
		if tc.Name != "" {
			at += " (" + tc.Name + ")"
		}
		if tc.Input == nil {
			errs = append(errs, at+": input is required")
		}
		n := 0
		for _, set := range []bool{tc.Output != nil, tc.DroppedBy != nil, tc.Kept != nil} {
			if set {
				n++
			}
		}
		if n != 1 {
			errs = append(errs, at+": want exactly one of output, dropped_by and kept")
		}
		if tc.DroppedBy != nil && !ids[*tc.DroppedBy] {
			errs = append(errs, fmt.Sprintf("%s: dropped_by: the manifest has no rule %q", at, *tc.DroppedBy))
		}
		if tc.Kept != nil && !*tc.Kept {
			errs = append(errs, at+": kept: false says nothing; use dropped_by")
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s:\n  %s", path, strings.Join(errs, "\n  "))
	}
	return &t, nil
}

func caseName(i int, tc manifestTest) string {
	if tc.Name != "" {
		return tc.Name
	}
	return fmt.Sprintf("tests[%d]", i)
}

// checkCase returns what is wrong with r for tc, or "".
func checkCase(tc manifestTest, r preview.Result) string {
	var b strings.Builder
	line := func(label, v string) { fmt.Fprintf(&b, "  %-8s %s\n", label+":", v) }
	got := func() {
		if r.Kept() {
			line("got", string(r.Output))
		} else {
			line("got", "dropped by "+r.DroppedBy)
		}
	}
	switch {
	case tc.Output != nil:
		if r.Kept() && string(r.Output) == *tc.Output {
			return ""
		}
		line("input", *tc.Input)
		line("want", *tc.Output)
		got()
		if r.Kept() {
			col := firstDiff(*tc.Output, string(r.Output))
			fmt.Fprintf(&b, "  %-8s %s^ first difference, byte %d\n", "", strings.Repeat(" ", col), col)
		}
	case tc.DroppedBy != nil:
		if r.DroppedBy == *tc.DroppedBy {
			return ""
		}
		line("input", *tc.Input)
		line("want", "dropped by "+*tc.DroppedBy)
		got()
	default:
		if r.Kept() {
			return ""
		}
		line("input", *tc.Input)
		line("want", "kept")
		got()
	}
	if len(r.Changed) > 0 {
		line("changed", "by "+strings.Join(r.Changed, ", "))
	}
	return strings.TrimRight(b.String(), "\n")
}

// firstDiff returns the index of the first byte where a and b differ.
func firstDiff(a, b string) int {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	return i
}
