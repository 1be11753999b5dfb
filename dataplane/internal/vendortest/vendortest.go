// Package vendortest reads HTTP request bodies the way the log vendors that
// the outputs' formats serve read them, for tests that check what really
// reaches a receiver.
package vendortest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Texts decodes body, in the output format named, as its receiver would,
// and returns every string, key and number in it. A log line that holds a
// JSON object or array is parsed as one, as vendors do with a text body's
// lines, the message field the JSON formats wrap other lines in (Datadog's
// included) and Splunk's event field, and stands for what it holds; any
// other line is returned as it is. Strings inside are not parsed again.
func Texts(format string, body []byte) ([]string, error) {
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				out = append(out, k)
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		case string:
			out = append(out, v)
		case json.Number:
			out = append(out, v.String())
		case bool:
			out = append(out, strconv.FormatBool(v))
		}
	}
	// logLine is a log line as the receiver stores it: parsed when it is
	// JSON, as text otherwise.
	logLine := func(s string) {
		if t := strings.TrimLeft(s, " \t\r\n"); strings.HasPrefix(t, "{") || strings.HasPrefix(t, "[") {
			d := json.NewDecoder(strings.NewReader(t))
			d.UseNumber()
			var v any
			if d.Decode(&v) == nil && !d.More() {
				walk(v)
				return
			}
		}
		out = append(out, s)
	}
	// envelope walks a decoded body value whose field field holds a log
	// line.
	envelope := func(v any, field string) {
		if m, ok := v.(map[string]any); ok {
			if s, ok := m[field].(string); ok {
				logLine(s)
				delete(m, field)
			}
		}
		walk(v)
	}
	if format == "" || format == "text" {
		for _, l := range strings.Split(string(body), "\n") {
			logLine(l)
		}
		return out, nil
	}
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	for {
		var v any
		if err := d.Decode(&v); err == io.EOF {
			return out, nil
		} else if err != nil {
			return out, fmt.Errorf("cannot decode a %s body: %w", format, err)
		}
		switch format {
		case "ndjson":
			envelope(v, "message")
		case "json_array":
			arr, _ := v.([]any)
			for _, e := range arr {
				envelope(e, "message")
			}
		case "splunk_hec":
			envelope(v, "event")
		case "datadog":
			arr, _ := v.([]any)
			for _, e := range arr {
				envelope(e, "message")
			}
		default:
			return nil, fmt.Errorf("unknown format %q", format)
		}
	}
}
