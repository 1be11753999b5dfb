package processor

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestSampleParams(t *testing.T) {
	for _, tt := range []struct{ params, want string }{
		{`{}`, "params.rate: must be between 2 and 1000000, got 0"},
		{`{"rate": 1}`, "params.rate: must be between 2"},
		{`{"rate": 2000000}`, "params.rate: must be between 2"},
		{`{"rate": 10, "always_keep": [""]}`, "params.always_keep[0]: must not be empty"},
		{`{"rate": 10, "key_attribute": "a", "key_regex": "(a)"}`, "set at most one of key_attribute, key_path and key_regex"},
		{`{"rate": 10, "key_regex": "a"}`, "params.key_regex: needs a group"},
		{`{"rate": 10, "key_regex": "("}`, "params.key_regex: "},
		{`{"rate": 10, "key_path": "a//b"}`, `params.key_path: key 2 of "a//b" is empty`},
		{`{"rate": 10, "key_attribute": ""}`, "params.key_attribute: must not be empty"},
	} {
		checkErr(t, "sample", tt.params, tt.want)
	}
}

func TestSampleRandom(t *testing.T) {
	p := build(t, "sample", `{"rate": 10, "always_keep": ["ERROR"]}`)
	var in []string
	for i := range 20000 {
		in = append(in, fmt.Sprintf("INFO line %d", i))
	}
	in = append(in, "ERROR a", "ERROR b")
	out := process(p, in...)
	errors := 0
	for _, l := range out {
		if strings.HasPrefix(l, "ERROR") {
			errors++
		}
	}
	if errors != 2 {
		t.Errorf("kept %d of 2 ERROR lines; want both, always_keep", errors)
	}
	// 1 in 10 of 20000: 2000 expected, a standard deviation of about 42.
	if n := len(out) - errors; n < 1700 || n > 2300 {
		t.Errorf("kept %d of 20000 lines at rate 10; want about 2000", n)
	}
}

// TestSampleRandomSmallBatches: each batch draws from a fresh random
// start, so batches of one line are kept 1 in rate too, and the lines of a
// long batch are kept alike at its start and at its end.
func TestSampleRandomSmallBatches(t *testing.T) {
	p := build(t, "sample", `{"rate": 10}`)
	kept := 0
	for range 20000 {
		kept += len(process(p, "INFO one line"))
	}
	if kept < 1700 || kept > 2300 {
		t.Errorf("kept %d of 20000 one-line batches at rate 10; want about 2000", kept)
	}
	var in []string
	for i := range 40000 {
		in = append(in, fmt.Sprintf("INFO line %d", i))
	}
	first := 0
	out := process(p, in...)
	for _, l := range out {
		var n int
		fmt.Sscanf(l, "INFO line %d", &n)
		if n < 20000 {
			first++
		}
	}
	// About 2000 in each half: a standard deviation of about 42.
	if second := len(out) - first; first < 1700 || first > 2300 || second < 1700 || second > 2300 {
		t.Errorf("kept %d of the first 20000 lines and %d of the last; want about 2000 each", first, second)
	}
}

func TestSampleByKey(t *testing.T) {
	for _, params := range []string{
		`{"rate": 4, "key_attribute": "trace_id"}`,
		`{"rate": 4, "key_path": "attributes/trace_id"}`,
	} {
		p := build(t, "sample", params)
		kept := map[string]int{}
		var in []string
		for trace := range 400 {
			for span := range 5 {
				in = append(in, fmt.Sprintf(`{"attributes":{"trace_id":"t%d"},"span":%d}`, trace, span))
			}
		}
		for _, l := range process(p, in...) {
			kept[l[len(`{"attributes":{"trace_id":"`):strings.Index(l, `"},`)]]++
		}
		for trace, n := range kept {
			if n != 5 {
				t.Errorf("%s: trace %s kept %d of its 5 lines; want all or none", params, trace, n)
			}
		}
		if len(kept) < 60 || len(kept) > 140 {
			t.Errorf("%s: kept %d of 400 traces at rate 4; want about 100", params, len(kept))
		}
		// Deterministic: another instance keeps the same traces.
		again := build(t, "sample", params)
		if a, b := process(p, in...), process(again, in...); !slices.Equal(a, b) {
			t.Errorf("%s: two instances kept different lines", params)
		}
	}
	p := build(t, "sample", `{"rate": 3, "key_regex": "user=(\\w+)"}`)
	var in []string
	for u := range 300 {
		in = append(in, fmt.Sprintf("login user=u%d ok", u), fmt.Sprintf("logout user=u%d ok", u))
	}
	kept := map[string]int{}
	for _, l := range process(p, in...) {
		kept[strings.Fields(l)[1]]++
	}
	for u, n := range kept {
		if n != 2 {
			t.Errorf("key_regex: %s kept %d of 2 lines", u, n)
		}
	}
}

func TestRateLimit(t *testing.T) {
	checkErr(t, "rate_limit", `{}`, "params.lines_per_second: must be between 1")
	checkErr(t, "rate_limit", `{"lines_per_second": 5, "max_keys": -1}`, "params.max_keys: must be between 1")
	r := build(t, "rate_limit", `{"lines_per_second": 3, "key_regex": "svc=(\\w+)", "max_keys": 2}`).(*rateLimit)
	run := func(now int64, in ...string) []string {
		b := newBatch(in...)
		r.process(b, now)
		return lines(b)
	}
	in := []string{"svc=a 1", "svc=a 2", "svc=b 1", "svc=a 3", "svc=a 4", "svc=c 1", "nokey 1", "svc=c 2", "nokey 2"}
	// a and b are tracked; c and the lines without a key share a budget.
	want := []string{"svc=a 1", "svc=a 2", "svc=b 1", "svc=a 3", "svc=c 1", "nokey 1", "svc=c 2"}
	if got := run(100, in...); !slices.Equal(got, want) {
		t.Errorf("second 100: got %q; want %q", got, want)
	}
	if got := run(100, "svc=a 5", "svc=b 2"); !slices.Equal(got, []string{"svc=b 2"}) {
		t.Errorf("same second: got %q; want only b's second line", got)
	}
	if got := run(101, "svc=a 6", "svc=a 7"); len(got) != 2 {
		t.Errorf("next second: got %q; want both lines, a new budget", got)
	}
	all := build(t, "rate_limit", `{"lines_per_second": 2}`).(*rateLimit)
	b := newBatch("x", "y", "z")
	all.process(b, 5)
	if got := lines(b); !slices.Equal(got, []string{"x", "y"}) {
		t.Errorf("no key: got %q; want the first two", got)
	}
	b = newBatch("w")
	if all.process(b, 5); len(b.Lines) != 0 {
		t.Errorf("no key, same second: got %q; want none", lines(b))
	}
	b = newBatch("u", "v", "w")
	if all.process(b, 6); !slices.Equal(lines(b), []string{"u", "v"}) {
		t.Errorf("no key, next second: got %q; want the first two", lines(b))
	}
	one := build(t, "rate_limit", `{"lines_per_second": 4}`).(*rateLimit)
	for i, want := range []int{3, 1, 0} {
		b := newBatch("a", "b", "c")
		if one.process(b, 7); len(b.Lines) != want {
			t.Errorf("no key, batch %d of a second: %d lines passed; want %d", i, len(b.Lines), want)
		}
	}
}

func TestDedup(t *testing.T) {
	checkErr(t, "dedup", `{"window_ms": 0}`, "params.window_ms: must be between 1")
	checkErr(t, "dedup", `{"max_lines": -5}`, "params.max_lines: must be between 1")
	d := build(t, "dedup", `{"window_ms": 1000}`).(*dedup)
	sec := int64(time.Second)
	run := func(now int64, in ...string) []string {
		b := newBatch(in...)
		d.process(b, now)
		return lines(b)
	}
	if got := run(0, "disk full", "disk full", "ok", "disk full"); !slices.Equal(got, []string{"disk full", "ok"}) {
		t.Errorf("window 1: got %q", got)
	}
	if got := run(sec/2, "disk full"); len(got) != 0 {
		t.Errorf("within the window: got %q; want the copy dropped", got)
	}
	if got := run(sec, "disk full", "disk full"); !slices.Equal(got, []string{"disk full repeated=3"}) {
		t.Errorf("after the window: got %q; want the next copy with the 3 dropped", got)
	}
	if got := run(3*sec, `{"msg":"x"}`, `{"msg":"x"}`); !slices.Equal(got, []string{`{"msg":"x"}`}) {
		t.Errorf("json: got %q", got)
	}
	if got := run(5*sec, `{"msg":"x"} `); !slices.Equal(got, []string{`{"msg":"x"} `}) {
		t.Errorf("json, other bytes: got %q; want it kept, a new kind", got)
	}
	if got := run(5*sec, `{"msg":"x"}`); !slices.Equal(got, []string{`{"msg":"x","repeated":1}`}) {
		t.Errorf("json after the window: got %q", got)
	}
	if got := appendRepeated(nil, []byte(`{ }`), 2); string(got) != `{ "repeated":2}` {
		t.Errorf("empty object: got %s", got)
	}

	m := build(t, "dedup", `{"mask_digits": true, "max_lines": 2}`).(*dedup)
	b := newBatch("took 12 ms", "took 345 ms", "a 1", "b 1", "c 1", "b 2")
	m.process(b, 0)
	// took and a are tracked; b and c find no room and pass untracked.
	if got := lines(b); !slices.Equal(got, []string{"took 12 ms", "a 1", "b 1", "c 1", "b 2"}) {
		t.Errorf("mask_digits, max_lines 2: got %q", got)
	}
	b = newBatch("b 3")
	m.process(b, 11*sec) // a's window is over with nothing to report: room
	b = newBatch("b 4")
	m.process(b, 11*sec)
	if got := lines(b); len(got) != 0 {
		t.Errorf("after eviction: got %q; want b tracked and its copy dropped", got)
	}
}

// TestDedupForgets: kinds whose window is over are forgotten as time
// passes, so new ones find room; the expiry list stays within two per kind
// tracked, however many lines go by.
func TestDedupForgets(t *testing.T) {
	d := build(t, "dedup", `{"window_ms": 1000, "max_lines": 100}`).(*dedup)
	ms := int64(time.Millisecond)
	n := 0
	for now := int64(0); now < 10_000*ms; now += 10 * ms {
		// Each 10 ms: 5 new kinds and a copy of a steady one.
		var in []string
		for range 5 {
			n++
			in = append(in, "request "+strconv.Itoa(n))
		}
		in = append(in, "heartbeat")
		b := newBatch(in...)
		d.process(b, now)
		if got := len(b.Lines); got != 5 && got != 6 {
			t.Fatalf("at %d ms: %d lines passed; want the 5 new ones, and the heartbeat once a window", now/ms, got)
		}
		if live := len(d.expiries) - d.head; live > 2*d.maxLines {
			t.Fatalf("at %d ms: %d expiries for %d kinds at most", now/ms, live, d.maxLines)
		}
	}
	// 500 new kinds a second against room for 100: a kind stays tracked
	// for its window only while there is room, and leaves when it is over.
	if len(d.seen) > d.maxLines {
		t.Fatalf("tracking %d kinds; at most %d", len(d.seen), d.maxLines)
	}
	// Every kind tracked is marked where a line of it looks first, and
	// the kinds forgotten are cleared from there now and then.
	for h := range d.seen {
		if !d.maybe.has(h) {
			t.Fatalf("kind %x is tracked but not marked: its copies would pass", h)
		}
	}
	if d.stale > d.maxLines/2 {
		t.Fatalf("%d forgotten kinds still marked; at most %d", d.stale, d.maxLines/2)
	}
	b := newBatch("heartbeat")
	d.process(b, 9_995*ms) // its last pass was at 9,000 ms
	if len(b.Lines) != 0 {
		t.Errorf("a heartbeat within its window passed: the steady kind was forgotten")
	}
}

// TestDedupSketched: once every kind tracked is in its window, a long
// line is first looked up by its sketch. A copy of a kind tracked is
// still dropped, which fails if kinds' sketches are not marked; a line
// with the sketch of a tracked kind but other bytes passes, which fails
// if the sketch were taken for the line's hash.
func TestDedupSketched(t *testing.T) {
	d := build(t, "dedup", `{"window_ms": 1000, "max_lines": 2}`).(*dedup)
	pad := strings.Repeat(" 0123456789", 10)
	a := "2026-12-07T13:48:52.931Z INFO request served" + pad
	b := "2026-12-07T13:48:52.931Z INFO request failed" + pad
	// twin is a but for byte 55: past the first 48, before the middle 8.
	twin := a[:55] + "X" + a[56:]
	if mid := len(a)/2 - 4; mid <= 55 || sketch([]byte(twin)) != sketch([]byte(a)) {
		t.Fatalf("twin differs from a in a byte the sketch reads")
	}
	other := "2026-12-07T13:48:53.002Z WARN retrying" + pad
	batch := newBatch(a, b, a, twin, other, b, twin)
	d.process(batch, 0)
	// a and b are tracked and the table is full: the copies of a and b
	// are dropped, twin and other pass untracked.
	if got, want := lines(batch), []string{a, b, twin, other, twin}; !slices.Equal(got, want) {
		t.Errorf("got %q; want %q", got, want)
	}
	for _, e := range d.seen {
		if e.sketch == 0 || !d.sketched.has(e.sketch) {
			t.Errorf("a kind of %d-byte lines is tracked without its sketch marked", len(a))
		}
	}
}

// TestSamplingCountedApart: the chain counts the lines of sampling types
// as sampled, through the step's Samples flag.
func TestSamplingCountedApart(t *testing.T) {
	for typ, want := range map[string]bool{"sample": true, "rate_limit": true, "dedup": true, "filter": false, "redact": false} {
		params := map[string]string{"sample": `{"rate": 2}`, "rate_limit": `{"lines_per_second": 1}`, "dedup": `{}`,
			"filter": `{"value": "x"}`, "redact": `{"detector": "ssn"}`}[typ]
		s, err := Build(Config{ID: "r", Type: typ, Params: []byte(params)})
		if err != nil {
			t.Fatal(err)
		}
		if s.Samples != want {
			t.Errorf("%s: Samples = %v; want %v", typ, s.Samples, want)
		}
	}
}
