package processor

import (
	"encoding/json"
	"fmt"
	"sort"

	"streamgate/dataplane/spec"
)

// Type describes a processor type.
type Type struct {
	// New decodes and validates params and returns the processor.
	New func(params json.RawMessage) (Processor, error)
	// Spec documents the type: its summary, params and examples. Build
	// rejects params it does not list. Every built-in type has one; a type
	// registered without one (a test's) is undocumented and its params are
	// left to New.
	Spec *spec.Component
	// RunOnOverload is the default of Step.RunOnOverload for this type.
	RunOnOverload bool
	// Samples says the lines the type drops are sampled out for cost, not
	// filtered as noise: they are counted apart (Step.Samples).
	Samples bool
}

var registry = map[string]Type{
	"filter":           {New: newFilter, Spec: &filterSpec},
	"redact":           {New: newRedact, Spec: &redactSpec, RunOnOverload: true},
	"attribute_filter": {New: newAttributeFilter, Spec: &attributeFilterSpec},
	"sample":           {New: newSample, Spec: &sampleSpec, Samples: true},
	"rate_limit":       {New: newRateLimit, Spec: &rateLimitSpec, Samples: true},
	"dedup":            {New: newDedup, Spec: &dedupSpec, Samples: true},
}

// Register adds a processor type. It is meant for init functions and tests,
// and fails if the name is taken.
func Register(name string, t Type) error {
	if _, ok := registry[name]; ok {
		return fmt.Errorf("cannot register processor type %q: already registered", name)
	}
	if t.New == nil {
		return fmt.Errorf("cannot register processor type %q: New is nil", name)
	}
	registry[name] = t
	return nil
}

// Types lists the registered type names in sorted order.
func Types() []string {
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Spec returns the documentation of the processor type called name.
func Spec(name string) (*spec.Component, bool) {
	t, ok := registry[name]
	if !ok {
		return nil, false
	}
	return t.Spec, true
}

// TypeOf returns the processor type called name.
func TypeOf(name string) (Type, bool) {
	t, ok := registry[name]
	return t, ok
}
