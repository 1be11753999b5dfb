package output

import (
	"bytes"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestKafkaCompressor: each codec's output decompresses, with the client's
// own decompressor, to what went in, over several of lz4's blocks, which
// are of 64 KiB;
// zstd steps aside for a broker too old for it; "none" has no compressor.
func TestKafkaCompressor(t *testing.T) {
	var src []byte
	for _, l := range benchLines(2000) { // about 300 KB
		src = append(append(src, l...), '\n')
	}
	dec := kgo.DefaultDecompressor()
	for _, tc := range []struct {
		name  string
		codec kgo.CompressionCodecType
	}{
		{"gzip", kgo.CodecGzip}, {"snappy", kgo.CodecSnappy}, {"lz4", kgo.CodecLz4}, {"zstd", kgo.CodecZstd},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newKafkaCompressor(tc.name)
			for round := range 3 { // encoders come back from the free list
				var dst bytes.Buffer
				out, codec := c.Compress(&dst, src)
				if codec != tc.codec {
					t.Fatalf("round %d: codec %v; want %v", round, codec, tc.codec)
				}
				if len(out) >= len(src)/2 {
					t.Errorf("round %d: %d bytes compressed to %d", round, len(src), len(out))
				}
				got, err := dec.Decompress(out, codec)
				if err != nil {
					t.Fatalf("round %d: Decompress: %v", round, err)
				}
				if !bytes.Equal(got, src) {
					t.Fatalf("round %d: %d bytes back; want the %d sent", round, len(got), len(src))
				}
				// An lz4 frame's BD byte, after the magic number and FLG,
				// holds the block size: 4 is 64 KiB.
				if codec == kgo.CodecLz4 && (len(out) < 6 || out[5]>>4&7 != 4) {
					t.Fatalf("round %d: lz4 frame descriptor % x; want blocks of 64 KiB", round, out[:min(len(out), 6)])
				}
			}
		})
	}
	t.Run("zstd disabled", func(t *testing.T) {
		var dst bytes.Buffer
		out, codec := newKafkaCompressor("zstd").Compress(&dst, src, kgo.CompressDisableZstd)
		if codec != kgo.CodecNone || !bytes.Equal(out, src) {
			t.Fatalf("codec %v, %d bytes; want none and the batch as it is", codec, len(out))
		}
	})
	if c := newKafkaCompressor("none"); c != nil {
		t.Errorf("none: got a compressor %+v; want nil", c)
	}
}

// TestFreeListReuses: an encoder put back is the one got next; one put
// when the list is full is dropped, not blocked on.
func TestFreeListReuses(t *testing.T) {
	made := 0
	l := newFreeList(func() *int { made++; return new(int) })
	a := l.get()
	l.put(a)
	if b := l.get(); b != a || made != 1 {
		t.Fatalf("got %p after putting %p back, %d made; want the same, 1 made", b, a, made)
	}
	for range cap(l.free) + 1 {
		l.put(new(int))
	}
	if len(l.free) != cap(l.free) {
		t.Fatalf("%d in the list; want %d", len(l.free), cap(l.free))
	}
}
