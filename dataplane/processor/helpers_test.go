package processor

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"streamgate/dataplane/record"
)

// build constructs a processor through the registry, as a manifest would.
func build(t testing.TB, typ, params string) Processor {
	t.Helper()
	s, err := Build(Config{ID: "test", Type: typ, Params: json.RawMessage(params)})
	if err != nil {
		t.Fatalf("Build(%s, %s): got error %v; want none", typ, params, err)
	}
	return s.P
}

// buildErr returns the error of building a processor that must not build.
func buildErr(t *testing.T, typ, params string) error {
	t.Helper()
	_, err := Build(Config{ID: "test", Type: typ, Params: json.RawMessage(params)})
	if err == nil {
		t.Fatalf("Build(%s, %s): got no error; want one", typ, params)
	}
	return err
}

// checkErr fails t unless building typ with params fails with an error that
// contains want.
func checkErr(t *testing.T, typ, params, want string) {
	t.Helper()
	if err := buildErr(t, typ, params); !strings.Contains(err.Error(), want) {
		t.Errorf("Build(%s, %s): got error %q; want it to contain %q", typ, params, err, want)
	}
}

// newBatch returns a batch holding lines the way the ingest layer fills one.
func newBatch(lines ...string) *record.Batch {
	b := &record.Batch{}
	for _, l := range lines {
		b.AppendLine([]byte(l))
	}
	return b
}

// lines returns the lines of b as strings.
func lines(b *record.Batch) []string {
	out := make([]string, len(b.Lines))
	for i, l := range b.Lines {
		out[i] = string(l)
	}
	return out
}

// process runs p over a batch of in and returns the resulting lines.
func process(p Processor, in ...string) []string {
	b := newBatch(in...)
	p.Process(b)
	return lines(b)
}

// processLine runs p over a batch of the single line in and returns the
// line, or "<dropped>".
func processLine(p Processor, in string) string {
	out := process(p, in)
	if len(out) == 0 {
		return "<dropped>"
	}
	return out[0]
}

// resetter restores a batch to the same lines before each run of a
// benchmark or allocation test, without allocating.
type resetter struct {
	b    *record.Batch
	orig [][]byte
}

func newResetter(in ...string) *resetter {
	b := newBatch(in...)
	return &resetter{b: b, orig: slices.Clone(b.Lines)}
}

func (r *resetter) reset() *record.Batch {
	r.b.Lines = r.b.Lines[:len(r.orig)]
	copy(r.b.Lines, r.orig)
	r.b.Scratch = r.b.Scratch[:0]
	return r.b
}
