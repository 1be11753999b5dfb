package match

var esDNINIE = Detector{
	Name:     "es_dni_nie",
	Category: CategoryGovernmentID,
	Summary:  "Spanish DNI or NIE with its check letter",
	Doc: "A Spanish identity number: a DNI, eight digits and a check letter, or an NIE, X, Y or Z, seven " +
		"digits and a check letter; the letters in upper case, with an optional dash or space before " +
		"the check letter, as in 12345678Z, 12345678-Z or X1234567L. The check letter is " +
		"TRWAGMYFPDXBNJZSQVHLCKE indexed by the number modulo 23, X, Y and Z of an NIE counting as a " +
		"leading 0, 1 and 2. " + govABoundsDoc,
	Checksum: "mod 23",
	Runs:     1<<7 | 1<<8,
	At:       esDNINIEAt,
	Examples: []Example{
		{"cliente dni=12345678Z alta", []string{"12345678Z"}},
		{"NIE X1234567L, DNI 87654321-X", []string{"X1234567L", "87654321-X"}},
		{"dni 12345678A X1234567A order 12345678 Z12345678Z", nil},
	},
}

// esDNILetters are the check letters by remainder modulo 23.
const esDNILetters = "TRWAGMYFPDXBNJZSQVHLCKE"

// esDNINIEAt returns the DNI or NIE whose digits are the run line[i:r],
// or -1, -1.
func esDNINIEAt(line []byte, i, r int) (int, int) {
	s, n := i, 0
	if r-i == 7 {
		if i == 0 || line[i-1] < 'X' || line[i-1] > 'Z' {
			return -1, -1
		}
		s, n = i-1, int(line[i-1]-'X')
	}
	for _, c := range line[i:r] {
		n = n*10 + int(c-'0')
	}
	e := r
	if e+1 < len(line) && (line[e] == '-' || line[e] == ' ') {
		e++
	}
	if e == len(line) || line[e] != esDNILetters[n%23] || !govABounded(line, s, e+1, false) {
		return -1, -1
	}
	return s, e + 1
}
