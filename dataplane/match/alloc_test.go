//go:build !race

package match

import "testing"

// The race detector changes allocation counts, so these tests only run
// without it.

// allocLines hold nothing any engine below finds.
var allocLines = [][]byte{
	[]byte("2024-11-22T05:27:33.123Z INFO  [http] GET /api/v1/orders/12345 status=200 duration=12.3ms ts=1732262400123"),
	[]byte("2024-11-22T05:27:33.124Z WARN  [db] slow query table=orders rows=1532 elapsed=1.52s version=1.2.3.4.5"),
	[]byte(`{"ts":"2024-11-22T05:27:33Z","level":"info","service":{"name":"checkout"},"msg":"order \"placed\"","id":4111}`),
	[]byte(""),
}

func TestAllocsReplacers(t *testing.T) {
	// A line without a finding costs nothing; one with findings costs
	// nothing once dst has room, except through the regexp package.
	tests := []struct {
		name string
		r    Replacer
		hit  string
	}{
		{"shape", mustReplacer(t, `\d{3}-\d{2}-\d{4}`, "XXX-XX-XXXX"), "ssn=123-45-6789 ssn=987-65-4321"},
		{"shape groups", mustReplacer(t, `(\d{3})-\d{2}-(\d{4})`, "$1-XX-$2"), "ssn=123-45-6789"},
		{"shape fold", mustReplacer(t, `(?i)\bsecret=[a-z]{2}`, "[REDACTED]"), "SECRET=ab \u017fecret=cd"},
		{"regexp", mustReplacer(t, `user=(\w+)`, "user=$1"), ""},
	}
	for _, d := range Detectors() {
		tests = append(tests, struct {
			name string
			r    Replacer
			hit  string
		}{"detector " + d.Name, d.Replacer("[REDACTED]"), d.Examples[0].Line})
	}
	dst := make([]byte, 0, 4096)
	for _, tt := range tests {
		if n := testing.AllocsPerRun(100, func() {
			for _, l := range allocLines {
				if _, ok := tt.r.AppendReplace(dst[:0], l); ok {
					t.Fatalf("%s: found something in %q; want nothing", tt.name, l)
				}
			}
		}); n != 0 {
			t.Errorf("%s without a finding: got %v allocs; want 0", tt.name, n)
		}
		if tt.hit == "" {
			continue
		}
		hit := []byte(tt.hit)
		if n := testing.AllocsPerRun(100, func() {
			if _, ok := tt.r.AppendReplace(dst[:0], hit); !ok {
				t.Fatalf("%s: found nothing in %q; want a finding", tt.name, tt.hit)
			}
		}); n != 0 {
			t.Errorf("%s on %q: got %v allocs; want 0", tt.name, tt.hit, n)
		}
	}
}

func TestAllocsMatchAndLookup(t *testing.T) {
	res := []*Regex{mustCompile(t, `level=(debug|trace)`), mustCompile(t, `(?i)debug`), mustCompile(t, `\d{3}-\d{2}-\d{4}`)}
	lits := NewLiterals("DEBUG", "TRACE", "healthz")
	keys := []string{"service", "name"}
	if n := testing.AllocsPerRun(100, func() {
		for _, l := range allocLines {
			for _, re := range res {
				re.Match(l)
			}
			lits.In(l)
			if v, ok := LookupJSON(l, keys); ok {
				JSONText(v)
			}
		}
	}); n != 0 {
		t.Errorf("Match, In, LookupJSON and JSONText: got %v allocs; want 0", n)
	}
}

func TestAllocsJSONAware(t *testing.T) {
	// A JSON line costs nothing either, escapes, findings and re-encoding
	// included, once the pooled decode buffers and dst have room.
	lines := [][]byte{
		[]byte(`{"ts":"2024-11-22T05:27:33Z","msg":"order \"placed\"","id":4111}`),
		[]byte(attackLine),
		[]byte(`{"cc":4111111111111111,"m":"\ud83d\ude00 bob\u0040example.com"}`),
		[]byte(`{"a":"123\u002d45\u002d6789`),
		[]byte(`{"plain":"no escapes","n":12}`),
	}
	dst := make([]byte, 0, 4096)
	for name, r := range redactors(t) {
		if name == "token" {
			continue // not a shape: the regexp package allocates on a match
		}
		for _, l := range lines {
			r.AppendReplace(dst[:0], l) // warm the pool
		}
		if n := testing.AllocsPerRun(100, func() {
			for _, l := range lines {
				r.AppendReplace(dst[:0], l)
			}
		}); n != 0 {
			t.Errorf("%s: got %v allocs; want 0", name, n)
		}
	}
}

func TestAllocsActions(t *testing.T) {
	d, _ := LookupDetector("credit_card")
	line := []byte("card=4111 1111 1111 1111 and 5555-5555-5555-4444")
	dst := make([]byte, 0, 1024)
	for _, a := range []Action{Partial(4), Hash([]byte("0123456789abcdef0123456789abcdef"))} {
		r := d.ReplacerWith(a)
		r.AppendReplace(dst[:0], line)
		if n := testing.AllocsPerRun(100, func() { r.AppendReplace(dst[:0], line) }); n != 0 {
			t.Errorf("%T: got %v allocs; want 0", a, n)
		}
	}
}

func TestAllocsFields(t *testing.T) {
	r := JSONAwareWith(ssn.Replacer("x"), JSONOptions{Fields: mustFields(t, "@secrets", "headers.*"), Exclude: mustFields(t, "trace_id")})
	lines := [][]byte{
		[]byte(`{"user":"bob","password":"hunter2","headers":{"a":"1"},"trace_id":"123-45-6789","m":"token=abc"}`),
		[]byte(`login password=hunter2 Authorization: Bearer abc ssn=123-45-6789`),
		[]byte(`{"no":"secrets","here":1}`),
	}
	dst := make([]byte, 0, 4096)
	for _, l := range lines {
		r.AppendReplace(dst[:0], l)
	}
	if n := testing.AllocsPerRun(100, func() {
		for _, l := range lines {
			r.AppendReplace(dst[:0], l)
		}
	}); n != 0 {
		t.Errorf("got %v allocs; want 0", n)
	}
}

func TestAllocsSet(t *testing.T) {
	ds, _ := SelectDetectors([]string{"ssn", "credit_card", "email", "ipv4"})
	r := NewSet(ds, Mask("X"))
	line := []byte("ssn 123-45-6789 card 4111 1111 1111 1111 mail a@b.io ip 10.0.0.1")
	dst := make([]byte, 0, 1024)
	r.AppendReplace(dst[:0], line)
	if n := testing.AllocsPerRun(100, func() { r.AppendReplace(dst[:0], line) }); n != 0 {
		t.Errorf("got %v allocs; want 0", n)
	}
}

// TestAllocsEscapedKey: a member whose key is written with escapes is
// found without allocating.
func TestAllocsEscapedKey(t *testing.T) {
	doc := []byte(`{"x":1,"serv\u0069ce":{"n\u0061me":"api"}}`)
	keys := []string{"service", "name"}
	if n := testing.AllocsPerRun(100, func() {
		if v, ok := LookupJSON(doc, keys); !ok || string(v) != `"api"` {
			t.Fatalf("LookupJSON: got %q, %v; want \"api\"", v, ok)
		}
	}); n != 0 {
		t.Errorf("LookupJSON with escaped keys: got %v allocs; want 0", n)
	}
}
