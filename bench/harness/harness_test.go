package harness

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/pprof/profile"

	"streamgate/bench/result"
)

func TestTop(t *testing.T) {
	fn := func(id uint64, name string) *profile.Function { return &profile.Function{ID: id, Name: name} }
	a, b, c := fn(1, "a"), fn(2, "b"), fn(3, "c")
	loc := func(id uint64, f *profile.Function) *profile.Location {
		return &profile.Location{ID: id, Line: []profile.Line{{Function: f}}}
	}
	la, lb, lc := loc(1, a), loc(2, b), loc(3, c)
	p := &profile.Profile{
		SampleType: []*profile.ValueType{{Type: "samples", Unit: "count"}, {Type: "cpu", Unit: "nanoseconds"}},
		Sample: []*profile.Sample{
			{Location: []*profile.Location{la, lb}, Value: []int64{1, 60}}, // a called by b
			{Location: []*profile.Location{lb, lc}, Value: []int64{1, 30}}, // b called by c
			{Location: []*profile.Location{lc}, Value: []int64{1, 10}},
		},
	}
	got := Top(p, 2)
	if len(got) != 2 {
		t.Fatalf("Top: got %d entries; want 2", len(got))
	}
	if got[0].Function != "a" || got[0].FlatPct != 60 || got[0].CumPct != 60 {
		t.Errorf("first: got %+v; want a 60%% flat, 60%% cum", got[0])
	}
	if got[1].Function != "b" || got[1].FlatPct != 30 || got[1].CumPct != 90 {
		t.Errorf("second: got %+v; want b 30%% flat, 90%% cum", got[1])
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{
		{nil, 0}, {[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 3},
	} {
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v): got %v; want %v", c.in, got, c.want)
		}
	}
}

func TestWithBuffer(t *testing.T) {
	got := withBuffer(`{"type":"tcp","url":"tcp://127.0.0.1:1"}`, diskInterval)
	want := `{"type":"tcp","url":"tcp://127.0.0.1:1","buffer":` + diskInterval + `}`
	if got != want {
		t.Fatalf("got %s; want %s", got, want)
	}
}

func TestRunOnlyUnknown(t *testing.T) {
	h := &Harness{cfg: Config{Only: []string{"S9_none"}}, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	scs, err := h.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "unknown scenario S9_none") || len(scs) != 0 {
		t.Fatalf("got %d scenarios, error %v; want none, and the unknown name", len(scs), err)
	}
}

func TestFraction(t *testing.T) {
	sc := func(runs ...float64) *result.Scenario {
		return &result.Scenario{Runs: runs, Throughput: median(runs)}
	}
	for _, tt := range []struct {
		name string
		a, b *result.Scenario
		want float64
	}{
		// The machine slows down between runs: each pair is 0.5, the
		// medians' ratio is not.
		{"paired", sc(100, 50, 25), sc(200, 100, 50), 0.5},
		{"even", sc(60, 40), sc(100, 100), 0.5},
		{"unpaired", sc(90), sc(100, 300), 0.45},
		{"rounded", sc(39.96), sc(100), 0.4},
		{"none", sc(), sc(100), 0},
		{"zero base", sc(10), sc(), 0},
	} {
		if got := fraction(tt.a, tt.b); got != tt.want {
			t.Errorf("%s: fraction = %v, want %v", tt.name, got, tt.want)
		}
	}
	// The gates compare the ratio unrounded: 0.3996 is under 0.4.
	if r := ratio(sc(39.96), sc(100)); r >= FloorGate {
		t.Errorf("ratio = %v, want it under the gate %v", r, FloorGate)
	}
}
