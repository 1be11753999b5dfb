package processor

import (
	"errors"
	"fmt"
	"strings"

	"streamgate/dataplane/match"
	"streamgate/dataplane/spec"
)

// keyParams are the params that say what sampling and rate limiting group
// lines by; at most one may be set.
type keyParams struct {
	// KeyAttribute is a JSON attribute, looked up as attribute_filter's
	// attribute is.
	KeyAttribute *string `json:"key_attribute"`
	// KeyPath is an explicit JSON location, keys separated by "/".
	KeyPath *string `json:"key_path"`
	// KeyRegex is a regular expression whose first group is the key.
	KeyRegex *string `json:"key_regex"`
}

// keySpecParams document keyParams; what is the rest of the description.
func keySpecParams(what string) []spec.Param {
	return []spec.Param{
		{Name: "key_attribute", Kind: spec.String, Description: "A JSON attribute whose text is the key " + what + ", looked up as attribute_filter's attribute is (service.name, trace_id)."},
		{Name: "key_path", Kind: spec.String, Description: "An explicit JSON location of the key, keys separated by / (attributes/user.id)."},
		{Name: "key_regex", Kind: spec.String, Description: "A Go regular expression whose first group is the key, for text lines (user=(\\w+)); it costs an allocation per line that matches, which the JSON keys do not."},
	}
}

// lineKey finds the key of a line; the zero value finds none.
type lineKey struct {
	locations [][]string   // JSON locations, for key_attribute and key_path
	re        *match.Regex // for key_regex
}

// newLineKey builds the lineKey p describes; nil when p sets no key.
func newLineKey(p keyParams) (*lineKey, error) {
	set := 0
	for _, v := range []*string{p.KeyAttribute, p.KeyPath, p.KeyRegex} {
		if v != nil {
			set++
		}
	}
	switch {
	case set == 0:
		return nil, nil
	case set > 1:
		return nil, errors.New("params.key_attribute: set at most one of key_attribute, key_path and key_regex")
	case p.KeyAttribute != nil:
		if *p.KeyAttribute == "" {
			return nil, errors.New("params.key_attribute: must not be empty")
		}
		return &lineKey{locations: attributeLocations(*p.KeyAttribute)}, nil
	case p.KeyPath != nil:
		keys := strings.Split(*p.KeyPath, "/")
		for i, k := range keys {
			if k == "" {
				return nil, fmt.Errorf("params.key_path: key %d of %q is empty", i+1, *p.KeyPath)
			}
		}
		return &lineKey{locations: [][]string{keys}}, nil
	}
	re, err := compileRegex("key_regex", *p.KeyRegex)
	if err != nil {
		return nil, err
	}
	if re.Groups() < 1 {
		return nil, errors.New("params.key_regex: needs a group, (...), around the key")
	}
	return &lineKey{re: re}, nil
}

// find returns the key of line, and whether it has one. A JSON key is the
// attribute's text (see match.JSONText), so it may allocate when the value
// holds escapes.
func (k *lineKey) find(line []byte) ([]byte, bool) {
	if k.re != nil {
		return k.re.Group(line, 1)
	}
	if !match.IsJSONObject(line) {
		return nil, false
	}
	for _, keys := range k.locations {
		if v, ok := match.LookupJSON(line, keys); ok {
			return match.JSONText(v), true
		}
	}
	return nil, false
}
