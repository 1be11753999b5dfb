// Package spec describes the components of a manifest (processor and output
// types) next to their constructors. The REST API's /openapi.json and /docs,
// the errors of manifest validation and the README's tables are generated
// from these descriptions, so they cannot drift from what the code accepts.
package spec

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Kind is the JSON type of a param's value.
type Kind string

// Kinds of params.
const (
	String Kind = "string"
	// Strings is a list of strings; a single string is read as a list of
	// one, as the original prototype's control plane wrote every param as
	// a string.
	Strings   Kind = "strings"
	Integer   Kind = "integer"
	Number    Kind = "number"
	Boolean   Kind = "boolean"
	StringMap Kind = "string_map"
)

// Param describes one param of a component.
type Param struct {
	Name string
	Kind Kind
	// Required is set when the component cannot do without it. Params of
	// which exactly one is needed are not required each: Description says
	// so.
	Required bool
	// Default is the value an absent param means, as the reference shows
	// it; "" when absence means nothing more than absence.
	Default string
	// Enum lists the values accepted, when they are a fixed set.
	Enum []string
	// Description is one or two sentences: what the param does.
	Description string
}

// Component describes a processor or an output type.
type Component struct {
	// Summary is one line: what the component does.
	Summary string
	// Params are the component's params, in the order the reference shows
	// them.
	Params []Param
	// Examples are params objects (JSON) that build a working component;
	// together they use every param. The tests build each of them, and the
	// reference shows the first.
	Examples []string
}

// Param returns the param called name.
func (c *Component) Param(name string) (*Param, bool) {
	for i := range c.Params {
		if c.Params[i].Name == name {
			return &c.Params[i], true
		}
	}
	return nil, false
}

// ParamNames returns the names of the params, sorted.
func (c *Component) ParamNames() []string {
	names := make([]string, len(c.Params))
	for i, p := range c.Params {
		names[i] = p.Name
	}
	slices.Sort(names)
	return names
}

// CheckKeys returns an error naming the first key of the JSON object raw
// that is not a param of c, with the params c has, or nil. raw that is not
// a JSON object is left to the component's own decoding.
func (c *Component) CheckKeys(raw json.RawMessage, what string) error {
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil {
		return nil
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if _, ok := c.Param(k); !ok {
			return fmt.Errorf("unknown field %q: %s takes %s", k, what, c.knownList())
		}
	}
	return nil
}

// knownList is the params of c as a phrase for an error message.
func (c *Component) knownList() string {
	if len(c.Params) == 0 {
		return "no params"
	}
	return strings.Join(c.ParamNames(), ", ")
}

// Validate checks that c is complete: a summary, every param named, typed
// and described once, defaults and enums consistent, and examples that
// together use every param. It is for the registries' tests.
func (c *Component) Validate() error {
	var errs []string
	if c.Summary == "" {
		errs = append(errs, "no summary")
	}
	seen := make(map[string]bool)
	for _, p := range c.Params {
		switch {
		case p.Name == "":
			errs = append(errs, "a param has no name")
		case seen[p.Name]:
			errs = append(errs, "param "+p.Name+" is described twice")
		case p.Description == "":
			errs = append(errs, "param "+p.Name+" has no description")
		}
		switch p.Kind {
		case String, Strings, Integer, Number, Boolean, StringMap:
		default:
			errs = append(errs, fmt.Sprintf("param %s has kind %q", p.Name, p.Kind))
		}
		if len(p.Enum) > 0 && p.Default != "" && !slices.Contains(p.Enum, p.Default) {
			errs = append(errs, "param "+p.Name+": default "+p.Default+" is not one of its values")
		}
		seen[p.Name] = true
	}
	used := make(map[string]bool)
	for _, ex := range c.Examples {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal([]byte(ex), &obj); err != nil {
			errs = append(errs, "example "+ex+" is not a JSON object")
			continue
		}
		for k := range obj {
			used[k] = true
		}
	}
	for _, p := range c.Params {
		if !used[p.Name] {
			errs = append(errs, "param "+p.Name+" is in no example")
		}
	}
	if len(c.Examples) == 0 {
		errs = append(errs, "no example")
	}
	if len(errs) > 0 {
		return fmt.Errorf("incomplete spec: %s", strings.Join(errs, "; "))
	}
	return nil
}
