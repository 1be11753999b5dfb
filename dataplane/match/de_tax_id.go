package match

var deTaxID = Detector{
	Name:     "de_tax_id",
	Category: CategoryGovernmentID,
	Summary:  "German tax identification number (Steuer-IdNr) with its structure and check digit",
	Doc: "A German Steuerliche Identifikationsnummer: eleven digits, the first not 0, written dd ddd ddd " +
		"ddd, or together when a context word (steuer, tax, idnr, steuerid, tin) stands before it. Among " +
		"the first ten digits exactly one digit appears twice or three times, the others at most once, " +
		"and a digit that appears three times does not do so three in a row; the eleventh is the ISO " +
		"7064 MOD 11,10 check digit of the first ten. About 0.37% of random eleven-digit numbers that " +
		"do not start with 0 pass both rules, too many for the bare form, which is why it needs a " +
		"context word; the spaced form is distinctive enough without one. " + govABoundsDoc + " " +
		govASpacedDoc + " " + contextDoc,
	Checksum: "ISO 7064 MOD 11,10",
	Context:  deTaxIDContext,
	Runs:     1<<2 | 1<<11,
	Joined:   1 << 2,
	Joins:    " ",
	At:       deTaxIDAt,
	Examples: []Example{
		{"Steuer-IdNr: 65929970489", []string{"65929970489"}},
		{"employee idnr=36 574 261 809, tax 86095742719", []string{"36 574 261 809", "86095742719"}},
		{"order 65929970489 steuerid 36554266806 tax 65929970488", nil},
	},
}

var deTaxIDContext = []string{"steuer", "tax", "idnr", "steuerid", "tin"}

// govA2333 are the groups of a Steuer-IdNr as it is printed.
var govA2333 = [...]int{2, 3, 3, 3}

// deTaxIDAt returns the Steuer-IdNr that is the run of digits line[i:r]
// or whose first group it is, or -1, -1.
func deTaxIDAt(line []byte, i, r int) (int, int) {
	if r-i == 2 && !(r+1 < len(line) && line[r] == ' ' && isDigit(line[r+1])) {
		return -1, -1
	}
	var d [11]byte
	e, sep := govAGroups(line, i, govA2333[:], " ", d[:])
	if e < 0 || d[0] == 0 || !govABounded(line, i, e, true) || !deTaxIDStructure(d[:10]) ||
		deTaxIDCheck(d[:10]) != d[10] || sep == 0 && !hasContext(line, i, deTaxIDContext) {
		return -1, -1
	}
	return i, e
}

// deTaxIDStructure reports whether exactly one digit value appears twice
// or three times in d, the others at most once, and a digit that appears
// three times not three in a row.
func deTaxIDStructure(d []byte) bool {
	var count [10]int
	for _, v := range d {
		count[v]++
	}
	rep := -1
	for v, c := range count {
		if c > 1 {
			if rep >= 0 || c > 3 {
				return false
			}
			rep = v
		}
	}
	if rep < 0 {
		return false
	}
	for k := 0; count[rep] == 3 && k+2 < len(d); k++ {
		if int(d[k]) == rep && d[k+1] == d[k] && d[k+2] == d[k] {
			return false
		}
	}
	return true
}

// deTaxIDCheck returns the ISO 7064 MOD 11,10 check digit of the digit
// values d.
func deTaxIDCheck(d []byte) byte {
	p := 10
	for _, v := range d {
		s := (int(v) + p) % 10
		if s == 0 {
			s = 10
		}
		p = 2 * s % 11
	}
	return byte((11 - p) % 10)
}
