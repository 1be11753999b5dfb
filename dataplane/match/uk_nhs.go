package match

var ukNHS = Detector{
	Name:     "uk_nhs",
	Category: CategoryGovernmentID,
	Summary:  "UK NHS number that passes its mod 11 check",
	Doc: "A UK NHS number: ten digits written ddd ddd dddd, as the NHS prints them; written " +
		"ddd-ddd-dddd or as ten digits together, it needs the context word nhs before it, since one in " +
		"eleven ten-digit numbers passes the check, Unix timestamps and US phone numbers among them. " +
		"The check digit (the tenth) is 11 minus the sum of the first nine digits weighted 10 down to " +
		"2, modulo 11, 11 read as 0; numbers for which that gives 10 are never issued. Phone numbers " +
		"written ddd ddd dddd pass too, about one in eleven. " + govABoundsDoc + " " + govASpacedDoc +
		" " + contextDoc,
	Checksum: "mod 11",
	Context:  ukNHSContext,
	Runs:     1<<3 | 1<<10,
	Joined:   1 << 3,
	Joins:    " -",
	At:       ukNHSAt,
	Examples: []Example{
		{"patient nhs_number=943 476 5919 admitted", []string{"943 476 5919"}},
		{"NHS no: 9434765919, alt 943-476-5919", []string{"9434765919", "943-476-5919"}},
		{"ref 943 476 5918 id=9434765919 tel 555-123-4568", nil},
	},
}

var ukNHSContext = []string{"nhs"}

// govA334 are the groups of an NHS number.
var govA334 = [...]int{3, 3, 4}

// ukNHSAt returns the NHS number that starts with the run of digits at
// line[i], or -1, -1.
func ukNHSAt(line []byte, i, r int) (int, int) {
	if r-i == 3 && !govASepAt(line, r, " -") {
		return -1, -1
	}
	var d [10]byte
	e, sep := govAGroups(line, i, govA334[:], " -", d[:])
	if e < 0 || !govABounded(line, i, e, true) || !ukNHSValid(&d) ||
		sep != ' ' && !hasContext(line, i, ukNHSContext) {
		return -1, -1
	}
	return i, e
}

// ukNHSValid reports whether the digit values d pass the NHS mod 11 check.
func ukNHSValid(d *[10]byte) bool {
	sum := 0
	for k, v := range d[:9] {
		sum += int(v) * (10 - k)
	}
	c := 11 - sum%11
	if c == 11 {
		c = 0
	}
	return c != 10 && c == int(d[9])
}
