package server

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"streamgate/dataplane/internal/vendortest"
	"streamgate/dataplane/match"
)

// attackLine hides an SSN, a card number, an e-mail address, an IPv4
// address and a token behind JSON escapes: a byte scan sees none of them,
// and any JSON parser, a vendor's included, turns the line back into them.
const attackLine = `{"a":"123\u002d45\u002d6789","cc":"4111\u00201111\u00201111\u00201111","em":"bob\u0040example.com","ip":"10\u002e1\u002e2\u002e3","t":"token\u003dABCDEF"}`

// hiddenValues are what attackLine decodes to.
var hiddenValues = []string{"123-45-6789", "4111 1111 1111 1111", "bob@example.com", "10.1.2.3", "token=ABCDEF"}

// TestEscapedPIINeverLeaves sends attackLine over TCP through the
// detectors and a custom pattern to an HTTP output of every JSON-capable
// format, and decodes each body as its vendor would: no hidden value, and
// nothing any detector finds, is left in any string.
func TestEscapedPIINeverLeaves(t *testing.T) {
	formats := []string{"text", "ndjson", "json_array", "datadog", "splunk_hec"}
	var mu sync.Mutex
	bodies := map[string][]byte{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies[strings.TrimPrefix(r.URL.Path, "/")] = append(bodies[strings.TrimPrefix(r.URL.Path, "/")], b...)
		mu.Unlock()
	}))
	defer srv.Close()
	var outputs []string
	for _, f := range formats {
		outputs = append(outputs, `{"type":"http","url":"`+srv.URL+`/`+f+`","format":"`+f+`"}`)
	}
	s := start(t, Options{Manifest: mustManifest(t, `{"version":"1","pipelines":[{"name":"p","batch_size":1,"processors":[
		{"id":"ssn","type":"redact","params":{"detector":"ssn"}},
		{"id":"cards","type":"redact","params":{"detector":"credit_card"}},
		{"id":"emails","type":"redact","params":{"detector":"email"}},
		{"id":"ips","type":"redact","params":{"detector":"ipv4"}},
		{"id":"tokens","type":"redact","params":{"pattern":"token=[A-Za-z0-9]+","replacement":"token=[REDACTED]"}}],
		"outputs":[`+strings.Join(outputs, ",")+`]}]}`)})
	conn, err := net.Dial("tcp", s.TCPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(conn)
	w.WriteString(attackLine + "\n")
	w.Flush()
	conn.Close()
	waitFor(t, "every format's body", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(bodies) == len(formats)
	})
	var detectors []match.Replacer
	for _, name := range []string{"ssn", "credit_card", "email", "ipv4"} {
		d, _ := match.LookupDetector(name)
		detectors = append(detectors, d.Replacer(""))
	}
	mu.Lock()
	defer mu.Unlock()
	for _, f := range formats {
		texts, err := vendortest.Texts(f, bodies[f])
		if err != nil {
			t.Fatal(err)
		}
		if len(texts) == 0 {
			t.Fatalf("%s: decoded nothing from %q", f, bodies[f])
		}
		for _, txt := range texts {
			for _, v := range hiddenValues {
				if strings.Contains(txt, v) {
					t.Errorf("%s: %q reached the receiver in %q (body %s)", f, v, txt, bodies[f])
				}
			}
			for _, d := range detectors {
				if d.Finds([]byte(txt)) {
					t.Errorf("%s: a detector finds something in %q (body %s)", f, txt, bodies[f])
				}
			}
		}
		t.Logf("%s: %s", f, bodies[f])
	}
}
