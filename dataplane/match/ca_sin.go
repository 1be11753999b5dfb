package match

var caSIN = Detector{
	Name:     "ca_sin",
	Category: CategoryGovernmentID,
	Summary:  "Canadian Social Insurance Number that passes the Luhn check",
	Doc: "A Canadian Social Insurance Number: nine digits written ddd ddd ddd, ddd-ddd-ddd (one kind " +
		"of separator per number) or together, always after a context word (sin, social insurance): " +
		"other nine-digit numbers written in threes, such as Australian tax file numbers or some phone " +
		"numbers, pass its check one time in ten. It must pass the Luhn check, and its first digit is " +
		"neither 0 (never assigned) nor 8 (business numbers). " + govABoundsDoc +
		" " + govASpacedDoc + " " + contextDoc,
	Checksum: "Luhn",
	Context:  caSINContext,
	Runs:     1<<3 | 1<<9,
	Joined:   1 << 3,
	Joins:    " -",
	At:       caSINAt,
	Examples: []Example{
		{"employee sin=130 692 544 hired", []string{"130 692 544"}},
		{"SIN: 193456787, sin 130-692-544", []string{"193456787", "130-692-544"}},
		{"id 130 692 544 and 130692544; sin 130 692 545", nil},
	},
}

var caSINContext = []string{"sin", "social insurance"}

// govA333 are the groups of a SIN.
var govA333 = [...]int{3, 3, 3}

// caSINAt returns the SIN that starts with the run of digits at line[i],
// or -1, -1.
func caSINAt(line []byte, i, r int) (int, int) {
	if r-i == 3 && !govASepAt(line, r, " -") {
		return -1, -1
	}
	var d [9]byte
	e, _ := govAGroups(line, i, govA333[:], " -", d[:])
	if e < 0 || d[0] == 0 || d[0] == 8 || !govABounded(line, i, e, true) || !luhn(d[:]) ||
		!hasContext(line, i, caSINContext) {
		return -1, -1
	}
	return i, e
}
