package match

var inAadhaar = Detector{
	Name:     "in_aadhaar",
	Category: CategoryGovernmentID,
	Summary:  "Indian Aadhaar number that passes the Verhoeff check",
	Doc: "An Indian Aadhaar number: 12 digits, the first 2 to 9, written as one run or in groups " +
		"of 4 joined by single spaces or by single dashes (one kind per number), whose last digit is " +
		"the Verhoeff check digit of the others. It must not touch a letter, digit or '_', nor be " +
		"joined to one by '.' or '-', nor to a digit by '/' or ' ': a number within a longer chain of " +
		"digit groups, such as a card number, is left alone.",
	Checksum: "Verhoeff",
	Runs:     1<<4 | 1<<12,
	Joined:   1 << 4,
	Joins:    " -",
	At:       inAadhaarAt,
	Examples: []Example{
		{"aadhaar=2345 6789 0124 kyc=ok", []string{"2345 6789 0124"}},
		{"uid 234567890124, ref 4234-1234-1235", []string{"234567890124", "4234-1234-1235"}},
		{"aadhaar 2345 6789 0123 acct 123456789012 card 2345 6789 0124 1111", nil},
	},
}

// inAadhaarAt returns the Aadhaar number that starts with the
// run of digits line[i:j], or -1, -1.
func inAadhaarAt(line []byte, i, j int) (int, int) {
	if line[i] < '2' {
		return -1, -1
	}
	e := -1
	switch j - i {
	case 12:
		e = j
	case 4:
		if j == len(line) {
			break
		}
		switch line[j] {
		case ' ':
			e = govBShape(line, i, "dddd dddd dddd")
		case '-':
			e = govBShape(line, i, "dddd-dddd-dddd")
		}
	}
	if e < 0 || !govBBounded(line, i, e, true) {
		return -1, -1
	}
	var d [12]byte
	if govBDigits(d[:], line[i:e]) != len(d) || !inAadhaarValid(d[:]) {
		return -1, -1
	}
	return i, e
}

// inAadhaarMul is the multiplication table of the dihedral group D5, and
// inAadhaarPerm[k] the permutation applied to the digit k places from the
// right, modulo 8.
var (
	inAadhaarMul = [10][10]byte{
		{0, 1, 2, 3, 4, 5, 6, 7, 8, 9},
		{1, 2, 3, 4, 0, 6, 7, 8, 9, 5},
		{2, 3, 4, 0, 1, 7, 8, 9, 5, 6},
		{3, 4, 0, 1, 2, 8, 9, 5, 6, 7},
		{4, 0, 1, 2, 3, 9, 5, 6, 7, 8},
		{5, 9, 8, 7, 6, 0, 4, 3, 2, 1},
		{6, 5, 9, 8, 7, 1, 0, 4, 3, 2},
		{7, 6, 5, 9, 8, 2, 1, 0, 4, 3},
		{8, 7, 6, 5, 9, 3, 2, 1, 0, 4},
		{9, 8, 7, 6, 5, 4, 3, 2, 1, 0},
	}
	inAadhaarPerm = [8][10]byte{
		{0, 1, 2, 3, 4, 5, 6, 7, 8, 9},
		{1, 5, 7, 6, 2, 8, 3, 0, 9, 4},
		{5, 8, 0, 3, 7, 9, 6, 1, 4, 2},
		{8, 9, 1, 6, 0, 4, 3, 5, 2, 7},
		{9, 4, 5, 3, 1, 2, 6, 8, 7, 0},
		{4, 2, 8, 6, 5, 7, 3, 9, 0, 1},
		{2, 7, 9, 3, 8, 0, 6, 4, 1, 5},
		{7, 0, 4, 6, 9, 1, 3, 2, 5, 8},
	}
)

// inAadhaarValid reports whether the ASCII digits d, check digit last, pass
// the Verhoeff check.
func inAadhaarValid(d []byte) bool {
	var c byte
	for k := range d {
		c = inAadhaarMul[c][inAadhaarPerm[k%8][d[len(d)-1-k]-'0']]
	}
	return c == 0
}
