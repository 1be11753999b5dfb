package match

var brCNPJ = Detector{
	Name:     "br_cnpj",
	Category: CategoryGovernmentID,
	Summary:  "Brazilian company registration number (CNPJ) with valid check digits",
	Doc: "A Brazilian CNPJ: 14 digits written dd.ddd.ddd/dddd-dd (the slash may be escaped as \\/, as " +
		"some JSON encoders write it), or as one run of 14 digits after a context word (cnpj). Its last two digits are the mod 11 check digits of " +
		"the others (weights 5,4,3,2,9,8,7,6,5,4,3,2, then 6,5,4,3,2,9,8,7,6,5,4,3,2; a remainder below " +
		"2 gives 0, any other r gives 11 − r), and its digits are not all the same. It must not touch " +
		"a letter, digit or '_', nor be joined to one by '.' or '-', nor to a digit by '/'. " + contextDoc,
	Checksum: "mod 11",
	Context:  brCNPJContext,
	Runs:     1<<2 | 1<<14,
	Joined:   1 << 2,
	Joins:    ".",
	At:       brCNPJAt,
	Examples: []Example{
		{"fornecedor cnpj=11.222.333/0001-81 ok", []string{"11.222.333/0001-81"}},
		{`{"cnpj":"11222333000181"}`, []string{"11222333000181"}},
		{"id 11222333000181 cnpj 11.222.333/0001-82 00.000.000/0000-00", nil},
	},
}

var brCNPJContext = []string{"cnpj"}

// brCNPJFormat is how a CNPJ is written.
var brCNPJFormat = newGovBDotted("dd.ddd.ddd/dddd-dd", func(d [govBDottedMax]byte) bool { return brCNPJValid(d[:14]) }, brCNPJContext)

// brCNPJAt returns the CNPJ that starts with the run of digits line[i:j], or
// -1, -1.
func brCNPJAt(line []byte, i, j int) (int, int) { return brCNPJFormat.at(line, i, j) }

// brCNPJValid reports whether the 14 ASCII digits d end in the two check
// digits of the first twelve and are not all the same.
func brCNPJValid(d []byte) bool {
	return d[12] == brCNPJDigit(d[:12]) && d[13] == brCNPJDigit(d[:13]) && !govBAllSame(d)
}

// brCNPJDigit returns the ASCII check digit of the ASCII digits d, weighted
// from the right 2, 3, …, 9, then 2, 3, … again.
func brCNPJDigit(d []byte) byte {
	sum, w := 0, 2
	for k := len(d) - 1; k >= 0; k-- {
		sum += w * int(d[k]-'0')
		if w++; w > 9 {
			w = 2
		}
	}
	if r := sum % 11; r >= 2 {
		return byte('0' + 11 - r)
	}
	return '0'
}
