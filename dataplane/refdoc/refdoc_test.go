package refdoc

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"streamgate/dataplane/match"
	"streamgate/dataplane/output"
	"streamgate/dataplane/processor"
)

const readme = "../../README.md"

// TestREADMEUpToDate fails while the README's generated sections differ
// from what the registries give: run make docs.
func TestREADMEUpToDate(t *testing.T) {
	old, err := os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	for name := range Sections() {
		if !bytes.Contains(old, []byte(beginPrefix+name+beginSuffix)) {
			t.Errorf("the README has no generated section %q", name)
		}
	}
	updated, err := Update(old)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(old, updated) {
		t.Fatalf("the README's generated sections are out of date with the registries: run make docs (go generate ./refdoc in dataplane)")
	}
}

// TestSectionsListEveryType: every registered type and detector, and each
// of their params, is in the reference.
func TestSectionsListEveryType(t *testing.T) {
	s := Sections()
	for _, typ := range processor.Types() {
		sp, _ := processor.Spec(typ)
		for _, want := range append([]string{"#### `" + typ + "`"}, backticked(sp.ParamNames())...) {
			if !strings.Contains(s["processors"], want) {
				t.Errorf("processors: %q is missing", want)
			}
		}
	}
	for _, typ := range output.Types() {
		sp, _ := output.Spec(typ)
		for _, want := range append([]string{"#### `" + typ + "`"}, backticked(sp.ParamNames())...) {
			if !strings.Contains(s["outputs"], want) {
				t.Errorf("outputs: %q is missing", want)
			}
		}
	}
	for _, d := range match.Detectors() {
		if !strings.Contains(s["detectors"], "| `"+d.Name+"` |") {
			t.Errorf("detectors: %s is missing", d.Name)
		}
	}
}

func backticked(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = "| `" + n + "` |"
	}
	return out
}

func TestUpdate(t *testing.T) {
	in := "a\n<!-- generated: detectors -->\nstale\n<!-- end generated -->\nb\n"
	got, err := Update([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := "a\n<!-- generated: detectors -->\n" + Sections()["detectors"] + "\n<!-- end generated -->\nb\n"
	if string(got) != want {
		t.Fatalf("Update: got\n%s\nwant\n%s", got, want)
	}
	for _, bad := range []string{
		"<!-- generated: nope -->\n<!-- end generated -->\n",
		"<!-- generated: detectors -->\nno end\n",
		"<!-- generated: detectors",
	} {
		if _, err := Update([]byte(bad)); err == nil {
			t.Errorf("Update(%q): got no error; want one", bad)
		}
	}
}
