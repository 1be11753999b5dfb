package sender

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"time"

	"streamgate/loadgen/sink"
)

// Syslog framings of Config.Syslog: each line is sent as the message of an
// RFC 5424 syslog message.
const (
	// SyslogOctet frames each message as RFC 6587 octet counting does:
	// "LEN SP MSG", with no newline.
	SyslogOctet = "octet"
	// SyslogNewline ends each message with a newline.
	SyslogNewline = "newline"
)

// syslogHeader returns the RFC 5424 header put before each line, at time
// t: see sink.SyslogHeadStart.
func syslogHeader(t time.Time) string {
	return sink.SyslogHeadStart + t.UTC().Format(sink.SyslogTimeLayout) + sink.SyslogHeadEnd
}

// appendSyslog appends line (without its newline) as one syslog message
// framed as framing says.
func appendSyslog(dst []byte, header string, line []byte, framing string) []byte {
	if framing == SyslogOctet {
		dst = strconv.AppendInt(dst, int64(len(header)+len(line)), 10)
		dst = append(dst, ' ')
		dst = append(dst, header...)
		return append(dst, line...)
	}
	dst = append(dst, header...)
	dst = append(dst, line...)
	return append(dst, '\n')
}

// completeFrames counts the whole messages at the start of buf, octet
// counted frames under SyslogOctet, else lines, and reports whether buf
// ends with one.
func completeFrames(buf []byte, framing string) (n int, whole bool) {
	if framing != SyslogOctet {
		return bytes.Count(buf, []byte{'\n'}), len(buf) > 0 && buf[len(buf)-1] == '\n'
	}
	for {
		if len(buf) == 0 {
			return n, true
		}
		sp := bytes.IndexByte(buf, ' ')
		if sp <= 0 {
			return n, false
		}
		size, err := strconv.Atoi(string(buf[:sp]))
		if err != nil || len(buf) < sp+1+size {
			return n, false
		}
		buf = buf[sp+1+size:]
		n++
	}
}

// otlpTransport sends each batch as one OTLP/HTTP logs request, protobuf,
// to /v1/logs: a record per line, whose body is the line and whose
// attributes are the line's ts, src and seq, so that a sink finds them in
// the JSON line a receiver makes of the record.
type otlpTransport struct {
	client *http.Client
	url    string
	addr   string
	body   []byte
	rec    []byte
}

// Field numbers of the OTLP messages written.
const (
	otlpResourceLogs = 1 // ExportLogsServiceRequest
	otlpResource     = 1 // ResourceLogs
	otlpScopeLogs    = 2 // ResourceLogs
	otlpAttributes   = 1 // Resource
	otlpScope        = 1 // ScopeLogs
	otlpLogRecords   = 2 // ScopeLogs
	otlpScopeName    = 1 // InstrumentationScope
	otlpTime         = 1 // LogRecord, fixed64
	otlpSeverityNum  = 2 // LogRecord
	otlpSeverityText = 3 // LogRecord
	otlpBody         = 5 // LogRecord
	otlpRecordAttrs  = 6 // LogRecord
	otlpKey          = 1 // KeyValue
	otlpValue        = 2 // KeyValue
	otlpString       = 1 // AnyValue
	otlpInt          = 3 // AnyValue
)

// otlpResourceField and otlpScopeField are the resource field of every
// ResourceLogs and the scope field of every ScopeLogs.
var otlpResourceField, otlpScopeField = func() ([]byte, []byte) {
	kv := appendKV(nil, "service.name", func(b []byte) []byte { return appendBytesField(b, otlpString, []byte("loadgen")) })
	res := appendBytesField(nil, otlpAttributes, kv)
	scope := appendBytesField(nil, otlpScopeName, []byte("loadgen"))
	return appendBytesField(nil, otlpResource, res), appendBytesField(nil, otlpScope, scope)
}()

func appendTag(b []byte, num, typ int) []byte { return binary.AppendUvarint(b, uint64(num<<3|typ)) }

func appendBytesField(b []byte, num int, v []byte) []byte {
	b = appendTag(b, num, 2)
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

// appendKV appends the bytes of a KeyValue whose value value appends.
func appendKV(b []byte, key string, value func([]byte) []byte) []byte {
	b = appendBytesField(b, otlpKey, []byte(key))
	v := value(nil)
	return appendBytesField(b, otlpValue, v)
}

// appendRecord appends the LogRecord field of line.
func (t *otlpTransport) appendRecord(dst, line []byte) []byte {
	r := t.rec[:0]
	l, ok := sink.ParseLine(line)
	if ok {
		r = appendTag(r, otlpTime, 1)
		r = binary.LittleEndian.AppendUint64(r, uint64(l.TS))
	}
	r = appendTag(r, otlpSeverityNum, 0)
	r = binary.AppendUvarint(r, 9)
	r = appendBytesField(r, otlpSeverityText, []byte("INFO"))
	var body []byte
	body = appendBytesField(body, otlpString, line)
	r = appendBytesField(r, otlpBody, body)
	if ok {
		intValue := func(n uint64) func([]byte) []byte {
			return func(b []byte) []byte { return binary.AppendUvarint(appendTag(b, otlpInt, 0), n) }
		}
		r = appendBytesField(r, otlpRecordAttrs, appendKV(nil, "ts", intValue(uint64(l.TS))))
		r = appendBytesField(r, otlpRecordAttrs, appendKV(nil, "src", func(b []byte) []byte { return appendBytesField(b, otlpString, l.Src) }))
		r = appendBytesField(r, otlpRecordAttrs, appendKV(nil, "seq", intValue(l.Seq)))
	}
	t.rec = r
	return appendBytesField(dst, otlpLogRecords, r)
}

// encode returns the request of the newline-terminated lines of buf, in
// t.body.
func (t *otlpTransport) encode(buf []byte) []byte {
	var records []byte
	for len(buf) > 0 {
		i := bytes.IndexByte(buf, '\n')
		if i < 0 {
			i = len(buf)
		}
		records = t.appendRecord(records, buf[:i])
		buf = buf[min(i+1, len(buf)):]
	}
	scopeLogs := append(append([]byte(nil), otlpScopeField...), records...)
	rl := appendBytesField(append([]byte(nil), otlpResourceField...), otlpScopeLogs, scopeLogs)
	t.body = appendBytesField(t.body[:0], otlpResourceLogs, rl)
	return t.body
}

func (t *otlpTransport) write(ctx context.Context, buf []byte) (int, error) {
	body := t.encode(buf)
	if len(body) > math.MaxInt32 {
		return 0, fmt.Errorf("request of %d bytes is too large", len(body))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("cannot create request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	resp, err := t.client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("%w %d from %s", errStatus, resp.StatusCode, t.url)
	}
	return len(buf), nil
}

func (t *otlpTransport) redial(ctx context.Context) error {
	c, err := dial(ctx, "tcp", t.addr)
	if err != nil {
		return err
	}
	return c.Close()
}

func (t *otlpTransport) abort()       {}
func (t *otlpTransport) close() error { return nil }
