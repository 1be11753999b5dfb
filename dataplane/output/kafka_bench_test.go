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
			ctx := context.Background()
			if err := o.Write(ctx, batch); err != nil { // connect, load metadata
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.SetBytes(linesSize(batch.Lines))
			b.ResetTimer()
			if tc.parallel {
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if err := o.Write(ctx, batch); err != nil {
							b.Error(err)
							return
						}
					}
				})
			} else {
				for range b.N {
					if err := o.Write(ctx, batch); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.N*tc.batch)/b.Elapsed().Seconds(), "lines/s")
		})
	}
}
