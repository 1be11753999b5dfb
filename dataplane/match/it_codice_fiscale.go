package match

import (
	"encoding/binary"
	"math/bits"
	"strings"
)

var itCodiceFiscale = Detector{
	Name:     "it_codice_fiscale",
	Category: CategoryGovernmentID,
	Summary:  "Italian codice fiscale of a person, with its check letter",
	Doc: "An Italian codice fiscale of a person: 16 upper-case characters, six letters (surname and " +
		"name), two digits (year), a month letter (A B C D E H L M P R S T), two digits (day, plus 40 " +
		"for women: 01 to 31 or 41 to 71), a letter and three digits (place of birth) and a check " +
		"letter, as in RSSMRA85T10A562S. Any of the seven digits may be replaced by L M N P Q R S T U V " +
		"for 0 to 9, as the Agenzia delle Entrate does to tell apart people who would share a code " +
		"(omocodia). The check letter is A plus, modulo 26, the sum of the values of the first fifteen " +
		"characters: from the table of odd positions for the first, third and so on, and from the table " +
		"of even positions (0 to 9 and A to Z as 0 to 25) for the others. " + govABoundsDoc,
	Checksum: "mod 26 of the odd and even position tables",
	Find:     findITCodiceFiscale,
	Lead:     [leadBytes]string{upperLetters, upperLetters, upperLetters, upperLetters},
	AtLead:   itCodiceFiscaleLead,
	Examples: []Example{
		{"utente cf=RSSMRA85T10A562S registrato", []string{"RSSMRA85T10A562S"}},
		{`{"codice_fiscale":"MRTMTT91D08F205J"}`, []string{"MRTMTT91D08F205J"}},
		{"cf RSSMRA85T10A562T RSSMRA85T72A562C XRSSMRA85T10A562S", nil},
	},
}

// itCFLayout says what each of the first fifteen characters of a codice
// fiscale is: 'L' a letter, 'M' a month letter, 'D' a digit or its
// omocodia letter.
const itCFLayout = "LLLLLLDDMDDLDDD"

// itCFMonths are the month letters, January to December.
const itCFMonths = "ABCDEHLMPRST"

// itCFOmocodia are the letters that replace the digits 0 to 9.
const itCFOmocodia = "LMNPQRSTUV"

// itCFOdd are the values of the characters in odd positions (first, third,
// ...): of the digits 0 to 9 at 0 to 9, and of the letters A to Z at 0 to
// 25 (a digit is worth what the letter of its index is).
var itCFOdd = [26]int{1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23}

// findITCodiceFiscale finds codici fiscali; see itCodiceFiscale.
func findITCodiceFiscale(line []byte, from int) (int, int) {
	for i := govANextUpper(line, from); i+16 <= len(line); i = govANextUpper(line, i) {
		if (i == 0 || !govAWord(line[i-1])) && itCFValid(line[i:i+16]) && govABounded(line, i, i+16, false) {
			return i, i + 16
		}
		for i < len(line) && govAWord(line[i]) {
			i++
		}
	}
	return -1, -1
}

// itCodiceFiscaleLead is the AtLead of it_codice_fiscale: the end of the
// code that starts the token at line[s], or -1.
func itCodiceFiscaleLead(line []byte, s int) int {
	// The fifth and sixth bytes are letters too: words such as INFO,
	// WARN and DEBUG end before them.
	if s+16 <= len(line) && line[s+4]-'A' < 26 && line[s+5]-'A' < 26 && itCFValid(line[s:s+16]) && govABounded(line, s, s+16, false) {
		return s + 16
	}
	return -1
}

// itCFValid reports whether the 16 bytes of c are a codice fiscale with a
// valid day and the right check letter.
func itCFValid(c []byte) bool {
	sum := 0
	for k := range len(itCFLayout) {
		b := c[k]
		switch itCFLayout[k] {
		case 'L':
			if b-'A' >= 26 {
				return false
			}
		case 'M':
			if strings.IndexByte(itCFMonths, b) < 0 {
				return false
			}
		default:
			if !isDigit(b) && strings.IndexByte(itCFOmocodia, b) < 0 {
				return false
			}
		}
		v := int(b - 'A')
		if isDigit(b) {
			v = int(b - '0')
		}
		if k%2 == 0 {
			sum += itCFOdd[v]
		} else {
			sum += v
		}
	}
	day := itCFDigit(c[9])*10 + itCFDigit(c[10])
	return (day >= 1 && day <= 31 || day >= 41 && day <= 71) && c[15] == 'A'+byte(sum%26)
}

// itCFDigit returns the digit that b, a digit or its omocodia letter,
// stands for.
func itCFDigit(b byte) int {
	if isDigit(b) {
		return int(b - '0')
	}
	return strings.IndexByte(itCFOmocodia, b)
}

// govANextUpper returns the index of the first ASCII upper-case letter of
// line at or after i, or len(line), eight bytes at a time as nextDigit.
func govANextUpper(line []byte, i int) int {
	for ; i+8 <= len(line); i += 8 {
		if m := govAUpperMask(binary.LittleEndian.Uint64(line[i:])); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for i < len(line) && line[i]-'A' >= 26 {
		i++
	}
	return i
}

// govAUpperMask returns x with the top bit of each byte that is an ASCII
// upper-case letter set, and every other bit clear; see digitMask. Per
// byte c, with t = c&0x7f: 0xda-t has its top bit set when c <= 'Z', t+0x3f
// when c >= 'A', and ^c when c < 0x80; no byte carries into another.
func govAUpperMask(x uint64) uint64 {
	const (
		ones = 0x0101010101010101
		low7 = 0x7f7f7f7f7f7f7f7f
		high = 0x8080808080808080
	)
	t := x & low7
	return (ones*(0x7f+'Z'+1) - t) & ^x & (t + ones*(0x7f-('A'-1))) & high
}
