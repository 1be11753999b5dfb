package ingest

import (
	"encoding/json"
	"testing"

	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	"google.golang.org/protobuf/proto"
)

// FuzzOTLPLogs feeds the body decoder protobuf and JSON bodies, whole and
// cut short byte by byte (the seeds in testdata/fuzz/FuzzOTLPLogs and
// those below): a body decodes or is refused, never panics, and every
// record it holds becomes one line of valid JSON; the protobuf fast path,
// wherever it answers, gives the same lines as the decoder.
func FuzzOTLPLogs(f *testing.F) {
	full := logsOf(nil, nil, &logspb.LogRecord{Body: sv("x")})
	pb, _ := proto.Marshal(full)
	for i := range len(pb) + 1 {
		f.Add(pb[:i], false)
	}
	bench, _ := proto.Marshal(benchLogs(3))
	f.Add(bench, false)
	js := []byte(otlpJSONRequest)
	for i := 0; i <= len(js); i += 7 {
		f.Add(js[:i], true)
	}
	f.Fuzz(func(t *testing.T, body []byte, isJSON bool) {
		var wire []string
		var wl wireLines
		fast := !isJSON && wl.each(body, func(line []byte) { wire = append(wire, string(line)) })
		var d logspb.LogsData
		if err := decodeOTLPLogs(body, isJSON, &d); err != nil {
			if fast {
				t.Fatalf("the fast path took a body the decoder refuses: %v", err)
			}
			return
		}
		if fast {
			slow := otlpLinesOf(&d)
			if len(slow) != len(wire) {
				t.Fatalf("fast path: %d lines; decoder: %d", len(wire), len(slow))
			}
			for i := range slow {
				if slow[i] != wire[i] {
					t.Fatalf("line %d: fast path %q; decoder %q", i, wire[i], slow[i])
				}
			}
		}
		records := 0
		for _, rl := range d.ResourceLogs {
			for _, sl := range rl.ScopeLogs {
				records += len(sl.LogRecords)
			}
		}
		lines := 0
		var w otlpLines
		w.each(&d, func(line []byte) {
			lines++
			if !json.Valid(line) {
				t.Fatalf("line %q is not valid JSON", line)
			}
		})
		if lines != records {
			t.Fatalf("got %d lines of %d records", lines, records)
		}
	})
}
