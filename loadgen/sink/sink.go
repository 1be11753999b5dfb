// Package sink is a blackhole receiver for what the proxy delivers. It reads
// newline-delimited lines from TCP connections and HTTP POST bodies, and for
// every line produced by package corpus it accounts for loss, duplication and
// reordering per source, flags leaked PII, counts DEBUG lines and records the
// end-to-end latency from the line's send timestamp.
package sink

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Config selects the listeners of a Sink. An empty address disables that
// listener; use port 0 to pick a free port.
type Config struct {
	// TCPAddr receives newline-delimited lines over persistent connections.
	TCPAddr string
	// HTTPAddr receives POST bodies of newline-joined lines, optionally
	// gzip-encoded (Content-Encoding: gzip).
	HTTPAddr string
	// StatsAddr serves GET /stats (a Stats snapshot as JSON) and POST /reset
	// (the snapshot just before zeroing, then zero everything).
	StatsAddr string
	// MaxSources caps the number of tracked sources; lines from further
	// sources are counted as unparsed. Zero means 16384.
	MaxSources int
	// LeakEvery scans one line in LeakEvery for leaks (PII, e-mail
	// addresses), 0 or 1 every line: for a load that sends none, whose
	// scan only guards against a proxy that makes some up, so the lab
	// costs less. Stats.LeakChecked counts the lines scanned; the leak
	// counts are those found, not scaled.
	LeakEvery int
}

// Stats is a snapshot of everything a Sink has received since it started or
// was last reset. The JSON field names are a contract with the harness.
type Stats struct {
	// Lines is the number of non-empty lines received.
	Lines int64 `json:"lines"`
	// Bytes is the sum of line lengths plus one newline each.
	Bytes int64 `json:"bytes"`
	// Unparsed counts lines without valid ts, src and seq fields.
	Unparsed int64 `json:"unparsed"`
	// Sources is the number of distinct source ids.
	Sources int64 `json:"sources"`
	// Gaps is the number of sequence numbers skipped and not (yet) received.
	Gaps int64 `json:"gaps"`
	// Duplicated counts lines whose sequence number was already received.
	Duplicated int64 `json:"duplicated"`
	// Reordered counts lines that arrived after a higher sequence number.
	Reordered int64 `json:"reordered"`
	// TooLate counts lines so far behind their source's highest sequence
	// number that they cannot be told apart from duplicates; they do not
	// fill gaps.
	TooLate int64 `json:"too_late"`
	// LeakChecked counts the lines scanned for leaks: all of them, unless
	// Config.LeakEvery is above 1.
	LeakChecked int64 `json:"leak_checked"`
	// PIILeaks counts lines with an SSN or a card number.
	PIILeaks int64 `json:"pii_leaks"`
	// EmailLeaks counts lines with an email address.
	EmailLeaks int64 `json:"email_leaks"`
	// DebugLines counts lines with level DEBUG.
	DebugLines int64 `json:"debug_lines"`
	// FirstNS and LastNS are the receive times, in Unix nanoseconds, of the
	// first and the last line.
	FirstNS int64 `json:"first_ns"`
	// LastNS is the receive time of the last line; see FirstNS.
	LastNS int64 `json:"last_ns"`
	// LinesPerSec is Lines divided by the time between FirstNS and LastNS.
	LinesPerSec float64 `json:"lines_per_s"`
	// Latency is the end-to-end latency from the send timestamp of parsed lines.
	Latency Latency `json:"latency_ms"`
}

// Latency summarizes a latency histogram in milliseconds.
type Latency struct {
	// Count is the number of recorded lines; the rest are quantiles.
	Count int64   `json:"count"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	P999  float64 `json:"p999"`
	Max   float64 `json:"max"`
}

// Histogram bounds in microseconds: 1 µs to 60 s with 3 significant digits.
const (
	minLatencyUS = 1
	maxLatencyUS = 60_000_000
)

// Sink receives lines and keeps Stats. Its methods are safe for concurrent use.
type Sink struct {
	maxSources int

	// mu guards the fields below. Connections take it once per read, not
	// once per line.
	leakEvery int64 // Config.LeakEvery, at least 1

	mu      sync.Mutex
	st      Stats
	sources map[string]*window
	hist    *hdrhistogram.Histogram

	tcp       net.Listener
	httpSrv   *http.Server
	httpLn    net.Listener
	statsSrv  *http.Server
	statsLn   net.Listener
	connsMu   sync.Mutex
	conns     map[net.Conn]struct{}
	closed    bool
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// New starts the listeners of c and returns the running Sink.
func New(c Config) (*Sink, error) {
	s := &Sink{
		maxSources: c.MaxSources,
		leakEvery:  max(1, int64(c.LeakEvery)),
		sources:    make(map[string]*window),
		hist:       newHist(),
		conns:      make(map[net.Conn]struct{}),
	}
	if s.maxSources <= 0 {
		s.maxSources = 16384
	}
	if c.TCPAddr == "" && c.HTTPAddr == "" {
		return nil, errors.New("cannot start sink: neither a TCP nor an HTTP address is set")
	}
	var err error
	if c.TCPAddr != "" {
		if s.tcp, err = net.Listen("tcp", c.TCPAddr); err != nil {
			return nil, fmt.Errorf("cannot listen on tcp %s: %w", c.TCPAddr, err)
		}
		s.wg.Add(1)
		go s.acceptLoop()
	}
	if c.HTTPAddr != "" {
		if s.httpLn, err = net.Listen("tcp", c.HTTPAddr); err != nil {
			s.Close()
			return nil, fmt.Errorf("cannot listen on http %s: %w", c.HTTPAddr, err)
		}
		s.httpSrv = &http.Server{Handler: http.HandlerFunc(s.serveIngest), ReadHeaderTimeout: 10 * time.Second}
		s.serve(s.httpSrv, s.httpLn)
	}
	if c.StatsAddr != "" {
		if s.statsLn, err = net.Listen("tcp", c.StatsAddr); err != nil {
			s.Close()
			return nil, fmt.Errorf("cannot listen on stats %s: %w", c.StatsAddr, err)
		}
		mux := http.NewServeMux()
		mux.HandleFunc("GET /stats", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, s.Snapshot()) })
		mux.HandleFunc("POST /reset", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, s.Reset()) })
		s.statsSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		s.serve(s.statsSrv, s.statsLn)
	}
	return s, nil
}

func newHist() *hdrhistogram.Histogram {
	return hdrhistogram.New(minLatencyUS, maxLatencyUS, 3)
}

func (s *Sink) serve(srv *http.Server, ln net.Listener) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		_ = srv.Serve(ln)
	}()
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// TCPAddr returns the address of the TCP listener, or nil.
func (s *Sink) TCPAddr() net.Addr { return addr(s.tcp) }

// HTTPAddr returns the address of the HTTP listener, or nil.
func (s *Sink) HTTPAddr() net.Addr { return addr(s.httpLn) }

// StatsAddr returns the address of the stats listener, or nil.
func (s *Sink) StatsAddr() net.Addr { return addr(s.statsLn) }

func addr(ln net.Listener) net.Addr {
	if ln == nil {
		return nil
	}
	return ln.Addr()
}

// Close stops the listeners, closes open connections and waits for their
// handlers to finish. Stats remain readable.
func (s *Sink) Close() error {
	s.closeOnce.Do(func() {
		if s.tcp != nil {
			_ = s.tcp.Close()
		}
		for _, srv := range []*http.Server{s.httpSrv, s.statsSrv} {
			if srv != nil {
				_ = srv.Close()
			}
		}
		s.connsMu.Lock()
		s.closed = true
		for c := range s.conns {
			_ = c.Close()
		}
		s.connsMu.Unlock()
		s.wg.Wait()
	})
	return nil
}

// Snapshot returns the current Stats.
func (s *Sink) Snapshot() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.snapshotLocked()
}

// Reset zeroes all Stats, forgets all sources and returns the Stats as they
// were just before.
func (s *Sink) Reset() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.snapshotLocked()
	s.st = Stats{}
	clear(s.sources)
	s.hist.Reset()
	return st
}

// snapshotLocked computes a snapshot. Lock should be held.
func (s *Sink) snapshotLocked() Stats {
	st := s.st
	st.Sources = int64(len(s.sources))
	if span := st.LastNS - st.FirstNS; span > 0 {
		st.LinesPerSec = float64(st.Lines) / (float64(span) / 1e9)
	}
	h := s.hist
	ms := func(us int64) float64 { return float64(us) / 1000 }
	st.Latency = Latency{
		Count: h.TotalCount(),
		P50:   ms(h.ValueAtQuantile(50)),
		P90:   ms(h.ValueAtQuantile(90)),
		P99:   ms(h.ValueAtQuantile(99)),
		P999:  ms(h.ValueAtQuantile(99.9)),
		Max:   ms(h.Max()),
	}
	return st
}

func (s *Sink) track(c net.Conn) bool {
	s.connsMu.Lock()
	defer s.connsMu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Sink) untrack(c net.Conn) {
	s.connsMu.Lock()
	delete(s.conns, c)
	s.connsMu.Unlock()
}

func (s *Sink) acceptLoop() {
	defer s.wg.Done()
	for {
		c, err := s.tcp.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return
		}
		if !s.track(c) {
			_ = c.Close()
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer s.untrack(c)
			defer c.Close()
			s.readStream(c)
		}()
	}
}

const (
	readBufSize = 256 << 10
	maxLineSize = 8 << 20
)

// readStream consumes newline-delimited lines from r until EOF or an error.
func (s *Sink) readStream(r io.Reader) {
	h := getHandler(s.leakEvery)
	defer putHandler(h)
	buf := make([]byte, readBufSize)
	n := 0            // bytes held in buf
	skipping := false // discarding the rest of an oversize line
	for {
		m, err := r.Read(buf[n:])
		if m > 0 {
			now := time.Now().UnixNano()
			data := buf[:n+m]
			last := bytes.LastIndexByte(data, '\n')
			switch {
			case last >= 0:
				start := 0
				if skipping {
					start = bytes.IndexByte(data, '\n') + 1
					skipping = false
				}
				s.process(h, data[start:last+1], now)
				n = copy(buf, data[last+1:])
			case len(data) < len(buf):
				n = len(data)
			case len(buf) < maxLineSize:
				buf = append(buf, make([]byte, len(buf))...)
				n = len(data)
			default:
				if !skipping {
					s.countUnparsed(1, int64(len(data)))
				}
				skipping = true
				n = 0
			}
		}
		if err != nil {
			if n > 0 && !skipping {
				s.process(h, buf[:n], time.Now().UnixNano())
			}
			return
		}
	}
}

func (s *Sink) countUnparsed(lines, bytes int64) {
	s.mu.Lock()
	s.st.Lines += lines
	s.st.Unparsed += lines
	s.st.Bytes += bytes
	s.mu.Unlock()
}

// maxBody bounds a decoded HTTP body.
const maxBody = 256 << 20

func (s *Sink) serveIngest(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost && r.Method != http.MethodPut {
		w.Header().Set("Allow", "POST, PUT")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, fmt.Sprintf("cannot read gzip body: %v", err), http.StatusBadRequest)
			return
		}
		defer zr.Close()
		body = zr
	}
	h := getHandler(s.leakEvery)
	defer putHandler(h)
	h.body.Reset()
	if _, err := h.body.ReadFrom(io.LimitReader(body, maxBody+1)); err != nil {
		http.Error(w, fmt.Sprintf("cannot read body: %v", err), http.StatusBadRequest)
		return
	}
	if h.body.Len() > maxBody {
		http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		return
	}
	s.process(h, h.body.Bytes(), time.Now().UnixNano())
	w.WriteHeader(http.StatusOK)
}

// handler holds per-connection scratch state, so that lines are parsed and
// scanned without the lock and accounted for under it once per chunk.
type handler struct {
	recs  []rec
	body  bytes.Buffer
	st    Stats
	unesc []byte // a line with its JSON escapes undone, for scan
	// every is the Sink's leakEvery; skip the lines left before the next
	// one scanned for leaks.
	every, skip int64
}

type rec struct {
	src []byte
	seq uint64
	ts  int64
}

var handlerPool sync.Pool

func getHandler(leakEvery int64) *handler {
	h, _ := handlerPool.Get().(*handler)
	if h == nil {
		h = &handler{}
	}
	h.every = leakEvery
	return h
}

func putHandler(h *handler) {
	if h.body.Cap() > 4<<20 {
		h.body = bytes.Buffer{}
	}
	h.recs = h.recs[:0]
	handlerPool.Put(h)
}

// process accounts for every line in data, received at now (Unix ns). The
// last line need not end with a newline. data is not retained.
func (s *Sink) process(h *handler, data []byte, now int64) {
	h.recs = h.recs[:0]
	h.st = Stats{}
	for len(data) > 0 {
		var line []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			line, data = data, nil
		}
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		if len(line) == 0 {
			continue
		}
		h.scan(line)
	}
	if h.st.Lines == 0 {
		return
	}
	s.mu.Lock()
	s.applyLocked(h, now)
	s.mu.Unlock()
}

// scan parses one line into h without touching shared state.
func (h *handler) scan(line []byte) {
	h.st.Lines++
	h.st.Bytes += int64(len(line)) + 1
	// The lab's own syslog header, before a line passed on as received,
	// holds neither the delivery fields nor personal data: skip it.
	line = line[syslogHead(line):]
	l, ok := ParseLine(line)
	if ok {
		h.recs = append(h.recs, rec{src: l.Src, seq: l.Seq, ts: l.TS})
		if l.Debug {
			h.st.DebugLines++
		}
	} else {
		h.st.Unparsed++
	}
	if h.skip > 0 {
		h.skip--
		return
	}
	h.skip = h.every - 1
	h.st.LeakChecked++
	// The whole line, but for the text prefix the line starts with, if it
	// does: its timestamp, source id and sequence number hold no personal
	// data. PII before a prefix further in leaks as much as after it.
	scanned := line
	if ok && !l.JSON && bytes.HasPrefix(line, textTS) {
		scanned = line[l.Body:]
	}
	pii, email, escaped := scanLeaks(scanned)
	if !(pii && email) && escaped {
		// A JSON line's escapes hide nothing from its receiver, which
		// decodes them: scan it decoded too.
		h.unesc = unescape(h.unesc[:0], scanned)
		p, e := ScanLeaks(h.unesc)
		pii, email = pii || p, email || e
	}
	if pii {
		h.st.PIILeaks++
	}
	if email {
		h.st.EmailLeaks++
	}
}

// applyLocked merges the chunk in h into the Sink. Lock should be held.
func (s *Sink) applyLocked(h *handler, now int64) {
	st := &s.st
	st.Lines += h.st.Lines
	st.Bytes += h.st.Bytes
	st.Unparsed += h.st.Unparsed
	st.LeakChecked += h.st.LeakChecked
	st.PIILeaks += h.st.PIILeaks
	st.EmailLeaks += h.st.EmailLeaks
	st.DebugLines += h.st.DebugLines
	if st.FirstNS == 0 {
		st.FirstNS = now
	}
	st.LastNS = now
	var (
		last  []byte // the source of lastW
		lastW *window
	)
	for i := range h.recs {
		r := &h.recs[i]
		// Lines of one source come in runs: look its window up once a run.
		w := lastW
		if w == nil || !bytes.Equal(r.src, last) {
			w = s.sources[string(r.src)]
			if w == nil {
				if len(s.sources) >= s.maxSources {
					st.Unparsed++
					continue
				}
				w = &window{}
				s.sources[string(r.src)] = w
			}
			last, lastW = r.src, w
		}
		res := w.add(r.seq)
		st.Gaps += res.gaps
		if res.duplicated {
			st.Duplicated++
		}
		if res.reordered {
			st.Reordered++
		}
		if res.tooLate {
			st.TooLate++
		}
		us := (now - r.ts) / 1000
		if us < minLatencyUS {
			us = minLatencyUS
		} else if us > maxLatencyUS {
			us = maxLatencyUS
		}
		_ = s.hist.RecordValue(us)
	}
}
