package output

import (
	"encoding/json"
	"strings"
	"testing"

	"streamgate/dataplane/internal/vendortest"
	"streamgate/dataplane/match"
	"streamgate/dataplane/processor"
	"streamgate/dataplane/record"
)

// redactedValues are the values FuzzRedactedBodies hides in lines: one for
// each detector, and one that a custom pattern catches.
var redactedValues = []string{"123-45-6789", "4111 1111 1111 1111", "bob@example.com", "10.1.2.3", "token=ABCDEF"}

// hideInJSON writes v as the contents of a JSON string, escaping the bytes
// that mask selects (bit i%64 for byte i) as \uXXXX, in upper or lower
// case hex by the next bit, and '/' as \/ when selected.
func hideInJSON(v string, mask uint64) string {
	const lower, upper = "0123456789abcdef", "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		if mask&(1<<(i%64)) == 0 {
			b.WriteByte(c)
			continue
		}
		hex := lower
		if mask&(1<<((i+1)%64)) != 0 {
			hex = upper
		}
		if c == '/' {
			b.WriteString(`\/`)
			continue
		}
		b.WriteString(`\u00` + string(hex[c>>4]) + string(hex[c&0xf]))
	}
	return b.String()
}

// fuzzLine builds a line of the given shape holding every redacted value,
// each escaped by mask, and junk, the fuzzer's bytes, beside them.
func fuzzLine(shape uint8, junk string, mask uint64) string {
	j, _ := json.Marshal(junk)
	var fields []string
	for i, v := range redactedValues {
		fields = append(fields, `"f`+string(rune('a'+i))+`":"`+hideInJSON(v, mask>>(i*7)|mask<<(64-i*7))+`"`)
	}
	obj := `{"junk":` + string(j) + `,` + strings.Join(fields, ",") + `}`
	switch shape % 5 {
	case 0: // a text line: escapes mean nothing there, values are plain
		return junk + " " + strings.Join(redactedValues, " ")
	case 1:
		return obj
	case 2: // nested in objects and arrays
		return `{"a":{"b":[1,` + obj + `,{"c":[` + obj + `]}]},"n":4111111111111111}`
	case 3: // cut short: not JSON any more
		return obj[:len(obj)-1-int(mask%7)]
	default:
		return `[` + obj + `,"` + hideInJSON(redactedValues[0], ^mask) + `"]`
	}
}

// FuzzRedactedBodies runs lines that hide personal data behind every JSON
// escape form through redact rules (every detector and a custom pattern),
// encodes them in every body format, and reads each body as its vendor
// would: no hidden value, and nothing any detector finds, may be left.
func FuzzRedactedBodies(f *testing.F) {
	for shape := range uint8(5) {
		f.Add(shape, "", uint64(0))
		f.Add(shape, `{"x":"y"} 5`, ^uint64(0))
		f.Add(shape, "4111-1111-1111-1111 a@b.io \\u002d", uint64(0xaaaaaaaaaaaaaaaa))
	}
	var chain []processor.Processor
	for _, params := range []string{
		`{"detector": "ssn"}`, `{"detector": "credit_card"}`, `{"detector": "email"}`, `{"detector": "ipv4"}`,
		`{"pattern": "token=[A-Za-z0-9]+", "replacement": "token=[REDACTED]"}`,
	} {
		s, err := processor.Build(processor.Config{ID: "r", Type: "redact", Params: json.RawMessage(params)})
		if err != nil {
			f.Fatal(err)
		}
		chain = append(chain, s.P)
	}
	// The detectors the chain redacts with: others may well find
	// something in the fuzzer's junk.
	var detectors []match.Replacer
	for _, name := range []string{"ssn", "credit_card", "email", "ipv4"} {
		d, _ := match.LookupDetector(name)
		detectors = append(detectors, d.Replacer(""))
	}
	f.Fuzz(func(t *testing.T, shape uint8, junk string, mask uint64) {
		line := fuzzLine(shape, junk, mask)
		b := &record.Batch{}
		b.AppendLine([]byte(line))
		for _, p := range chain {
			p.Process(b)
		}
		for _, format := range formatNames() {
			body := formats[format].appendBody(nil, b.Lines)
			texts, err := vendortest.Texts(format, body)
			if err != nil {
				t.Fatalf("%s: %v\nbody: %s", format, err, body)
			}
			for _, txt := range texts {
				for _, v := range redactedValues {
					if strings.Contains(txt, v) {
						t.Fatalf("%s: %q reached the receiver in %q\nline: %s\nbody: %s", format, v, txt, line, body)
					}
				}
				for _, d := range detectors {
					if d.Finds([]byte(txt)) {
						t.Fatalf("%s: a detector finds something in %q\nline: %s\nbody: %s", format, txt, line, body)
					}
				}
			}
		}
	})
}
