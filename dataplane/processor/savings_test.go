package processor

import (
	"encoding/json"
	"testing"
)

// count is a counter for Step's fields.
type count struct{ n int }

func (c *count) Add(n int) { c.n += n }

// TestChainCountsBytes: RunSized counts, per step, the lines and bytes it
// dropped, and returns the line bytes before and after the chain, with
// rewrites that change lengths in between.
func TestChainCountsBytes(t *testing.T) {
	type rule struct{ id, typ, params string }
	type want struct {
		lines, bytes int // dropped by the step
		rewritten    int
	}
	tests := []struct {
		name    string
		rules   []rule
		in      []string
		want    []want
		inB     int
		outB    int
		outKept int
	}{
		{
			name:  "filter",
			rules: []rule{{"drop_debug", "filter", `{"value":"DEBUG"}`}},
			in:    []string{"DEBUG a", "INFO bb", "DEBUG ccc"},
			want:  []want{{lines: 2, bytes: 16}},
			inB:   23, outB: 7, outKept: 1,
		},
		{
			name: "redact then drop: the dropped bytes are the rewritten ones",
			rules: []rule{
				{"mask", "redact", `{"pattern":"\\d+","replacement":"#"}`},
				{"drop_x", "filter", `{"value":"x"}`},
			},
			in:   []string{"x 12345", "y 678"},
			want: []want{{rewritten: 2}, {lines: 1, bytes: 3}},
			inB:  12, outB: 3, outKept: 1,
		},
		{
			name:  "nothing dropped",
			rules: []rule{{"drop_debug", "filter", `{"value":"DEBUG"}`}},
			in:    []string{"INFO a", "WARN b"},
			want:  []want{{}},
			inB:   12, outB: 12, outKept: 2,
		},
		{
			name:  "everything dropped: the later steps do not run",
			rules: []rule{{"all", "filter", `{"value":" "}`}, {"none", "filter", `{"value":"z"}`}},
			in:    []string{"a b", "c d"},
			want:  []want{{lines: 2, bytes: 6}, {}},
			inB:   6, outB: 0, outKept: 0,
		},
		{
			name:  "dedup drops are counted on the step too",
			rules: []rule{{"dedup", "dedup", `{}`}},
			in:    []string{"abc", "abc", "de", "abc"},
			want:  []want{{lines: 2, bytes: 6}},
			inB:   11, outB: 5, outKept: 2,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var steps []Step
			counts := make([][3]*count, len(tc.rules))
			for i, r := range tc.rules {
				s, err := Build(Config{ID: r.id, Type: r.typ, Params: json.RawMessage(r.params)})
				if err != nil {
					t.Fatal(err)
				}
				counts[i] = [3]*count{{}, {}, {}}
				s.Filtered, s.FilteredBytes, s.Rewritten = counts[i][0], counts[i][1], counts[i][2]
				steps = append(steps, s)
			}
			b := newBatch(tc.in...)
			_, in, out := NewChain(steps...).RunSized(b, false)
			if in != tc.inB || out != tc.outB || len(b.Lines) != tc.outKept {
				t.Errorf("in, out, kept: got %d, %d, %d; want %d, %d, %d", in, out, len(b.Lines), tc.inB, tc.outB, tc.outKept)
			}
			if out != b.Size() {
				t.Errorf("out: got %d; want the batch's size %d", out, b.Size())
			}
			for i, w := range tc.want {
				c := counts[i]
				if c[0].n != w.lines || c[1].n != w.bytes || c[2].n != w.rewritten {
					t.Errorf("step %s: got %d lines, %d bytes dropped, %d rewritten; want %d, %d, %d",
						tc.rules[i].id, c[0].n, c[1].n, c[2].n, w.lines, w.bytes, w.rewritten)
				}
			}
		})
	}
}
