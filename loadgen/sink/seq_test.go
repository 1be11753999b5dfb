package sink

import "testing"

func TestWindow(t *testing.T) {
	tests := []struct {
		name                  string
		seqs                  []uint64
		gaps, dup, reord, too int64
	}{
		{"in order", []uint64{1, 2, 3, 4}, 0, 0, 0, 0},
		{"first lost", []uint64{2, 3}, 1, 0, 0, 0},
		{"gap", []uint64{1, 2, 5, 6}, 2, 0, 0, 0},
		{"duplicate", []uint64{1, 2, 2, 3, 1}, 0, 2, 0, 0},
		{"reorder fills gap", []uint64{1, 3, 2, 4}, 0, 0, 1, 0},
		{"reorder then duplicate", []uint64{1, 4, 2, 2, 3}, 0, 1, 2, 0},
		{"partial fill", []uint64{1, 5, 3}, 2, 0, 1, 0},
		{"large jump", []uint64{1, windowBits * 3}, windowBits*3 - 2, 0, 0, 0},
		{"stale bits cleared", []uint64{1, 2, windowBits + 1, windowBits + 3, windowBits + 2}, windowBits - 2, 0, 1, 0},
		// Too far behind to check: the gap stays counted.
		{"beyond window", []uint64{1, windowBits + 10, 2}, windowBits + 10 - 2, 0, 0, 1},
		// A line lost (2), then a very late duplicate (1): the loss still shows.
		{"late duplicate cannot hide a loss", []uint64{1, 3, windowBits + 10, 1}, 1 + windowBits + 10 - 3 - 1, 0, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w window
			var gaps, dup, reord, too int64
			for _, s := range tt.seqs {
				r := w.add(s)
				gaps += r.gaps
				if r.duplicated {
					dup++
				}
				if r.reordered {
					reord++
				}
				if r.tooLate {
					too++
				}
			}
			if gaps != tt.gaps || dup != tt.dup || reord != tt.reord || too != tt.too {
				t.Fatalf("got gaps=%d duplicated=%d reordered=%d too_late=%d; want %d, %d, %d, %d",
					gaps, dup, reord, too, tt.gaps, tt.dup, tt.reord, tt.too)
			}
		})
	}
}
