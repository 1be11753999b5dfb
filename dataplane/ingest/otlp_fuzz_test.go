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
// record it holds becomes one line of valid JSON.
func FuzzOTLPLogs(f *testing.F) {
	full := logsOf(nil, nil, &logspb.LogRecord{Body: sv("x")})
	pb, _ := proto.Marshal(full)
	for i := range len(pb) + 1 {
		f.Add(pb[:i], false)
	}
	js := []byte(otlpJSONRequest)
	for i := 0; i <= len(js); i += 7 {
		f.Add(js[:i], true)
	}
	f.Fuzz(func(t *testing.T, body []byte, isJSON bool) {
		var d logspb.LogsData
		if err := decodeOTLPLogs(body, isJSON, &d); err != nil {
			return
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
