package output

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

func newTestLoki(t *testing.T, c *Config, timing retryTiming) *lokiOutput {
	t.Helper()
	c.Type = "loki"
	if err := Validate(c); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	o, err := newLokiOutput(c, timing)
	if err != nil {
		t.Fatalf("newLokiOutput: %v", err)
	}
	t.Cleanup(func() { o.Close() })
	return o
}

func TestValidateLoki(t *testing.T) {
	many := make(map[string]string)
	for i := range 14 {
		many["l"+strconv.Itoa(i)] = "v"
	}
	tests := []struct {
		name string
		c    Config
		want string // error prefix; "" for valid
	}{
		{"valid", Config{URL: "http://localhost:3100"}, ""},
		{"valid full", Config{URL: "https://logs.example/loki/api/v1/push", Labels: map[string]string{"job": "a", "_env": "b"},
			LabelFields: StringList{"service.name", "level", "9lives"}, MaxStreams: 10000, TenantID: "team-a_(1)"}, ""},
		{"no url", Config{}, "url: required for loki output"},
		{"bad label name", Config{URL: "http://h", Labels: map[string]string{"service.name": "x"}}, `labels["service.name"]: name has invalid character '.'`},
		{"digit first", Config{URL: "http://h", Labels: map[string]string{"1a": "x"}}, `labels["1a"]: name has invalid character '1'`},
		{"reserved label", Config{URL: "http://h", Labels: map[string]string{"__name__": "x"}}, `labels["__name__"]: names starting with __ are reserved`},
		{"overflow label", Config{URL: "http://h", Labels: map[string]string{"streamgate_overflow": "x"}}, `labels["streamgate_overflow"]: reserved`},
		{"empty value", Config{URL: "http://h", Labels: map[string]string{"a": ""}}, `labels["a"]: value is empty`},
		{"long value", Config{URL: "http://h", Labels: map[string]string{"a": strings.Repeat("x", 1025)}}, `labels["a"]: value is longer than 1024 bytes`},
		{"bad UTF-8", Config{URL: "http://h", Labels: map[string]string{"a": "\xff"}}, `labels["a"]: value is not valid UTF-8`},
		{"empty field", Config{URL: "http://h", LabelFields: StringList{"a", ""}}, "label_fields[1]: empty"},
		{"field is a static label", Config{URL: "http://h", LabelFields: StringList{"job"}}, `label_fields[0]: label job is already labels["job"]`},
		{"fields collide", Config{URL: "http://h", LabelFields: StringList{"a.b", "a_b"}}, "label_fields[1]: label a_b is already label_fields[0]"},
		{"field is the overflow label", Config{URL: "http://h", LabelFields: StringList{"streamgate.overflow"}}, "label_fields[0]: label streamgate_overflow is already the overflow label"},
		{"reserved field", Config{URL: "http://h", LabelFields: StringList{"__x"}}, "label_fields[0]: label __x starts with __"},
		{"too many labels", Config{URL: "http://h", Labels: many, LabelFields: StringList{"a", "b"}}, "label_fields: 16 labels with those of labels, more than Loki's default 15"},
		{"negative max_streams", Config{URL: "http://h", MaxStreams: -1}, "max_streams: must be between 1 and 10000"},
		{"huge max_streams", Config{URL: "http://h", MaxStreams: 10001}, "max_streams: must be between 1 and 10000"},
		{"bad tenant", Config{URL: "http://h", TenantID: "a/b"}, "tenant_id: has invalid character '/'"},
		{"dot tenant", Config{URL: "http://h", TenantID: ".."}, `tenant_id: ".." is not a valid tenant ID`},
		{"long tenant", Config{URL: "http://h", TenantID: strings.Repeat("a", 151)}, "tenant_id: longer than 150 bytes"},
		{"bad header", Config{URL: "http://h", Headers: map[string]string{"X": "a\nb"}}, `headers["X"]: value has a control character`},
		{"index", Config{URL: "http://h", Index: "x"}, "index: not used by loki output"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.c
			c.Type = "loki"
			checkValidate(t, &c, tt.want)
		})
	}
}

func TestLabelName(t *testing.T) {
	for field, want := range map[string]string{"level": "level", "service.name": "service_name", "k8s-pod/name": "k8s_pod_name",
		"9lives": "_9lives", "é": "__"} {
		if got := labelName(field); got != want {
			t.Errorf("labelName(%q): got %q; want %q", field, got, want)
		}
	}
}

// lokiPush is a decoded push request.
type lokiPush struct {
	Streams []struct {
		Stream map[string]string `json:"stream"`
		Values [][2]string       `json:"values"`
	} `json:"streams"`
}

// decodePush decodes a push body, checking that every timestamp is a
// string of nanoseconds and that each stream's are increasing. It returns
// each stream as "labels: line, line" with the labels sorted.
func decodePush(t *testing.T, body []byte) []string {
	t.Helper()
	var p lokiPush
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("push body %s: %v", body, err)
	}
	var out []string
	for _, s := range p.Streams {
		var labels []string
		for k, v := range s.Stream {
			labels = append(labels, k+"="+v)
		}
		sort.Strings(labels)
		var lines []string
		var last int64
		for _, v := range s.Values {
			ts, err := strconv.ParseInt(v[0], 10, 64)
			if err != nil || ts <= last {
				t.Errorf("stream %v: timestamp %q after %d; want increasing nanoseconds", labels, v[0], last)
			}
			last = ts
			lines = append(lines, v[1])
		}
		out = append(out, "{"+strings.Join(labels, ",")+"}: "+strings.Join(lines, " | "))
	}
	return out
}

func TestLokiWireFormat(t *testing.T) {
	lines := []string{
		`{"level":"info","service":{"name":"checkout"},"msg":"a"}`,
		`plain text line`,
		`{"level":"error","service.name":"cart","msg":"b"}`,
		`{"level":"info","service":{"name":"checkout"},"msg":"c"}`,
		`{"level":42,"msg":"number"}`,
		`{"level":true,"service":{"name":{"x":1}},"msg":"object and bool"}`,
		`{"level":null,"service.name":"","msg":"null and empty"}`,
		`{"level":"\u00e9rror","msg":"escaped"}`,
		`{"level":"` + strings.Repeat("x", 1025) + `"}`,
		`{"level":"warn",`,
	}
	want := []string{
		`{env=prod,job=streamgate,level=info,service_name=checkout}: ` + lines[0] + ` | ` + lines[3],
		`{env=prod,job=streamgate}: ` + strings.Join([]string{lines[1], lines[6], lines[8], lines[9]}, " | "),
		`{env=prod,job=streamgate,level=error,service_name=cart}: ` + lines[2],
		`{env=prod,job=streamgate,level=42}: ` + lines[4],
		`{env=prod,job=streamgate,level=true}: ` + lines[5],
		`{env=prod,job=streamgate,level=érror}: ` + lines[7],
	}
	for _, gz := range []bool{false, true} {
		t.Run(fmt.Sprintf("gzip=%v", gz), func(t *testing.T) {
			var bad []string
			srv := newServer(t, func(_ int, w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/loki/api/v1/push" || r.Header.Get("Content-Type") != "application/json" || r.Header.Get("X-Scope-OrgID") != "team-a" {
					bad = append(bad, r.URL.Path+" "+r.Header.Get("Content-Type")+" "+r.Header.Get("X-Scope-OrgID"))
				}
				w.WriteHeader(http.StatusNoContent)
			})
			o := newTestLoki(t, &Config{URL: srv.URL, Labels: map[string]string{"job": "streamgate", "env": "prod"},
				LabelFields: StringList{"service.name", "level"}, TenantID: "team-a", Gzip: gz,
				Headers: map[string]string{"X-Scope-OrgID": "overridden"}}, fastRetries)
			if err := o.Write(context.Background(), batchOf(lines...)); err != nil {
				t.Fatalf("Write: %v", err)
			}
			reqs := srv.requests()
			if len(reqs) != 1 {
				t.Fatalf("server saw %d requests; want 1", len(reqs))
			}
			if len(bad) > 0 {
				t.Errorf("unexpected requests: %v", bad)
			}
			if (reqs[0].header.Get("Content-Encoding") == "gzip") != gz {
				t.Errorf("Content-Encoding %q with gzip %v", reqs[0].header.Get("Content-Encoding"), gz)
			}
			got := decodePush(t, reqs[0].body)
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("streams:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

// TestLokiTimestamps checks that timestamps increase across batches sent
// within the same nanosecond, and follow the clock otherwise.
func TestLokiTimestamps(t *testing.T) {
	o := newTestLoki(t, &Config{URL: "http://127.0.0.1:1"}, fastRetries)
	now := time.Unix(1714564800, 0)
	o.now = func() time.Time { return now }
	s := &lokiScratch{index: make(map[string]int)}
	var stamps []int64
	for range 2 {
		clear(s.index)
		var p lokiPush
		if err := json.Unmarshal(o.encode(s, nil, [][]byte{[]byte("a"), []byte("b")}), &p); err != nil {
			t.Fatal(err)
		}
		for _, v := range p.Streams[0].Values {
			ts, _ := strconv.ParseInt(v[0], 10, 64)
			stamps = append(stamps, ts)
		}
	}
	base := now.UnixNano()
	if want := []int64{base, base + 1, base + 2, base + 3}; fmt.Sprint(stamps) != fmt.Sprint(want) {
		t.Errorf("timestamps: %v; want %v", stamps, want)
	}
	now = now.Add(time.Second)
	if got := o.timestamps(now.UnixNano(), 1); got != now.UnixNano() {
		t.Errorf("timestamp a second later: %d; want %d", got, now.UnixNano())
	}
}

// TestLokiMaxStreams checks the cardinality cap: new streams past
// max_streams go to the overflow stream and are counted, the streams
// admitted keep their place across batches, and a stream idle for long
// gives its place up.
func TestLokiMaxStreams(t *testing.T) {
	srv := newServer(t, statuses(http.StatusNoContent))
	o := newTestLoki(t, &Config{URL: srv.URL, Labels: map[string]string{"job": "j"}, LabelFields: StringList{"user"}, MaxStreams: 2}, fastRetries)
	now := time.Unix(1714564800, 0)
	o.now = func() time.Time { return now }
	line := func(user string) string { return `{"user":"` + user + `"}` }
	// The counter is process-wide and named after the URL: an earlier
	// test's output on a port used again may have counted already.
	start := o.overflow.Get()

	tests := []struct {
		name     string
		advance  time.Duration
		lines    []string
		want     []string
		overflow uint64
	}{
		{"two streams fit, two overflow", 0,
			[]string{line("a"), "no user", line("b"), line("c"), line("a")},
			[]string{
				`{job=j,user=a}: ` + line("a") + ` | ` + line("a"),
				`{job=j}: no user`,
				`{job=j,streamgate_overflow=true}: ` + line("b") + ` | ` + line("c"),
			}, 2},
		{"admitted streams keep their place", time.Minute,
			[]string{line("d"), "no user", line("a")},
			[]string{
				`{job=j,streamgate_overflow=true}: ` + line("d"),
				`{job=j}: no user`,
				`{job=j,user=a}: ` + line("a"),
			}, 1},
		{"idle streams give their place up", time.Hour,
			[]string{"no user", line("d"), line("e")},
			[]string{
				`{job=j}: no user`,
				`{job=j,user=d}: ` + line("d"),
				`{job=j,streamgate_overflow=true}: ` + line("e"),
			}, 1},
	}
	for i, tt := range tests {
		now = now.Add(tt.advance)
		before := o.overflow.Get()
		if err := o.Write(context.Background(), batchOf(tt.lines...)); err != nil {
			t.Fatalf("%s: Write: %v", tt.name, err)
		}
		got := decodePush(t, srv.requests()[i].body)
		if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
			t.Errorf("%s: streams:\n%s\nwant:\n%s", tt.name, strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
		}
		if n := o.overflow.Get() - before; n != tt.overflow {
			t.Errorf("%s: overflow counter +%d; want +%d", tt.name, n, tt.overflow)
		}
	}
	var b strings.Builder
	WritePrometheus(&b)
	if want := `streamgate_loki_overflow_lines_total{output="loki:` + srv.URL + `"} ` + strconv.FormatUint(start+4, 10) + "\n"; !strings.Contains(b.String(), want) {
		t.Errorf("exposition lacks %q:\n%s", want, b.String())
	}
}

func TestLokiWrite(t *testing.T) {
	tests := []struct {
		name     string
		respond  func(n int, w http.ResponseWriter, r *http.Request)
		requests int
		wantErr  string
	}{
		{"204", statuses(204), 1, ""},
		{"429 then 204", statuses(429, 204), 2, ""},
		{"500 then 204", statuses(500, 204), 2, ""},
		{"400 not retried", statuses(400), 1, "status 400 Bad Request, not retried"},
		{"retries run out", statuses(503), 3, "giving up after 3 attempts: status 503 Service Unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, tt.respond)
			o := newTestLoki(t, &Config{URL: srv.URL, MaxRetries: intPtr(2)}, fastRetries)
			err := o.Write(context.Background(), batchOf("x"))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Write: %v; want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("Write: %v; want an error containing %q", err, tt.wantErr)
			}
			if n := len(srv.requests()); n != tt.requests {
				t.Errorf("server saw %d requests; want %d", n, tt.requests)
			}
			for _, r := range srv.requests() {
				if got := decodePush(t, r.body); len(got) != 1 || got[0] != "{job=streamgate}: x" {
					t.Errorf("push: %v; want the default label job=streamgate", got)
				}
			}
		})
	}
}

// TestLokiConcurrentWrites checks that concurrent lanes share the stream
// set safely (run with -race).
func TestLokiConcurrentWrites(t *testing.T) {
	srv := newServer(t, statuses(204))
	o := newTestLoki(t, &Config{URL: srv.URL, LabelFields: StringList{"k"}, MaxStreams: 5}, fastRetries)
	done := make(chan error)
	for w := range 4 {
		go func() {
			var err error
			for i := range 20 {
				if e := o.Write(context.Background(), batchOf(`{"k":"`+strconv.Itoa(w*20+i)+`"}`, `{"k":"0"}`)); e != nil {
					err = e
				}
			}
			done <- err
		}()
	}
	for range 4 {
		if err := <-done; err != nil {
			t.Errorf("Write: %v", err)
		}
	}
	o.mu.Lock()
	n := len(o.streams)
	o.mu.Unlock()
	if n != 5 {
		t.Errorf("streams: %d; want the cap, 5", n)
	}
}
