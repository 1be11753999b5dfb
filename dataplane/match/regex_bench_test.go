package match

import (
	"strconv"
	"testing"

	"streamgate/dataplane/internal/linemix"
)

// benchInput returns the line mix and its size in bytes.
func benchInput() ([][]byte, int64) {
	var lines [][]byte
	var n int64
	for _, l := range linemix.Lines() {
		lines = append(lines, []byte(l))
		n += int64(len(l))
	}
	return lines, n
}

// benchReplace measures r.AppendReplace over lines, size bytes in all, as
// a rule runs it over a batch.
func benchReplace(b *testing.B, r Replacer, lines [][]byte, size int64) {
	dst := make([]byte, 0, 64<<10)
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		dst = dst[:0]
		for _, l := range lines {
			dst, _ = r.AppendReplace(dst, l)
		}
	}
}

// BenchmarkRegex measures Match and a Replacer on the line mix, with the
// shape matcher and, as the baseline, with the regexp package alone.
func BenchmarkRegex(b *testing.B) {
	exprs := []struct{ name, expr, repl string }{
		{"ssn", `\d{3}-\d{2}-\d{4}`, "XXX-XX-XXXX"},
		{"groups", `(\d{3})-\d{2}-(\d{4})`, "$1-XX-$2"},
		{"fold", `(?i)secret`, "******"},
		{"words", `\b(DEBUG|TRACE)\b`, "LOG"},
	}
	lines, size := benchInput()
	for _, e := range exprs {
		for _, engine := range []string{"shape", "regexp"} {
			shapesDisabled = engine == "regexp"
			re := mustCompile(b, e.expr)
			r := mustReplacer(b, e.expr, e.repl)
			shapesDisabled = false
			if engine == "shape" && re.shape == nil {
				// The same as the baseline: nothing to compare.
				continue
			}
			b.Run("expr="+e.name+"/engine="+engine+"/op=match", func(b *testing.B) {
				b.SetBytes(size)
				b.ReportAllocs()
				for b.Loop() {
					for _, l := range lines {
						re.Match(l)
					}
				}
			})
			b.Run("expr="+e.name+"/engine="+engine+"/op=replace", func(b *testing.B) {
				benchReplace(b, r, lines, size)
			})
		}
	}
}

func BenchmarkLiterals(b *testing.B) {
	lines, size := benchInput()
	for _, n := range []int{1, 3, 8} {
		words := []string{"DEBUG", "TRACE", "healthcheck", "panic", "timeout", "retry", "canary", "synthetic"}[:n]
		l := NewLiterals(words...)
		b.Run("literals="+strconv.Itoa(n), func(b *testing.B) {
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				for _, line := range lines {
					l.In(line)
				}
			}
		})
	}
}
