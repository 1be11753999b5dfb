package match

import (
	"bytes"
	"slices"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
)

// This file makes redaction see a JSON line the way its receiver will: with
// its strings decoded. A vendor parses {"a":"123\u002d45\u002d6789"} into
// the value 123-45-6789, so a detector looking at the line's bytes, which
// hold no dash, must not be the last word.

// A line nested deeper than maxJSONDepth (json.go) is scanned as bytes and
// leniently unescaped, and counted in JSONTooDeep.

// JSONAware returns a Replacer that runs r on the decoded contents of a JSON
// line and on the bytes of any other line.
//
// A line that is a JSON object or array (after leading whitespace) has each
// string, key or value, decoded (every escape form, surrogate pairs, invalid
// UTF-8 as U+FFFD) and r run on it alone; a number is scanned as its text.
// A string in which r finds something is replaced by the rewritten text,
// encoded as a JSON string; so is a number, which becomes a string. When
// anything is rewritten, every string whose bytes were not valid UTF-8 is
// re-encoded too, so the line that leaves is valid JSON.
//
// With raw set, r then also runs over the line's bytes, as on any other
// line, so that a pattern written against the JSON text, such as
// "password":"[^"]*", keeps matching. Its replacement is inserted as is.
//
// A line that starts like JSON but does not parse, or is nested deeper than
// 128 levels, is scanned as bytes, and then, if it holds a backslash, its
// escapes are undone leniently (\uXXXX anywhere, whether or not in a
// string) and r runs on that too; if r finds something there, the line
// leaves unescaped and rewritten (its remaining backslashes doubled), so a
// truncated object cannot carry an escaped value out.
//
// A line without a backslash costs no decoding: when r finds nothing in its
// bytes, it finds nothing in its strings either (for r without ^ or $
// anchors, which see each string's bounds), and the line is left as it is
// after one scan, as a line that is not JSON. When r is made of detectors
// and finds something in such a line, a second scan of its bytes tells
// where, and only the strings and numbers that hold a finding, or that
// the scan of the bytes may not have seen with their key (an array's
// elements, a value more than 32 bytes after its key), are scanned alone.
func JSONAware(r Replacer, raw bool) Replacer {
	return JSONAwareWith(r, JSONOptions{Raw: raw})
}

// JSONOptions say what else JSONAwareWith does.
type JSONOptions struct {
	// Raw also runs the redactor over the bytes of a JSON line; see
	// JSONAware.
	Raw bool
	// Fields selects values that are replaced whole, whatever they hold,
	// as Act says: in a JSON line by path (a string by its decoded
	// contents, anything else by its JSON text), in a text line the
	// value of a key=value or key: value pair by key.
	Fields *Fields
	Act    Action
	// Exclude selects values of a JSON line that are neither scanned nor
	// replaced, such as a trace id; it leaves out Raw's pass, and has no
	// effect on text lines.
	Exclude *Fields
}

// JSONAwareWith is JSONAware with field rules. r may be nil for a rule of
// fields alone.
func JSONAwareWith(r Replacer, o JSONOptions) Replacer {
	j := &jsonReplacer{r: r, raw: o.Raw && o.Exclude == nil, precheck: true, fields: o.Fields, act: o.Act, exclude: o.Exclude}
	if a, ok := r.(interface{ anchored() bool }); ok && a.anchored() {
		j.precheck = false
	}
	if q, ok := r.(interface{ quoteBlind() bool }); ok && q.quoteBlind() {
		j.quoteBlind = true
	}
	if j.fields != nil && j.act == nil {
		j.act = Mask("[REDACTED]")
	}
	return j
}

// jsonReplacer is JSONAwareWith's.
type jsonReplacer struct {
	r        Replacer // nil for fields alone
	raw      bool
	precheck bool
	fields   *Fields
	act      Action
	exclude  *Fields
	// quoteBlind: r's findings never hold '"', '\\' or '/', so the escapes
	// \", \\ and \/ hide none from a scan of the bytes.
	quoteBlind bool
}

// jsonBufs are the buffers a JSON line is decoded into: a pooled pair, each
// dropped rather than pooled once larger than maxPooledJSONBuf.
type jsonBufs struct {
	dec, rep, key, path, pairs []byte
	// ctxKey is the key of the value being scanned, and ctx the value
	// with its key before it: detectors that want a keyword before a
	// value ("ssn": "123456789") see it there, as in a text line.
	ctxKey, ctx []byte
	// pathEnd[d] is the length of the path of the container at depth d.
	pathEnd [maxJSONDepth + 1]int
	// sp, when not nil, records the findings of the line being
	// rewritten, relative to it and to what is written of it (see
	// Spans); inner collects those of one value.
	sp    *Spans
	inner Spans
	base  int // where the line being rewritten starts in what is written
	// found holds, when sparing is set, the findings of the replacer in
	// the line's bytes, in order, from found.List[next] on not yet passed;
	// a string or number that none of them overlaps is not scanned where
	// covered says that the scan of its bytes saw all that a scan of it
	// would (see spare).
	found   Spans
	next    int
	sparing bool
	covered bool
}

const maxPooledJSONBuf = 64 << 10

var jsonBufPool = sync.Pool{New: func() any { return new(jsonBufs) }}

func getJSONBufs() *jsonBufs { return jsonBufPool.Get().(*jsonBufs) }

func putJSONBufs(b *jsonBufs) {
	b.sp = nil
	clear(b.inner.List)
	b.inner.List = b.inner.List[:0]
	clear(b.found.List)
	b.found.List, b.next, b.sparing = b.found.List[:0], 0, false
	if cap(b.dec) > maxPooledJSONBuf {
		b.dec = nil
	}
	if cap(b.rep) > maxPooledJSONBuf {
		b.rep = nil
	}
	if cap(b.key) > maxPooledJSONBuf || cap(b.path) > maxPooledJSONBuf || cap(b.pairs) > maxPooledJSONBuf ||
		cap(b.ctxKey) > maxPooledJSONBuf || cap(b.ctx) > maxPooledJSONBuf {
		b.key, b.path, b.pairs, b.ctxKey, b.ctx = nil, nil, nil, nil, nil
	}
	jsonBufPool.Put(b)
}

// looksJSON reports whether line starts, after whitespace, like a JSON
// object or array.
func looksJSON(line []byte) bool {
	i := skipSpace(line, 0)
	return i < len(line) && (line[i] == '{' || line[i] == '[')
}

// Finds implements Replacer.
func (j *jsonReplacer) Finds(line []byte) bool {
	if !looksJSON(line) && j.fields == nil {
		return j.r != nil && j.r.Finds(line)
	}
	b := getJSONBufs()
	defer putJSONBufs(b)
	out, found := j.AppendReplace(b.rep[:0], line)
	b.rep = out[:0]
	return found
}

// AppendReplace implements Replacer.
func (j *jsonReplacer) AppendReplace(dst, line []byte) ([]byte, bool) {
	return j.appendReplace(dst, line, nil)
}

// appendReplace is AppendReplace, recording the findings in sp when it is
// not nil.
func (j *jsonReplacer) appendReplace(dst, line []byte, sp *Spans) ([]byte, bool) {
	if !looksJSON(line) {
		return j.appendText(dst, line, sp)
	}
	// An escape can hide a finding, a context word in a key or a field's
	// key name from a scan of the bytes: then every string is scanned.
	hiding := j.hidingEscapes(line)
	// With the precheck, a string without escapes can only hold a finding
	// if the line's bytes do. For detectors, the scan of the bytes also
	// tells where, so that the strings and numbers away from what it finds
	// are left unscanned.
	var b *jsonBufs
	all := j.r != nil && !j.precheck
	if j.r != nil && j.precheck {
		if r, ok := j.r.(spanReplacer); ok && !hiding && j.spares() {
			b = getJSONBufs()
			b.rep, all = r.appendReplace(b.rep[:0], line, &b.found)
			b.rep, b.sparing = b.rep[:0], all
		} else {
			all = j.r.Finds(line)
		}
	}
	all = all || hiding && j.r != nil
	fields := j.fields != nil && (hiding || bytes.IndexByte(line, '\\') >= 0 || j.fields.mayMatch(line))
	if !all && !fields && !hiding {
		if b != nil {
			putJSONBufs(b)
		}
		return dst, false
	}
	if b == nil {
		b = getJSONBufs()
	}
	defer putJSONBufs(b)
	start := len(dst)
	mark := 0
	if sp != nil {
		b.sp, b.base, mark = sp, start, len(sp.List)
	}
	out, changed, st := j.tokens(dst, line, all, fields, b)
	if st != jsonOK || !changed {
		b.sp = nil
		if sp != nil {
			sp.List = sp.List[:mark] // discarded with what tokens wrote
		}
	}
	switch st {
	case jsonTooDeep_:
		jsonTooDeep.Add(1)
		return j.lenient(dst, line, b, sp)
	case jsonMalformed:
		return j.lenient(dst, line, b, sp)
	}
	if !changed {
		out = dst
	}
	if !j.raw {
		return out, changed
	}
	cur := line
	if changed {
		cur = out[start:]
	}
	var second *Spans
	if sp != nil {
		second = &Spans{}
	}
	res, found := replaceSpans(j.r, out, cur, second)
	if !found {
		return out, changed
	}
	if sp != nil {
		sp.List = append(sp.List[:mark], ComposeSpans(slices.Clone(sp.List[mark:]), second.List)...)
	}
	if !changed {
		return res, true
	}
	// res holds dst, the decoded pass's line, then the raw pass's: move the
	// last over the middle.
	n := copy(res[start:], res[len(out):])
	return res[:start+n], true
}

// appendText redacts a line that is not JSON: r on its bytes, then the
// key=value pairs that the fields select.
func (j *jsonReplacer) appendText(dst, line []byte, sp *Spans) ([]byte, bool) {
	start := len(dst)
	out, found := dst, false
	mark := 0
	if sp != nil {
		mark = len(sp.List)
	}
	if j.r != nil {
		out, found = replaceSpans(j.r, dst, line, sp)
	}
	if j.fields == nil {
		return out, found
	}
	cur := line
	if found {
		cur = out[start:]
	}
	var second *Spans
	if sp != nil {
		second = &Spans{}
	}
	res, hit := j.fields.appendTextPairs(out, cur, j.act, second)
	if !hit {
		return out, found
	}
	if sp != nil {
		sp.List = append(sp.List[:mark], ComposeSpans(slices.Clone(sp.List[mark:]), second.List)...)
	}
	if !found {
		return res, true
	}
	n := copy(res[start:], res[len(out):])
	return res[:start+n], true
}

// hidingEscapes reports whether line holds an escape that could hide a
// finding of r from a scan of its bytes: any, unless r is quote-blind and
// the line's escapes are all \", \\ or \/, as most JSON encoders write.
func (j *jsonReplacer) hidingEscapes(line []byte) bool {
	for i := bytes.IndexByte(line, '\\'); i >= 0; {
		if !j.quoteBlind || i+1 == len(line) {
			return true
		}
		switch line[i+1] {
		case '"', '\\', '/':
		default:
			return true
		}
		n := bytes.IndexByte(line[i+2:], '\\')
		if n < 0 {
			return false
		}
		i += 2 + n
	}
	return false
}

// lenient scans a line that starts like JSON but cannot be decoded: as
// text, then with its escapes undone.
func (j *jsonReplacer) lenient(dst, line []byte, b *jsonBufs, sp *Spans) ([]byte, bool) {
	start := len(dst)
	mark := 0
	if sp != nil {
		mark = len(sp.List)
	}
	out, found := j.appendText(dst, line, sp)
	cur := line
	if found {
		cur = out[start:]
	}
	if bytes.IndexByte(cur, '\\') < 0 {
		return out, found
	}
	b.dec = unescapeJSON(b.dec[:0], cur)
	var second *Spans
	if sp != nil {
		second = &Spans{}
	}
	rep, hit := j.appendText(b.rep[:0], b.dec, second)
	b.rep = rep[:0]
	if !hit {
		return out, found
	}
	if sp != nil {
		// Found in cur unescaped: taken back to cur's escapes, then to
		// line; what replaces each is the whole line, written again.
		for i := range second.List {
			s := &second.List[i]
			s.Start, s.End = rawOffset(cur, s.Start, false), rawOffset(cur, s.End, true)
		}
		sp.List = append(sp.List[:mark], ComposeSpans(slices.Clone(sp.List[mark:]), second.List)...)
	}
	// The line leaves as its unescaped text, rewritten, with each
	// backslash doubled: undoing escapes again gives that text back, and
	// not a value that an escape in the text would spell.
	out = dst[:start]
	for {
		i := bytes.IndexByte(rep, '\\')
		if i < 0 {
			out = append(out, rep...)
			break
		}
		out = append(out, rep[:i+1]...)
		out = append(out, '\\')
		rep = rep[i+1:]
	}
	if sp != nil {
		// The whole line is written again.
		for i := mark; i < len(sp.List); i++ {
			sp.List[i].OutStart, sp.List[i].OutEnd = 0, len(out)-start
		}
		sp.add(0, len(line), 0, len(out)-start, "")
	}
	return out, true
}

// Outcomes of jsonReplacer.tokens.
const (
	jsonOK = iota
	jsonMalformed
	jsonTooDeep_
)

// States of the JSON walk: what may come next.
const (
	wantValue        = iota // a value
	wantValueOrClose        // a value or ']', after '['
	wantKey                 // a key, after ',' in an object
	wantKeyOrClose          // a key or '}', after '{'
	wantColon               // ':', after a key
	wantNext                // ',' or the closing bracket, after a value
)

// tokens walks the JSON value that line holds and appends to dst the line
// with every string and number in which r finds something rewritten, every
// value the fields select replaced, and every string that is not valid
// UTF-8 re-encoded. Without all, only the strings with escapes or invalid
// UTF-8 are scanned: the caller knows r finds nothing in the others;
// without fields, the fields are not looked at. Values the exclusions
// select are left alone. It reports whether anything was found, and
// whether the line is one JSON value nested at most maxJSONDepth deep. On
// anything but jsonOK, or with nothing found, what it appended is to be
// discarded.
func (j *jsonReplacer) tokens(dst, line []byte, all, fields bool, b *jsonBufs) (out []byte, changed bool, status int) {
	out = dst
	last := 0 // line[last:i] is yet to be copied
	// Paths are followed only for field rules: b.path[:cur] is the path
	// of the next value.
	paths := fields || j.exclude != nil
	b.path = b.path[:0]
	b.ctxKey = b.ctxKey[:0]
	cur := 0
	var arrays [maxJSONDepth / 64]uint64 // bit d: the container at depth d is an array
	depth := 0
	// skipFrom, when not 0, is the depth from which values are excluded:
	// an excluded value is walked but not scanned.
	skipFrom := 0
	keyAt := -1 // where the last key's quote is
	state := wantValue
	for i := 0; ; {
		i = skipSpace(line, i)
		if i == len(line) {
			return out, changed, jsonMalformed
		}
		if skipFrom > depth+1 || skipFrom > 0 && depth+1 == skipFrom && state == wantNext {
			skipFrom = 0 // the excluded value has ended
		}
		c := line[i]
		isArray := depth > 0 && arrays[(depth-1)/64]&(1<<((depth-1)%64)) != 0
		switch state {
		case wantValue, wantValueOrClose:
			if state == wantValueOrClose && c == ']' {
				i++
				depth--
				state = wantNext
				break
			}
			if paths && isArray {
				cur = b.pathEnd[depth]
			}
			if paths {
				path := b.path[:cur]
				if skipFrom == 0 && j.exclude != nil && j.exclude.match(path) {
					// Walked like any value, so that a broken line is
					// still caught, but nothing in it is scanned.
					skipFrom = depth + 1
				}
				if skipFrom == 0 && fields && j.fields.match(path) {
					e := skipValue(line, i)
					if e < 0 {
						return out, changed, jsonMalformed
					}
					at := len(out) + i - last
					out = j.replaceValue(out, line, &last, i, e, b)
					if b.sp != nil {
						vs, ve := i, e
						if line[i] == '"' {
							vs, ve = i+1, e-1
						}
						b.sp.add(i, e, at-b.base, len(out)-b.base, "")
						b.sp.add(vs, ve, at-b.base, len(out)-b.base, FieldDetector+string(path))
					}
					changed = true
					i = e
					state = wantNext
					break
				}
			}
			// A value right after its key is seen by a scan of the line's
			// bytes with its key, as scanValue gives it; an element of an
			// array is not, past the brackets and commas before it.
			b.covered = !isArray && keyAt >= 0 && i-keyAt <= contextWindow
			switch {
			case c == '{' || c == '[':
				if depth == maxJSONDepth {
					return out, changed, jsonTooDeep_
				}
				w, bit := depth/64, uint64(1)<<(depth%64)
				arrays[w] &^= bit
				state = wantKeyOrClose
				if c == '[' {
					arrays[w] |= bit
					state = wantValueOrClose
				}
				depth++
				b.pathEnd[depth] = cur
				i++
				continue
			case c == '"' && skipFrom > 0:
				e, _, _, ok := scanJSONString(line, i)
				if !ok {
					return out, changed, jsonMalformed
				}
				i = e
			case c == '"':
				// A string value may hold key=value pairs the fields
				// select, as a text line does.
				e, ok := 0, false
				out, e, ok = j.rewriteString(out, line, &last, i, all || fields, b, &changed)
				if !ok {
					return out, changed, jsonMalformed
				}
				i = e
			case c == '-' || isDigit(c):
				e := i + 1
				for e < len(line) && isNumberByte(line[e]) {
					e++
				}
				if all && skipFrom == 0 && !b.spare(i, e) {
					out = j.rewrite(out, line, &last, i, e, line[i:e], false, b, &changed)
				}
				i = e
			case c == 't' && hasJSONPrefix(line[i:], "true"):
				i += 4
			case c == 'f' && hasJSONPrefix(line[i:], "false"):
				i += 5
			case c == 'n' && hasJSONPrefix(line[i:], "null"):
				i += 4
			default:
				return out, changed, jsonMalformed
			}
			state = wantNext
		case wantKey, wantKeyOrClose:
			if state == wantKeyOrClose && c == '}' {
				i++
				depth--
				state = wantNext
				break
			}
			if c != '"' {
				return out, changed, jsonMalformed
			}
			b.ctxKey = b.ctxKey[:0] // a key is scanned alone
			b.covered, keyAt = true, i
			e, ok := 0, false
			if skipFrom > 0 {
				e, _, _, ok = scanJSONString(line, i)
			} else {
				out, e, ok = j.rewriteString(out, line, &last, i, all, b, &changed)
			}
			if !ok {
				return out, changed, jsonMalformed
			}
			if paths {
				cur = j.keyPath(line[i+1:e-1], b, depth)
			}
			b.ctxKey = append(b.ctxKey[:0], line[i+1:e-1]...)
			if bytes.IndexByte(b.ctxKey, '\\') >= 0 {
				b.ctxKey = unescapeJSON(b.ctxKey[:0], line[i+1:e-1])
			}
			i = e
			state = wantColon
			continue
		case wantColon:
			if c != ':' {
				return out, changed, jsonMalformed
			}
			i++
			state = wantValue
			continue
		case wantNext:
			switch {
			case c == ',':
				state = wantKey
				if isArray {
					state = wantValue
				}
				i++
				continue
			case c == '}' && !isArray, c == ']' && isArray:
				i++
				depth--
			default:
				return out, changed, jsonMalformed
			}
		}
		if depth == 0 {
			if skipSpace(line, i) != len(line) {
				return out, changed, jsonMalformed
			}
			if !changed {
				return dst, false, jsonOK
			}
			return append(out, line[last:]...), true, jsonOK
		}
	}
}

// spares reports whether a line in which r finds something may have its
// strings and numbers scanned only where r found something in its
// bytes: r is a replacer of detectors (quote-blind, not anchored), and
// no field rule reads the strings. See spare.
func (j *jsonReplacer) spares() bool {
	return j.r != nil && j.precheck && j.quoteBlind && j.fields == nil
}

// spare reports whether the string or number line[s:e], without escapes,
// need not be scanned: the scan of the line's bytes found nothing in it,
// and saw what a scan of it sees. A detector's finding holds no quote and
// sees a quote as it sees the bounds of a text; what it looks for before
// a value, a context word, it looks for within 32 bytes, in the line as
// in the text scanValue makes, which has fewer bytes between the key and
// the value; and a key is scanned alone. So for a key, and for a value
// whose key's quote is at most 32 bytes before it, the scan of the line
// saw all that a scan of the string sees. Strings are passed in order.
func (b *jsonBufs) spare(s, e int) bool {
	if !b.sparing || !b.covered {
		return false
	}
	f := b.found.List
	for b.next < len(f) && f[b.next].End <= s {
		b.next++
	}
	return b.next == len(f) || f[b.next].Start >= e
}

// keyPath sets b.path to the path of the value of the key whose raw
// contents are raw, in the object at depth, and returns its length.
func (j *jsonReplacer) keyPath(raw []byte, b *jsonBufs, depth int) int {
	b.path = b.path[:b.pathEnd[depth]]
	if len(b.path) > 0 {
		b.path = append(b.path, '.')
	}
	if bytes.IndexByte(raw, '\\') >= 0 {
		b.key = unescapeJSON(b.key[:0], raw)
		raw = b.key
	}
	b.path = append(b.path, raw...)
	return len(b.path)
}

// replaceValue replaces the value line[s:e] whole, as the fields' action
// says: a string by its decoded contents, anything else by its JSON text.
func (j *jsonReplacer) replaceValue(out, line []byte, last *int, s, e int, b *jsonBufs) []byte {
	text := line[s:e]
	if line[s] == '"' {
		b.dec = unescapeJSON(b.dec[:0], line[s+1:e-1])
		text = b.dec
	}
	b.rep = j.act.appendFor(b.rep[:0], text)
	out = append(out, line[*last:s]...)
	out = AppendJSONString(out, b.rep)
	*last = e
	return out
}

// isNumberByte reports whether c may continue a JSON number. The walk is
// lenient about a number's form: it only needs to know where it ends.
func isNumberByte(c byte) bool {
	return isDigit(c) || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-'
}

// rewriteString handles the string whose opening quote is at line[s]: it
// decodes it and rewrites it (see rewrite), unless it is plain and all is
// not set. It returns the index past its
// closing quote, or false if it is not a well-formed string.
func (j *jsonReplacer) rewriteString(out, line []byte, last *int, s int, all bool, b *jsonBufs, changed *bool) ([]byte, int, bool) {
	e, esc, invalid, ok := scanJSONString(line, s)
	if !ok {
		return out, e, false
	}
	if all && !esc && !invalid && b.spare(s, e) {
		all = false
	}
	if !all && !esc && !invalid {
		return out, e, true
	}
	text := line[s+1 : e-1]
	if esc || invalid {
		b.dec = unescapeJSON(b.dec[:0], text)
		text = b.dec
	}
	return j.rewrite(out, line, last, s, e, text, invalid, b, changed), e, true
}

// rewrite runs r on text, the decoded contents of the token line[s:e]. If r
// finds something, or reencode is set, it appends to out what comes before
// the token and the text rewritten (or as it is) as a JSON string, and
// moves last past the token. A finding sets changed.
func (j *jsonReplacer) rewrite(out, line []byte, last *int, s, e int, text []byte, reencode bool, b *jsonBufs, changed *bool) []byte {
	var inner *Spans
	if b.sp != nil {
		b.inner.List = b.inner.List[:0]
		inner = &b.inner
	}
	rep, found := j.scanValue(text, b, inner)
	if j.fields != nil {
		cur := text
		if found {
			cur = rep
		}
		var second *Spans
		if inner != nil {
			second = &Spans{}
		}
		if pr, hit := j.fields.appendTextPairs(b.pairs[:0], cur, j.act, second); hit {
			b.pairs = pr[:0]
			rep, found = pr, true
			if inner != nil {
				inner.List = ComposeSpans(slices.Clone(inner.List), second.List)
			}
		}
	}
	if !found && !reencode {
		return out
	}
	if found {
		*changed = true
		text = rep
	}
	out = append(out, line[*last:s]...)
	at := len(out)
	out = AppendJSONString(out, text)
	*last = e
	if inner != nil {
		if !found {
			inner.List = inner.List[:0]
		}
		tokenSpans(line, s, e, inner.List, at-b.base, len(out)-b.base, b.sp)
	}
	return out
}

// tokenSpans records in sp that the token line[s:e], a string or a
// number, was written again at out[os:oe] (a span without a detector),
// and the spans found in its decoded contents, taken back to the line's
// bytes.
func tokenSpans(line []byte, s, e int, found []Span, os, oe int, sp *Spans) {
	sp.add(s, e, os, oe, "")
	for _, f := range found {
		if line[s] == '"' {
			raw := line[s+1 : e-1]
			f.Start, f.End = s+1+rawOffset(raw, f.Start, false), s+1+rawOffset(raw, f.End, true)
		} else {
			f.Start, f.End = s+f.Start, s+f.End
		}
		sp.add(f.Start, f.End, os, oe, f.Detector)
	}
}

// scanValue runs r on text, the decoded contents of a key or value. A
// value is scanned with its key before it ("ssn: 123456789"), so that a
// detector that wants a keyword before a finding sees its key, as it
// would in a text line; the rewritten text is returned without the key.
// Should a finding reach into the key, the value is scanned alone.
//
// sp, when not nil, records the findings, relative to text and to the
// text returned.
func (j *jsonReplacer) scanValue(text []byte, b *jsonBufs, sp *Spans) ([]byte, bool) {
	if j.r == nil {
		return nil, false
	}
	// An anchored pattern (no precheck) sees each value's own start.
	if len(b.ctxKey) > 0 && j.precheck {
		b.ctx = append(append(append(b.ctx[:0], b.ctxKey...), ": "...), text...)
		n := len(b.ctx) - len(text)
		rep, found := replaceSpans(j.r, b.rep[:0], b.ctx, sp)
		b.rep = rep[:0]
		if !found {
			return nil, false
		}
		if len(rep) >= n && bytes.Equal(rep[:n], b.ctx[:n]) {
			if sp != nil {
				for i := range sp.List {
					f := &sp.List[i]
					f.Start, f.End = max(0, f.Start-n), max(0, f.End-n)
					f.OutStart, f.OutEnd = max(0, f.OutStart-n), max(0, f.OutEnd-n)
				}
			}
			return rep[n:], true
		}
		if sp != nil {
			sp.List = sp.List[:0]
		}
	}
	rep, found := replaceSpans(j.r, b.rep[:0], text, sp)
	b.rep = rep[:0]
	return rep, found
}

// scanJSONString returns the index past the closing quote of the string
// whose opening quote is at line[s], whether it holds escapes, and whether
// it holds bytes that are not valid UTF-8. ok is false when the string is
// not terminated or holds a control character or a malformed escape.
func scanJSONString(line []byte, s int) (e int, esc, invalid, ok bool) {
	i := s + 1
	for {
		i += PlainJSONPrefix(line[i:])
		if i == len(line) {
			return i, esc, invalid, false
		}
		switch c := line[i]; {
		case c == '"':
			return i + 1, esc, invalid, true
		case c == '\\':
			if i+1 == len(line) {
				return i, esc, invalid, false
			}
			esc = true
			switch line[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(line) || !isHexDigit(line[i+2]) || !isHexDigit(line[i+3]) || !isHexDigit(line[i+4]) || !isHexDigit(line[i+5]) {
					return i, esc, invalid, false
				}
				i += 6
			default:
				return i, esc, invalid, false
			}
		case c < utf8.RuneSelf: // a control character
			return i, esc, invalid, false
		default:
			r, size := utf8.DecodeRune(line[i:])
			if r == utf8.RuneError && size == 1 {
				invalid = true
			}
			i += size
		}
	}
}

func isHexDigit(c byte) bool { return isDigit(c) || (c|0x20)-'a' < 6 }

func hexValue(c byte) rune {
	if isDigit(c) {
		return rune(c - '0')
	}
	return rune(c|0x20-'a') + 10
}

// hex4 reads the four hex digits at s[i:], or returns false.
func hex4(s []byte, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var r rune
	for _, c := range s[i : i+4] {
		if !isHexDigit(c) {
			return 0, false
		}
		r = r<<4 | hexValue(c)
	}
	return r, true
}

func hasJSONPrefix(b []byte, lit string) bool {
	return len(b) >= len(lit) && string(b[:len(lit)]) == lit
}

// unescapeJSON appends s with its JSON escapes undone to dst: \", \\, \/,
// \b, \f, \n, \r, \t and \uXXXX in either case, a surrogate pair as the one
// rune it encodes and a lone surrogate as U+FFFD. Bytes that are not valid
// UTF-8 become U+FFFD. It is lenient: a backslash that starts no escape is
// kept, so it also serves for text that is not a well-formed JSON string.
func unescapeJSON(dst, s []byte) []byte {
	for i := 0; i < len(s); {
		if n := PlainJSONPrefix(s[i:]); n > 0 {
			dst = append(dst, s[i:i+n]...)
			i += n
			continue
		}
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s):
			if e := simpleEscape(s[i+1]); e != 0 {
				dst = append(dst, e)
				i += 2
				continue
			}
			if s[i+1] != 'u' {
				break
			}
			r, ok := hex4(s, i+2)
			if !ok {
				break
			}
			i += 6
			if utf16.IsSurrogate(r) {
				if i+1 < len(s) && s[i] == '\\' && s[i+1] == 'u' {
					if r2, ok := hex4(s, i+2); ok {
						if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
							dst = utf8.AppendRune(dst, d)
							i += 6
							continue
						}
					}
				}
				r = utf8.RuneError
			}
			dst = utf8.AppendRune(dst, r)
			continue
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(s[i:])
			if r == utf8.RuneError && size == 1 {
				dst = append(dst, "\uFFFD"...)
			} else {
				dst = append(dst, s[i:i+size]...)
			}
			i += size
			continue
		}
		dst = append(dst, c)
		i++
	}
	return dst
}

// simpleEscape returns the byte the two-character escape \c stands for, or
// 0 if c starts no such escape.
func simpleEscape(c byte) byte {
	switch c {
	case '"', '\\', '/':
		return c
	case 'b':
		return '\b'
	case 'f':
		return '\f'
	case 'n':
		return '\n'
	case 'r':
		return '\r'
	case 't':
		return '\t'
	}
	return 0
}
