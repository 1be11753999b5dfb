package output

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// TestPermanentStatus: which statuses refuse a batch for good.
func TestPermanentStatus(t *testing.T) {
	for code, want := range map[int]bool{
		200: false, 301: false, 400: true, 401: true, 403: true, 404: true, 408: false,
		409: true, 413: true, 422: true, 429: false, 499: true, 500: false, 502: false, 503: false,
	} {
		if got := PermanentStatus(code); got != want {
			t.Errorf("PermanentStatus(%d): got %v; want %v", code, got, want)
		}
	}
}

// refusal is a response body longer than MaxResponseExcerpt, so that
// the tests see it cut.
var refusal = `{"error":"` + strings.Repeat("x", 600) + `"}`

// TestWritePermanent: each output that posts over HTTP returns a
// PermanentError, with the status and the start of the body, for a 4xx
// other than 408 and 429, and any other error for the rest.
func TestWritePermanent(t *testing.T) {
	outputs := []struct {
		typ   string
		build func(t *testing.T, url string) Output
	}{
		{"http", func(t *testing.T, url string) Output {
			return newTestHTTP(t, &Config{URL: url, MaxRetries: intPtr(0)}, fastRetries)
		}},
		{"loki", func(t *testing.T, url string) Output {
			return newTestLoki(t, &Config{URL: url, MaxRetries: intPtr(0)}, fastRetries)
		}},
		{"otlp", func(t *testing.T, url string) Output {
			return newTestOTLP(t, &Config{URL: url, MaxRetries: intPtr(0)}, fastRetries)
		}},
		{"elasticsearch", func(t *testing.T, url string) Output {
			return newTestElasticsearch(t, &Config{URL: url, Index: "logs", MaxRetries: intPtr(0)}, fastRetries)
		}},
	}
	statuses := []struct {
		code      int
		permanent bool
	}{
		{400, true}, {401, true}, {403, true}, {404, true}, {408, false}, {413, true},
		{422, true}, {429, false}, {500, false}, {503, false},
	}
	for _, o := range outputs {
		for _, s := range statuses {
			t.Run(fmt.Sprintf("%s/%d", o.typ, s.code), func(t *testing.T) {
				srv := newServer(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
					w.WriteHeader(s.code)
					w.Write([]byte(refusal))
				})
				err := o.build(t, srv.URL).Write(context.Background(), batchOf("a", "b"))
				if err == nil {
					t.Fatal("Write: nil; want an error")
				}
				var perm *PermanentError
				if got := errors.As(err, &perm); got != s.permanent {
					t.Fatalf("Write: %v; permanent %v, want %v", err, got, s.permanent)
				}
				if !s.permanent {
					return
				}
				if perm.Status != s.code || perm.Lines != nil || perm.Failed != 0 {
					t.Errorf("PermanentError: status %d, lines %v, failed %d; want %d, nil, 0", perm.Status, perm.Lines, perm.Failed, s.code)
				}
				if want := refusal[:MaxResponseExcerpt]; string(perm.Response) != want {
					t.Errorf("Response: got %q; want the body's first %d bytes", perm.Response, MaxResponseExcerpt)
				}
				if want := fmt.Sprintf("status %d", s.code); !strings.Contains(err.Error(), want) {
					t.Errorf("Write: %q; want it to say %q", err, want)
				}
			})
		}
	}
}

// TestPermanentGzipResponse: a gzipped refusal is kept decompressed.
func TestPermanentGzipResponse(t *testing.T) {
	var zbody bytes.Buffer
	zw := gzip.NewWriter(&zbody)
	zw.Write([]byte("bad field: " + strings.Repeat("y", 2000)))
	zw.Close()
	srv := newServer(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		w.WriteHeader(http.StatusBadRequest)
		w.Write(zbody.Bytes())
	})
	o := newTestHTTP(t, &Config{URL: srv.URL}, fastRetries)
	var perm *PermanentError
	if err := o.Write(context.Background(), batchOf("a")); !errors.As(err, &perm) {
		t.Fatalf("Write: %v; want a PermanentError", err)
	}
	if got := string(perm.Response); len(got) != MaxResponseExcerpt || !strings.HasPrefix(got, "bad field: yyy") {
		t.Errorf("Response: got %q; want %d decompressed bytes", got, MaxResponseExcerpt)
	}
}

// TestElasticsearchPermanentLines: documents refused one by one are named,
// with the first refusal's status and error; so are the documents of a
// request refused for good after earlier ones indexed part of the batch.
func TestElasticsearchPermanentLines(t *testing.T) {
	t.Run("items", func(t *testing.T) {
		srv := newServer(t, func(n int, w http.ResponseWriter, _ *http.Request) {
			switch n {
			case 0:
				bulkReply(w, []bulkItem{{201, ""}, {400, "mapper_parsing_exception"}, {503, "unavailable_shards_exception"}, {404, "index_not_found_exception"}})
			default: // d2
				bulkReply(w, []bulkItem{{201, ""}})
			}
		})
		o := newTestElasticsearch(t, &Config{URL: srv.URL, Index: "logs"}, fastRetries)
		err := o.Write(context.Background(), batchOf("d0", "d1", "d2", "d3"))
		var perm *PermanentError
		if !errors.As(err, &perm) {
			t.Fatalf("Write: %v; want a PermanentError", err)
		}
		if !slices.Equal(perm.Lines, []int{1, 3}) || perm.Status != 400 || perm.Failed != 0 {
			t.Errorf("PermanentError: lines %v, status %d, failed %d; want [1 3], 400, 0", perm.Lines, perm.Status, perm.Failed)
		}
		if want := `{"type":"mapper_parsing_exception"}`; string(perm.Response) != want {
			t.Errorf("Response: got %s; want %s", perm.Response, want)
		}
		var rej *RejectedError
		if !errors.As(err, &rej) || rej.Rejected != 2 {
			t.Errorf("Write: %v; want it to wrap a RejectedError of 2 lines", err)
		}
	})
	t.Run("request after items", func(t *testing.T) {
		srv := newServer(t, func(n int, w http.ResponseWriter, _ *http.Request) {
			switch n {
			case 0:
				bulkReply(w, []bulkItem{{201, ""}, {400, "mapper_parsing_exception"}, {429, "es_rejected_execution_exception"}, {201, ""}})
			default: // d2, refused whole
				w.WriteHeader(http.StatusForbidden)
			}
		})
		o := newTestElasticsearch(t, &Config{URL: srv.URL, Index: "logs"}, fastRetries)
		var perm *PermanentError
		if err := o.Write(context.Background(), batchOf("d0", "d1", "d2", "d3")); !errors.As(err, &perm) {
			t.Fatalf("Write: %v; want a PermanentError", err)
		}
		if !slices.Equal(perm.Lines, []int{1, 2}) || perm.Failed != 0 {
			t.Errorf("PermanentError: lines %v, failed %d; want [1 2], 0", perm.Lines, perm.Failed)
		}
	})
	t.Run("request after busy", func(t *testing.T) {
		srv := newServer(t, func(n int, w http.ResponseWriter, _ *http.Request) {
			switch n {
			case 0:
				bulkReply(w, []bulkItem{{201, ""}, {429, "es_rejected_execution_exception"}, {201, ""}})
			default:
				w.WriteHeader(http.StatusUnauthorized)
			}
		})
		o := newTestElasticsearch(t, &Config{URL: srv.URL, Index: "logs"}, fastRetries)
		var perm *PermanentError
		if err := o.Write(context.Background(), batchOf("d0", "d1", "d2")); !errors.As(err, &perm) {
			t.Fatalf("Write: %v; want a PermanentError", err)
		}
		if !slices.Equal(perm.Lines, []int{1}) || perm.Status != 401 {
			t.Errorf("PermanentError: lines %v, status %d; want [1], 401", perm.Lines, perm.Status)
		}
	})
	t.Run("items then retries run out", func(t *testing.T) {
		srv := newServer(t, func(n int, w http.ResponseWriter, _ *http.Request) {
			switch n {
			case 0:
				bulkReply(w, []bulkItem{{201, ""}, {400, "mapper_parsing_exception"}, {503, "unavailable_shards_exception"}})
			default:
				w.WriteHeader(http.StatusServiceUnavailable)
			}
		})
		o := newTestElasticsearch(t, &Config{URL: srv.URL, Index: "logs", MaxRetries: intPtr(1)}, fastRetries)
		var perm *PermanentError
		if err := o.Write(context.Background(), batchOf("d0", "d1", "d2")); !errors.As(err, &perm) {
			t.Fatalf("Write: %v; want a PermanentError", err)
		}
		if !slices.Equal(perm.Lines, []int{1}) || perm.Failed != 1 {
			t.Errorf("PermanentError: lines %v, failed %d; want [1], 1", perm.Lines, perm.Failed)
		}
	})
}

// TestNonHTTPOutputsNeverPermanent: outputs whose destination gives no
// answer to go by fail without a PermanentError.
func TestNonHTTPOutputsNeverPermanent(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	o, err := newTCPOutput(&Config{Type: "tcp", URL: "tcp://" + addr, MaxRetries: intPtr(0)}, fastRetries)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	err = o.Write(context.Background(), batchOf("a"))
	var perm *PermanentError
	if err == nil || errors.As(err, &perm) {
		t.Errorf("tcp Write to a closed port: %v; want an error that is not a PermanentError", err)
	}
}
