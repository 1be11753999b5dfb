//go:build !race

package match

import "testing"

// The race detector changes allocation counts: this runs only without it.

func TestAllocsValidJSON(t *testing.T) {
	for _, line := range []string{
		`{"a":true,"b":false,"c":null,"d":[1,2.5e3,"x\u00e9\n"]}`,
		`[[[[[[[[[[{"deep":{"er":{}}}]]]]]]]]]]`,
		`{"broken":`,
	} {
		b := []byte(line)
		if n := testing.AllocsPerRun(100, func() { ValidJSON(b) }); n != 0 {
			t.Errorf("ValidJSON(%s): %.0f allocations; want 0", line, n)
		}
	}
}
