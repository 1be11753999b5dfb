package ingest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	syslog "github.com/leodido/go-syslog/v4"
	"github.com/leodido/go-syslog/v4/rfc3164"
	"github.com/leodido/go-syslog/v4/rfc5424"

	"streamgate/dataplane/record"
)

// Syslog formats: what a syslog message becomes as a line.
const (
	// SyslogText keeps each message as received, byte for byte: nothing
	// is lost, and processors see the original line.
	SyslogText = "text"
	// SyslogJSON rewrites each message into a JSON object of its parsed
	// fields (see SyslogRecord); the severity is also under log.level, so
	// attribute_filter can match it.
	SyslogJSON = "json"
)

// Syslog makes a listener take syslog messages (RFC 5424 or RFC 3164):
// over TCP, each connection's framing is detected from its first byte,
// octet counting (RFC 6587) when it is a digit, else one message per line;
// over UDP, each datagram is one message. A message that parses as neither
// RFC is passed on as received and counted in Malformed, never dropped.
type Syslog struct {
	// Format is SyslogText or SyslogJSON.
	Format string
	// Malformed counts the messages that did not parse, by reason; a nil
	// counter counts nothing.
	Malformed [SyslogReasons]interface{ Inc() }
}

// Why a syslog message is malformed: indexes of Syslog.Malformed and of
// SyslogReasonNames.
const (
	// SyslogNoPriority: the message does not start with a priority, "<0>"
	// to "<191>", as every syslog message does.
	SyslogNoPriority = iota
	// SyslogBadHeader: a priority and version 1 ("<34>1 ", RFC 5424), then
	// a header that does not parse.
	SyslogBadHeader
	SyslogReasons
)

// SyslogReasonNames are the reasons' labels in metrics.
var SyslogReasonNames = [SyslogReasons]string{"no_priority", "bad_header"}

// NewSyslog returns a Syslog of the format whose malformed messages count
// in counter(reason), reason one of SyslogReasonNames; counter must not
// return a nil pointer (leave Malformed's entry nil to count nothing).
func NewSyslog[C interface{ Inc() }](format string, counter func(reason string) C) *Syslog {
	s := &Syslog{Format: format}
	for i, r := range SyslogReasonNames {
		s.Malformed[i] = counter(r)
	}
	return s
}

// ParseSyslogFormat checks a -syslog-format value.
func ParseSyslogFormat(s string) (string, error) {
	switch s {
	case SyslogText, SyslogJSON:
		return s, nil
	}
	return "", fmt.Errorf("-syslog-format %q: want text or json", s)
}

// SyslogRecord is a parsed message as the json format writes it. Fields the
// message does not carry (the RFC 5424 NILVALUE "-", or absent from an RFC
// 3164 message) are left out.
type SyslogRecord struct {
	Facility       uint8                        `json:"facility"`
	Severity       uint8                        `json:"severity"`
	SeverityName   string                       `json:"severity_name"`
	Timestamp      string                       `json:"timestamp,omitempty"`
	Hostname       string                       `json:"hostname,omitempty"`
	AppName        string                       `json:"app_name,omitempty"`
	ProcID         string                       `json:"proc_id,omitempty"`
	MsgID          string                       `json:"msg_id,omitempty"`
	StructuredData map[string]map[string]string `json:"structured_data,omitempty"`
	Message        string                       `json:"message,omitempty"`
	Log            struct {
		Level string `json:"level"`
	} `json:"log"`
}

// severityNames are the RFC 5424 keywords of the severities; levels the
// names log.level carries, as logging libraries spell them.
var (
	severityNames = [8]string{"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"}
	severityLevel = [8]string{"emergency", "alert", "critical", "error", "warning", "notice", "info", "debug"}
)

// syslogParser parses single messages. It is not safe for concurrent use:
// the parsers keep state between calls.
type syslogParser struct {
	rfc5424 syslog.Machine
	rfc3164 syslog.Machine
}

func newSyslogParser() *syslogParser {
	return &syslogParser{
		rfc5424: rfc5424.NewParser(),
		rfc3164: rfc3164.NewParser(rfc3164.WithBestEffort(), rfc3164.WithYear(rfc3164.CurrentYear{})),
	}
}

var syslogParsers = sync.Pool{New: func() any { return newSyslogParser() }}

// isRFC5424 reports whether msg starts as an RFC 5424 message does: a
// priority then the version 1 and a space ("<34>1 ").
func isRFC5424(msg []byte) bool {
	if len(msg) < 4 || msg[0] != '<' {
		return false
	}
	i := 1
	for i < len(msg) && i <= 4 && msg[i] >= '0' && msg[i] <= '9' {
		i++
	}
	return i > 1 && i+2 < len(msg) && msg[i] == '>' && msg[i+1] == '1' && msg[i+2] == ' '
}

// parse parses one message; when it is malformed, ok is false and why
// says why (SyslogNoPriority or SyslogBadHeader).
func (p *syslogParser) parse(msg []byte) (r SyslogRecord, why int, ok bool) {
	var base *syslog.Base
	if isRFC5424(msg) {
		m, err := p.rfc5424.Parse(msg)
		if err != nil || m == nil || !m.Valid() {
			if validPriority(msg) {
				return r, SyslogBadHeader, false
			}
			return r, SyslogNoPriority, false // "<999>1 ..."
		}
		sm := m.(*rfc5424.SyslogMessage)
		base = &sm.Base
		if sm.StructuredData != nil && len(*sm.StructuredData) > 0 {
			r.StructuredData = *sm.StructuredData
		}
		if sm.Timestamp != nil {
			r.Timestamp = sm.Timestamp.Format(time.RFC3339Nano)
		}
	} else {
		if !validPriority(msg) {
			// The parser would take "<999>" as the priority 99.
			return r, SyslogNoPriority, false
		}
		m, err := p.rfc3164.Parse(msg) // best effort: a message with a priority is kept
		if m == nil || !m.Valid() {
			return r, SyslogNoPriority, false
		}
		sm := m.(*rfc3164.SyslogMessage)
		if sm.Priority == nil {
			return r, SyslogNoPriority, false
		}
		if err != nil {
			// The header after the priority did not parse (no timestamp,
			// as "<13>text"): the rest is the message, whole, rather than
			// the fields read before the parser gave up.
			rest := string(msg[bytes.IndexByte(msg, '>')+1:])
			sm.Base = syslog.Base{Priority: sm.Priority, Facility: sm.Facility, Severity: sm.Severity, Message: &rest}
		}
		base = &sm.Base
		if sm.Timestamp != nil {
			r.Timestamp = sm.Timestamp.Format(time.RFC3339)
		}
	}
	if base.Priority == nil || base.Facility == nil || base.Severity == nil {
		return r, SyslogNoPriority, false
	}
	r.Facility, r.Severity = *base.Facility, *base.Severity
	r.SeverityName = severityNames[r.Severity&7]
	r.Log.Level = severityLevel[r.Severity&7]
	r.Hostname = str(base.Hostname)
	r.AppName = str(base.Appname)
	r.ProcID = str(base.ProcID)
	r.MsgID = str(base.MsgID)
	r.Message = str(base.Message)
	return r, 0, true
}

// validPriority reports whether msg starts with a priority the RFCs allow:
// "<" then 0 to 191 in at most three digits, no leading zero, then ">".
func validPriority(msg []byte) bool {
	if len(msg) < 3 || msg[0] != '<' {
		return false
	}
	v, i := 0, 1
	for ; i < len(msg) && i <= 3 && msg[i] >= '0' && msg[i] <= '9'; i++ {
		v = 10*v + int(msg[i]-'0')
	}
	return i > 1 && i < len(msg) && msg[i] == '>' && v <= 191 && (i == 2 || msg[1] != '0')
}

func str(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// decode parses every line of b: in the json format it rewrites each well
// formed one into b.Scratch; a malformed one stays as received and is
// counted.
func (s *Syslog) decode(b *record.Batch) {
	var p *syslogParser // taken from the pool when a line needs it
	defer func() {
		if p != nil {
			syslogParsers.Put(p)
		}
	}()
	for i, line := range b.Lines {
		if s.Format != SyslogJSON && wellFormed5424(line) {
			continue // well formed, kept as received: nothing to parse
		}
		if p == nil {
			p = syslogParsers.Get().(*syslogParser)
		}
		r, why, ok := p.parse(line)
		if !ok {
			if c := s.Malformed[why]; c != nil {
				c.Inc()
			}
			continue
		}
		if s.Format != SyslogJSON {
			continue
		}
		start := len(b.Scratch)
		b.Scratch = appendSyslogJSON(b.Scratch, &r)
		b.Lines[i] = b.Scratch[start:len(b.Scratch):len(b.Scratch)]
	}
}

// appendSyslogJSON appends r as one line of JSON, structured data sorted by
// id and name; '<', '>' and '&' are kept as they are, not escaped.
func appendSyslogJSON(dst []byte, r *SyslogRecord) []byte {
	w := bytes.NewBuffer(dst)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil { // cannot happen: strings and maps of strings only
		return dst
	}
	out := w.Bytes()
	return out[:len(out)-1] // Encode ends it with a newline
}
