package api

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"html/template"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

//go:embed docs.html
var docsTemplate string

// docsPage is what docs.html renders.
type docsPage struct {
	Title       string
	Description string
	Groups      []docsGroup
	Schemas     []docsSchema
}

type docsGroup struct {
	Name, Description string
	Routes            []docsRoute
}

type docsRoute struct {
	Method, Path, Anchor string
	Summary, Description string
	Auth                 bool
	Params               []docsField
	Body                 *docsBody
	Responses            []docsResponse
	Curl                 string
}

type docsBody struct {
	Description string
	Required    bool
	Type        string
	Example     string
}

type docsResponse struct {
	Status      string
	Description string
	ContentType string
	Type        string
	Example     string
}

type docsSchema struct {
	Name, Description string
	Fields            []docsField
}

type docsField struct {
	Name, In, Type, Description string
	Required                    bool
}

// renderDocs renders the HTML reference from the OpenAPI document, in the
// order of the route table. The page is self-contained: no script, no style
// sheet or font from elsewhere.
func renderDocs(doc *openAPIDoc) ([]byte, error) {
	page := docsPage{Title: doc.Info.Title, Description: doc.Info.Description}
	byTag := make(map[string]int)
	for _, t := range doc.Tags {
		byTag[t.Name] = len(page.Groups)
		page.Groups = append(page.Groups, docsGroup{Name: t.Name, Description: t.Description})
	}
	for i := range routes {
		rt := &routes[i]
		op := doc.Paths[rt.path][strings.ToLower(rt.method)]
		dr := docsRoute{
			Method: rt.method, Path: rt.path, Anchor: op.OperationID,
			Summary: op.Summary, Description: op.Description, Auth: len(op.Security) > 0,
		}
		for _, p := range op.Parameters {
			dr.Params = append(dr.Params, docsField{Name: p.Name, In: p.In, Type: typeName(p.Schema),
				Description: p.Description, Required: p.Required})
		}
		if b := op.RequestBody; b != nil {
			mt := b.Content["application/json"]
			dr.Body = &docsBody{Description: b.Description, Required: b.Required, Type: typeName(mt.Schema), Example: pretty(mt.Example)}
		}
		codes := make([]string, 0, len(op.Responses))
		for code := range op.Responses {
			codes = append(codes, code)
		}
		sort.Strings(codes)
		for _, code := range codes {
			r := op.Responses[code]
			for ct, mt := range r.Content {
				dr.Responses = append(dr.Responses, docsResponse{Status: code, Description: r.Description,
					ContentType: ct, Type: typeName(mt.Schema), Example: pretty(mt.Example)})
			}
		}
		dr.Curl = curl(rt, op)
		g := &page.Groups[byTag[rt.tag]]
		g.Routes = append(g.Routes, dr)
	}

	names := make([]string, 0, len(doc.Components.Schemas))
	for name := range doc.Components.Schemas {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		s := doc.Components.Schemas[name]
		page.Schemas = append(page.Schemas, docsSchema{Name: name, Description: s.Description, Fields: fields(s)})
	}

	t, err := template.New("docs").Funcs(template.FuncMap{"lower": strings.ToLower}).Parse(docsTemplate)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, page); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// fields lists the properties of an object schema, required ones first.
func fields(s *schema) []docsField {
	required := make(map[string]bool, len(s.Required))
	for _, r := range s.Required {
		required[r] = true
	}
	out := make([]docsField, 0, len(s.Properties))
	for name, p := range s.Properties {
		doc := p.Description
		if p.Default != nil {
			doc = strings.TrimSpace(doc + " Default: " + strings.Trim(pretty(p.Default), `"`) + ".")
		}
		out = append(out, docsField{Name: name, Type: typeName(p), Description: doc, Required: required[name]})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Required != out[j].Required {
			return out[i].Required
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// typeName describes a schema in a few words, e.g. "array of Rule".
func typeName(s *schema) string {
	if s == nil {
		return ""
	}
	if name, ok := strings.CutPrefix(s.Ref, "#/components/schemas/"); ok {
		return name
	}
	var b strings.Builder
	if len(s.OneOf) > 0 {
		names := make([]string, len(s.OneOf))
		for i, o := range s.OneOf {
			names[i] = typeName(o)
		}
		return "one of " + strings.Join(names, " | ")
	}
	switch s.Type {
	case "array":
		b.WriteString("array of " + typeName(s.Items))
	case "object":
		if s.AdditionalProperties != nil {
			b.WriteString("map of " + typeName(s.AdditionalProperties))
		} else if len(s.Properties) > 0 {
			names := make([]string, 0, len(s.Properties))
			for _, f := range fields(s) {
				names = append(names, f.Name+": "+f.Type)
			}
			b.WriteString("{" + strings.Join(names, ", ") + "}")
		} else {
			b.WriteString("object")
		}
	default:
		b.WriteString(s.Type)
	}
	if len(s.Enum) > 0 {
		b.WriteString(": " + strings.Join(s.Enum, " | "))
	}
	if s.Minimum != nil && s.Maximum != nil {
		b.WriteString(" (" + strconv.Itoa(*s.Minimum) + " to " + strconv.Itoa(*s.Maximum) + ")")
	}
	if s.Nullable {
		b.WriteString(" or null")
	}
	return b.String()
}

// pretty indents an example; nil gives "".
func pretty(v any) string {
	if v == nil {
		return ""
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		panic("BUG: cannot encode an example: " + err.Error())
	}
	return string(b)
}

// curl is a command line calling rt with its examples.
func curl(rt *route, op *operation) string {
	path := rt.path
	var query []string
	for _, p := range rt.params {
		v := strings.Trim(pretty(p.example), `"`)
		switch p.in {
		case "path":
			path = strings.ReplaceAll(path, "{"+p.name+"}", v)
		case "query":
			query = append(query, p.name+"="+v)
		}
	}
	if len(query) > 0 {
		path += "?" + strings.Join(query, "&")
	}
	var b strings.Builder
	b.WriteString("curl")
	if rt.method != http.MethodGet {
		b.WriteString(" -X " + rt.method)
	}
	b.WriteString(` "http://localhost:8000` + path + `"`)
	if rt.mutating() {
		b.WriteString(` \` + "\n     " + `-H "Authorization: Bearer $STREAMGATE_TOKEN"`)
	}
	if op.RequestBody != nil && len(query) == 0 {
		ex, err := json.Marshal(op.RequestBody.Content["application/json"].Example)
		if err != nil {
			panic("BUG: cannot encode an example: " + err.Error())
		}
		b.WriteString(` \` + "\n     " + `-H "Content-Type: application/json" \` + "\n     -d '" + string(ex) + "'")
	}
	return b.String()
}
