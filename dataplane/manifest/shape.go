package manifest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"streamgate/dataplane/output"
)

// maxShapeErrors bounds the problems checkShape reports; past it, one more
// error says how many were left out.
const maxShapeErrors = 50

var (
	versionType    = reflect.TypeFor[Version]()
	stringListType = reflect.TypeFor[output.StringList]()
	rawMessageType = reflect.TypeFor[json.RawMessage]()
	unmarshalType  = reflect.TypeFor[json.Unmarshaler]()
)

// checkShape walks data, one JSON value that is syntactically valid,
// beside t, the Go type it decodes into, and returns every member t does
// not have and every value of a JSON type t cannot take, each as "line L,
// column C: PATH: what", PATH written as Validate writes fields
// (pipelines[0].processors[1].parms). encoding/json reports only the first
// of these, and without the indexes of the arrays it is in. A value that
// a json.Unmarshaler of t takes, other than the manifest's own, is left
// to the decoder; so is a syntax error, on which checkShape returns nil.
func checkShape(data []byte, t reflect.Type) []error {
	c := &shapeChecker{data: data, dec: json.NewDecoder(bytes.NewReader(data)), fields: make(map[reflect.Type][]jsonField)}
	c.dec.UseNumber()
	if err := c.value(t, ""); err != nil {
		return nil
	}
	if c.more > 0 {
		c.errs = append(c.errs, fmt.Errorf("%d more unknown fields or values of the wrong type not shown", c.more))
	}
	return c.errs
}

// shapeChecker is the state of checkShape.
type shapeChecker struct {
	data   []byte
	dec    *json.Decoder
	errs   []error
	more   int // problems found past maxShapeErrors
	fields map[reflect.Type][]jsonField
}

// jsonField is a member of a JSON object that a struct decodes.
type jsonField struct {
	name string
	typ  reflect.Type
}

// fail records a problem with the value or member at offset.
func (c *shapeChecker) fail(offset int64, path, format string, args ...any) {
	if len(c.errs) >= maxShapeErrors {
		c.more++
		return
	}
	if path == "" {
		path = "manifest"
	}
	c.errs = append(c.errs, fmt.Errorf("%s: %s: %s", position(c.data, offset), path, fmt.Sprintf(format, args...)))
}

// next returns the offset of the first byte of the next token: the
// decoder stops after the last token it returned, before the separators.
func (c *shapeChecker) next() int64 {
	off := c.dec.InputOffset()
	for off < int64(len(c.data)) && strings.IndexByte(" \t\r\n,:", c.data[off]) >= 0 {
		off++
	}
	return off
}

// value checks the value that comes next against t.
func (c *shapeChecker) value(t reflect.Type, path string) error {
	at := c.next()
	tok, err := c.dec.Token()
	if err != nil {
		return err
	}
	if tok == nil {
		return nil // null leaves any Go value as it is
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == rawMessageType || t.Kind() == reflect.Interface:
		return c.skip(tok)
	case t == versionType:
		switch tok.(type) {
		case string, json.Number:
			return nil
		}
		c.fail(at, path, "want string or number; got %s", kind(tok))
		return c.skip(tok)
	case t == stringListType:
		if _, ok := tok.(string); ok {
			return nil
		}
		if tok != json.Delim('[') {
			c.fail(at, path, "want string or array of strings; got %s", kind(tok))
			return c.skip(tok)
		}
		return c.elements(reflect.TypeFor[string](), path)
	case t.Implements(unmarshalType) || reflect.PointerTo(t).Implements(unmarshalType):
		return c.skip(tok)
	}

	switch t.Kind() {
	case reflect.Struct:
		if tok != json.Delim('{') {
			break
		}
		fields := c.structFields(t)
		for c.dec.More() {
			keyAt := c.next()
			key, err := c.dec.Token()
			if err != nil {
				return err
			}
			name := key.(string)
			p := member(path, name)
			f, ok := lookup(fields, name)
			if !ok {
				c.fail(keyAt, p, "unknown field")
				if err := c.skipValue(); err != nil {
					return err
				}
				continue
			}
			if err := c.value(f.typ, p); err != nil {
				return err
			}
		}
		_, err := c.dec.Token() // }
		return err
	case reflect.Map:
		if tok != json.Delim('{') {
			break
		}
		for c.dec.More() {
			key, err := c.dec.Token()
			if err != nil {
				return err
			}
			if err := c.value(t.Elem(), member(path, key.(string))); err != nil {
				return err
			}
		}
		_, err := c.dec.Token() // }
		return err
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			if _, ok := tok.(string); ok {
				return nil // base64
			}
			c.fail(at, path, "want string; got %s", kind(tok))
			return c.skip(tok)
		}
		if tok != json.Delim('[') {
			break
		}
		return c.elements(t.Elem(), path)
	case reflect.String:
		if _, ok := tok.(string); ok {
			return nil
		}
	case reflect.Bool:
		if _, ok := tok.(bool); ok {
			return nil
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if n, ok := tok.(json.Number); ok {
			if _, err := strconv.ParseInt(string(n), 10, t.Bits()); err != nil {
				c.fail(at, path, "want integer; got %s", n)
			}
			return nil
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if n, ok := tok.(json.Number); ok {
			if _, err := strconv.ParseUint(string(n), 10, t.Bits()); err != nil {
				c.fail(at, path, "want integer not below 0; got %s", n)
			}
			return nil
		}
	case reflect.Float32, reflect.Float64:
		if n, ok := tok.(json.Number); ok {
			if _, err := strconv.ParseFloat(string(n), t.Bits()); err != nil {
				c.fail(at, path, "want number; got %s", n)
			}
			return nil
		}
	default:
		return c.skip(tok)
	}
	c.fail(at, path, "want %s; got %s", want(t), kind(tok))
	return c.skip(tok)
}

// elements checks the elements of an array whose [ was read against t, and
// reads its ].
func (c *shapeChecker) elements(t reflect.Type, path string) error {
	for i := 0; c.dec.More(); i++ {
		if err := c.value(t, path+"["+strconv.Itoa(i)+"]"); err != nil {
			return err
		}
	}
	_, err := c.dec.Token() // ]
	return err
}

// skipValue reads the value that comes next, whatever it is.
func (c *shapeChecker) skipValue() error {
	tok, err := c.dec.Token()
	if err != nil {
		return err
	}
	return c.skip(tok)
}

// skip reads the rest of the value that tok began: up to its matching
// close if tok opens an object or an array.
func (c *shapeChecker) skip(tok json.Token) error {
	if tok != json.Delim('{') && tok != json.Delim('[') {
		return nil
	}
	for depth := 1; depth > 0; {
		tok, err := c.dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
	}
	return nil
}

// structFields returns the members a struct of type t decodes, as
// encoding/json names them: its exported fields, by their json tag's name
// or else their own, and those of its embedded structs.
func (c *shapeChecker) structFields(t reflect.Type) []jsonField {
	if fs, ok := c.fields[t]; ok {
		return fs
	}
	var fs []jsonField
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" && !strings.HasPrefix(f.Tag.Get("json"), "-,") {
			continue
		}
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if f.Anonymous && name == "" && ft.Kind() == reflect.Struct {
			fs = append(fs, c.structFields(ft)...)
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fs = append(fs, jsonField{name: name, typ: f.Type})
	}
	c.fields[t] = fs
	return fs
}

// lookup finds the field named name, as encoding/json does: exactly, or
// else without regard to case.
func lookup(fs []jsonField, name string) (jsonField, bool) {
	for _, f := range fs {
		if f.name == name {
			return f, true
		}
	}
	for _, f := range fs {
		if strings.EqualFold(f.name, name) {
			return f, true
		}
	}
	return jsonField{}, false
}

// member is the path of the member name of the object at path: path.name,
// or path["name"] for a name that is not letters, digits, _ and -.
func member(path, name string) string {
	plain := name != "" && strings.IndexFunc(name, func(r rune) bool {
		return !(r == '_' || r == '-' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9')
	}) < 0
	switch {
	case !plain:
		return path + "[" + strconv.Quote(name) + "]"
	case path == "":
		return name
	}
	return path + "." + name
}

// kind names the JSON type of the value tok begins.
func kind(tok json.Token) string {
	switch tok.(type) {
	case string:
		return "string"
	case json.Number:
		return "number"
	case bool:
		return "boolean"
	}
	switch tok {
	case json.Delim('{'):
		return "object"
	case json.Delim('['):
		return "array"
	}
	return "null"
}

// want names the JSON type that decodes into t.
func want(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "object"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	}
	return "number"
}
