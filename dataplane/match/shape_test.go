package match

import (
	"regexp"
	"testing"
)

// shapePatterns are expressions that take the shape matcher, with
// replacement templates to redact them with.
var shapePatterns = []struct {
	pattern string
	repls   []string
}{
	{`\d{3}-\d{2}-\d{4}`, []string{"XXX-XX-XXXX", "<$0>"}},
	{`[A-Z]{2}\d{6}`, []string{"[REDACTED]", "${0}!"}},
	{`\d{4}[ -]\d{4}[ -]\d{4}[ -]\d{4}`, []string{"****"}},
	{`(?i)secret`, []string{"******", "[$0]"}},
	{`[a-f0-9]{32}`, []string{"<hash>"}},
	{`x`, []string{"", "yy"}},
	{`(\d{3})-(\d{2})-\d{4}`, []string{"$1-$2-XXXX", "${2}$1$$"}},
	{`(?P<k>[a-z]{3})=(\d)`, []string{"$k=?", "$2$k"}},
	{`(\d){3}(x){0}`, []string{"[$1$2]"}},
	{`\bid=\d{4}\b`, []string{"id=?"}},
	{`\Bab\B`, []string{"-"}},
	{`^\d{3}`, []string{"N"}},
	{`\d$`, []string{"N"}},
	{`(?m)^[A-Z]{4}$`, []string{"L"}},
	{`(?i)k[α-ω]{2}`, []string{"<$0>"}},
	{`a.b`, []string{"<$0>"}},
	{`é(?s:.)\x{FFFD}`, []string{"<$0>"}},
	{`a|b`, []string{"c"}},
	{`(?:)-(?:)`, []string{"_"}},
}

// shapeInputs are lines to compare the shape matcher and the regexp package
// on: matches at the edges, overlapping candidates, case folding into
// non-ASCII runes and invalid UTF-8.
var shapeInputs = []string{
	"",
	"x",
	"SSN: 123-45-6789, 987-65-4321",
	"1234-56-7890 12-345-6789 123-45-678 123-45-67890",
	"123-45-6789123-45-6789",
	"2024-11-22T05:27:33Z AB123456 ab123456 ABC1234567",
	"card 4111 1111 1111 1111 4111-1111-1111-11112",
	"Secret SECRET sEcReT \u017fecret \u212a secre",
	"d41d8cd98f00b204e9800998ecf8427e d41d8cd98f00b204e9800998ecf8427eff",
	"xxx\xffx\xc5\xbf",
	"id=1234 xid=1234 id=12345 id=1234_",
	"\u00e9id=1234\u00e9 \xffid=1234\xff aab\u00e9",
	"aab abab ab",
	"123\n456\nABCD\nABCD",
	"k\u03b1\u03c9 \u212a\u03b2\u03b3 K\u03b1 k\xce\xb1",
	"a\nb a\xffb a\u00e9b a\xc3b",
	"\u00e9x\xff \u00e9\xff\xfd \u00e9\u00e9\ufffd",
	"-a-b--",
	"\xc5\xbf\xbf",
}

func TestShapeTakesFastPath(t *testing.T) {
	tests := []struct {
		pattern string
		fast    bool
	}{
		{`\d{3}-\d{2}-\d{4}`, true},
		{`[A-Z]{2}\d{6}`, true},
		{`(?i)secret`, true},
		{`x`, true},
		{`\bfoo\b`, true},
		{`^\d{3}`, true},
		{`[α-ω]{2}`, true},
		{`a|b`, true}, // parsed as [ab]
		{`x{64}`, true},

		{`\d+`, false},
		{`x*`, false},
		{`ab|cd`, false},
		{`x{65}`, false},
		{`\b`, false},
		{`^`, false},
		{`(?:)`, false},
		{`.{3}`, false},   // the first class holds U+FFFD
		{`[^a]b`, false},  // the same
		{`\pL{2}`, false}, // too many ranges
	}
	for _, tt := range tests {
		r := mustCompile(t, tt.pattern)
		if got := r.shape != nil; got != tt.fast {
			t.Errorf("CompileRegex(%q): got shape matcher %v; want %v", tt.pattern, got, tt.fast)
		}
	}
}

func TestShapeTemplates(t *testing.T) {
	// The shape matcher serves templates that refer to groups only if it
	// can report them.
	tests := []struct {
		pattern, repl string
		fast          bool
	}{
		{`(\d{3})-\d{4}`, "$1-XXXX", true},
		{`(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)(k)(l)(m)(n)(o)`, "$15", true},
		{`(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)(k)(l)(m)(n)(o)(p)`, "$16", false},
		{`(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)(k)(l)(m)(n)(o)(p)`, "$$0", true},
	}
	for _, tt := range tests {
		rr := mustReplacer(t, tt.pattern, tt.repl).(*regexReplacer)
		if got := rr.shape != nil; got != tt.fast {
			t.Errorf("%q replaced by %q: got shape matcher %v; want %v", tt.pattern, tt.repl, got, tt.fast)
		}
	}
}

// shapeCase is a pattern of shapePatterns compiled, with a Replacer for
// each of its templates.
type shapeCase struct {
	std   *regexp.Regexp
	re    *Regex
	repls []string
	rs    []Replacer
}

// shapeCases compiles shapePatterns, and fails t unless they all take the
// shape matcher.
func shapeCases(t testing.TB) []shapeCase {
	t.Helper()
	var cases []shapeCase
	for _, p := range shapePatterns {
		c := shapeCase{std: regexp.MustCompile(p.pattern), re: mustCompile(t, p.pattern), repls: p.repls}
		if c.re.shape == nil {
			t.Fatalf("CompileRegex(%q): got no shape matcher; want one", p.pattern)
		}
		for _, repl := range p.repls {
			r := mustReplacer(t, p.pattern, repl)
			if r.(*regexReplacer).shape == nil {
				t.Fatalf("%q replaced by %q: got no shape matcher; want one", p.pattern, repl)
			}
			c.rs = append(c.rs, r)
		}
		cases = append(cases, c)
	}
	return cases
}

// check fails t unless matching and replacing in line give what the
// regexp package gives.
func (c *shapeCase) check(t *testing.T, line []byte) {
	t.Helper()
	if got, want := c.re.Match(line), c.std.Match(line); got != want {
		t.Errorf("%q matching %q: got %v; want %v", c.std, line, got, want)
	}
	for i, repl := range c.repls {
		want := string(c.std.ReplaceAll(line, []byte(repl)))
		if got := replace(c.rs[i], line); got != want {
			t.Errorf("%q replaced by %q in %q: got %q; want %q", c.std, repl, line, got, want)
		}
	}
}

func TestShapeMatchesRegexp(t *testing.T) {
	cases := shapeCases(t)
	for _, in := range shapeInputs {
		for i := range cases {
			cases[i].check(t, []byte(in))
		}
	}
}

func FuzzShapeMatcher(f *testing.F) {
	for _, in := range shapeInputs {
		f.Add([]byte(in))
	}
	cases := shapeCases(f)
	f.Fuzz(func(t *testing.T, line []byte) {
		for i := range cases {
			cases[i].check(t, line)
		}
	})
}
