package match

var usPassport = Detector{
	Name:     "us_passport",
	Category: CategoryGovernmentID,
	Summary:  "US passport book or card number after the word passport",
	Doc: "A US passport number: nine digits, or an upper-case letter and eight digits as on the " +
		"passport books issued since 2021 and on passport cards (C and eight digits). The format has no " +
		"check digit and nine-digit numbers are everywhere, so the context word passport must always " +
		"stand before it. " + govABoundsDoc + " " + contextDoc,
	Context: usPassportContext,
	Runs:    1<<8 | 1<<9,
	At:      usPassportAt,
	Examples: []Example{
		{"passport no. 561234987 issued", []string{"561234987"}},
		{`{"passport_number":"A12345678"}`, []string{"A12345678"}},
		{"order 561234987, passport pending; passport check took 0.123456789s", nil},
	},
}

var usPassportContext = []string{"passport"}

// usPassportAt returns the passport number around the run of digits
// line[i:r], or -1, -1.
func usPassportAt(line []byte, i, r int) (int, int) {
	s := i
	if r-i == 8 {
		if i == 0 || line[i-1]-'A' >= 26 {
			return -1, -1
		}
		s = i - 1
	}
	if !govABounded(line, s, r, false) || !hasContext(line, s, usPassportContext) {
		return -1, -1
	}
	return s, r
}
