package pipeline

import (
	"bytes"
	"context"
	"regexp"
	"strconv"
	"testing"
	"time"

	"streamgate/dataplane/internal/capture"
	"streamgate/dataplane/output"
)

// TestOutputHistograms: each batch an output delivers is timed from when
// its oldest line was read, and its lines counted, per output.
func TestOutputHistograms(t *testing.T) {
	sink := capture.Unique("hist")
	cfg := capture.Config(sink)
	p, err := New(Options{Workers: 1, FlushInterval: time.Hour}, &Config{Version: "1", Outputs: []output.Config{cfg}, BatchSize: 4})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		b := lineBatch(1, "a", "b", "c", "d")
		b.Born = time.Now().Add(-30 * time.Millisecond).UnixNano()
		if err := p.Push(context.Background(), b, 0); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "12 lines delivered", func() bool { return capture.Get(sink).Len() == 12 })
	closePipeline(t, p)
	var buf bytes.Buffer
	p.Metrics().WritePrometheus(&buf)
	name := strconv.Quote(cfg.Name())
	for _, c := range []struct{ re, want string }{
		{`streamgate_output_batch_lines_bucket\{output=` + name + `,le="1"\} (\d+)`, "0"},
		{`streamgate_output_batch_lines_bucket\{output=` + name + `,le="5"\} (\d+)`, "3"},
		{`streamgate_output_batch_lines_count\{output=` + name + `\} (\d+)`, "3"},
		{`streamgate_output_latency_seconds_bucket\{output=` + name + `,le="0.025"\} (\d+)`, "0"},
		{`streamgate_output_latency_seconds_count\{output=` + name + `\} (\d+)`, "3"},
	} {
		m := regexp.MustCompile(c.re).FindSubmatch(buf.Bytes())
		if m == nil || string(m[1]) != c.want {
			t.Errorf("%s: got %q; want %s", c.re, m, c.want)
		}
	}
	if !bytes.Contains(buf.Bytes(), []byte("# TYPE streamgate_output_latency_seconds histogram")) {
		t.Error("no # TYPE line of the latency histogram")
	}
}
