package record

import "testing"

// TestAck: an Ack is done once its creator and every batch carrying its
// lines released it, and fails when a batch was recycled unsettled; its
// function (NewAckFunc) is called once, then, with what OK reports.
func TestAck(t *testing.T) {
	for _, tc := range []struct {
		name   string
		settle []bool // by batch: SettleAcks(ok), or recycled unsettled when false
		wantOK bool
	}{
		{"no batch", nil, true},
		{"all settled", []bool{true, true, true}, true},
		{"one dropped", []bool{true, false, true}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls []bool
			a := NewAckFunc(func(ok bool) { calls = append(calls, ok) })
			var bs []*Batch
			for range tc.settle {
				b := Get(0)
				b.Ack(a)
				if !b.Acked() {
					t.Fatal("Acked: false after Ack")
				}
				bs = append(bs, b)
			}
			// An output batch takes lines of two input batches: one
			// reference each, however many lines.
			out := Get(0)
			if len(bs) > 0 {
				out.AckFor(bs[0])
				out.AckFor(bs[0])
				if len(out.acks) != 1 {
					t.Fatalf("AckFor twice: %d references; want 1", len(out.acks))
				}
			}
			a.Release(true)
			for i, ok := range tc.settle {
				if ok {
					bs[i].SettleAcks(true)
				}
				Put(bs[i]) // fails the Ack unless settled
			}
			select {
			case <-a.Done():
				if len(bs) > 0 {
					t.Fatal("done while an output batch still carries its lines")
				}
			default:
			}
			if len(bs) > 0 && len(calls) != 0 {
				t.Fatalf("function called %d times while an output batch still carries its lines; want 0", len(calls))
			}
			out.SettleAcks(true)
			select {
			case <-a.Done():
			default:
				t.Fatal("not done once every reference was released")
			}
			if a.OK() != tc.wantOK {
				t.Errorf("OK: got %v; want %v", a.OK(), tc.wantOK)
			}
			if len(calls) != 1 || calls[0] != tc.wantOK {
				t.Errorf("function calls: got %v; want [%v]", calls, tc.wantOK)
			}
			Put(out)
		})
	}
}
