package match

var sgNRIC = Detector{
	Name:     "sg_nric",
	Category: CategoryGovernmentID,
	Summary:  "Singapore NRIC or FIN with a valid check letter",
	Doc: "A Singapore NRIC or FIN: S, T, F, G or M, seven digits and an upper-case check letter, as " +
		"in S1234567D. With weights 2,7,6,5,4,3,2 on the digits, plus 4 for T and G or 3 for M, the " +
		"sum modulo 11 picks the letter from JZIHGFEDCBA for S and T, from XWUTRQPNMLK for F and G, " +
		"and from KLJNPQRTUWX read from the end for M. It must not touch a letter, digit or '_', nor " +
		"be joined to one by '.' or '-'.",
	Checksum: "mod 11",
	Runs:     1 << 7,
	At:       sgNRICAt,
	Examples: []Example{
		{"member nric=S1234567D ok", []string{"S1234567D"}},
		{`{"fin":"G4549883U","m":"M1234567K"}`, []string{"G4549883U", "M1234567K"}},
		{"nric S1234567A ref XS1234567D build T1234567Jx", nil},
	},
}

// sgNRICAt returns the NRIC or FIN whose seven digits are the run
// line[i:j], or -1, -1.
func sgNRICAt(line []byte, i, j int) (int, int) {
	if i == 0 || j == len(line) || line[j]-'A' >= 26 || sgNRICLetter(line[i-1], line[i:j]) != line[j] ||
		!govBBounded(line, i-1, j+1, false) {
		return -1, -1
	}
	return i - 1, j + 1
}

// sgNRICLetter returns the check letter of the 7 ASCII digits d after the
// prefix p, or 0 if p is not a prefix.
func sgNRICLetter(p byte, d []byte) byte {
	var table string
	sum := 0
	switch p {
	case 'S':
		table = "JZIHGFEDCBA"
	case 'T':
		table, sum = "JZIHGFEDCBA", 4
	case 'F':
		table = "XWUTRQPNMLK"
	case 'G':
		table, sum = "XWUTRQPNMLK", 4
	case 'M':
		table, sum = "XWUTRQPNJLK", 3 // KLJNPQRTUWX from the end
	default:
		return 0
	}
	for k, c := range d {
		sum += int(c-'0') * int("2765432"[k]-'0')
	}
	return table[sum%11]
}
