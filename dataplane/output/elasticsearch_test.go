package output

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

func newTestElasticsearch(t *testing.T, c *Config, timing retryTiming) *elasticsearchOutput {
	t.Helper()
	c.Type = "elasticsearch"
	if err := Validate(c); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	o, err := newElasticsearchOutput(c, timing)
	if err != nil {
		t.Fatalf("newElasticsearchOutput: %v", err)
	}
	t.Cleanup(func() { o.Close() })
	return o
}

func TestValidateElasticsearch(t *testing.T) {
	tests := []struct {
		name string
		c    Config
		want string // error prefix; "" for valid
	}{
		{"valid", Config{URL: "http://localhost:9200", Index: "logs"}, ""},
		{"valid pattern", Config{URL: "https://u:p@es:9200/prefix", Index: "logs-%Y.%m.%d-100%%"}, ""},
		{"no url", Config{Index: "logs"}, "url: required for elasticsearch output"},
		{"bad scheme", Config{URL: "es://h", Index: "logs"}, "url: scheme must be http or https"},
		{"no index", Config{URL: "http://h"}, "index: required for elasticsearch output"},
		{"upper case", Config{URL: "http://h", Index: "Logs"}, "index: must be lower case"},
		{"upper case verb", Config{URL: "http://h", Index: "logs-%H"}, "index: unknown %H"},
		{"lone percent", Config{URL: "http://h", Index: "logs-%"}, "index: ends with a lone %"},
		{"forbidden character", Config{URL: "http://h", Index: "logs/app"}, `index: must not contain '/'`},
		{"space", Config{URL: "http://h", Index: "my logs"}, `index: must not contain ' '`},
		{"leading underscore", Config{URL: "http://h", Index: "_logs"}, `index: must not start with '_'`},
		{"dot", Config{URL: "http://h", Index: "."}, `index: "." is not a valid index name`},
		{"too long", Config{URL: "http://h", Index: strings.Repeat("a", 250) + "%Y%m"}, "index: longer than 255 bytes"},
		{"bad header", Config{URL: "http://h", Index: "logs", Headers: map[string]string{"Content-Encoding": "br"}}, `headers["Content-Encoding"]: set by the output`},
		{"negative timeout", Config{URL: "http://h", Index: "logs", TimeoutMS: -5}, "timeout_ms: must not be negative"},
		{"labels", Config{URL: "http://h", Index: "logs", Labels: map[string]string{"a": "b"}}, "labels: not used by elasticsearch output"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.c
			c.Type = "elasticsearch"
			checkValidate(t, &c, tt.want)
		})
	}
}

func TestIndexPattern(t *testing.T) {
	day := time.Date(2024, 5, 1, 23, 59, 0, 0, time.UTC)
	for _, tt := range []struct{ pattern, want string }{
		{"logs", "logs"},
		{"logs-%Y.%m.%d", "logs-2024.05.01"},
		{"%Y%m%d", "20240501"},
		{"a%%b-%d", "a%b-01"},
	} {
		parts, err := parseIndexPattern(tt.pattern)
		if err != nil {
			t.Fatalf("parseIndexPattern(%q): %v", tt.pattern, err)
		}
		if got := string(appendIndex(nil, parts, day)); got != tt.want {
			t.Errorf("index of %q: got %q; want %q", tt.pattern, got, tt.want)
		}
	}
	if got := string(appendIndex(nil, []indexPart{{verb: 'Y'}}, time.Date(812, 1, 1, 0, 0, 0, 0, time.UTC))); got != "0812" {
		t.Errorf("year 812: got %q; want 0812", got)
	}
}

// bulkItem is the result of one document of a fake bulk response.
type bulkItem struct {
	status int
	typ    string // error type
}

// bulkReply answers a bulk request with items, as Elasticsearch does.
func bulkReply(w http.ResponseWriter, items []bulkItem) {
	var b strings.Builder
	errs := false
	for _, it := range items {
		errs = errs || it.status >= 300
	}
	fmt.Fprintf(&b, `{"errors":%v,"items":[`, errs)
	for i, it := range items {
		if i > 0 {
			b.WriteString(",")
		}
		if it.typ != "" {
			fmt.Fprintf(&b, `{"create":{"status":%d,"error":{"type":%q}}}`, it.status, it.typ)
		} else {
			fmt.Fprintf(&b, `{"create":{"status":%d}}`, it.status)
		}
	}
	b.WriteString("]}")
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte(b.String()))
}

// bulkDocs checks the NDJSON of a bulk request, every action a create in
// index, and returns the documents.
func bulkDocs(t *testing.T, body []byte, index string) []map[string]any {
	t.Helper()
	if len(body) == 0 || body[len(body)-1] != '\n' {
		t.Fatalf("bulk body does not end with a newline: %q", body)
	}
	lines := strings.Split(strings.TrimSuffix(string(body), "\n"), "\n")
	if len(lines)%2 != 0 {
		t.Fatalf("bulk body has %d lines; want action and document pairs", len(lines))
	}
	var docs []map[string]any
	for i := 0; i < len(lines); i += 2 {
		var action map[string]map[string]string
		if err := json.Unmarshal([]byte(lines[i]), &action); err != nil || len(action) != 1 || action["create"]["_index"] != index {
			t.Fatalf("action %q: want {\"create\":{\"_index\":%q}} (%v)", lines[i], index, err)
		}
		var doc map[string]any
		if err := json.Unmarshal([]byte(lines[i+1]), &doc); err != nil {
			t.Fatalf("document %q is not a JSON object: %v", lines[i+1], err)
		}
		docs = append(docs, doc)
	}
	return docs
}

func TestElasticsearchWireFormat(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 123456789, time.UTC)
	const ts = "2024-05-01T12:00:00.123Z"
	lines := []string{
		`GET /health 200`,
		`{"message":"order placed","level":"info"}`,
		`{"@timestamp":"2020-01-01T00:00:00Z","a":1}`,
		`  {  }  `,
		`{"a":`,
		"bad \xff byte",
	}
	want := []string{
		`{"@timestamp":"` + ts + `","message":"GET /health 200"}`,
		`{"@timestamp":"` + ts + `","level":"info","message":"order placed"}`,
		`{"@timestamp":"2020-01-01T00:00:00Z","a":1}`,
		`{"@timestamp":"` + ts + `"}`,
		`{"@timestamp":"` + ts + `","message":"{\"a\":"}`,
		`{"@timestamp":"` + ts + `","message":"bad ` + "\uFFFD" + ` byte"}`,
	}
	for _, gz := range []bool{false, true} {
		t.Run(fmt.Sprintf("gzip=%v", gz), func(t *testing.T) {
			var bad []string
			srv := newServer(t, func(_ int, w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/prefix/_bulk" || r.URL.Query().Get("filter_path") == "" || r.URL.Query().Get("keep") != "1" {
					bad = append(bad, r.URL.String())
				}
				bulkReply(w, []bulkItem{{201, ""}, {201, ""}, {201, ""}, {201, ""}, {201, ""}, {201, ""}})
			})
			o := newTestElasticsearch(t, &Config{URL: srv.URL + "/prefix/?keep=1", Index: "logs-%Y.%m.%d", Gzip: gz,
				Headers: map[string]string{"Authorization": "ApiKey " + secret}}, fastRetries)
			o.now = func() time.Time { return now }
			if err := o.Write(context.Background(), batchOf(lines...)); err != nil {
				t.Fatalf("Write: %v", err)
			}
			reqs := srv.requests()
			if len(reqs) != 1 {
				t.Fatalf("server saw %d requests; want 1", len(reqs))
			}
			if len(bad) > 0 {
				t.Errorf("requests to %v; want /prefix/_bulk with filter_path and the URL's query", bad)
			}
			r := reqs[0]
			if ct := r.header.Get("Content-Type"); ct != "application/x-ndjson" {
				t.Errorf("Content-Type %q; want application/x-ndjson", ct)
			}
			if (r.header.Get("Content-Encoding") == "gzip") != gz {
				t.Errorf("Content-Encoding %q with gzip %v", r.header.Get("Content-Encoding"), gz)
			}
			if r.header.Get("Authorization") != "ApiKey "+secret {
				t.Errorf("Authorization not sent")
			}
			docs := bulkDocs(t, r.body, "logs-2024.05.01")
			for i, d := range docs {
				got, _ := json.Marshal(d) // keys sorted
				var w map[string]any
				json.Unmarshal([]byte(want[i]), &w)
				wb, _ := json.Marshal(w)
				if !bytes.Equal(got, wb) {
					t.Errorf("document %d: got %s; want %s", i, got, wb)
				}
			}
		})
	}
}

// TestElasticsearchPartialFailure checks that documents refused as busy
// are sent again, alone and in order, and those refused for good are
// counted and reported.
func TestElasticsearchPartialFailure(t *testing.T) {
	lines := []string{"d0", "d1", "d2", "d3", "d4", "d5"}
	var sent [][]string
	srv := newServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		switch n {
		case 0:
			bulkReply(w, []bulkItem{{201, ""}, {429, "es_rejected_execution_exception"}, {400, "mapper_parsing_exception"},
				{503, "unavailable_shards_exception"}, {400, "mapper_parsing_exception"}, {404, "index_not_found_exception"}})
		case 1: // d1, d3
			bulkReply(w, []bulkItem{{429, "es_rejected_execution_exception"}, {201, ""}})
		default: // d1
			bulkReply(w, []bulkItem{{201, ""}})
		}
	})
	o := newTestElasticsearch(t, &Config{URL: srv.URL, Index: "logs"}, fastRetries)
	err := o.Write(context.Background(), batchOf(lines...))
	var re *RejectedError
	if !errors.As(err, &re) {
		t.Fatalf("Write: %v; want a RejectedError", err)
	}
	if re.Rejected != 3 || re.Lines != 6 || re.Reasons["mapper_parsing_exception"] != 2 || re.Reasons["index_not_found_exception"] != 1 {
		t.Errorf("RejectedError: %+v; want 3 of 6, 2 mapper_parsing_exception and 1 index_not_found_exception", re)
	}
	if want := `refused 3 of 6 lines ("index_not_found_exception": 1, "mapper_parsing_exception": 2), not retried`; !strings.Contains(err.Error(), want) {
		t.Errorf("Write: %q; want it to contain %q", err, want)
	}
	for _, r := range srv.requests() {
		var msgs []string
		for _, d := range bulkDocs(t, r.body, "logs") {
			msgs = append(msgs, d["message"].(string))
		}
		sent = append(sent, msgs)
	}
	if got, want := fmt.Sprint(sent), "[[d0 d1 d2 d3 d4 d5] [d1 d3] [d1]]"; got != want {
		t.Errorf("documents sent: %s; want %s", got, want)
	}
}

func TestElasticsearchWrite(t *testing.T) {
	tests := []struct {
		name     string
		respond  func(n int, w http.ResponseWriter, r *http.Request)
		requests int
		wantErr  string // contained in the error; "" for none
	}{
		{"success", func(_ int, w http.ResponseWriter, _ *http.Request) { bulkReply(w, []bulkItem{{201, ""}, {201, ""}}) }, 1, ""},
		{"errors false without items", func(_ int, w http.ResponseWriter, _ *http.Request) { w.Write([]byte(`{"errors":false}`)) }, 1, ""},
		{"whole request 429 then success", func(n int, w http.ResponseWriter, _ *http.Request) {
			if n == 0 {
				w.WriteHeader(http.StatusTooManyRequests)
				return
			}
			bulkReply(w, []bulkItem{{201, ""}, {201, ""}})
		}, 2, ""},
		{"busy until the retries run out", func(n int, w http.ResponseWriter, _ *http.Request) {
			if n == 0 {
				bulkReply(w, []bulkItem{{201, ""}, {429, "es_rejected_execution_exception"}})
				return
			}
			bulkReply(w, []bulkItem{{429, "es_rejected_execution_exception"}})
		}, 3, "giving up after 3 attempts: 1 of 1 documents refused with 429 or 5xx"},
		{"busy and refused until the retries run out", func(n int, w http.ResponseWriter, _ *http.Request) {
			if n == 0 {
				bulkReply(w, []bulkItem{{400, "x"}, {503, ""}})
				return
			}
			bulkReply(w, []bulkItem{{503, ""}})
		}, 3, "giving up after 3 attempts: 1 of 1 documents refused with 429 or 5xx; besides, http://127.0.0.1"},
		{"400", statuses(400), 1, "status 400 Bad Request, not retried"},
		{"413", statuses(413), 1, "status 413 Request Entity Too Large, not retried"},
		{"not JSON", func(_ int, w http.ResponseWriter, _ *http.Request) { w.Write([]byte("<html>")) }, 1, "bulk response is not JSON, not retried"},
		{"item count", func(_ int, w http.ResponseWriter, _ *http.Request) { bulkReply(w, []bulkItem{{400, "x"}}) }, 1,
			"bulk response has 1 items for 2 documents, not retried"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, tt.respond)
			o := newTestElasticsearch(t, &Config{URL: srv.URL, Index: "logs", MaxRetries: intPtr(2)}, fastRetries)
			err := o.Write(context.Background(), batchOf("a", `{"b":1}`))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Write: %v; want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("Write: %v; want an error containing %q", err, tt.wantErr)
			}
			if n := len(srv.requests()); n != tt.requests {
				t.Errorf("server saw %d requests; want %d", n, tt.requests)
			}
		})
	}
}

func TestElasticsearchErrorsHideSecrets(t *testing.T) {
	srv := newServer(t, statuses(401))
	url := strings.Replace(srv.URL, "http://", "http://elastic:"+secret+"@", 1)
	c := &Config{Type: "elasticsearch", URL: url, Index: "logs", Headers: map[string]string{"Authorization": "ApiKey " + secret}}
	if strings.Contains(c.Name(), secret) {
		t.Errorf("Name: %q holds a secret", c.Name())
	}
	o := newTestElasticsearch(t, c, fastRetries)
	err := o.Write(context.Background(), batchOf("x"))
	if err == nil || strings.Contains(err.Error(), secret) || !strings.Contains(err.Error(), "http://"+Mask+"@127.0.0.1") {
		t.Errorf("Write: %v; want an error naming the masked URL and holding no secret", err)
	}
}

func TestElasticsearchClosed(t *testing.T) {
	o := newTestElasticsearch(t, &Config{URL: "http://127.0.0.1:1", Index: "logs"}, fastRetries)
	o.Close()
	if err := o.Write(context.Background(), batchOf("x")); !errors.Is(err, ErrClosed) {
		t.Errorf("Write after Close: %v; want ErrClosed", err)
	}
}
