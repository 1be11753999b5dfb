package record

import "testing"

// TestHeldBatchLifetime checks that a retained batch is recycled only after
// its holder and every batch holding it have released it.
func TestHeldBatchLifetime(t *testing.T) {
	src := Get(4096)
	src.Data = append(src.Data, "one\ntwo"...)
	src.Lines = append(src.Lines, src.Data[:3], src.Data[4:])
	src.Retain()

	a, b := &Batch{}, &Batch{}
	a.AppendHeld(src, src.Lines[0])
	a.AppendHeld(src, src.Lines[1]) // the same source: one reference
	b.AppendHeld(src, src.Lines[1])
	if got := src.refs.Load(); got != 3 {
		t.Fatalf("refs: got %d; want 3 (holder, a, b)", got)
	}
	if got, want := a.Footprint(), 24*cap(a.Lines)+6; got != want {
		t.Fatalf("footprint: got %d; want %d (line headers + held line bytes)", got, want)
	}
	src.Release()
	a.ReleaseHolds()
	if string(b.Lines[0]) != "two" || len(src.Lines) != 2 {
		t.Fatalf("src recycled while b still holds it")
	}
	b.ReleaseHolds()
	if got := src.refs.Load(); got != 0 || len(src.Lines) != 0 {
		t.Fatalf("after the last release: refs %d, lines %d; want the batch recycled", got, len(src.Lines))
	}
}

func TestResetWithHoldsPanics(t *testing.T) {
	src := &Batch{}
	src.Retain()
	b := &Batch{}
	b.AppendHeld(src, []byte("x"))
	defer func() {
		if recover() == nil {
			t.Fatal("Reset of a batch holding another: want a panic")
		}
	}()
	b.Reset()
}
