package match

import (
	"bytes"
	"slices"
	"testing"
)

func TestRawOffset(t *testing.T) {
	raw := []byte(`a\u002db\"c\ud83d\ude00d` + "\xffe")
	// decoded: a - b " c, an emoji (4 bytes), d, U+FFFD (3 bytes), e
	for _, c := range []struct {
		off  int
		end  bool
		want int
	}{
		{0, false, 0},
		{1, false, 1},   // before \u002d
		{2, false, 7},   // after it
		{2, true, 7},    // an end there too
		{3, false, 8},   // before \"
		{4, false, 10},  // c
		{5, false, 11},  // the surrogate pair
		{6, false, 11},  // inside the emoji: its start
		{6, true, 23},   // or its end
		{9, false, 23},  // d
		{10, false, 24}, // the invalid byte
		{11, true, 25},  // inside its U+FFFD: past it
		{14, false, 26}, // the end
	} {
		if got := rawOffset(raw, c.off, c.end); got != c.want {
			t.Errorf("rawOffset(%d, end %v) = %d; want %d", c.off, c.end, got, c.want)
		}
	}
}

func TestComposeSpans(t *testing.T) {
	// "ab SECRET cd 123" → first: SECRET (3..9) by "X" → "ab X cd 123";
	// second: 123 (9..12) by "NUM" and X (3..4) by "YY" → "ab YY cd NUM".
	first := []Span{{Start: 3, End: 9, OutStart: 3, OutEnd: 4, Detector: "a"}}
	second := []Span{{Start: 3, End: 4, OutStart: 3, OutEnd: 5, Detector: "b"}, {Start: 8, End: 11, OutStart: 9, OutEnd: 12, Detector: "c"}}
	got := ComposeSpans(first, second)
	want := []Span{
		{Start: 3, End: 9, OutStart: 3, OutEnd: 5, Detector: "a"},
		{Start: 3, End: 9, OutStart: 3, OutEnd: 5, Detector: "b"},
		{Start: 13, End: 16, OutStart: 9, OutEnd: 12, Detector: "c"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("ComposeSpans:\n got %+v\nwant %+v", got, want)
	}
	for _, c := range []struct{ pos, want int }{{0, 0}, {3, 3}, {4, 3}, {5, 9}, {8, 12}, {9, 13}, {12, 16}} {
		if o := Origin(got, c.pos, false); o != c.want {
			t.Errorf("Origin(%d) = %d; want %d", c.pos, o, c.want)
		}
	}
	if o := Origin(got, 4, true); o != 9 {
		t.Errorf("Origin(4, end) = %d; want 9", o)
	}
	if got := ComposeSpans(first, nil); !slices.Equal(got, first) {
		t.Errorf("ComposeSpans(first, nil) = %+v", got)
	}
}

// spanReplacers are the Replacers FuzzSpans checks, one of each kind.
func spanReplacers(t testing.TB) map[string]Replacer {
	ds, err := SelectDetectors([]string{"ssn", "credit_card", "email", "ipv4"})
	if err != nil {
		t.Fatal(err)
	}
	re, err := CompileRegex(`token=[A-Za-z0-9]+`)
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := re.Replacer("token=<$0>")
	if err != nil {
		t.Fatal(err)
	}
	ssn, _ := LookupDetector("ssn")
	return map[string]Replacer{
		"set":          NewSet(ds, Partial(4)),
		"detector":     ssn.ReplacerWith(Mask("")),
		"pattern":      tmpl,
		"json set":     JSONAwareWith(NewSet(ds, Mask("[X]")), JSONOptions{Fields: mustFields(t, "@secrets"), Act: Mask("*")}),
		"json pattern": JSONAwareWith(re.ReplacerWith(Mask("t")), JSONOptions{Raw: true}),
		"json fields":  JSONAwareWith(nil, JSONOptions{Fields: mustFields(t, "@secrets", "a.*.b"), Exclude: mustFields(t, "x.**")}),
	}
}

// FuzzSpans: recording spans changes nothing that is written; every span
// is within the line given and the line written; a change has a finding;
// and every byte written outside the spans is the byte of the line given
// that Origin takes it back to.
func FuzzSpans(f *testing.F) {
	for _, s := range []string{
		"ssn 123-45-6789 and token=abc to bob@example.com",
		`{"a":"x 123\u002d45\u002d6789 y","password":"p","n":4111111111111111}`,
		`{"a":"123\u002d45\u002d6789`,
		"{\"a\":\"\xff123-45-6789\"}",
		`{"x":{"token":"t"},"a":{"k":{"b":"v"}},"m":"api_key=k1 x token=zz"}`,
		"password=hunter2 10.1.2.3",
	} {
		f.Add([]byte(s))
	}
	rs := spanReplacers(f)
	f.Fuzz(func(t *testing.T, line []byte) {
		for name, r := range rs {
			want, wantOK := r.AppendReplace(nil, line)
			var sp Spans
			got, ok := AppendReplaceSpans(r, []byte("prefix"), line, &sp)
			got = got[len("prefix"):]
			if ok != wantOK || !bytes.Equal(got, want) {
				t.Fatalf("%s: %q: with spans %q %v; without %q %v", name, line, got, ok, want, wantOK)
			}
			if !ok {
				if len(sp.List) > 0 {
					t.Fatalf("%s: %q: spans %+v with nothing found", name, line, sp.List)
				}
				continue
			}
			findings := 0
			for _, s := range sp.List {
				if s.Start < 0 || s.Start > s.End || s.End > len(line) || s.OutStart < 0 || s.OutStart > s.OutEnd || s.OutEnd > len(got) {
					t.Fatalf("%s: %q → %q: span %+v out of bounds", name, line, got, s)
				}
				if s.Detector != "" {
					findings++
				}
			}
			if findings == 0 {
				t.Fatalf("%s: %q → %q: rewritten with no finding: %+v", name, line, got, sp.List)
			}
			es := edits(sp.List)
			for p := range got {
				inside := false
				for _, e := range es {
					inside = inside || p >= e.OutStart && p < e.OutEnd
				}
				if o := Origin(sp.List, p, false); !inside && (o >= len(line) || line[o] != got[p]) {
					t.Fatalf("%s: %q → %q: byte %d written outside the spans is not byte %d of the line given (spans %+v)", name, line, got, p, o, sp.List)
				}
			}
		}
	})
}
