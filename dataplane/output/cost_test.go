package output

import (
	"math"
	"strings"
	"testing"
)

// TestCostPerGB: every type takes cost_per_gb, a number of dollars at
// least 0; it does not change the output's Key or QueueID, so a new
// price keeps the running output and its disk queue.
func TestCostPerGB(t *testing.T) {
	f := func(v float64, wantErr string) {
		t.Helper()
		for _, typ := range Types() {
			sp, _ := Spec(typ)
			c, _ := exampleConfig(t, typ, sp.Examples[0])
			c.CostPerGB = &v
			err := Validate(c)
			switch {
			case wantErr == "" && err != nil:
				t.Errorf("%s with cost_per_gb %v: got %v; want it valid", typ, v, err)
			case wantErr != "" && (err == nil || !strings.HasPrefix(err.Error(), wantErr)):
				t.Errorf("%s with cost_per_gb %v: got %v; want %q", typ, v, err, wantErr)
			}
		}
	}
	f(0, "")
	f(0.1, "")
	f(2.5, "")
	f(-0.01, "cost_per_gb: want a number of dollars, at least 0; got -0.01")
	f(math.Inf(1), "cost_per_gb: want a number of dollars, at least 0; got +Inf")
	f(math.NaN(), "cost_per_gb: want a number of dollars, at least 0; got NaN")

	a := Config{Type: "http", URL: "http://x:9000"}
	b := a
	price := 0.1
	b.CostPerGB = &price
	if a.Key() != b.Key() {
		t.Errorf("Key changes with cost_per_gb: %s vs %s", a.Key(), b.Key())
	}
	if a.QueueID() != b.QueueID() {
		t.Errorf("QueueID changes with cost_per_gb: %s vs %s", a.QueueID(), b.QueueID())
	}
}
