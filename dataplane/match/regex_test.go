package match

import (
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestCompileRegexErrors(t *testing.T) {
	if _, err := CompileRegex(""); !errors.Is(err, ErrEmptyRegex) {
		t.Errorf(`CompileRegex(""): got error %v; want ErrEmptyRegex`, err)
	}
	if _, err := CompileRegex("a("); err == nil || !strings.HasPrefix(err.Error(), "cannot compile: ") {
		t.Errorf(`CompileRegex("a("): got error %v; want "cannot compile: ..."`, err)
	}
	if _, err := mustCompile(t, `(a)`).Replacer("$2"); err == nil || !strings.Contains(err.Error(), "$2 does not name a group") {
		t.Errorf(`(a) replaced by "$2": got error %v; want one naming $2`, err)
	}
}

// TestReplacerMatchesReplaceAll compares Replacer with the regexp package
// on expressions that do not take the shape matcher.
func TestReplacerMatchesReplaceAll(t *testing.T) {
	tests := []struct{ expr, repl string }{
		{`user=(\w+)`, "user=<$1>"},
		{`(?P<k>\w+)=(\d+)`, "${k}=$$"},
		{`x*`, "-"},
		{`\b`, "|"},
		{`(a)|b`, "[$1]"},
		{`DEBUG|TRACE`, "LOG"},
		{`\d+`, "N"},
	}
	lines := []string{"", "a user=bob b user=al", "x=1 y=22", "abxc", "héllo wörld", "ab\xffba", "DEBUG TRACE INFO", "no match here"}
	for _, tt := range tests {
		std := regexp.MustCompile(tt.expr)
		r := mustReplacer(t, tt.expr, tt.repl)
		for _, l := range lines {
			want := string(std.ReplaceAll([]byte(l), []byte(tt.repl)))
			if got := replace(r, []byte(l)); got != want {
				t.Errorf("%q replaced by %q in %q: got %q; want %q", tt.expr, tt.repl, l, got, want)
			}
		}
	}
}

func TestRequiredLiterals(t *testing.T) {
	tests := []struct {
		expr      string
		lits      []string
		exact     bool
		matchLine string
	}{
		{`DEBUG`, []string{"DEBUG"}, true, "x DEBUG y"},
		{`(DEBUG)`, []string{"DEBUG"}, true, "x DEBUG y"},
		{`DEBUG|TRACE`, []string{"DEBUG", "TRACE"}, true, "x TRACE y"},
		{`\b(DEBUG|TRACE)\b`, []string{"DEBUG", "TRACE"}, false, "x TRACE y"},
		{`\d{3}-\d{2}-\d{4}`, []string{"-"}, false, "123-45-6789"},
		{`user=\d+ failed`, []string{" failed"}, false, "user=1 failed"},
		{`user=(\d+)`, []string{"user="}, false, "user=1"},
		{`(abc)+x?`, []string{"abc"}, false, "abcabc"},
		{`^level=(warn|error)$`, []string{"level="}, false, "level=warn"},
		{`(a|bc)(de|fgh)`, []string{"de", "fgh"}, false, "afgh"},
		{`é+t`, []string{"é"}, false, "éét"},
		{`a|b`, nil, false, "b"},
		{`DEBUG|x*`, nil, false, "x"},
		{`(?i)debug`, nil, false, "DEBUG"},
		{`x*`, nil, false, ""},
		{`a|b|c|d|e|f|g|h|i|jj`, nil, false, "jj"},
		{`\x{FFFD}`, nil, false, "\xff"},
	}
	for _, tt := range tests {
		r := mustCompile(t, tt.expr)
		lits := r.lits.Strings()
		if len(lits) == 0 {
			lits = nil
		}
		if !slices.Equal(lits, tt.lits) || r.exact != tt.exact {
			t.Errorf("CompileRegex(%q): got literals %q, exact %v; want %q, %v", tt.expr, lits, r.exact, tt.lits, tt.exact)
		}
		if !r.Match([]byte(tt.matchLine)) {
			t.Errorf("CompileRegex(%q).Match(%q): got false; want true", tt.expr, tt.matchLine)
		}
	}
}
