package match

var auMedicare = Detector{
	Name:     "au_medicare",
	Category: CategoryGovernmentID,
	Summary:  "Australian Medicare card number with a valid check digit",
	Doc: "An Australian Medicare card number: 10 digits, the first 2 to 6, the ninth the check digit " +
		"of the first eight (weights 1,3,7,9,1,3,7,9, sum modulo 10) and the tenth the issue number, " +
		"optionally followed by the one-digit individual reference number. Written as on the card, " +
		"in groups 4-5-1 joined by single spaces (dddd ddddd d, or dddd ddddd d d with the reference " +
		"number), it needs no context. Written as one run of 10 or 11 digits, as many identifiers and " +
		"phone numbers are, a context word (medicare) must stand before it. It must not touch a letter, digit or '_', nor be joined to one by '.' or '-', " +
		"nor to a digit by '/' or ' '. " + contextDoc,
	Checksum: "mod 10",
	Context:  auMedicareContext,
	Runs:     1<<4 | 1<<10 | 1<<11,
	Joined:   1 << 4,
	Joins:    " ",
	At:       auMedicareAt,
	Examples: []Example{
		{"patient card=2123 45670 1 verified", []string{"2123 45670 1"}},
		{`{"medicare_number":"21234567011"}`, []string{"21234567011"}},
		{"order 2123456701 card 2123 45671 1", nil},
	},
}

var auMedicareContext = []string{"medicare"}

// auMedicareAt returns the Medicare card number that starts
// with the run of digits line[i:j], or -1, -1.
func auMedicareAt(line []byte, i, j int) (int, int) {
	if c := line[i]; c < '2' || c > '6' {
		return -1, -1
	}
	e, bare := -1, false
	switch j - i {
	case 10, 11:
		e, bare = j, true
	case 4:
		if j == len(line) || line[j] != ' ' {
			break
		}
		if e = govBShape(line, i, "dddd ddddd d"); e > 0 {
			if r := govBShape(line, e, " d"); r > 0 && govBBounded(line, i, r, true) {
				e = r // with the individual reference number
			}
		}
	}
	if e < 0 || !govBBounded(line, i, e, true) {
		return -1, -1
	}
	var d [9]byte
	govBDigits(d[:], line[i:e])
	if !auMedicareValid(d[:]) || bare && !hasContext(line, i, auMedicareContext) {
		return -1, -1
	}
	return i, e
}

// auMedicareValid reports whether the ninth of the 9 ASCII digits d is the
// check digit of the first eight.
func auMedicareValid(d []byte) bool {
	sum := 0
	for k, c := range d[:8] {
		sum += int(c-'0') * int("13791379"[k]-'0')
	}
	return d[8] == byte('0'+sum%10)
}
