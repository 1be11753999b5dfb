package output

import (
	"bytes"
	"io"
	"runtime"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"github.com/twmb/franz-go/pkg/kgo"
)

// kafkaCompressor compresses the kafka output's record batches with one
// codec. It is the client's default compressor but for two things, both
// for a data plane under its soft memory limit, where the collector runs
// often:
//   - lz4 writes blocks of 64 KiB, as Kafka's own producer does, not the
//     library's 4 MiB: the library takes its block buffers from a
//     sync.Pool, which the frequent collections empty, so nearly every
//     batch allocated 4 MiB, and those allocations and the collections
//     they set off were most of the output's CPU;
//   - it keeps its encoders in a free list, not a sync.Pool, which every
//     collection would empty, making a new one for the next batch (gzip's
//     is about 800 KiB of state, zstd's a window). An idle encoder is
//     reset to write nowhere, so it does not keep the client's last
//     buffer alive.
type kafkaCompressor struct {
	codec kgo.CompressionCodecType
	gzip  freeList[*gzip.Writer]
	lz4   freeList[*lz4.Writer]
	zstd  freeList[*zstd.Encoder]
}

// newKafkaCompressor returns the compressor of codec ("gzip", "snappy",
// "lz4" or "zstd"), nil for "none".
func newKafkaCompressor(codec string) *kafkaCompressor {
	c := &kafkaCompressor{}
	switch codec {
	case "gzip":
		c.codec = kgo.CodecGzip
		c.gzip = newFreeList(func() *gzip.Writer { return gzip.NewWriter(nil) })
	case "snappy":
		c.codec = kgo.CodecSnappy
	case "lz4":
		c.codec = kgo.CodecLz4
		c.lz4 = newFreeList(func() *lz4.Writer {
			w := lz4.NewWriter(nil)
			// Neither option can fail with these values.
			_ = w.Apply(lz4.BlockSizeOption(lz4.Block64Kb), lz4.CompressionLevelOption(lz4.Fast))
			return w
		})
	case "zstd":
		c.codec = kgo.CodecZstd
		c.zstd = newFreeList(func() *zstd.Encoder {
			// The client's options: a 64 KiB window, no goroutines of its own.
			e, _ := zstd.NewWriter(nil, zstd.WithWindowSize(64<<10), zstd.WithEncoderConcurrency(1), zstd.WithZeroFrames(true))
			return e
		})
	default:
		return nil
	}
	return c
}

// Compress compresses src into dst. A broker too old for zstd (the client
// says so with CompressDisableZstd) gets the batch uncompressed, as the
// client's own compressor does with no other codec to fall back to; so
// does a batch the codec fails on.
func (c *kafkaCompressor) Compress(dst *bytes.Buffer, src []byte, flags ...kgo.CompressFlag) ([]byte, kgo.CompressionCodecType) {
	switch c.codec {
	case kgo.CodecGzip:
		if encodeStream(c.gzip, dst, src) {
			return dst.Bytes(), kgo.CodecGzip
		}
		return src, kgo.CodecNone
	case kgo.CodecLz4:
		if encodeStream(c.lz4, dst, src) {
			return dst.Bytes(), kgo.CodecLz4
		}
		return src, kgo.CodecNone
	case kgo.CodecSnappy:
		if n := s2.MaxEncodedLen(len(src)); n > dst.Cap() {
			dst.Grow(n)
		}
		return s2.EncodeSnappy(dst.Bytes(), src), kgo.CodecSnappy
	case kgo.CodecZstd:
		for _, f := range flags {
			if f == kgo.CompressDisableZstd {
				return src, kgo.CodecNone
			}
		}
		e := c.zstd.get()
		defer c.zstd.put(e)
		if n := e.MaxEncodedSize(len(src)); n > dst.Cap() {
			dst.Grow(n)
		}
		return e.EncodeAll(src, dst.Bytes()), kgo.CodecZstd
	}
	return src, kgo.CodecNone
}

// streamEncoder is a codec that writes a stream: gzip's and lz4's.
type streamEncoder interface {
	io.WriteCloser
	Reset(io.Writer)
}

// encodeStream compresses src into dst with an encoder of l, which it
// resets to write nowhere before it keeps it, so that an idle encoder does
// not hold the client's last buffer alive. It reports whether the codec
// took src.
func encodeStream[E streamEncoder](l freeList[E], dst *bytes.Buffer, src []byte) bool {
	w := l.get()
	defer func() { w.Reset(nil); l.put(w) }()
	w.Reset(dst)
	if _, err := w.Write(src); err != nil {
		return false
	}
	return w.Close() == nil
}

// freeList keeps up to GOMAXPROCS idle encoders; one put when it is full
// is left to the collector.
type freeList[T any] struct {
	free  chan T
	fresh func() T
}

func newFreeList[T any](fresh func() T) freeList[T] {
	return freeList[T]{free: make(chan T, runtime.GOMAXPROCS(0)), fresh: fresh}
}

func (l freeList[T]) get() T {
	select {
	case e := <-l.free:
		return e
	default:
		return l.fresh()
	}
}

func (l freeList[T]) put(e T) {
	select {
	case l.free <- e:
	default:
	}
}
