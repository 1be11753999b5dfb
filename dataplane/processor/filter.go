package processor

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"streamgate/dataplane/record"
)

// filterParams are the params of a filter rule. At least one is required; a
// line is dropped if any of them matches it.
type filterParams struct {
	// Value drops lines containing this keyword.
	Value *string `json:"value"`
	// Values drops lines containing any of these keywords.
	Values StringList `json:"values"`
	// Regex drops lines matching this Go regular expression.
	Regex *string `json:"regex"`
	// Key is accepted and ignored: the seed's control plane documented
	// filter params as {"key": "level", "value": "DEBUG"}, and the seed's
	// data plane dropped every line containing value anywhere, whatever
	// key said. So does this one.
	Key *string `json:"key"`
}

// filter drops the lines that contain one of its keywords or match its
// regular expression.
//
// Keywords are tested one after another with bytes.Contains, which is fast
// for the handful a rule usually has.
type filter struct {
	keywords [][]byte
	re       *regex
}

// newFilter builds a filter from its params; see filterParams.
func newFilter(raw json.RawMessage) (Processor, error) {
	var p filterParams
	if err := decodeParams(raw, &p); err != nil {
		return nil, err
	}
	if p.Value == nil && len(p.Values) == 0 && p.Regex == nil {
		return nil, errors.New("params: one of value, values or regex is required")
	}
	f := &filter{}
	if p.Value != nil {
		if *p.Value == "" {
			return nil, errors.New("params.value: must not be empty")
		}
		f.keywords = append(f.keywords, []byte(*p.Value))
	}
	for i, v := range p.Values {
		if v == "" {
			return nil, fmt.Errorf("params.values[%d]: must not be empty", i)
		}
		f.keywords = append(f.keywords, []byte(v))
	}
	if p.Regex != nil {
		re, err := compileRegex("regex", *p.Regex)
		if err != nil {
			return nil, err
		}
		f.re = &re
	}
	return f, nil
}

// Process implements Processor.
func (f *filter) Process(b *record.Batch) {
	removeIf(b, f.drop)
}

// drop reports whether line matches the filter.
func (f *filter) drop(line []byte) bool {
	for _, k := range f.keywords {
		if bytes.Contains(line, k) {
			return true
		}
	}
	return f.re != nil && f.re.match(line)
}
