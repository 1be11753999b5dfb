package output

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"streamgate/dataplane/record"
)

// BenchmarkCloudWatchWrite measures a cloudwatch_logs output's Write: the
// events sorted and cut into requests, each serialised and signed by the
// AWS SDK, then sent over loopback to a stand-in that reads the body and
// answers success without decoding it (so the stand-in's own cost is
// small). lines/s is what one output takes through one lane, or one per
// GOMAXPROCS in parallel, as pipeline lanes write.
func BenchmarkCloudWatchWrite(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		io.WriteString(w, "{}")
	}))
	b.Cleanup(srv.Close)
	for _, tc := range []struct {
		name     string
		batch    int
		tsField  string
		parallel bool
	}{
		{"batch=100", 100, "", false},
		{"batch=1000", 1000, "", false},
		{"batch=1000/timestamp_field", 1000, "ts", false},
		{"batch=1000/parallel", 1000, "", true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			o := newTestCloudWatch(b, &fakeCloudWatch{srv: srv},
				&Config{LogGroup: "g", LogStream: "s", TimestampField: tc.tsField}, cwTestKey, fastRetries)
			batch := &record.Batch{Lines: benchLines(tc.batch)}
			if err := o.Write(context.Background(), batch); err != nil { // connect
				b.Fatal(err)
			}
			benchWrites(b, o, batch, tc.parallel)
		})
	}
}
