package processor

import (
	"encoding/json"
	"strings"
	"testing"

	"streamgate/dataplane/record"
)

// addCounter counts what Add is given.
type addCounter struct{ n int }

func (c *addCounter) Add(n int) { c.n += n }

// TestChainCountsRewrites: a redact step counts the lines it rewrote, in
// its Rewritten counter, and leaves the others alone; the lines all go on.
func TestChainCountsRewrites(t *testing.T) {
	s, err := Build(Config{ID: "redact_ssn", Type: "redact", Params: json.RawMessage(`{"detector": "ssn"}`)})
	if err != nil {
		t.Fatal(err)
	}
	var rewritten, filtered addCounter
	s.Rewritten, s.Filtered = &rewritten, &filtered
	c := NewChain(s)
	b := record.Get(0)
	for _, l := range []string{"ssn=123-45-6789", "nothing here", "a 078-05-1120 b and 219-09-9999"} {
		b.AppendLine([]byte(l))
	}
	c.Run(b, false)
	c.Run(b, true) // redaction runs under overload too; nothing left to rewrite
	if rewritten.n != 2 || filtered.n != 0 || len(b.Lines) != 3 {
		t.Errorf("rewritten %d, filtered %d, lines %d; want 2, 0, 3", rewritten.n, filtered.n, len(b.Lines))
	}
	if strings.Contains(string(b.Lines[0]), "6789") {
		t.Errorf("line 0 not redacted: %q", b.Lines[0])
	}
	record.Put(b)
}
