package corpus

import (
	"bytes"
	"strconv"
	"testing"
)

// TestCycle: within its first period a Cycle's lines are the Generator's;
// after it, line seq is line seq mod the period with seq's number and
// timestamp in its head, of the same kind.
func TestCycle(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cfg    Config
		period int
		want   int
	}{
		{"default", DefaultConfig(), 64, 64},
		{"json escaped", Config{Seed: 3, JSON: 1, Escaped: 0.5, SSN: 0.3, Card: 0.3, Email: 0.3}, 100, 64},
		{"one line", Config{Seed: 4, Debug: 0.5}, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := New(tc.cfg)
			c := g.Cycle("run-1", tc.period)
			if c.Period() != tc.want {
				t.Fatalf("period %d; want %d", c.Period(), tc.want)
			}
			const ts = 1_765_000_000_123_456_789
			for seq := uint64(0); seq < uint64(3*c.Period()); seq++ {
				got, kind := c.Append([]byte("x"), seq, ts)
				got = got[1:]
				orig := seq % uint64(c.Period())
				want, wantKind := g.Append(nil, "run-1", orig, ts)
				if seq >= uint64(c.Period()) {
					from, to := seqDigits(t, want)
					want = append(append(append([]byte(nil), want[:from]...), strconv.FormatUint(seq, 10)...), want[to:]...)
				}
				if !bytes.Equal(got, want) || kind != wantKind {
					t.Fatalf("seq %d: %q (kind %b); want %q (kind %b)", seq, got, kind, want, wantKind)
				}
			}
		})
	}
}

// seqDigits returns where the sequence number is in line.
func seqDigits(t *testing.T, line []byte) (from, to int) {
	t.Helper()
	for _, key := range []string{" seq=", `"seq":`} {
		if i := bytes.Index(line, []byte(key)); i >= 0 {
			from = i + len(key)
			to = from
			for to < len(line) && line[to] >= '0' && line[to] <= '9' {
				to++
			}
			return from, to
		}
	}
	t.Fatalf("no seq in %q", line)
	return 0, 0
}
