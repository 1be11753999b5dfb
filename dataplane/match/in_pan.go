package match

var inPAN = Detector{
	Name:     "in_pan",
	Category: CategoryGovernmentID,
	Summary:  "Indian Permanent Account Number (PAN) after a keyword such as pan",
	Doc: "An Indian Permanent Account Number: five upper-case letters, the fourth of them a holder type " +
		"(P, C, H, F, A, T, B, L, J or G), then four digits and an upper-case letter, as in ABCPE1234F. " +
		"It must not touch a letter, digit or '_', nor be joined to one by '.' or '-'. The last letter " +
		"is a check character whose algorithm is not published, so a context word (pan, income tax, " +
		"income_tax, permanent account, permanent_account) must always stand before it. " +
		contextDoc,
	Context: inPANContext,
	Runs:    1 << 4,
	At:      inPANRunAt,
	Examples: []Example{
		{"kyc pan=ABCPE1234F status=ok", []string{"ABCPE1234F"}},
		{`{"income tax id":"AAACB1234Z"}`, []string{"AAACB1234Z"}},
		{"pan ABCDE1234F", nil},
		{"sku=ABCPE1234F qty=2", nil},
	},
}

var inPANContext = []string{"pan", "income tax", "income_tax", "permanent account", "permanent_account"}

// inPANRunAt returns the PAN whose four digits are the run line[i:j], or
// -1, -1.
func inPANRunAt(line []byte, i, j int) (int, int) {
	s := i - 5
	if s < 0 || !inPANAt(line, s) || !govBBounded(line, s, j+1, false) || !hasContext(line, s, inPANContext) {
		return -1, -1
	}
	return s, j + 1
}

// inPANAt reports whether the letters around the four digits at line[s+5:]
// are those of a PAN that starts at line[s].
func inPANAt(line []byte, s int) bool {
	if s+10 > len(line) || !inPANHolder(line[s+3]) || !inPANUpper(line[s+9]) {
		return false
	}
	for _, c := range line[s : s+5] {
		if !inPANUpper(c) {
			return false
		}
	}
	return true
}

// inPANUpper reports whether c is an upper-case ASCII letter.
func inPANUpper(c byte) bool { return c-'A' < 26 }

// inPANHolder reports whether c is a holder type: individual (P), company
// (C), Hindu undivided family (H), firm (F), association of persons (A),
// trust (T), body of individuals (B), local authority (L), artificial
// juridical person (J) or government (G).
func inPANHolder(c byte) bool {
	switch c {
	case 'P', 'C', 'H', 'F', 'A', 'T', 'B', 'L', 'J', 'G':
		return true
	}
	return false
}
