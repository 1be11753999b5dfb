package tap

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	vm "github.com/VictoriaMetrics/metrics"

	"streamgate/dataplane/processor"
	"streamgate/dataplane/record"
)

func TestFilterMatch(t *testing.T) {
	kept := &Record{kept: true, Rules: []string{"ssn", "cards"}, Outputs: []string{"console", "http:http://h"}}
	plain := &Record{kept: true, Outputs: []string{"console"}}
	dropped := &Record{DroppedBy: "drop_debug", Rules: []string{"ssn", "drop_debug"}}
	for _, c := range []struct {
		name string
		f    Filter
		r    *Record
		want bool
	}{
		{"everything: kept", Filter{}, kept, true},
		{"everything: dropped", Filter{}, dropped, true},
		{"rule that rewrote", Filter{Rule: "cards"}, kept, true},
		{"rule that did not touch", Filter{Rule: "drop_debug"}, kept, false},
		{"rule on an untouched line", Filter{Rule: "ssn"}, plain, false},
		{"rule that dropped", Filter{Rule: "drop_debug"}, dropped, true},
		{"rule that rewrote, then another dropped", Filter{Rule: "ssn"}, dropped, true},
		{"output of the line", Filter{Output: "http:http://h"}, kept, true},
		{"other output", Filter{Output: "kafka"}, kept, false},
		{"output: a dropped line goes to none", Filter{Output: "console"}, dropped, false},
		{"rule and output", Filter{Rule: "ssn", Output: "console"}, kept, true},
		{"rule but not output", Filter{Rule: "ssn", Output: "kafka"}, kept, false},
		{"output but not rule", Filter{Rule: "x", Output: "console"}, kept, false},
		{"rule names are whole", Filter{Rule: "ss"}, kept, false},
	} {
		if got := c.f.Match(c.r); got != c.want {
			t.Errorf("%s: Match %v; want %v", c.name, got, c.want)
		}
	}
}

// traced runs lines through a filter and a redact rule, traced.
func traced(t *testing.T, lines ...string) ([]processor.Step, *processor.Trace, *record.Batch) {
	t.Helper()
	var steps []processor.Step
	for _, c := range []processor.Config{
		{ID: "drop_debug", Type: "filter", Params: json.RawMessage(`{"value":"DEBUG"}`)},
		{ID: "ssn", Type: "redact", Params: json.RawMessage(`{"pattern":"\\d{3}-\\d{2}-\\d{4}"}`)},
	} {
		s, err := processor.Build(c)
		if err != nil {
			t.Fatal(err)
		}
		steps = append(steps, s)
	}
	b := &record.Batch{}
	for _, l := range lines {
		b.AppendLine([]byte(l))
	}
	tr := new(processor.Trace)
	processor.NewChain(steps...).RunTraced(b, false, tr)
	return steps, tr, b
}

func TestRecords(t *testing.T) {
	steps, tr, b := traced(t, "DEBUG 123-45-6789", "ssn 123-45-6789", "plain")
	recs := Records(steps, tr, b, []string{"console"}, false)
	if len(recs) != 3 {
		t.Fatalf("got %d records; want 3", len(recs))
	}
	if r := recs[0]; r.kept || r.DroppedBy != "drop_debug" || r.src != nil || !slices.Equal(r.Rules, []string{"drop_debug"}) || r.Outputs != nil {
		t.Errorf("dropped line: %+v", r)
	}
	if r := recs[1]; !r.kept || string(r.src) != "ssn [REDACTED]" || !slices.Equal(r.Rules, []string{"ssn"}) || !slices.Equal(r.Outputs, []string{"console"}) {
		t.Errorf("redacted line: %+v", r)
	}
	if r := recs[2]; !r.kept || string(r.src) != "plain" || r.Rules != nil {
		t.Errorf("plain line: %+v", r)
	}
}

// collect takes what is queued for tp without waiting.
func collect(tp *Tap) []*Record {
	var out []*Record
	for {
		select {
		case r, ok := <-tp.C:
			if !ok {
				return out
			}
			out = append(out, r)
		default:
			return out
		}
	}
}

func TestHubSendsFilteredLines(t *testing.T) {
	sent := new(vm.Counter)
	h := NewHub(Options{Sent: sent})
	if h.Active() {
		t.Fatal("Active with no tap attached")
	}
	all, _ := h.Attach(Filter{}, 100)
	ssn, _ := h.Attach(Filter{Rule: "ssn"}, 100)
	if !h.Active() || h.Attached() != 2 {
		t.Fatalf("Active %v, Attached %d; want true, 2", h.Active(), h.Attached())
	}
	steps, tr, b := traced(t, "DEBUG 123-45-6789", "ssn 123-45-6789", "plain")
	h.Offer(steps, tr, b, []string{"console"}, false)
	got := collect(all)
	if len(got) != 3 || got[0].Line != nil || got[0].DroppedBy != "drop_debug" || *got[1].Line != "ssn [REDACTED]" || *got[2].Line != "plain" {
		t.Errorf("unfiltered tap: %+v", got)
	}
	if got := collect(ssn); len(got) != 1 || *got[0].Line != "ssn [REDACTED]" {
		t.Errorf("rule=ssn tap: %+v", got)
	}
	for _, r := range got {
		raw, _ := json.Marshal(r)
		if strings.Contains(string(raw), "6789") {
			t.Errorf("a record shows the secret: %s", raw)
		}
	}
	if sent.Get() != 4 {
		t.Errorf("sent %d; want 4", sent.Get())
	}
}

func TestHubBounds(t *testing.T) {
	t.Run("n", func(t *testing.T) {
		h := NewHub(Options{})
		tp, _ := h.Attach(Filter{}, 2)
		steps, tr, b := traced(t, "a", "b", "c")
		h.Offer(steps, tr, b, nil, false)
		if got := collect(tp); len(got) != 2 {
			t.Errorf("got %d records; want 2", len(got))
		}
		if _, ok := <-tp.C; ok || h.Active() {
			t.Error("the tap is still attached after its n lines")
		}
	})
	t.Run("rate", func(t *testing.T) {
		skipped := new(vm.Counter)
		h := NewHub(Options{Rate: 2, SkippedRate: skipped})
		tp, _ := h.Attach(Filter{}, 100)
		steps, tr, b := traced(t, "a", "b", "c", "d", "e")
		h.Offer(steps, tr, b, nil, false)
		// A burst of a second's worth goes at once; the rest waits for
		// time that a test does not give it.
		if got := collect(tp); len(got) != 2 {
			t.Errorf("got %d records; want 2", len(got))
		}
		if skipped.Get() != 3 {
			t.Errorf("skipped for the rate %d; want 3", skipped.Get())
		}
	})
	t.Run("slow reader", func(t *testing.T) {
		slow := new(vm.Counter)
		h := NewHub(Options{Rate: 1e6, SkippedSlow: slow})
		tp, _ := h.Attach(Filter{}, 10000)
		lines := make([]string, chanLines+10)
		for i := range lines {
			lines[i] = "x"
		}
		steps, tr, b := traced(t, lines...)
		h.Offer(steps, tr, b, nil, false)
		if got := collect(tp); len(got) != chanLines {
			t.Errorf("got %d records; want %d", len(got), chanLines)
		}
		if slow.Get() != 10 {
			t.Errorf("skipped for a slow reader %d; want 10", slow.Get())
		}
	})
	t.Run("max taps", func(t *testing.T) {
		refused := new(vm.Counter)
		h := NewHub(Options{MaxTaps: 1, Refused: refused})
		first, err := h.Attach(Filter{}, 1)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.Attach(Filter{}, 1); !errors.Is(err, ErrTooMany) {
			t.Errorf("a second tap: %v; want ErrTooMany", err)
		}
		if refused.Get() != 1 {
			t.Errorf("refused %d; want 1", refused.Get())
		}
		h.Detach(first)
		h.Detach(first) // twice is harmless
		if _, err := h.Attach(Filter{}, 1); err != nil {
			t.Errorf("a tap once the first left: %v", err)
		}
	})
	t.Run("close", func(t *testing.T) {
		h := NewHub(Options{})
		tp, _ := h.Attach(Filter{}, 1)
		h.Close()
		if _, ok := <-tp.C; ok || h.Active() {
			t.Error("a tap survives Close")
		}
		if _, err := h.Attach(Filter{}, 1); !errors.Is(err, ErrClosed) {
			t.Errorf("Attach after Close: %v; want ErrClosed", err)
		}
		var nilHub *Hub
		nilHub.Close()
		if nilHub.Active() {
			t.Error("a nil hub is active")
		}
	})
}
