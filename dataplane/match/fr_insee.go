package match

import (
	"encoding/binary"
	"math/bits"
)

var frINSEE = Detector{
	Name:     "fr_insee",
	Category: CategoryGovernmentID,
	Summary:  "French social security number (NIR, numéro INSEE) with its mod 97 key",
	Doc: "A French NIR: 15 characters, sex (1 or 2), year (two digits), month (01 to 12, or 20 to 99 " +
		"for the pseudo-months of people registered without a full birth date), département (two " +
		"digits other than 00, or 2A or 2B for Corsica), commune (three digits), order (three digits) " +
		"and a two-digit key equal to 97 minus the first thirteen digits modulo 97, with 2A read as 19 " +
		"and 2B as 18. A single space may stand between any two of those groups, as in " +
		"2 95 10 99 126 111 93. " + govABoundsDoc + " " + govASpacedDoc,
	Checksum: "mod 97",
	Runs:     frINSEERuns,
	Joined:   frINSEEJoined,
	Joins:    " ",
	At:       frINSEERunAt,
	Examples: []Example{
		{"assure nir=2 95 10 99 126 111 93 ok", []string{"2 95 10 99 126 111 93"}},
		{"insee 184127645108946, 253072A07300443", []string{"184127645108946", "253072A07300443"}},
		{"nir 295109912611199 395109912611193 1732262400123", nil},
	},
}

// frINSEEGroups are the groups of a NIR: sex, year, month, département,
// commune, order and key.
var frINSEEGroups = [...]int{1, 2, 2, 2, 3, 3, 2}

// frINSEERuns are the lengths the first run of a NIR can have: the
// groups up to a space, or the fifteen digits together, or the six before
// the A or B of a Corsican département (253072A...). frINSEEJoined are
// those that a space joins to the next group.
const (
	frINSEERuns   = 1<<1 | 1<<3 | 1<<5 | 1<<6 | 1<<7 | 1<<10 | 1<<13 | 1<<15
	frINSEEJoined = frINSEERuns &^ (1<<6 | 1<<15)
)

// frINSEERunAt returns the NIR that starts with the run of digits
// line[i:r], or -1, -1.
func frINSEERunAt(line []byte, i, r int) (int, int) {
	if e := frINSEETry(line, i); e > 0 {
		return i, e
	}
	return -1, -1
}

// frINSEETry returns the end of the NIR that starts at line[i], or -1. It
// reads only the runs that start with 1 or 2, are dense enough in digits
// and start a token.
func frINSEETry(line []byte, i int) int {
	if line[i] != '1' && line[i] != '2' || !govAStarts(line, i, true) || !frINSEEDense(line, i) {
		return -1
	}
	return frINSEEAt(line, i)
}

// frINSEEDense reports whether the 16 bytes from line[i], if there are as
// many, hold at least 10 digits, as those of a NIR do however it is spaced:
// 2 95 10 99 126 1 and 2 53 07 2A 073 0 hold 11 and 10.
func frINSEEDense(line []byte, i int) bool {
	if i+16 > len(line) {
		return true
	}
	// The masks hold bit 7 of a byte at most: the second's, shifted to
	// bit 6, makes one count.
	m := digitMask(binary.LittleEndian.Uint64(line[i:])) | digitMask(binary.LittleEndian.Uint64(line[i+8:]))>>1
	return bits.OnesCount64(m) >= 10
}

// frINSEEAt returns the end of the NIR that starts at line[i], or -1.
func frINSEEAt(line []byte, i int) int {
	var d [15]byte
	e, corsica := frINSEERead(line, i, &d)
	if e < 0 || !govABounded(line, i, e, true) || !frINSEEValid(&d, corsica) {
		return -1
	}
	return e
}

// frINSEERead reads the NIR laid out as frINSEEGroups that starts at
// line[s], with at most one space between two groups, into d as digit
// values, 2A and 2B as 19 and 18. It returns the NIR's end and the letter
// of a Corsican département (0 for none), or -1, 0.
func frINSEERead(line []byte, s int, d *[15]byte) (int, byte) {
	i, n := s, 0
	var corsica byte
	for g, size := range frINSEEGroups {
		if g > 0 && i < len(line) && line[i] == ' ' {
			i++
		}
		if i+size > len(line) {
			return -1, 0
		}
		for _, c := range line[i : i+size] {
			switch {
			case isDigit(c):
				d[n] = c - '0'
			case n == 6 && d[5] == 2 && (c == 'A' || c == 'B'):
				corsica = c
			default:
				return -1, 0
			}
			n++
		}
		i += size
	}
	if corsica != 0 {
		d[5], d[6] = 1, 9-(corsica-'A')
	}
	return i, corsica
}

// frINSEEValid reports whether the digit values d of a NIR have a valid
// month and département and the right key.
func frINSEEValid(d *[15]byte, corsica byte) bool {
	month := govANumber(d[3:5])
	if month == 0 || month > 12 && month < 20 {
		return false
	}
	if corsica == 0 && d[5] == 0 && d[6] == 0 {
		return false
	}
	return frINSEEKey(d[:13]) == govANumber(d[13:15])
}

// frINSEEKey returns the key of the 13 digit values d: 97 minus their
// number modulo 97.
func frINSEEKey(d []byte) int {
	r := 0
	for _, v := range d {
		r = (r*10 + int(v)) % 97
	}
	return 97 - r
}
