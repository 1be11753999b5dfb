package match

import "slices"

// registry lists the detectors a redact rule can name. A detector is one
// file (ssn.go is the one to copy) plus one line in its category's list.
var registry = slices.Concat(
	[]*Detector{
		&ssn,
		&creditCard,
		&email,
		&ipv4,
	},
	paymentDetectors,
	governmentIDDetectors,
	moreGovernmentIDDetectors,
	networkDetectors,
	secretDetectors,
)
