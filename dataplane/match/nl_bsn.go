package match

var nlBSN = Detector{
	Name:     "nl_bsn",
	Category: CategoryGovernmentID,
	Summary:  "Dutch citizen service number (BSN) after a keyword such as bsn",
	Doc: "A Dutch citizen service number (burgerservicenummer, formerly sofinummer): a run of 9 digits, " +
		"or of 8 digits read with a leading zero, that passes the 11-proof (9×d1 + 8×d2 + … + 2×d8 − d9 " +
		"is a multiple of 11) and is not all zeros. It must not touch a letter, digit or '_', nor be " +
		"joined to one by '.' or '-', nor to a digit by '/'. One in eleven 9-digit numbers passes the " +
		"11-proof, so a context word (bsn, burgerservicenummer, sofinummer) must always stand before " +
		"it. " + contextDoc,
	Checksum: "mod 11",
	Context:  nlBSNContext,
	Runs:     1<<8 | 1<<9,
	At:       nlBSNAt,
	Examples: []Example{
		{"patient bsn=111222333 verified", []string{"111222333"}},
		{`{"burgerservicenummer":"123456782"}`, []string{"123456782"}},
		{"bsn 123456789", nil},
		{"order=111222333 status=shipped", nil},
	},
}

var nlBSNContext = []string{"bsn", "burgerservicenummer", "sofinummer"}

// nlBSNAt returns the BSN that is the run of digits line[i:j], or -1, -1.
func nlBSNAt(line []byte, i, j int) (int, int) {
	if !govBBounded(line, i, j, false) || !nlBSNValid(line[i:j]) || !hasContext(line, i, nlBSNContext) {
		return -1, -1
	}
	return i, j
}

// nlBSNValid reports whether the 8 or 9 ASCII digits d pass the 11-proof
// and are not all zeros. An 8-digit number is read with a leading zero,
// whose weight is 9.
func nlBSNValid(d []byte) bool {
	last := len(d) - 1
	sum := -int(d[last] - '0')
	for k, c := range d[:last] {
		sum += (last + 1 - k) * int(c-'0')
	}
	return sum%11 == 0 && !(d[0] == '0' && govBAllSame(d))
}
