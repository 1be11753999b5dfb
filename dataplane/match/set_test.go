package match

import (
	"slices"
	"streamgate/dataplane/internal/linemix"
	"strings"
	"testing"
)

func TestSelectDetectors(t *testing.T) {
	names := func(ds []*Detector) string {
		var s []string
		for _, d := range ds {
			s = append(s, d.Name)
		}
		return strings.Join(s, ",")
	}
	ds, err := SelectDetectors([]string{"ssn", "payments", "ssn"})
	var payments []string
	for _, d := range Detectors() {
		if d.Category == CategoryPayments {
			payments = append(payments, d.Name)
		}
	}
	got := strings.Split(names(ds), ",")
	if err != nil || len(got) != len(payments)+1 || !slices.Contains(got, "ssn") || !slices.Contains(got, "credit_card") {
		t.Errorf("ssn, payments, ssn: got %v, %v; want ssn once and the payments detectors %v", got, err, payments)
	}
	if ds, err := SelectDetectors([]string{"all"}); err != nil || len(ds) != len(registry) {
		t.Errorf("all: got %d detectors, %v; want %d", len(ds), err, len(registry))
	}
	_, err = SelectDetectors([]string{"emial"})
	if err == nil || !strings.Contains(err.Error(), `unknown detector or category "emial"; did you mean email`) {
		t.Errorf("emial: got %v; want a suggestion of email", err)
	}
	_, err = SelectDetectors([]string{"zzzzzzzzzzz"})
	if err == nil || !strings.Contains(err.Error(), "see streamgate detectors") {
		t.Errorf("zzzzzzzzzzz: got %v", err)
	}
}

func TestSet(t *testing.T) {
	ds, _ := SelectDetectors([]string{"ssn", "credit_card", "email", "ipv4"})
	r := NewSet(ds, Mask("X"))
	tests := []struct{ in, want string }{
		{"ssn 123-45-6789 card 4111 1111 1111 1111 mail a@b.io ip 10.0.0.1", "ssn X card X mail X ip X"},
		{"nothing here 12:30", ""},
		{"a@b.io a@b.io 123-45-6789", "X X X"},
	}
	for _, tt := range tests {
		want := tt.want
		if want == "" {
			want = tt.in
		}
		if got := replace(r, []byte(tt.in)); got != want {
			t.Errorf("%q: got %q; want %q", tt.in, got, want)
		}
		// The same as the detectors one after another, here where no
		// findings overlap.
		seq := tt.in
		for _, d := range ds {
			seq = replace(d.Replacer("X"), []byte(seq))
		}
		if seq != want {
			t.Errorf("%q: one after another %q; set %q", tt.in, seq, want)
		}
	}
}

// TestSetMatchesDetectors checks NewSet's shared walks against the
// definition: each detector's Find, the leftmost finding taken first and
// the detector first in the set among those that start at the same byte.
func TestSetMatchesDetectors(t *testing.T) {
	var lines [][]byte
	for _, l := range buildCorpus() {
		lines = append(lines, []byte(l.line))
	}
	for _, d := range Detectors() {
		for _, ex := range d.Examples {
			lines = append(lines, []byte(ex.Line))
		}
	}
	for _, l := range linemix.Lines() {
		lines = append(lines, []byte(l))
	}
	// Runs of digits close together: the run walk looks at eight bytes
	// at once, and a run that finds nothing must not hide the next.
	for _, l := range []string{"0 11231002X", "1 2 3 536-22-8145", "9 8 4111 1111 1111 1111", "12 34 56 78 12345678Z 1"} {
		lines = append(lines, []byte(l))
	}
	// A token that a keyword leads to, where another detector finds
	// something that starts at the same byte and ends elsewhere: the
	// detector first in the set's order wins.
	for _, l := range []string{"auth=Bearer AKIAIOSFODNN7EXAMPLE== ok", "Bearer  AKIAIOSFODNN7EXAMPLE", "bearer bearer AKIAIOSFODNN7EXAMPLE.x"} {
		lines = append(lines, []byte(l))
	}
	all := Detectors()
	reversed := slices.Clone(all)
	slices.Reverse(reversed)
	var runs, prefixes, tokens []*Detector
	for _, d := range all {
		switch {
		case d.At != nil:
			runs = append(runs, d)
		case d.AtPrefix != nil:
			prefixes = append(prefixes, d)
		}
		if tokenDetector(d) {
			tokens = append(tokens, d)
		}
	}
	if len(runs) < 2 || len(prefixes) < 2 {
		t.Fatalf("%d detectors by runs and %d by prefix; the test needs two of each", len(runs), len(prefixes))
	}
	for name, ds := range map[string][]*Detector{"all": all, "reversed": reversed, "runs": runs, "prefixes": prefixes, "tokens": tokens} {
		set := NewSet(ds, Mask("<>"))
		for _, l := range lines {
			want := referenceSet(ds, l)
			got, found := set.AppendReplace(nil, l)
			if !found {
				got = l
			}
			if string(got) != want {
				t.Fatalf("%s: %q: got %q; want %q", name, l, got, want)
			}
			if set.Finds(l) != (want != string(l)) {
				t.Fatalf("%s: %q: Finds is %v", name, l, set.Finds(l))
			}
		}
	}
}

// referenceSet is what NewSet(ds, Mask("<>")) must make of line, found one
// detector at a time.
func referenceSet(ds []*Detector, line []byte) string {
	last := leadingTimestamp(line)
	out := slices.Clone(line[:last])
	for {
		bs, be := -1, -1
		for _, d := range ds {
			if s, e := d.Find(line, last); s >= 0 && (bs < 0 || s < bs) {
				bs, be = s, e
			}
		}
		if bs < 0 {
			return string(append(out, line[last:]...))
		}
		out = append(append(out, line[last:bs]...), "<>"...)
		last = be
	}
}

// TestAtContract checks what a set's walks rely on: a finding of a
// detector given by Runs and At grows from its first run of digits, one
// given by Prefix and AtPrefix starts with its prefix, one given by Lead
// and AtLead starts a token, and one given by Key and AtKey follows the
// token of its keyword.
func TestAtContract(t *testing.T) {
	var lines [][]byte
	for _, l := range buildCorpus() {
		lines = append(lines, []byte(l.line))
	}
	for _, d := range Detectors() {
		if d.At == nil && d.AtPrefix == nil && d.AtLead == nil && d.AtKey == nil {
			continue
		}
		n := 0
		for _, l := range lines {
			for from, s, e := 0, -1, 0; ; from = e {
				if s, e = d.Find(l, from); s < 0 {
					break
				}
				n++
				if d.AtKey != nil {
					// The keyword starts the last token before the
					// finding: no token starts between them.
					k := s - 1
					for k >= 0 && !(isAlnum(l[k]) && (k == 0 || !isAlnum(l[k-1]))) {
						k--
					}
					if k < 0 {
						t.Fatalf("%s: %q: no token before finding %q", d.Name, l, l[s:e])
					}
					for j, key := range d.Key {
						if k+j >= len(l) || strings.IndexByte(key, l[k+j]) < 0 {
							t.Fatalf("%s: %q: the token before finding %q does not start with Key", d.Name, l, l[s:e])
						}
					}
					if ks, ke := d.AtKey(l, k); ks != s || ke != e {
						t.Fatalf("%s: %q: finding %q is not AtKey's of the token before it", d.Name, l, l[s:e])
					}
					continue
				}
				if d.AtLead != nil {
					if s > 0 && isAlnum(l[s-1]) || !isAlnum(l[s]) || e < s+leadBytes {
						t.Fatalf("%s: %q: finding %q does not start a token, or is shorter than %d bytes", d.Name, l, l[s:e], leadBytes)
					}
					for k, lead := range d.Lead {
						if lead != "" && strings.IndexByte(lead, l[s+k]) < 0 {
							t.Fatalf("%s: %q: finding %q has %q at %d, not in Lead", d.Name, l, l[s:e], l[s+k], k)
						}
					}
					if d.AtLead(l, s) != e {
						t.Fatalf("%s: %q: finding %q is not AtLead's", d.Name, l, l[s:e])
					}
					continue
				}
				if d.AtPrefix != nil {
					if !strings.HasPrefix(string(l[s:e]), d.Prefix) || d.AtPrefix(l, s) != e {
						t.Fatalf("%s: %q: finding %q is not AtPrefix's", d.Name, l, l[s:e])
					}
					if !tokenDetector(d) {
						continue
					}
					if e < s+leadBytes {
						t.Fatalf("%s: %q: finding %q is shorter than %d bytes", d.Name, l, l[s:e], leadBytes)
					}
					// A prefix that starts a token never follows a word
					// byte: a set only tries the bytes that start tokens.
					for _, c := range []byte("aZ0_") {
						l2 := slices.Concat(l[:s], []byte{c}, l[s:])
						if e2 := d.AtPrefix(l2, s+1); e2 >= 0 {
							t.Fatalf("%s: %q: finds %q after %q", d.Name, l2, l2[s+1:e2], c)
						}
					}
					continue
				}
				i := nextDigit(l, s)
				r := govARunEnd(l, i)
				if i >= e || d.Runs&runBit(r-i) == 0 {
					t.Fatalf("%s: %q: finding %q does not start with a run of digits of a length in Runs", d.Name, l, l[s:e])
				}
				if d.Joined&runBit(r-i) != 0 && !(r+1 < len(l) && strings.IndexByte(d.Joins, l[r]) >= 0 && isDigit(l[r+1])) {
					t.Fatalf("%s: %q: finding %q starts with a run of a length in Joined that Joins does not join to a digit", d.Name, l, l[s:e])
				}
				if as, ae := d.At(l, i, r); as != s || ae != e {
					t.Fatalf("%s: %q: finding %q is not At's of its first run", d.Name, l, l[s:e])
				}
			}
		}
		if n == 0 {
			t.Errorf("%s: no finding in the corpus", d.Name)
		}
	}
}

// FuzzSet checks NewSet against referenceSet on any line.
func FuzzSet(f *testing.F) {
	for _, d := range Detectors() {
		for _, ex := range d.Examples {
			f.Add(ex.Line)
		}
	}
	all := Detectors()
	set := NewSet(all, Mask("<>"))
	f.Fuzz(func(t *testing.T, line string) {
		got, found := set.AppendReplace(nil, []byte(line))
		if !found {
			got = []byte(line)
		}
		if want := referenceSet(all, []byte(line)); string(got) != want {
			t.Fatalf("%q: got %q; want %q", line, got, want)
		}
	})
}

// TestSetKeepsContext: a set searches again from the end of a finding of
// one detector; a detector whose context word stands before that finding
// must still find what it would alone.
func TestSetKeepsContext(t *testing.T) {
	all := Detectors()
	set := NewSet(all, Mask("<>"))
	for _, tt := range []struct{ line, secret string }{
		{"datadog api_key for 10.0.0.1 abcdef0123456789abcdef0123456789", "abcdef0123456789abcdef0123456789"},
		{"twilio account 10.0.0.1 ACdeadbeefdeadbeefdeadbeefdeadbeef", "ACdeadbeefdeadbeefdeadbeefdeadbeef"},
		{"bic of 10.0.0.1 DEUTDEFF500", "DEUTDEFF500"},
	} {
		got, _ := set.AppendReplace(nil, []byte(tt.line))
		if strings.Contains(string(got), tt.secret) || strings.Contains(string(got), "10.0.0.1") {
			t.Errorf("%q: got %q; want the address and %q redacted", tt.line, got, tt.secret)
		}
	}
}
