package match

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"regexp/syntax"
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

// alternation returns n pseudo-random words of length letters joined by
// |, the same every time.
func alternation(n, length int) string {
	r := rand.New(rand.NewPCG(1, 2))
	words := make([]string, n)
	for i := range words {
		w := make([]byte, length)
		for j := range w {
			w[j] = byte('a' + r.IntN(26))
		}
		words[i] = string(w)
	}
	return strings.Join(words, "|")
}

func TestCompileRegexLimits(t *testing.T) {
	tests := []struct {
		name      string
		expr      string
		what      string // "" when it compiles
		estimated bool
	}{
		{"source at the limit", "[" + strings.Repeat("a", MaxRegexSource-2) + "]", "", false},
		{"source over the limit", strings.Repeat("a", MaxRegexSource+1), "source", false},
		{"512 Unicode classes", strings.Repeat(`\p{Greek}`, 512), "", false},
		{"513 Unicode classes", strings.Repeat(`\PL`, 513), "unicode_classes", false},
		{"an escaped backslash before p", strings.Repeat(`\\p`, 600), "", false},
		{"800 words", alternation(800, 12), "", false},
		{"1,000 words", alternation(1000, 12), "program", false},
		{"3,000 words", alternation(3000, 12), "program", true},
		{"a repetition that expands", `(?:abcdefghijklmnopqrstuvwxyzabcd){1000}`, "program", true},
		{"200 letter classes", strings.Repeat(`\pL`, 200), "program", false},
		{"one letter class repeated", `\pL{1000}`, "", false},
	}
	for _, tt := range tests {
		r, err := CompileRegex(tt.expr)
		var le *RegexLimitError
		switch {
		case tt.what == "" && err != nil:
			t.Errorf("%s: got error %v; want none", tt.name, err)
		case tt.what == "" && (r.ProgramBytes() <= 0 || r.ProgramBytes() > MaxRegexProgram):
			t.Errorf("%s: ProgramBytes %d; want within (0, %d]", tt.name, r.ProgramBytes(), MaxRegexProgram)
		case tt.what == "":
		case !errors.As(err, &le):
			t.Errorf("%s: got error %v; want a *RegexLimitError", tt.name, err)
		case le.What != tt.what || le.Estimated != tt.estimated:
			t.Errorf("%s: got limit %q (estimated %v): %v; want %q (estimated %v)", tt.name, le.What, le.Estimated, err, tt.what, tt.estimated)
		case le.Size <= le.Limit:
			t.Errorf("%s: got size %d within the limit %d", tt.name, le.Size, le.Limit)
		}
	}
}

func TestRegexLimitErrorText(t *testing.T) {
	_, err := CompileRegex(alternation(1000, 12))
	if got := fmt.Sprint(err); !strings.HasPrefix(got, "compiles to 1.1 MiB (") || !strings.Contains(got, "over the limit of 1.0 MiB for one expression") {
		t.Errorf("over the program limit: got %q", got)
	}
	_, err = CompileRegex(alternation(3000, 12))
	if got := fmt.Sprint(err); !strings.HasPrefix(got, "would compile to about 3.") {
		t.Errorf("far over the program limit: got %q", got)
	}
	_, err = CompileRegex(strings.Repeat("a", MaxRegexSource+1))
	if got, want := fmt.Sprint(err), "is 65537 bytes long, over the limit of 65536 (64.0 KiB) for one expression; split it into several rules"; got != want {
		t.Errorf("over the source limit: got %q; want %q", got, want)
	}
}

// TestProgramBytesEstimate checks that the estimate from the parsed
// expression stays under the program's size and close to it, which the
// refusal without compiling relies on.
func TestProgramBytesEstimate(t *testing.T) {
	for _, expr := range []string{
		alternation(800, 12), `\b(?:` + alternation(800, 12) + `)\b`, `(?i)` + alternation(800, 12),
		`(?:abcdefghij){1000}`, strings.Repeat(`\pL`, 150), `\pL{1000}`, `(a*)*b{2,100}`, `\d{3}-\d{2}-\d{4}`,
	} {
		tree, err := syntax.Parse(expr, syntax.Perl)
		if err != nil {
			t.Fatal(err)
		}
		prog, err := syntax.Compile(tree.Simplify())
		if err != nil {
			t.Fatal(err)
		}
		est, exact := estimateProgram(tree), programBytes(prog)
		if est > exact || est < exact/2 {
			t.Errorf("%.40q: estimate %d; want between half of and the program's %d", expr, est, exact)
		}
	}
}
