package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"streamgate/dataplane/metrics"
	"streamgate/dataplane/record"
)

// countSink settles every batch at once and counts its lines.
type countSink struct{ lines atomic.Int64 }

func (s *countSink) Push(_ context.Context, b *record.Batch, _ time.Duration) error {
	s.lines.Add(int64(len(b.Lines)))
	b.SettleAcks(true)
	record.Put(b)
	return nil
}

// BenchmarkKafkaInput measures the Kafka input alone: b.N records of ~150
// bytes preloaded over 4 partitions of an in-process broker (kfake, which
// shares the cores), read, framed, pushed to a sink that settles at once,
// and committed. An op is a line.
func BenchmarkKafkaInput(b *testing.B) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(4, "t"))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	pcl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.DefaultProduceTopic("t"),
		kgo.ProducerLinger(5*time.Millisecond), kgo.MaxBufferedRecords(100_000))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for i := range b.N {
		v := fmt.Appendf(nil, "ts=%d src=bench seq=%d level=INFO msg=\"request served\" path=/api/v1/items/%d status=200 duration_ms=12 user=u%d", time.Now().UnixNano(), i, i%1000, i%97)
		pcl.Produce(ctx, &kgo.Record{Value: v}, nil)
	}
	if err := pcl.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	pcl.Close()
	sink := &countSink{}
	b.ReportAllocs()
	b.ResetTimer()
	k, err := NewKafka(KafkaConfig{Brokers: c.ListenAddrs(), Topics: []string{"t"}, Group: "bench"},
		Config{Sink: sink, Metrics: metrics.New(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	k.Start()
	for sink.lines.Load() < int64(b.N) {
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
	k.Close(ctx)
}
