package match

var brCPF = Detector{
	Name:     "br_cpf",
	Category: CategoryGovernmentID,
	Summary:  "Brazilian individual taxpayer number (CPF) with valid check digits",
	Doc: "A Brazilian CPF: 11 digits written ddd.ddd.ddd-dd, or as one run of 11 digits after a " +
		"context word (cpf). Its last two digits are " +
		"the mod 11 check digits of the others (weights 10 to 2, then 11 to 2; a remainder below 2 " +
		"gives 0, any other r gives 11 − r), and its digits are not all the same. It must not touch a " +
		"letter, digit or '_', nor be joined to one by '.' or '-', nor to a digit by '/'. " + contextDoc,
	Checksum: "mod 11",
	Context:  brCPFContext,
	Runs:     1<<3 | 1<<11,
	Joined:   1 << 3,
	Joins:    ".",
	At:       brCPFAt,
	Examples: []Example{
		{"cliente cpf=529.982.247-25 ok", []string{"529.982.247-25"}},
		{`{"cpf":"52998224725","doc":"111.444.777-35"}`, []string{"52998224725", "111.444.777-35"}},
		{"id 52998224725 cpf 529.982.247-26 111.111.111-11", nil},
	},
}

var brCPFContext = []string{"cpf"}

// brCPFFormat is how a CPF is written.
var brCPFFormat = newGovBDotted("ddd.ddd.ddd-dd", func(d [govBDottedMax]byte) bool { return brCPFValid(d[:11]) }, brCPFContext)

// brCPFAt returns the CPF that starts with the run of digits line[i:j], or
// -1, -1.
func brCPFAt(line []byte, i, j int) (int, int) { return brCPFFormat.at(line, i, j) }

// brCPFValid reports whether the 11 ASCII digits d end in the two check
// digits of the first nine and are not all the same.
func brCPFValid(d []byte) bool {
	return d[9] == brCPFDigit(d[:9]) && d[10] == brCPFDigit(d[:10]) && !govBAllSame(d)
}

// brCPFDigit returns the ASCII check digit of the ASCII digits d, weighted
// len(d)+1 down to 2.
func brCPFDigit(d []byte) byte {
	sum := 0
	for k, c := range d {
		sum += (len(d) + 1 - k) * int(c-'0')
	}
	if r := sum % 11; r >= 2 {
		return byte('0' + 11 - r)
	}
	return '0'
}
