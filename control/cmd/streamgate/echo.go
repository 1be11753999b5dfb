package main

import (
	"compress/gzip"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"streamgate/dataplane/manifest"
)

// runEchoServer prints every request it receives to stdout and answers 200,
// or -status: a local stand-in for a log vendor, to try the HTTP output
// with, and its retries and dead letters.
func runEchoServer(args []string) error {
	fs := flag.NewFlagSet("echo-server", flag.ContinueOnError)
	host := fs.String("host", env("LISTEN_HOST", "127.0.0.1"), "address to listen on, empty for all (env LISTEN_HOST)")
	port := fs.String("port", "9000", "port to listen on")
	status := fs.Int("status", http.StatusOK, "status of every answer: a 4xx other than 408 and 429 refuses each batch for good (dead letters), a 5xx or 429 makes the output retry")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *status < 200 || *status > 599 {
		return fmt.Errorf("-status: want an HTTP status from 200 to 599; got %d", *status)
	}
	ln, err := net.Listen("tcp", addr(*host, *port))
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "echo-server listening on http://%s\n", ln.Addr())
	var mu sync.Mutex
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				http.Error(w, "bad gzip body", http.StatusBadRequest)
				return
			}
			body = zr
		}
		data, err := io.ReadAll(io.LimitReader(body, 64<<20))
		if err != nil {
			http.Error(w, "cannot read body", http.StatusBadRequest)
			return
		}
		var b strings.Builder
		fmt.Fprintf(&b, "%s %s %s\n", r.Method, r.URL.RequestURI(), time.Now().Format(time.RFC3339Nano))
		names := make([]string, 0, len(r.Header))
		for k := range r.Header {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			v := strings.Join(r.Header[k], ", ")
			if isSecretHeader(k) {
				v = manifest.Mask
			}
			fmt.Fprintf(&b, "%s: %s\n", k, v)
		}
		b.WriteString("\n")
		b.Write(data)
		if len(data) > 0 && data[len(data)-1] != '\n' {
			b.WriteString("\n")
		}
		b.WriteString("\n")
		mu.Lock()
		os.Stdout.WriteString(b.String())
		mu.Unlock()
		if *status != http.StatusOK {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(*status)
			fmt.Fprintf(w, "{\"error\":\"echo-server answers %d (-status)\"}", *status)
			return
		}
		w.Write([]byte("OK"))
	})}
	ctx, stop := untilSignal()
	defer stop()
	go func() { <-ctx.Done(); srv.Close() }()
	if err := srv.Serve(ln); err != http.ErrServerClosed {
		return err
	}
	return nil
}

// isSecretHeader reports whether a header usually carries a credential.
func isSecretHeader(name string) bool {
	n := strings.ToLower(name)
	return n == "authorization" || strings.Contains(n, "key") || strings.Contains(n, "token") || strings.Contains(n, "secret")
}
