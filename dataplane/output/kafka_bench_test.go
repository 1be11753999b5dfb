package output

import (
	"context"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"

	"streamgate/dataplane/record"
)

// BenchmarkKafkaWrite measures a kafka output's Write, produce to
// acknowledgement, against an in-process broker that acknowledges without
// storing (so the broker's own storage is not measured): lines/s is what
// one output takes through one lane, or one per GOMAXPROCS in parallel, as
// pipeline lanes write. The broker shares the machine's cores.
func BenchmarkKafkaWrite(b *testing.B) {
	for _, tc := range []struct {
		name        string
		batch       int
		compression string
		key         bool
		parallel    bool
	}{
		{"batch=100/compression=none", 100, "none", false, false},
		{"batch=100/compression=lz4", 100, "lz4", false, false},
		{"batch=1000/compression=lz4", 1000, "lz4", false, false},
		{"batch=1000/compression=zstd", 1000, "zstd", false, false},
		{"batch=1000/compression=lz4/key", 1000, "lz4", true, false},
		{"batch=1000/compression=lz4/parallel", 1000, "lz4", false, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			c := newFakeKafka(b, kfake.BlackholeProduce())
			cfg := &Config{Brokers: c.ListenAddrs(), Topic: testTopic, Compression: tc.compression}
			if tc.key {
				cfg.KeyField = "user"
			}
			o := newTestKafka(b, cfg)
			batch := &record.Batch{Lines: benchLines(tc.batch)}
			if err := o.Write(context.Background(), batch); err != nil { // connect
				b.Fatal(err)
			}
			benchWrites(b, o, batch, tc.parallel)
		})
	}
}
