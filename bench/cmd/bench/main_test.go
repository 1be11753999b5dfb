package main

import (
	"fmt"
	"testing"
)

func TestParseBench(t *testing.T) {
	cases := []struct {
		line string
		want string // name ns/op B/op allocs/op MB/s; "" for no result
	}{
		{"BenchmarkRing/x-2   	  200000	       315.8 ns/op	 316.65 MB/s	      26 B/op	       0 allocs/op",
			"BenchmarkRing/x-2 315.8 26 0 316.65"},
		// A custom metric between the standard ones.
		{"BenchmarkPipeline/chain=none-2 	   20000	     34348 ns/op	1746.80 MB/s	        85.87 ns/line	    6035 B/op	       5 allocs/op",
			"BenchmarkPipeline/chain=none-2 34348 6035 5 1746.8"},
		{"ok  	streamgate/dataplane/buffer	0.824s", ""},
	}
	for _, c := range cases {
		got := ""
		if r, ok := parseBench(c.line); ok {
			got = fmt.Sprintf("%s %g %g %g %g", r.Name, r.NsPerOp, r.BytesPerOp, r.AllocsPerOp, r.MBPerS)
		}
		if got != c.want {
			t.Errorf("%q:\ngot  %q\nwant %q", c.line, got, c.want)
		}
	}
}
