package output

import (
	"fmt"
	"math"

	"streamgate/dataplane/spec"
)

// CostSpec documents the cost_per_gb field every output type takes.
var CostSpec = spec.Component{
	Summary: "Every output type takes `cost_per_gb`: what its destination charges to ingest a GB (10^9 bytes), in dollars. The data plane's `/status` and the control plane's `GET /savings` then estimate, for that output, the dollars a month it costs at the rate of the last hour, and the dollars a month the rules save: the bytes they kept from it, at the same price. Vendors meter the log bytes they ingest, before the request's encoding and compression, so the estimate uses the line bytes handed to the output. It changes no delivery: a new price keeps the running output.",
	Params: []spec.Param{
		{Name: "cost_per_gb", Kind: spec.Number, Description: "Dollars per GB ingested, at least 0; unset: no estimate for this output."},
	},
	Examples: []string{`0.10`},
}

// validateCost checks a cost_per_gb.
func validateCost(c *float64) error {
	if c == nil {
		return nil
	}
	if v := *c; v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Errorf("cost_per_gb: want a number of dollars, at least 0; got %v", v)
	}
	return nil
}
