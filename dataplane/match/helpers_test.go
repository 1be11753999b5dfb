package match

import "testing"

// mustCompile compiles expr or fails t.
func mustCompile(t testing.TB, expr string) *Regex {
	t.Helper()
	r, err := CompileRegex(expr)
	if err != nil {
		t.Fatalf("CompileRegex(%q): got error %v; want none", expr, err)
	}
	return r
}

// mustReplacer compiles expr into a Replacer by repl or fails t.
func mustReplacer(t testing.TB, expr, repl string) Replacer {
	t.Helper()
	r, err := mustCompile(t, expr).Replacer(repl)
	if err != nil {
		t.Fatalf("%q replaced by %q: got error %v; want none", expr, repl, err)
	}
	return r
}

// replace returns line with what r finds replaced. It checks the contract
// of AppendReplace: dst's contents are kept, and nothing is appended
// without a finding.
func replace(r Replacer, line []byte) string {
	const prefix = "kept:"
	dst := append(make([]byte, 0, 8), prefix...)
	out, ok := r.AppendReplace(dst, line)
	if string(out[:len(prefix)]) != prefix {
		panic("AppendReplace changed what dst held")
	}
	if !ok {
		if len(out) != len(prefix) {
			panic("AppendReplace appended without a finding")
		}
		return string(line)
	}
	return string(out[len(prefix):])
}
