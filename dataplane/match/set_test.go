package match

import (
	"slices"
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
