package preview

import (
	"encoding/json"
	"slices"
	"testing"

	"streamgate/dataplane/processor"
)

func steps(t *testing.T, rules ...string) []processor.Step {
	t.Helper()
	var out []processor.Step
	for _, r := range rules {
		var c processor.Config
		if err := json.Unmarshal([]byte(r), &c); err != nil {
			t.Fatal(err)
		}
		s, err := processor.Build(c)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

func TestLine(t *testing.T) {
	s := steps(t,
		`{"id":"drop_debug","type":"filter","params":{"value":"DEBUG"}}`,
		`{"id":"mask_ssn","type":"redact","params":{"detector":"ssn","replacement":"<ssn>"}}`,
		`{"id":"mask_email","type":"redact","params":{"detector":"email"}}`,
	)
	tests := []struct {
		in, out, dropped string
		changed          []string
	}{
		{in: "DEBUG ssn=123-45-6789", dropped: "drop_debug"},
		{in: "INFO ssn=123-45-6789", out: "INFO ssn=<ssn>", changed: []string{"mask_ssn"}},
		{in: "INFO ssn=123-45-6789 to a@b.io", out: "INFO ssn=<ssn> to [REDACTED]", changed: []string{"mask_ssn", "mask_email"}},
		{in: "INFO nothing", out: "INFO nothing"},
	}
	for _, tt := range tests {
		r := Line(s, []byte(tt.in))
		if r.DroppedBy != tt.dropped || string(r.Output) != tt.out || !slices.Equal(r.Changed, tt.changed) || r.Kept() != (tt.dropped == "") {
			t.Errorf("%q: got output %q, dropped by %q, changed by %v; want %q, %q, %v", tt.in, r.Output, r.DroppedBy, r.Changed, tt.out, tt.dropped, tt.changed)
		}
	}
	if r := Line(nil, []byte("x")); string(r.Output) != "x" || !r.Kept() {
		t.Errorf("no rules: got %+v", r)
	}
}
