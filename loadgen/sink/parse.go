package sink

import "bytes"

// Line is what ParseLine extracts from a delivered line. Src points into the
// parsed line and is valid only as long as that buffer is.
type Line struct {
	// TS is the send timestamp in Unix nanoseconds.
	TS int64
	// Src is the source id.
	Src []byte
	// Seq is the per-source sequence number; it is never 0.
	Seq uint64
	// Body is the offset where the payload after the text prefix starts;
	// 0 for JSON lines.
	Body int
	// JSON is set for lines that start with '{'.
	JSON bool
	// Debug is set for text lines with level=DEBUG and JSON lines with
	// "severityText":"DEBUG".
	Debug bool
}

var (
	textTS     = []byte("ts=")
	textTSMid  = []byte(" ts=")
	textSrc    = []byte(" src=")
	textSeq    = []byte(" seq=")
	textLevel  = []byte("level=")
	textDebug  = []byte("DEBUG")
	jsonFast   = []byte(`{"ts":`)
	jsonTS     = []byte(`"ts":`)
	jsonSrc    = []byte(`"src":`)
	jsonSeq    = []byte(`"seq":`)
	jsonSev    = []byte(`"severityText":`)
	jsonDebug  = []byte(`"DEBUG"`)
	jsonSrcMid = []byte(`,"src":"`)
	jsonSeqMid = []byte(`","seq":`)
)

// ParseLine extracts the delivery fields of a line in either of the forms
// produced by package corpus:
//
//	ts=<unix ns> src=<id> seq=<n> ...
//	{"ts":<unix ns>,"src":"<id>","seq":<n>,...}
//
// A text prefix may be preceded by other text (the first " ts=" is used), and
// so may a JSON object (the first `{"ts":` is used); JSON fields may come in
// any order. ParseLine does not allocate; ok is false
// when the fields are missing or malformed.
func ParseLine(b []byte) (l Line, ok bool) {
	if len(b) > 0 && b[0] == '{' {
		return parseJSON(b)
	}
	if l, ok = parseText(b); ok {
		return l, true
	}
	// A JSON line after other text, as in the message of a syslog line.
	if i := bytes.Index(b, jsonFast); i > 0 {
		return parseJSON(b[i:])
	}
	return l, false
}

func parseText(b []byte) (l Line, ok bool) {
	p := 0
	if !bytes.HasPrefix(b, textTS) {
		i := bytes.Index(b, textTSMid)
		if i < 0 {
			return l, false
		}
		p = i + 1
	}
	p += len(textTS)
	var ts uint64
	if ts, p, ok = parseUint(b, p); !ok || ts > 1<<63-1 {
		return l, false
	}
	if !bytes.HasPrefix(b[p:], textSrc) {
		return l, false
	}
	p += len(textSrc)
	start := p
	for p < len(b) && b[p] != ' ' {
		p++
	}
	if p == start {
		return l, false
	}
	src := b[start:p]
	if !bytes.HasPrefix(b[p:], textSeq) {
		return l, false
	}
	var seq uint64
	if seq, p, ok = parseUint(b, p+len(textSeq)); !ok || seq == 0 {
		return l, false
	}
	if p < len(b) {
		if b[p] != ' ' {
			return l, false
		}
		p++
	}
	return Line{TS: int64(ts), Src: src, Seq: seq, Body: p, Debug: textIsDebug(b[p:])}, true
}

// textIsDebug reports whether the first level field of b is DEBUG.
func textIsDebug(b []byte) bool {
	i := bytes.Index(b, textLevel)
	return i >= 0 && bytes.HasPrefix(b[i+len(textLevel):], textDebug)
}

func parseJSON(b []byte) (l Line, ok bool) {
	l.JSON = true
	var ts, seq uint64
	var p int
	if bytes.HasPrefix(b, jsonFast) {
		// Fast path: the field order written by package corpus.
		if ts, p, ok = parseUint(b, len(jsonFast)); ok && bytes.HasPrefix(b[p:], jsonSrcMid) {
			start := p + len(jsonSrcMid)
			end := bytes.IndexByte(b[start:], '"')
			if end > 0 && bytes.HasPrefix(b[start+end:], jsonSeqMid) {
				l.Src = b[start : start+end]
				seq, _, ok = parseUint(b, start+end+len(jsonSeqMid))
			} else {
				ok = false
			}
		}
	}
	if !ok {
		if ts, ok = jsonUint(b, jsonTS); !ok {
			return l, false
		}
		if seq, ok = jsonUint(b, jsonSeq); !ok {
			return l, false
		}
		if l.Src, ok = jsonString(b, jsonSrc); !ok {
			return l, false
		}
	}
	if ts > 1<<63-1 || seq == 0 {
		return l, false
	}
	l.TS, l.Seq = int64(ts), seq
	if v, ok := jsonValue(b, jsonSev); ok && bytes.HasPrefix(v, jsonDebug) {
		l.Debug = true
	}
	return l, true
}

// jsonValue returns the text after key and any blanks.
func jsonValue(b, key []byte) ([]byte, bool) {
	i := bytes.Index(b, key)
	if i < 0 {
		return nil, false
	}
	p := i + len(key)
	for p < len(b) && (b[p] == ' ' || b[p] == '\t') {
		p++
	}
	return b[p:], true
}

func jsonUint(b, key []byte) (uint64, bool) {
	v, ok := jsonValue(b, key)
	if !ok {
		return 0, false
	}
	n, _, ok := parseUint(v, 0)
	return n, ok
}

func jsonString(b, key []byte) ([]byte, bool) {
	v, ok := jsonValue(b, key)
	if !ok || len(v) < 2 || v[0] != '"' {
		return nil, false
	}
	end := bytes.IndexByte(v[1:], '"')
	if end <= 0 {
		return nil, false
	}
	return v[1 : 1+end], true
}

// parseUint parses decimal digits at b[p:] and returns the value and the
// offset after them. It fails on no digits or more than 19.
func parseUint(b []byte, p int) (v uint64, end int, ok bool) {
	start := p
	for p < len(b) && isDigit(b[p]) {
		if p-start == 19 {
			return 0, p, false
		}
		v = v*10 + uint64(b[p]-'0')
		p++
	}
	return v, p, p > start
}
