// Package deadletter keeps the batches an output's destination refused for
// good (output.PermanentError), one file per output, so that an operator
// can see them, send them again once the cause is fixed, or purge them.
//
// A file holds one JSON object per line, one per refused batch:
//
//	{"time":"2026-12-06T20:40:37.123456789Z","output":"http:http://host/logs","status":400,"response":"...","lines":["...","..."]}
//
// time is when the batch was refused (RFC 3339, UTC, with nanoseconds);
// status the destination's HTTP status; response the start of its answer
// (at most 512 bytes, bytes that are not UTF-8 written U+FFFD); lines the
// batch's lines, processed (after redaction) and in order, as JSON strings
// when every one of them is valid UTF-8. A batch with a line that is not
// has lines_b64 instead: each line in standard base64, so every byte comes
// back as it was. Lines are never changed: a string holds a line's exact
// bytes.
//
// Lock order: Dir.mu, then File.mu.
package deadletter

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
	"unicode/utf8"
)

// Entry is one refused batch.
type Entry struct {
	Time     time.Time
	Output   string // the output's name
	Status   int    // the destination's HTTP status
	Response []byte // the start of its answer
	// Lines are the batch's lines. Append does not keep them.
	Lines [][]byte
}

// jsonEntry is an Entry as a file holds it.
type jsonEntry struct {
	Time     time.Time `json:"time"`
	Output   string    `json:"output"`
	Status   int       `json:"status"`
	Response string    `json:"response"`
	Lines    []string  `json:"lines,omitempty"`
	LinesB64 [][]byte  `json:"lines_b64,omitempty"` // base64, as encoding/json writes []byte
}

// appendEntry appends e as one line of a file, its newline included.
func appendEntry(dst *bytes.Buffer, e *Entry) error {
	j := jsonEntry{Time: e.Time.UTC(), Output: e.Output, Status: e.Status, Response: string(e.Response)}
	valid := true
	for _, l := range e.Lines {
		if !utf8.Valid(l) {
			valid = false
			break
		}
	}
	if valid {
		j.Lines = make([]string, len(e.Lines))
		for i, l := range e.Lines {
			j.Lines[i] = string(l)
		}
	} else {
		j.LinesB64 = e.Lines
	}
	enc := json.NewEncoder(dst)
	enc.SetEscapeHTML(false) // < > & as they are: the file is read by people too
	return enc.Encode(&j)    // one line: Encode escapes newlines in strings
}

// errNoLines is the error of an object with neither lines nor lines_b64.
var errNoLines = errors.New("entry has no lines")

// decodeEntry reads one line of a file.
func decodeEntry(raw []byte) (*Entry, error) {
	var j jsonEntry
	if err := json.Unmarshal(raw, &j); err != nil {
		return nil, err
	}
	e := &Entry{Time: j.Time, Output: j.Output, Status: j.Status, Response: []byte(j.Response)}
	switch {
	case j.Lines != nil && j.LinesB64 != nil:
		return nil, errors.New("entry has both lines and lines_b64")
	case j.LinesB64 != nil:
		e.Lines = j.LinesB64
	case j.Lines != nil:
		e.Lines = make([][]byte, len(j.Lines))
		for i, l := range j.Lines {
			e.Lines[i] = []byte(l)
		}
	}
	if len(e.Lines) == 0 {
		return nil, errNoLines
	}
	return e, nil
}

// Scan reads the lines of a dead-letter file from r and calls fn with each:
// its bytes, its newline included when it has one, and its entry, or the
// error that keeps it from being one (a damaged line: cut short by a crash,
// or edited by hand). Blank lines are skipped. fn may keep neither raw nor
// e's lines after it returns false or the next call; it returns false to
// stop. Scan returns the error of reading r.
func Scan(r io.Reader, fn func(raw []byte, e *Entry, err error) bool) error {
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		raw, err := br.ReadBytes('\n')
		if len(raw) > 0 && len(bytes.TrimSpace(raw)) > 0 {
			e, derr := decodeEntry(raw)
			if derr != nil {
				derr = fmt.Errorf("damaged entry: %w", derr)
			}
			if !fn(raw, e, derr) {
				return nil
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
