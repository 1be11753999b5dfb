package match

var auTFN = Detector{
	Name:     "au_tfn",
	Category: CategoryGovernmentID,
	Summary:  "Australian Tax File Number after a keyword such as tfn",
	Doc: "An Australian Tax File Number: 9 digits written as one run or in groups of 3 joined by " +
		"single spaces, not all zeros, whose weighted sum (weights 1,4,3,7,5,8,6,9,10) is a multiple " +
		"of 11. It must not touch a letter, digit or '_', nor be joined to one by '.' or '-', nor to a " +
		"digit by '/' or ' '. One in eleven 9-digit numbers passes the check, so a context word (tfn, " +
		"tax file, tax_file) must always stand before it. " + contextDoc,
	Checksum: "mod 11",
	Context:  auTFNContext,
	Runs:     1<<3 | 1<<9,
	Joined:   1 << 3,
	Joins:    " ",
	At:       auTFNAt,
	Examples: []Example{
		{"employee tfn=123 456 782 saved", []string{"123 456 782"}},
		{`{"tax_file_number":"876543210"}`, []string{"876543210"}},
		{"tfn 123 456 789", nil},
		{"order=123456782 status=shipped", nil},
	},
}

var auTFNContext = []string{"tfn", "tax file", "tax_file"}

// auTFNAt returns the TFN that starts with the run of digits line[i:j],
// or -1, -1.
func auTFNAt(line []byte, i, j int) (int, int) {
	e := -1
	switch j - i {
	case 9:
		e = j
	case 3:
		if j < len(line) && line[j] == ' ' {
			e = govBShape(line, i, "ddd ddd ddd")
		}
	}
	if e < 0 || !govBBounded(line, i, e, true) || !auTFNValid(line[i:e]) ||
		!hasContext(line, i, auTFNContext) {
		return -1, -1
	}
	return i, e
}

// auTFNWeights are the weights of the digits of a TFN.
var auTFNWeights = [9]int{1, 4, 3, 7, 5, 8, 6, 9, 10}

// auTFNValid reports whether the 9 ASCII digits of v, spaces skipped, pass
// the TFN check and are not all zeros.
func auTFNValid(v []byte) bool {
	var d [9]byte
	if govBDigits(d[:], v) != len(d) {
		return false
	}
	sum := 0
	for k, c := range d {
		sum += auTFNWeights[k] * int(c-'0')
	}
	return sum%11 == 0 && sum > 0
}
