package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
)

// maxBodyBytes bounds a request body.
const maxBodyBytes = 1 << 20

// decodeBody decodes r's body, which must be exactly one JSON object, into
// dst, rejecting unknown fields, and checks that each required field is
// present and not null. Its errors are *httpError naming the offending field.
func decodeBody(r *http.Request, dst any, required ...string) error {
	data, err := readBody(r)
	if err != nil {
		return err
	}
	return decodeJSON(data, dst, required...)
}

// readBody reads r's body, which the handler bounded to maxBodyBytes.
func readBody(r *http.Request) ([]byte, error) {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		if mbe, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, &httpError{status: http.StatusRequestEntityTooLarge,
				detail: fmt.Sprintf("body: larger than the limit of %d bytes", mbe.Limit)}
		}
		return nil, badRequest("body: cannot read: %v", err)
	}
	return data, nil
}

// decodeJSON is decodeBody on bytes already read.
func decodeJSON(data []byte, dst any, required ...string) error {
	data = bytes.TrimSpace(data)
	switch {
	case len(data) == 0:
		return badRequest("body: required; want a JSON object")
	case data[0] != '{':
		// Also rejects null, which would decode into nothing.
		return badRequest("body: want a JSON object")
	}
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	if err := d.Decode(dst); err != nil {
		return decodeError(err)
	}
	if _, err := d.Token(); err != io.EOF {
		return badRequest("body: unexpected data after the JSON object at offset %d", d.InputOffset())
	}

	if len(required) == 0 {
		return nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return decodeError(err)
	}
	for _, name := range required {
		if !present(fields, name) {
			return badRequest("%s: required", name)
		}
	}
	return nil
}

// present reports whether fields has name, not null. Like encoding/json,
// it matches names case-insensitively.
func present(fields map[string]json.RawMessage, name string) bool {
	for k, v := range fields {
		if strings.EqualFold(k, name) && !bytes.Equal(v, []byte("null")) {
			return true
		}
	}
	return false
}

// decodeError turns an encoding/json error into a 400 naming the field or
// the offset. It quotes no more of the body than one offending character,
// so a secret in a malformed body does not end up in the response.
func decodeError(err error) error {
	if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
		got, _, _ := strings.Cut(te.Value, " ") // "number 1.5" -> "number"
		if te.Field == "" {
			return badRequest("body: want a JSON object; got %s", got)
		}
		return badRequest("%s: want %s; got %s", te.Field, jsonKind(te.Type), got)
	}
	if se, ok := errors.AsType[*json.SyntaxError](err); ok {
		// Offset counts the bytes read, the offending one included.
		return badRequest("body: invalid JSON at offset %d: %v", max(se.Offset-1, 0), se)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return badRequest("body: invalid JSON: unexpected end of input")
	}
	if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return badRequest("body: unknown field %s", f)
	}
	return badRequest("body: %v", err)
}

// jsonKind names the JSON type that decodes into t.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Map, reflect.Struct:
		return "object"
	}
	return t.String()
}
