package preview

import (
	"fmt"
	"strings"
	"testing"

	"streamgate/dataplane/processor"
)

// TestSpans is a table of the spans each kind of finding gives: where in
// the line given (shown as the text there), the rule, the detector and the
// action.
func TestSpans(t *testing.T) {
	if err := processor.SetHashKey([]byte("0123456789abcdef0123456789abcdef")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { processor.SetHashKey(nil) })
	for _, c := range []struct {
		name  string
		rules []string
		in    string
		out   string // "" when dropped
		want  []string
	}{
		{"detector, mask",
			[]string{`{"id":"r","type":"redact","params":{"detector":"ssn"}}`},
			"ssn 123-45-6789 ok", "ssn [REDACTED] ok",
			[]string{"123-45-6789 r ssn mask"}},
		{"detectors of a set, partial",
			[]string{`{"id":"r","type":"redact","params":{"detectors":["email","credit_card"],"action":"partial"}}`},
			"card 4111 1111 1111 1111 to bob@example.com", "card **** **** **** 1111 to ***@******e.com",
			[]string{"4111 1111 1111 1111 r credit_card partial", "bob@example.com r email partial"}},
		{"category, hash",
			[]string{`{"id":"r","type":"redact","params":{"detector":"network","action":"hash"}}`},
			"from 10.1.2.3", "",
			[]string{"10.1.2.3 r ipv4 hash"}},
		{"pattern with a template",
			[]string{`{"id":"r","type":"redact","params":{"pattern":"(\\d{3})-\\d{2}-(\\d{4})","replacement":"$1-XX-$2"}}`},
			"a 123-45-6789 b 987-65-4321", "a 123-XX-6789 b 987-XX-4321",
			[]string{"123-45-6789 r pattern mask", "987-65-4321 r pattern mask"}},
		{"pattern, regexp engine",
			[]string{`{"id":"r","type":"redact","params":{"pattern":"token=[A-Za-z0-9]+(x|y)?"}}`},
			"auth token=abc123 ok", "auth [REDACTED] ok",
			[]string{"token=abc123 r pattern mask"}},
		{"drop",
			[]string{`{"id":"r","type":"redact","params":{"detector":"email","action":"drop"}}`},
			"to bob@example.com", "",
			[]string{"bob@example.com r email drop"}},
		{"field of a text line",
			[]string{`{"id":"r","type":"redact","params":{"fields":["@secrets"]}}`},
			"login password=hunter2 user=bob", "login password=[REDACTED] user=bob",
			[]string{"hunter2 r field:password mask"}},
		{"field of a JSON line",
			[]string{`{"id":"r","type":"redact","params":{"fields":["user.pass"]}}`},
			`{"user":{"pass":"hunter2","name":"bob"}}`, `{"user":{"pass":"[REDACTED]","name":"bob"}}`,
			[]string{"hunter2 r field:user.pass mask"}},
		{"JSON string with escapes",
			[]string{`{"id":"r","type":"redact","params":{"detector":"ssn"}}`},
			`{"a":"x 123\u002d45\u002d6789 y"}`, `{"a":"x [REDACTED] y"}`,
			[]string{`123\u002d45\u002d6789 r ssn mask`}},
		{"JSON number",
			[]string{`{"id":"r","type":"redact","params":{"detector":"credit_card"}}`},
			`{"n":1,"cc":4111111111111111}`, `{"n":1,"cc":"[REDACTED]"}`,
			[]string{"4111111111111111 r credit_card mask"}},
		{"JSON, a pattern over its text too",
			[]string{`{"id":"r","type":"redact","params":{"pattern":"\"pw\":\"[^\"]*\"","replacement":"\"pw\":\"*\""}}`},
			`{"pw":"hunter2","n":1}`, `{"pw":"*","n":1}`,
			[]string{`"pw":"hunter2" r pattern mask`}},
		{"broken JSON, escapes undone",
			[]string{`{"id":"r","type":"redact","params":{"detector":"ssn"}}`},
			`{"a":"123\u002d45\u002d6789`, `{"a":"[REDACTED]`,
			[]string{`123\u002d45\u002d6789 r ssn mask`}},
		{"a later rule, offsets in the line given",
			[]string{`{"id":"e","type":"redact","params":{"detector":"email","replacement":"<an e-mail address>"}}`,
				`{"id":"s","type":"redact","params":{"detector":"ssn","action":"partial"}}`},
			"bob@example.com has 123-45-6789", "<an e-mail address> has ***-**-6789",
			[]string{"bob@example.com e email mask", "123-45-6789 s ssn partial"}},
		{"a later rule finds what an earlier one wrote",
			[]string{`{"id":"a","type":"redact","params":{"pattern":"secret","replacement":"123-45-6789"}}`,
				`{"id":"b","type":"redact","params":{"detector":"ssn"}}`},
			"x secret y", "x [REDACTED] y",
			[]string{"secret a pattern mask", "secret b ssn mask"}},
		{"nothing found", []string{`{"id":"r","type":"redact","params":{"detector":"ssn"}}`}, "plain", "plain", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := Line(steps(t, c.rules...), []byte(c.in))
			if c.out != "" && string(r.Output) != c.out {
				t.Errorf("output %q; want %q", r.Output, c.out)
			}
			var got []string
			for _, s := range r.Spans {
				if s.Start < 0 || s.End > len(c.in) || s.Start > s.End {
					t.Fatalf("span %+v out of the line's %d bytes", s, len(c.in))
				}
				got = append(got, fmt.Sprintf("%s %s %s %s", c.in[s.Start:s.End], s.Rule, s.Detector, s.Action))
			}
			if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Errorf("spans:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
		})
	}
}
